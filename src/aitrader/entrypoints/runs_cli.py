"""`aitrader runs list`, `runs show` and `runs explain`: reading the journal."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from returns.result import Failure, Result

from aitrader.application.fits import fits_line, refused_line
from aitrader.domain.audit import Decision, RunInfo
from aitrader.domain.trading import Order
from aitrader.domain.values import Price
from aitrader.entrypoints.container import JournalUnavailableError, journal_file, open_journal
from aitrader.entrypoints.inputs import RunFailedError, UserError, as_day, parse_moment
from aitrader.entrypoints.options import ConfigFile, JournalUrl
from aitrader.ports.errors import JournalError
from aitrader.ports.journal import Journal

T = TypeVar("T")
_MOST_RUNS = 2**63 - 1
_MICROSECOND = timedelta(microseconds=1)  # the journal's resolution
JournalUrlFn = Callable[[str | None, Path | None], str]
RunIdArg = Annotated[str, typer.Argument(help="The run id (from `aitrader runs list`).")]
AsJsonList = Annotated[bool, typer.Option("--json", help="JSON list on stdout.")]
AsJsonObject = Annotated[bool, typer.Option("--json", help="JSON object on stdout.")]


def _info_dict(info: RunInfo) -> dict[str, Any]:
    m, s = info.manifest, info.summary
    return {
        "run_id": m.run_id, "mode": m.mode, "strategy": m.strategy,
        "symbols": [str(x) for x in m.symbols], "started_at": m.started_at.isoformat(),
        "data_digest": m.data_digest, "code_version": m.code_version, "config": m.config,
        "status": s.status if s else "running",
        "finished_at": s.finished_at.isoformat() if s else None,
        "bars": s.bars if s else None, "digest": s.digest if s else None,
        "decisions_digest": s.decisions_digest if s else None,
        "metrics": dict(s.metrics) if s else {},
    }


def missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite journal URL whose file does not exist, else None."""
    path = journal_file(url)
    return None if path is None or path.exists() else path


