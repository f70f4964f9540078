"""Reports of a finished run: the metrics table, the JSON document and the CSV exports."""

from __future__ import annotations

import contextlib
import csv
import functools
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from aitrader.application.fits import refused_line
from aitrader.application.run import RunResult
from aitrader.domain.series import from_ns
from aitrader.entrypoints.files import write_all

_PERCENT = {"total_return", "cagr", "volatility", "max_drawdown", "win_rate", "exposure"}
_LABELS = [
    ("total_return", "Total return"), ("cagr", "CAGR"), ("volatility", "Volatility (ann.)"),
    ("sharpe", "Sharpe"), ("sortino", "Sortino"), ("max_drawdown", "Max drawdown"),
    ("max_drawdown_duration_days", "Max drawdown duration (days)"), ("calmar", "Calmar"),
    ("trades", "Trades"), ("win_rate", "Win rate"), ("profit_factor", "Profit factor"),
    ("avg_trade", "Average trade ($)"), ("exposure", "Exposure time"), ("turnover", "Turnover"),
    ("commissions", "Commissions ($)"), ("final_equity", "Final equity ($)"),
]


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if key in _PERCENT:
        return f"{value * 100:.2f} %"
    if isinstance(value, int):
        return str(value)
    return f"{value:,.2f}" if key in ("avg_trade", "commissions", "final_equity") else \
        f"{value:.3f}"


_RISK_LABELS = [
    *((f"{kind}_{level}_{method}", f"{kind.upper().replace('VAR', 'VaR')} {level} % ({method})")
      for level in ("95", "99") for method in ("historical", "parametric")
      for kind in ("var", "cvar")),
    ("gross_exposure_avg", "Gross exposure (avg)"), ("gross_exposure_max", "Gross exposure (max)"),
    ("net_exposure_avg", "Net exposure (avg)"), ("net_exposure_min", "Net exposure (min)"),
    ("net_exposure_max", "Net exposure (max)"),
]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f} %"


def metrics_table(result: RunResult) -> str:
    """A human-readable summary of the run; an unbounded figure (a profit factor with no
    losing trade) reads "inf", not "n/a" as one without data would."""
    metrics = attrs.asdict(result.metrics)
    lines = [
        f"run {result.run_id}  {result.mode}  {result.strategy}  "
        f"{','.join(map(str, result.symbols))}  {result.bars} bars",
    ]
    width = max(len(label) for _, label in _LABELS)
    lines += [f"  {label:<{width}}  {_fmt(key, metrics.get(key))}" for key, label in _LABELS]
    if result.risk is not None:
        risk = result.risk.to_dict()
        lines += [f"  {label:<{width}}  {_pct(risk.get(key))}" for key, label in _RISK_LABELS]
        concentration = risk.get("concentration")
        shown = "n/a" if concentration is None else f"{concentration:.3f}"
        lines.append(f"  {'Concentration (HHI)':<{width}}  {shown}")
    refused = refused_line(result.fits)
    if refused is not None:
        lines.append(f"  {refused} (see --json models)")
    lines.append(f"  {'digest':<{width}}  {result.digest}")
    return "\n".join(lines)


def json_document(result: RunResult, timings: Mapping[str, float],
                  outputs: Mapping[str, str]) -> dict[str, Any]:
    """The --json document: one object, fractions for returns and ratios."""
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "strategy": result.strategy,
        "symbols": [str(s) for s in result.symbols],
        "bars": result.bars,
        "digest": result.digest,
        "decisions_digest": result.decisions_digest,
        "metrics": result.metrics.to_dict(),
        "risk": result.risk.to_dict() if result.risk is not None else None,
        "models": dict(result.fits),
        "timings": {k: round(v, 6) for k, v in timings.items()},
        "outputs": dict(outputs),
    }


REPORTS = ("trades", "orders", "equity", "exposure")


def unwritable_report(out: Path) -> str | None:
    """Why the reports could not go into out, or None: checked before a run so that a run is
    not journaled only to find its reports have nowhere to go. Creates nothing: a directory
    that does not exist yet is judged by its nearest existing ancestor, and export makes it
    (a run that never starts, say because its journal cannot open, leaves no trace)."""
    existing = out
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return "not a directory" if existing == out else f"{existing} is not a directory"
    if existing == out:
        for name in REPORTS:
            path = out / f"{name}.csv"
            if path.is_dir():
                return f"{path.name} is a directory, not a file"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        return error.strerror or str(error)  # the caller names the directory
    return None


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _iso(value: object) -> str:
    return "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


def export(result: RunResult, out: Path) -> dict[str, str]:
    """Write trades.csv, orders.csv, equity.csv and exposure.csv into out; their paths.

    All four or none (entrypoints.files.write_all): each is written to a new file beside it,
    and only when every one is complete are they moved into place; a failure or Ctrl-C while
    moving them puts back the ones already moved (a reader sees old or new, never half).
    """
    made = [d for d in (out, *out.parents) if not d.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
        problem = unwritable_report(out)
        if problem is not None:  # said before anything is written
            raise OSError(problem)
        paths = {name: out / f"{name}.csv" for name in REPORTS}
        write_all([(paths[name], functools.partial(_write_csv, header=header, rows=rows))
                   for name, (header, rows) in _tables(result).items()])
    except BaseException:
        for directory in made:  # the directories this export made, left empty: not left behind
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    return {name: str(path) for name, path in paths.items()}


def _tables(result: RunResult) -> dict[str, tuple[list[str], Iterable[Sequence[object]]]]:
    """Each report's header and rows."""
    gross = result.gross if result.gross is not None else result.equity * 0.0
    net = result.net if result.net is not None else result.equity * 0.0
    return {
        "trades": ([
            "symbol", "direction", "entry_ts", "exit_ts", "quantity", "entry_px", "exit_px",
            "gross_pnl", "commission", "net_pnl", "return", "return_pct"],
            ([t.symbol, t.direction, _iso(t.entry_ts), _iso(t.exit_ts), t.quantity, t.entry_px,
              t.exit_px, t.gross_pnl, t.commission, t.net_pnl, f"{t.net_return:.6f}",
              f"{t.net_return * 100:.4f}"]
             for t in result.trades)),
        "orders": ([
            "client_order_id", "symbol", "side", "order_type", "time_in_force", "quantity",
            "limit_price", "stop_price", "status", "filled_qty", "avg_px", "created_at",
            "updated_at", "reason", "trail_amount", "oco_group"],
            ([o.client_order_id, o.symbol, o.side.value, o.intent.order_type.value,
              o.intent.time_in_force.value, o.intent.quantity, o.intent.limit_price or "",
              o.intent.stop_price or "", o.status.value, o.filled_qty,
              "" if o.avg_px is None else o.avg_px, _iso(o.created_at), _iso(o.updated_at),
              o.reason or "", o.intent.trail_amount or "", o.intent.oco_group or ""]
             for o in result.orders)),
        "equity": (["ts", "equity", "cash"],
                   ([from_ns(t).isoformat(), f"{e:.6f}", f"{c:.6f}"]
                    for t, e, c in zip(result.ts_ns.tolist(), result.equity.tolist(),
                                       result.cash.tolist(), strict=True))),
        "exposure": (["ts", "gross", "net", "gross_fraction", "net_fraction"],
                     ([from_ns(t).isoformat(), f"{g:.6f}", f"{n:.6f}",
                       f"{g / e:.6f}" if e > 0 else "", f"{n / e:.6f}" if e > 0 else ""]
                      for t, g, n, e in zip(result.ts_ns.tolist(), gross.tolist(), net.tolist(),
                                            result.equity.tolist(), strict=True))),
    }
