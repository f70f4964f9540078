"""`aitrader data fetch|validate|gaps|sessions|compare|stream`: market data from the shell.

Exit codes as everywhere: 0 ok, 1 the data failed a check (something quarantined, gaps left,
vendors disagree) or a vendor could not serve, 2 bad input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Protocol

import attrs
import typer
from returns.result import Success

from aitrader.application.data.compare import compare_frames
from aitrader.application.data.gaps import GapReport, expected_for, fill_gaps
from aitrader.application.data.sessions import tag_sessions
from aitrader.application.data.source import SessionGatedMarketData, gate
from aitrader.domain.series import (
    BarFrame,
    GateReport,
    RawBars,
    gatekeep,
    merge_reports,
)
from aitrader.domain.values import Symbol
from aitrader.entrypoints.container import JournalUnavailableError
from aitrader.entrypoints.container.wiring import VendorSetupError, raw_file_bars
from aitrader.entrypoints.data_sources import (
    calendar_of,
    chain_of,
    check_data_read,
    data_config,
    failed,
    range_of,
    rules_of,
    source_of,
    store_of,
    symbols_of,
    timeframe_of,
    within_calendar,
)
from aitrader.entrypoints.inputs import EASTERN, RunFailedError, UserError
from aitrader.entrypoints.options import Calendar as CalendarOpt
from aitrader.entrypoints.options import ConfigFile, End, Start, given_path
from aitrader.entrypoints.session import build_container
from aitrader.ports.bar_cache import BarStore
from aitrader.ports.market_data import MarketData

_SHOWN = 50

VendorOpt = Annotated[str | None, typer.Option("--vendor", help="Vendor or comma-separated chain: alpaca, alphavantage, finnhub, twelvedata, yahoo, sample, files.")]
SymbolsOpt = Annotated[str | None, typer.Option("--symbols", help="Comma-separated symbols.")]
TimeframeOpt = Annotated[str | None, typer.Option("--timeframe", help="1m, 5m, 15m, 1h or 1D (default 1D).")]
AdjustOpt = Annotated[str | None, typer.Option("--adjustment", help="raw (default), split or all.")]
DataOpt = Annotated[Path | None, typer.Option("--data", parser=given_path, help="CSV/Parquet file or directory.")]
BarLabelOpt = Annotated[str | None, typer.Option("--bar-label", help="File timestamps label the bar's open or close.")]
JournalOpt = Annotated[str | None, typer.Option("--journal", help="Journal URL (bars and quarantine are recorded there).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
MaxAgeOpt = Annotated[float | None, typer.Option("--max-age", help="Seconds: the feed is stale (exit 1) when its newest passing bar closed longer ago than this.")]


@attrs.frozen
class _Place:
    """Where a quarantined bar is, as the user can find it: a line of the CSV file given
    (the header is line 1) or a row of the Parquet file (the first data row is row 1); for a
    vendor, which of the bars it delivered for the symbol, oldest first (row 1 the oldest)."""

    row: int
    file: Path | None = None
    unit: str = "row"

    def __str__(self) -> str:
        return f"{self.file} {self.unit} {self.row}" if self.file else f"row {self.row}"


@attrs.frozen
class _Checked:
    """A gate report and the place of each bar it quarantined."""

    report: GateReport
    places: tuple[_Place, ...]


class _FileBars(Protocol):
    """A symbol's bars read from a file, and where each one is in it (raw_file_bars)."""

    @property
    def raw(self) -> RawBars: ...
    @property
    def file(self) -> Path: ...
    @property
    def unit(self) -> str: ...
    def places(self, bars: Sequence[int]) -> list[int]: ...


def _from_file(bars: _FileBars, report: GateReport) -> _Checked:
    rows = bars.places([item.row for item in report.quarantined])
    return _Checked(report, tuple(_Place(row, bars.file, bars.unit) for row in rows))


def _from_vendor(report: GateReport) -> _Checked:
    return _Checked(report, tuple(_Place(item.row + 1) for item in report.quarantined))


def _report_dict(checked: _Checked) -> dict[str, Any]:
    report = checked.report
    return {"symbol": str(report.symbol), "source": report.source, "received": report.received,
            "passed": report.passed, "quarantined": len(report.quarantined),
            "stale": report.stale, "reasons": report.counts, "sessions": dict(report.sessions),
            "bars": [{"ts_close": q.ts_close.isoformat() if q.ts_close else None,
                      "row": place.row, "reason": q.reason}
                     | ({"file": str(place.file)} if place.file else {})
                     for q, place in zip(report.quarantined, checked.places, strict=True)]}