def is_text(value: str) -> bool:
    """Whether a command-line value is text a database can store: bytes that are not UTF-8
    (0xff, say) reach Python as lone surrogates, which no driver encodes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def run_info(store: Journal, run_id: str) -> RunInfo:
    """The run's record; an unknown id is the user's error, an unreadable journal a failure."""
    if not is_text(run_id):  # no run has such an id: it cannot even be looked up
        raise UserError(f"no run {run_id!r} in the journal (see `aitrader runs list`)")
    found = store.run(run_id)
    if isinstance(found, Failure):
        error = found.failure()
        if error.code == "unknown_run":
            raise UserError(f"no run {run_id!r} in the journal (see `aitrader runs list`)")
        raise RunFailedError(str(error))
    return found.unwrap()


def register(runs_app: typer.Typer, journal_url: JournalUrlFn) -> None:
    """Attach the runs commands to the runs group."""

    def journal_for(journal: str | None, config: Path | None) -> Any:
        url = journal_url(journal, config)
        missing = missing_sqlite_file(url)
        if missing is not None:  # reading never creates a journal where a typo points
            raise UserError(f"no journal at {missing} (run `aitrader backtest` first, or pass "
                            "--journal)")
        try:
            return open_journal(url)
        except JournalUnavailableError as error:
            raise RunFailedError(str(error)) from None

    register_explain(runs_app, journal_for)

    @runs_app.command("list")
    def runs_list(
        journal: JournalUrl = None, config: ConfigFile = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs.")] = 20,
        as_json: AsJsonList = False,
    ) -> None:
        """List the most recent runs, newest first."""
        # a 64-bit LIMIT: beyond it (more runs than any journal holds) means every run
        listed = journal_for(journal, config).runs(min(limit, _MOST_RUNS))
        if isinstance(listed, Failure):
            raise RunFailedError(str(listed.failure()))
        infos = [_info_dict(i) for i in listed.unwrap()]
        if as_json:
            print(json.dumps(json_ready(infos), default=str, allow_nan=False))
            return
        if not infos:
            print("no runs yet: try `aitrader backtest`")
            return
        named = max(10, *(len(i["strategy"]) for i in infos))  # mean_reversion is 14
        print(f"{'run_id':<18} {'started (UTC)':<20} {'mode':<9} {'strategy':<{named}} "
              f"{'bars':>8} {'return':>9} {'status':<9} symbols")
        for i in infos:
            ret = i["metrics"].get("total_return")
            shown = f"{ret * 100:.2f}%" if isinstance(ret, int | float) else "-"
            print(f"{i['run_id']:<18} {i['started_at'][:19]:<20} {i['mode']:<9} "
                  f"{i['strategy']:<{named}} {i['bars'] or 0:>8} {shown:>9} {i['status']:<9} "
                  f"{','.join(i['symbols'])}")

    @runs_app.command("show")
    def runs_show(
        run_id: RunIdArg,
        journal: JournalUrl = None, config: ConfigFile = None,
        as_json: AsJsonObject = False,
    ) -> None:
        """Show one run: manifest, digests, metrics and counts."""
        store = journal_for(journal, config)
        info = _info_dict(run_info(store, run_id))
        counts = store.counts(run_id)
        if isinstance(counts, Failure):  # never shown as 0 records
            raise RunFailedError(str(counts.failure()))
        info["counts"] = counts.unwrap()
        if as_json:
            print(json.dumps(json_ready(info), default=str, allow_nan=False))
            return
        for key in ("run_id", "status", "mode", "strategy", "symbols", "started_at",
                    "finished_at", "bars", "digest", "decisions_digest", "data_digest",
                    "code_version"):
            value = info[key]
            shown = "-" if value is None else ",".join(value) if isinstance(value, list) \
                else value
            print(f"{key:<17} {shown}")
        print(f"{'counts':<17} {info['counts']}")
        for key, value in info["metrics"].items():
            if key == "models" and isinstance(value, dict):  # the fits, not a bare dict
                print(f"  {key:<24} {fits_line(value)}")
                refused = refused_line(value)
                if refused is not None:
                    print(f"  {refused} (see --json metrics.models)")
                continue
            print(f"  {key:<24} {value}")
        print(f"{'config':<17} {json.dumps(info['config'], sort_keys=True, default=str)}")


def json_ready(value: Any) -> Any:
    """value with every non-finite float (a signal not known yet: NaN) as None, since JSON has
    no NaN and a strict reader refuses the whole document."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def _text(price: Price | None) -> str | None:
    return None if price is None else str(price.value)


def decision_dict(d: Decision, order: Order | None) -> dict[str, Any]:
    """One decision's chain as JSON-ready values: inputs, signals, target, sizing, verdicts."""
    return {
        "seq": d.seq, "ts": d.ts.isoformat(), "symbol": str(d.symbol), "close": str(d.close),
        "signals": dict(d.signals), "previous_exposure": d.previous_exposure,
        "target_exposure": d.target_exposure, "current_qty": str(d.current_qty),
        "target_qty": str(d.target_qty), "sizing": dict(d.sizing),
        "verdicts": [{"rule": v.rule, "passed": v.passed, "reason": v.reason}
                     for v in d.verdicts],
        "action": d.action, "client_order_id": d.client_order_id,
        "order": None if order is None else {
            "side": order.side.value, "quantity": str(order.intent.quantity.value),
            "order_type": order.intent.order_type.value,
            "limit_price": _text(order.intent.limit_price),
            "stop_price": _text(order.intent.stop_price),
            "trail_amount": _text(order.intent.trail_amount),
            "oco_group": order.intent.oco_group, "status": order.status.value,
            "filled_qty": str(order.filled_qty),
            "avg_px": None if order.avg_px is None else str(order.avg_px),
            "reason": order.reason},
    }


