"""The backtest runner: batch signals over history, then the shared cycle bar by bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from returns.result import Failure, Result

from aitrader.application.run import (
    Adapters,
    FloatArray,
    IntArray,
    RunError,
    RunResult,
    RunSpec,
    close_run,
    frames_digest,
    open_run,
)
from aitrader.domain.series import BarFrame
from aitrader.domain.strategies import Strategy

Progress = Callable[[int, int], None]
_CHUNK = 1 << 16


def signal_rows(strategy: Strategy, frame: BarFrame) -> list[list[float]]:
    """Each bar's decider row (close, then every signal column) from the batch twins."""
    columns: list[FloatArray] = [frame.close]
    for spec in strategy.signals():
        columns.extend(spec.kernel.batch(frame.high, frame.low, frame.close))
    rows: list[list[float]] = np.column_stack(columns).tolist()
    return rows


def _timeline(frames: Sequence[BarFrame]) -> tuple[list[int], list[int], IntArray]:
    """Merge symbols into (ts_close, symbol order) order: symbol index and bar index per step."""
    ts = np.concatenate([f.ts_close for f in frames])
    ks = np.concatenate([np.full(len(f), k, dtype=np.int64) for k, f in enumerate(frames)])
    idx = np.concatenate([np.arange(len(f), dtype=np.int64) for f in frames])
    order = np.lexsort((ks, ts))
    return ks[order].tolist(), idx[order].tolist(), ts[order]


def mark_to_market(
    frames: Sequence[BarFrame], stamps: IntArray, cash0: float,
    changes: Sequence[tuple[int, int, float, float]],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Equity, cash and gross exposure at each stamp from the fills' change points.

    Between fills cash and quantities are constant, so the curve is cash plus each quantity
    times its symbol's last close: a float mark, computed for all stamps at once.
    """
    cash = np.full(len(stamps), cash0, dtype=np.float64)
    equity = cash.copy()
    gross = np.zeros(len(stamps), dtype=np.float64)
    if changes:
        change_ts = np.array([c[0] for c in changes], dtype=np.int64)
        last = np.searchsorted(change_ts, stamps, side="right") - 1
        cash_after = np.array([c[2] for c in changes], dtype=np.float64)
        cash = np.where(last >= 0, cash_after[np.maximum(last, 0)], cash0)
        equity = cash.copy()
        for k, frame in enumerate(frames):
            mine = [c for c in changes if c[1] == k]
            if not mine:
                continue
            mine_ts = np.array([c[0] for c in mine], dtype=np.int64)
            qty_after = np.array([c[3] for c in mine], dtype=np.float64)
            at = np.searchsorted(mine_ts, stamps, side="right") - 1
            qty = np.where(at >= 0, qty_after[np.maximum(at, 0)], 0.0)
            bar = np.searchsorted(frame.ts_close, stamps, side="right") - 1
            close = np.where(bar >= 0, frame.close[np.maximum(bar, 0)], 0.0)
            value = qty * close
            equity = equity + value
            gross = gross + np.abs(value)
    return equity, cash, gross


def run_backtest(spec: RunSpec, frames: Sequence[BarFrame], adapters: Adapters,
                 progress: Progress | None = None) -> Result[RunResult, RunError]:
    """Run the strategy over the frames (one per symbol, in spec.symbols order)."""
    if [f.symbol for f in frames] != list(spec.symbols):
        return Failure(RunError("internal", "frames must match the run's symbols in order"))
    if len({f.timeframe for f in frames}) > 1:
        return Failure(RunError("mixed_timeframes", "all symbols must share one timeframe"))
    opened = open_run(spec, adapters, frames_digest([f.digest() for f in frames]))
    if isinstance(opened, Failure):
        return opened
    cycle, digest = opened.unwrap()
    rows = [signal_rows(spec.strategy, f) for f in frames]
    on_bar = cycle.on_bar
    if len(frames) == 1:
        frame, only = frames[0], rows[0]
        ts_list: list[int] = frame.ts_close.tolist()
        total = len(only)
        for start in range(0, total, _CHUNK):
            stop = min(start + _CHUNK, total)
            for i in range(start, stop):
                on_bar(0, only[i], frame, i, ts_list[i])
            if progress is not None:
                progress(stop, total)
        stamps = frame.ts_close
    else:
        ks, idx, ts_sorted = _timeline(frames)
        ts_list = ts_sorted.tolist()
        total = len(ks)
        for start in range(0, total, _CHUNK):
            stop = min(start + _CHUNK, total)
            for j in range(start, stop):
                k, i = ks[j], idx[j]
                on_bar(k, rows[k][i], frames[k], i, ts_list[j])
            if progress is not None:
                progress(stop, total)
        stamps = np.unique(ts_sorted)
    equity, cash, gross = mark_to_market(frames, stamps, float(spec.cash), cycle.changes)
    adapters.journal.record_equity(cycle.run_id, stamps, equity, cash)
    digest.equity(stamps, equity)
    periods = frames[0].timeframe.periods_per_year if frames else 252.0
    return close_run(spec, adapters, cycle, digest, total, (stamps, equity, cash, gross),
                     periods)