def _print_reports(checked: Sequence[_Checked]) -> None:
    reports = [c.report for c in checked]
    for report, places in ((c.report, c.places) for c in checked):
        tags = ", ".join(f"{n} {s}" for s, n in report.sessions)
        print(f"{report.symbol} from {report.source}: {report.received} bars, {report.passed} "
              f"passed{f' ({tags})' if tags else ''}, {len(report.quarantined)} quarantined"
              f"{', STALE: its newest bar is older than --max-age' if report.stale else ''}")
        for item, place in list(zip(report.quarantined, places, strict=True))[:_SHOWN]:
            when = item.ts_close.isoformat() if item.ts_close else "?"
            print(f"  {place}  {when}  {item.reason}")
        if len(report.quarantined) > _SHOWN:
            print(f"  ... and {len(report.quarantined) - _SHOWN} more")
    totals = merge_reports(reports)
    print(f"quarantined {sum(totals.values())} of {sum(r.received for r in reports)} bars"
          + "".join(f"\n  {count:>8}  {reason}" for reason, count in totals.items()))


def fetch(
    vendor: VendorOpt = None, symbols: SymbolsOpt = None, timeframe: TimeframeOpt = None,
    start: Start = None, end: End = None, adjustment: AdjustOpt = None,
    calendar: CalendarOpt = None, data: DataOpt = None, journal: JournalOpt = None,
    max_age: MaxAgeOpt = None, config: ConfigFile = None, as_json: JsonOpt = False,
) -> None:
    """Fetch bars through the vendor chain, gate them, cache them (Parquet) and store them (SQL)."""
    cfg = data_config(config, vendor=vendor, timeframe=timeframe, adjustment=adjustment,
                  calendar=calendar, journal=journal, data=data)
    if not cfg.data.vendor:
        raise UserError("--vendor is required")
    check_data_read(cfg, cfg.data.vendor.split(","))
    wanted = symbols_of(symbols)
    first, last = range_of(start, end)
    tf = timeframe_of(cfg)
    rules = rules_of(cfg, max_age)
    # the journal is opened (made and migrated) at its first write, as a run's: a fetch the
    # vendor refuses (a rejected key, a symbol it does not have) leaves no journal behind
    store: BarStore = build_container(cfg).bar_store()
    source = source_of(cfg, cfg.data.vendor, store, rules)
    loaded_all: list[tuple[Symbol, BarFrame]] = []
    results: list[dict[str, Any]] = []
    try:
        for symbol in wanted:  # every symbol is fetched before any is stored: all or none
            loaded = source.bars(symbol, tf, first, last)
            if not isinstance(loaded, Success):
                raise failed(loaded.failure())
            loaded_all.append((symbol, loaded.unwrap()))
        for (symbol, frame), used in zip(loaded_all, source.used, strict=True):
            written = store.write_bars(used.vendor, frame)
            if not isinstance(written, Success):
                raise RunFailedError(written.failure().message)
            report = next((r for r in reversed(source.reports) if r.symbol == symbol), None)
            results.append({"symbol": str(symbol), "timeframe": tf.value, "vendor": used.vendor,
                            "bars": len(frame), "cached": used.cached, "digest": used.digest,
                            "stale": bool(report and report.stale),
                            "quarantined": len(report.quarantined) if report else 0,
                            "reasons": report.counts if report else {},
                            "sessions": dict(report.sessions) if report else {}})
    except JournalUnavailableError as error:
        raise RunFailedError(str(error)) from None
    if as_json:
        print(json.dumps({"symbols": results, "attempts": [
            {"vendor": a.vendor, "outcome": a.outcome} for a in source.attempts]}))
    else:
        for r in results:
            origin = "from the cache" if r["cached"] else "fetched"
            print(f"{r['symbol']} {r['timeframe']} {r['vendor']}: {r['bars']} bars {origin}, "
                  f"{r['quarantined']} quarantined, digest {r['digest']}"
                  f"{', STALE: its newest bar is older than --max-age' if r['stale'] else ''}")
            for reason, count in r["reasons"].items():
                print(f"  {count:>8}  {reason}")
    if any(r["stale"] for r in results):
        raise typer.Exit(1)