def explain_lines(item: dict[str, Any]) -> list[str]:
    """The decision chain as text, one fact a line."""
    lines = [f"decision {item['seq']}  {item['ts']}  {item['symbol']}  -> {item['action']}"]
    lines.append(f"  inputs    close {item['close']}, held {item['current_qty']}")
    if item["signals"]:
        shown = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in item["signals"].items())
        lines.append(f"  signals   {shown}")
    lines.append(f"  target    exposure {item['previous_exposure']} -> "
                 f"{item['target_exposure']}; quantity {item['target_qty']}")
    if item["sizing"]:
        lines.append("  sizing    " + ", ".join(f"{k}={v}" for k, v in item["sizing"].items()))
    if not item["verdicts"]:
        lines.append("  gates     none judged (no order needed)")
    for v in item["verdicts"]:
        verdict = "pass" if v["passed"] else f"REFUSED: {v['reason']}"
        lines.append(f"  gate      {v['rule']:<22} {verdict}")
    order = item["order"]
    if order is not None:
        done = f" at {order['avg_px']}" if order["avg_px"] else ""
        why = f" ({order['reason']})" if order["reason"] else ""
        lines.append(f"  order     {item['client_order_id']} {order['side']} {order['quantity']} "
                     f"{order['order_type']}: {order['status']}, filled "
                     f"{order['filled_qty']}{done}{why}")
    return lines


def at_window(at: str | None) -> tuple[datetime | None, datetime | None, datetime | None]:
    """--at as (since, until, moment): a day (every decision that US-Eastern day) is the window
    [its start, its end); an ISO moment (per symbol, the last decision at or before it: the one
    in force) is every decision up to it, and the moment."""
    if at is None:
        return None, None, None
    text = at.strip()
    if not text:
        raise UserError("--at: empty; give a day (YYYY-MM-DD) or an ISO moment")
    if as_day(text) is not None:
        return (parse_moment(text, is_end=False, what="--at"),
                parse_moment(text, is_end=True, what="--at"), None)
    moment = parse_moment(text, is_end=False, what="--at")
    return None, None if moment is None else moment + _MICROSECOND, moment


def in_force(decisions: Sequence[Decision]) -> list[Decision]:
    """Per symbol, the last of decisions (in order): the one in force after them."""
    latest: dict[str, Decision] = {}
    for d in decisions:
        latest[str(d.symbol)] = d
    return sorted(latest.values(), key=lambda d: d.seq)


def register_explain(runs_app: typer.Typer, journal_for: Callable[..., Any]) -> None:
    """`aitrader runs explain`: the decision chain behind trades and refusals."""

    @runs_app.command("explain")
    def runs_explain(
        run_id: RunIdArg,
        symbol: Annotated[str | None, typer.Option("--symbol", help="Only this symbol.")] = None,
        at: Annotated[str | None, typer.Option(
            "--at", help="A day (YYYY-MM-DD) or ISO moment (the decision in force then).")] = None,
        order: Annotated[str | None, typer.Option(
            "--order", help="The decision behind this client_order_id.")] = None,
        journal: JournalUrl = None, config: ConfigFile = None,
        as_json: AsJsonList = False,
    ) -> None:
        """Print the decision chain: inputs, signals, target, sizing, every gate's verdict."""
        store = journal_for(journal, config)
        symbols = [str(s) for s in run_info(store, run_id).manifest.symbols]
        name = None if symbol is None else symbol.strip().upper()
        if name is not None and name not in symbols:
            raise UserError(f"--symbol: run {run_id} traded {', '.join(symbols)}, not "
                            f"{symbol!r}")
        since, until, moment = at_window(at)
        if order is not None and (not is_text(order) or not _read(store.orders(run_id,
                                                                                [order]))):
            raise UserError(f"--order: run {run_id} has no order {order!r}")
        # the journal picks the decisions (a long run's are many: one order's is one row)
        chosen = _read(store.decisions(run_id, symbol=name, client_order_id=order,
                                       since=since, until=until))
        if moment is not None:
            chosen = in_force(chosen)
        ids = {d.client_order_id for d in chosen if d.client_order_id is not None}
        by_id = {o.client_order_id: o for o in _read(store.orders(run_id, ids))} if ids else {}
        items = [decision_dict(d, by_id.get(d.client_order_id or "")) for d in chosen]
        if as_json:
            print(json.dumps(json_ready(items), default=str, allow_nan=False))
            return
        if not items:
            print("no decision matches (decisions are journaled when a target changes)")
            return
        for item in items:
            print("\n".join(explain_lines(item)))


def _read(result: Result[Sequence[T], JournalError]) -> Sequence[T]:
    """What the journal read, or the run fails (exit 1) with its message."""
    if isinstance(result, Failure):
        raise RunFailedError(str(result.failure()))
    return result.unwrap()
