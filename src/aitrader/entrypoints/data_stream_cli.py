"""`aitrader data stream`: Alpaca's live one-minute bars, gated and backfilled (attached to
the `data` command group by `register`, as data_cli's commands are)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from aitrader.application.data.stream import BackfillingStream
from aitrader.application.data.stream_gate import StreamGate
from aitrader.domain.market import Timeframe
from aitrader.domain.series import Quarantined
from aitrader.entrypoints.container import JournalUnavailableError
from aitrader.entrypoints.container.wiring import open_bar_stream
from aitrader.entrypoints.data_cli import JournalOpt, SymbolsOpt
from aitrader.entrypoints.data_sources import (
    calendar_of,
    data_config,
    rules_of,
    source_of,
    symbols_of,
)
from aitrader.entrypoints.inputs import RunFailedError, UserError
from aitrader.entrypoints.options import Calendar as CalendarOpt
from aitrader.entrypoints.options import ConfigFile
from aitrader.entrypoints.session import build_container
from aitrader.ports.bar_cache import BarStore


def stream(
    symbols: SymbolsOpt = None,
    vendor: Annotated[str, typer.Option(
        "--vendor", help="Vendor chain that backfills bars missed while disconnected.")
    ] = "alpaca",
    count: Annotated[int | None, typer.Option(
        "--bars", min=1, help="Stop after this many bars (default: until interrupted).")
    ] = None,
    calendar: CalendarOpt = None, journal: JournalOpt = None, config: ConfigFile = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object a line, per bar; a last line {\"summary\": ...}.")
    ] = False,
) -> None:
    """Print Alpaca's live one-minute bars, gated; bars missed during a reconnect are backfilled
    first. Quarantined bars never print; they are counted (and journaled with --journal)."""
    cfg = data_config(config, calendar=calendar, timeframe="1m", journal=journal)
    wanted = symbols_of(symbols)
    try:
        live = open_bar_stream(wanted, cfg.to_dict()["vendors"])
    except ValueError as error:
        raise UserError(str(error)) from None
    # the journal is opened (made and migrated) at the first quarantined bar, as data fetch
    # opens it at its first write: a stream Alpaca refuses, or one with nothing to quarantine,
    # leaves no journal behind
    store: BarStore | None = build_container(cfg).bar_store() if journal is not None else None
    gate = StreamGate(calendar_of(cfg), Timeframe.MINUTE_1, rules_of(cfg), store,
                      source="alpaca stream", notify=None if as_json else _tell)
    feed = BackfillingStream(live, source_of(cfg, vendor, store), Timeframe.MINUTE_1, gate)
    seen = 0
    bars = iter(feed)
    try:
        try:
            for bar in bars:
                _take_rejected(live.rejected, gate)
                values = {"symbol": str(bar.symbol), "ts_open": bar.ts_open.isoformat(),
                          "ts_close": bar.ts_close.isoformat(), "open": str(bar.open.value),
                          "high": str(bar.high.value), "low": str(bar.low.value),
                          "close": str(bar.close.value), "volume": str(bar.volume)}
                print(json.dumps(values) if as_json else " ".join(values.values()), flush=True)
                seen += 1
                if count is not None and seen >= count:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            live.close()
            bars.close()  # type: ignore[attr-defined]
        _take_rejected(live.rejected, gate)
    except PermissionError as error:  # the vendor refused the login: retrying cannot help
        raise RunFailedError(str(error)) from None
    except JournalUnavailableError as error:  # at the first quarantined bar
        raise RunFailedError(str(error)) from None
    summary = {"bars": seen, "backfilled": feed.backfilled,
               "quarantined": len(gate.quarantined), "reasons": gate.counts,
               "unfilled": len(feed.unfilled)}
    if as_json:
        print(json.dumps({"summary": summary}), flush=True)
    else:
        print(f"{seen} bars, {feed.backfilled} backfilled, {len(gate.quarantined)} quarantined, "
              f"{len(feed.unfilled)} hole(s) left unfilled", file=sys.stderr)
        for reason, number in gate.counts.items():
            print(f"  {number:>8}  {reason}", file=sys.stderr)
    for reason in feed.unfilled:
        print(f"warning: a hole in the stream could not be backfilled: {reason}",
              file=sys.stderr)
    for problem in gate.unrecorded[:1]:
        print(f"warning: quarantined bars could not be journaled: {problem}", file=sys.stderr)


def register(data_app: typer.Typer) -> None:
    """Attach `stream` to the `data` group."""
    data_app.command("stream")(stream)


def _take_rejected(rejected: list[Quarantined], gate: StreamGate) -> None:
    """Quarantine the messages the stream adapter could not even turn into bars."""
    while rejected:
        gate.reject(rejected.pop(0))


def _tell(item: Quarantined) -> None:
    when = item.ts_close.isoformat() if item.ts_close else "?"
    print(f"quarantined: {item.symbol} {when} {item.reason}", file=sys.stderr)