def validate(
    path_or_range: Annotated[str, typer.Argument(help="A CSV/Parquet file or directory, or a range START..END (with --vendor and --symbols).")],
    vendor: VendorOpt = None, symbols: SymbolsOpt = None, timeframe: TimeframeOpt = None,
    bar_label: BarLabelOpt = None, adjustment: AdjustOpt = None, calendar: CalendarOpt = None,
    journal: JournalOpt = None, max_age: MaxAgeOpt = None, config: ConfigFile = None,
    as_json: JsonOpt = False,
) -> None:
    """Run bars through the gatekeeper and print the quarantine report (exit 1 if any)."""
    cfg = data_config(config, vendor=vendor, timeframe=timeframe, adjustment=adjustment,
                  calendar=calendar, journal=journal, bar_label=bar_label)
    if cfg.data.timeframe:
        timeframe_of(cfg)  # a bad --timeframe is refused before anything is read
    rules = rules_of(cfg, max_age)
    cal = calendar_of(cfg)
    checked: list[_Checked] = []
    if Path(path_or_range).exists():
        try:
            found = raw_file_bars(path_or_range, cfg.data.bar_label, cfg.data.timeframe)
        except VendorSetupError as error:
            raise UserError(str(error)) from None
        for bars in found:
            report = gatekeep(bars.raw, tag_sessions(cal, bars.raw.ts_open), rules,
                              f"files:{Path(path_or_range).absolute()}")[1]
            checked.append(_from_file(bars, report))
    else:
        first_text, sep, last_text = path_or_range.partition("..")
        if not sep:
            raise UserError(f"{path_or_range!r} is neither an existing file or directory nor a "
                            "range START..END")
        first, last = range_of(first_text.strip(), last_text.strip())
        if not cfg.data.vendor:
            raise UserError("validating a range needs --vendor (and --symbols)")
        chain = chain_of(cfg, cfg.data.vendor)
        for symbol in symbols_of(symbols):
            fetched = chain.fetch(symbol, timeframe_of(cfg), first, last, cfg.vendors.adjustment)
            if not isinstance(fetched, Success):
                raise failed(fetched.failure())
            name, answer = fetched.unwrap()
            checked.append(_from_vendor(gate(name, answer, cal, rules)[1]))
    reports = [c.report for c in checked]
    if any(r.quarantined for r in reports):  # (else there is nothing to record: no journal)
        recorded = store_of(cfg).record_quarantine(None, reports)
        if not isinstance(recorded, Success):
            raise RunFailedError(recorded.failure().message)
    if as_json:
        print(json.dumps({"reports": [_report_dict(c) for c in checked],
                          "quarantined": sum(len(r.quarantined) for r in reports)}))
    else:
        _print_reports(checked)
    if any(r.quarantined or r.stale for r in reports):
        raise typer.Exit(1)


def gaps(
    symbols: SymbolsOpt = None, timeframe: TimeframeOpt = None, start: Start = None,
    end: End = None, vendor: VendorOpt = None, data: DataOpt = None,
    bar_label: BarLabelOpt = None, calendar: CalendarOpt = None, adjustment: AdjustOpt = None,
    backfill: Annotated[bool, typer.Option("--backfill/--no-backfill", help="Fill missing bars from the vendor chain.")] = True,
    extended: Annotated[bool, typer.Option("--extended", help="Expect bars in pre, post and overnight sessions too.")] = False,
    config: ConfigFile = None, as_json: JsonOpt = False,
) -> None:
    """Find bars the calendar expects but the data lacks, backfill them (exit 1 if any remain)."""
    cfg = data_config(config, vendor=vendor, timeframe=timeframe, adjustment=adjustment,
                  calendar=calendar, data=data, bar_label=bar_label)
    if not cfg.data.vendor and not cfg.data.path:
        raise UserError("give --vendor or --data")
    wanted = symbols_of(symbols)
    first, last = range_of(start, end)
    tf = timeframe_of(cfg)
    cal = calendar_of(cfg)
    rules = rules_of(cfg)
    chain = chain_of(cfg, cfg.data.vendor) if cfg.data.vendor and backfill else None
    # The bars examined are the file's when there is one; the chain only fills its holes.
    files = attrs.evolve(cfg, data=attrs.evolve(cfg.data, vendor=None))
    source: MarketData = SessionGatedMarketData(build_container(files).market_data(), cal, rules) \
        if cfg.data.path else source_of(cfg, cfg.data.vendor or "", None)
    expected = expected_for(cal, tf, first, last, extended)
    results: list[tuple[Symbol, GapReport]] = []
    for symbol in wanted:
        loaded = source.bars(symbol, tf, first, last)
        if not isinstance(loaded, Success):
            raise failed(loaded.failure())
        results.append((symbol, fill_gaps(loaded.unwrap(), expected, chain,
                                          cfg.vendors.adjustment, cal, rules)))
    if as_json:
        print(json.dumps([_gap_dict(s, r) for s, r in results]))
    else:
        for symbol, r in results:
            print(f"{symbol} {tf.value}: {r.expected} bars expected, {r.present} present, "
                  f"{r.filled} backfilled{' from ' + ', '.join(r.filled_by) if r.filled_by else ''}"
                  f", {r.missing_bars} missing")
            for gap in r.missing[:_SHOWN]:
                print(f"  missing {gap.bars:>5} bar(s) closing {gap.first.isoformat()} .. "
                      f"{gap.last.isoformat()}")
    if any(r.missing for _s, r in results):
        raise typer.Exit(1)


def _gap_dict(symbol: Symbol, r: GapReport) -> dict[str, Any]:
    return {"symbol": str(symbol), "expected": r.expected, "present": r.present,
            "filled": r.filled, "filled_by": list(r.filled_by), "missing": r.missing_bars,
            "gaps": [{"first": g.first.isoformat(), "last": g.last.isoformat(), "bars": g.bars}
                     for g in r.missing]}


def sessions(
    day: Annotated[str, typer.Option("--date", help="The exchange day, YYYY-MM-DD.")],
    calendar: CalendarOpt = None, config: ConfigFile = None, as_json: JsonOpt = False,
) -> None:
    """Print one day's sessions in US-Eastern and UTC."""
    try:
        when = date.fromisoformat(day.strip())
    except ValueError:
        raise UserError(f"--date: {day!r} is not a date (YYYY-MM-DD)") from None
    within_calendar(when, "--date")
    cfg = data_config(config, calendar=calendar)
    cal = calendar_of(cfg)
    windows = cal.sessions_on(when)
    if as_json:
        print(json.dumps([{"session": w.session.value, "start": w.start.isoformat(),
                           "end": w.end.isoformat()} for w in windows]))
        return
    if not windows:
        print(f"{cal.name}: no sessions on {when.isoformat()} (closed)")
        return
    print(f"{cal.name} {when.isoformat()}")
    print(f"{'session':<10} {'start (US-Eastern)':<26} {'end (US-Eastern)':<26} "
          f"{'start (UTC)':<26} end (UTC)")
    for w in windows:
        print(f"{w.session.value:<10} {w.start.astimezone(EASTERN).isoformat():<26} "
              f"{w.end.astimezone(EASTERN).isoformat():<26} {w.start.isoformat():<26} "
              f"{w.end.isoformat()}")


def compare(
    vendors: Annotated[str, typer.Option("--vendors", help="Two vendors, A,B.")],
    symbol: Annotated[str, typer.Option("--symbol", help="The symbol.")],
    start: Start = None, end: End = None, timeframe: TimeframeOpt = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Relative price difference allowed (0.005 = 0.5 %).")] = 0.005,
    volume_tolerance: Annotated[float, typer.Option("--volume-tolerance", help="Relative volume difference allowed.")] = 0.5,
    data: DataOpt = None, adjustment: AdjustOpt = None, calendar: CalendarOpt = None,
    config: ConfigFile = None, as_json: JsonOpt = False,
) -> None:
    """Report bars on which two vendors disagree beyond a tolerance (exit 1 if any)."""
    names = [n.strip().lower() for n in vendors.split(",") if n.strip()]  # as the chain reads them
    if len(names) != 2 or names[0] == names[1]:
        raise UserError(f"--vendors {vendors!r}: name two different vendors, A,B")
    if not (tolerance >= 0 and volume_tolerance >= 0) or math.isinf(tolerance):
        raise UserError("--tolerance and --volume-tolerance must be non-negative numbers")
    cfg = data_config(config, timeframe=timeframe, adjustment=adjustment, calendar=calendar,
                  data=data)
    check_data_read(cfg, names)
    sym = symbols_of(symbol, "--symbol")[0]
    first, last = range_of(start, end)
    frames: list[BarFrame] = []
    for name in names:
        loaded = source_of(cfg, name, None).bars(sym, timeframe_of(cfg), first, last)
        if not isinstance(loaded, Success):
            raise failed(loaded.failure())
        frames.append(loaded.unwrap())
    result = compare_frames(names[0], frames[0], names[1], frames[1], tolerance,
                            volume_tolerance)
    if as_json:
        print(json.dumps({
            "left": result.left, "right": result.right, "compared": result.compared,
            "only_left": result.only_left, "only_right": result.only_right,
            "disagreements": [{"ts_close": d.ts_close.isoformat(), "field": d.field,
                               "left": _num(d.left), "right": _num(d.right),
                               "difference": _num(d.difference)}
                              for d in result.disagreements]}))
    else:
        print(f"{sym}: {result.compared} bars in both, {result.only_left} only in "
              f"{result.left}, {result.only_right} only in {result.right}, "
              f"{len(result.disagreements)} disagreement(s)")
        for d in result.disagreements[:_SHOWN]:
            if d.field.startswith("missing"):
                side = result.right if d.field == "missing_right" else result.left
                print(f"  {d.ts_close.isoformat()}  no bar from {side}")
            else:
                print(f"  {d.ts_close.isoformat()}  {d.field:<6} {result.left} {d.left:g}  "
                      f"{result.right} {d.right:g}  ({d.difference * 100:.3f} %)")
    if result.disagreements:
        raise typer.Exit(1)


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def register(data_app: typer.Typer) -> None:
    """Attach fetch, validate, gaps, sessions and compare to the `data` group."""
    for name, command in (("fetch", fetch), ("validate", validate), ("gaps", gaps),
                          ("sessions", sessions), ("compare", compare)):
        data_app.command(name)(command)
