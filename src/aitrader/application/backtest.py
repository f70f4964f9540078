"""The backtest runner: batch signals over history, then the shared cycle bar by bar."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from returns.result import Failure, Result

from aitrader.application.cycle import TradingCycle
from aitrader.application.run import (
    Adapters,
    FloatArray,
    IntArray,
    RunError,
    RunResult,
    RunSpec,
    close_run,
    frames_digest,
    guarded,
    open_run,
)
from aitrader.domain.series import BarFrame
from aitrader.domain.signals import SymbolModels, batch_of
from aitrader.domain.strategies import Strategy, TargetSeries, batch_targets_of, bound_signals

Progress = Callable[[int, int], None]
BatchTargets = Callable[[Sequence[FloatArray]], TargetSeries]
_CHUNK = 1 << 16


def signal_columns(strategy: Strategy, frame: BarFrame,
                   models: SymbolModels | None = None) -> list[FloatArray]:
    """The decider's columns (close, then every signal output) from the batch twins, with the
    symbol's fitted models bound to the kernels that read them."""
    columns: list[FloatArray] = [frame.close]
    for spec in bound_signals(strategy, models):
        columns.extend(batch_of(spec.kernel, frame.ts_close, frame.high, frame.low, frame.close))
    # float64 throughout, as np.column_stack would make them (no copy when they already are)
    return [np.asarray(c, dtype=np.float64) for c in columns]


def signal_rows(strategy: Strategy, frame: BarFrame) -> list[list[float]]:
    """Each bar's decider row (close, then every signal column) from the batch twins."""
    rows: list[list[float]] = np.column_stack(signal_columns(strategy, frame)).tolist()
    return rows


def _rows(columns: Sequence[FloatArray], start: int, stop: int) -> Iterator[tuple[float, ...]]:
    """Rows start..stop as tuples, made one at a time from per-chunk lists: a million row
    lists cost ~0.5 s and ~100 MB to build, and the garbage collector then walks them."""
    return zip(*[c[start:stop].tolist() for c in columns], strict=True)


def _chunked_rows(columns: Sequence[FloatArray]) -> Iterator[tuple[float, ...]]:
    for start in range(0, len(columns[0]), _CHUNK):
        yield from _rows(columns, start, start + _CHUNK)


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
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Equity, cash, gross and net exposure and the positions' Herfindahl index at each stamp,
    from the fills' change points.

    Between fills cash and quantities are constant, so the curve is cash plus each quantity
    times its symbol's last close: a float mark, computed for all stamps at once.
    """

    def steps(starts: IntArray, after: FloatArray, before: float) -> FloatArray:
        """A quantity at each stamp: `before`, then after[j] from stamp starts[j] on. Repeating
        each value over its span costs ~3 ms for a million stamps; searching every stamp among
        the changes and gathering, as before, cost ~30 ms."""
        spans = np.diff(starts, prepend=0, append=len(stamps))
        return np.repeat(np.concatenate(([before], after)), spans)

    n = len(stamps)
    gross = np.zeros(n, dtype=np.float64)
    net = np.zeros(n, dtype=np.float64)
    hhi = np.zeros(n, dtype=np.float64)  # the sum of squared values first, then their share
    if not changes:
        cash = np.full(n, cash0, dtype=np.float64)
        return cash.copy(), cash, gross, net, hhi
    at, symbol, cash_after, qty_after = zip(*changes, strict=True)
    # the first stamp each change covers (changes come in time order)
    starts = np.searchsorted(stamps, np.array(at, dtype=np.int64), side="left")
    cash = steps(starts, np.array(cash_after, dtype=np.float64), cash0)
    equity = cash.copy()
    of_symbol = np.array(symbol, dtype=np.int64)
    quantities = np.array(qty_after, dtype=np.float64)
    # In place throughout: a million-point curve makes every temporary 8 MB, and in the
    # bench's process each fresh one costs page faults as well.
    for k, frame in enumerate(frames):
        mine = of_symbol == k
        if not mine.any():
            continue
        value = steps(starts[mine], quantities[mine], 0.0)  # the quantity held, then its value
        if stamps is frame.ts_close:  # one symbol: stamp i is bar i
            value *= frame.close
        else:
            bar = np.searchsorted(frame.ts_close, stamps, side="right") - 1
            value *= np.where(bar >= 0, frame.close[np.maximum(bar, 0)], 0.0)
        equity += value
        net += value
        gross += np.abs(value, out=value)
        hhi += np.square(value, out=value)  # |v|^2 is v^2, to the bit
    held = gross > 0
    np.divide(hhi, np.square(gross), out=hhi, where=held)
    hhi[~held] = 0.0
    return equity, cash, gross, net, hhi


def _loop(cycle: TradingCycle, frames: Sequence[BarFrame], columns: list[list[FloatArray]],
          batch: BatchTargets | None, progress: Progress | None) -> tuple[int, IntArray]:
    """Feed every bar to the cycle in time order; the bar count and the curve's stamps."""
    if len(frames) == 1 and batch is not None and not cycle.watching:
        frame = frames[0]  # the targets from the batch twin: only bars that matter are visited
        cycle.on_history(0, columns[0], batch(columns[0]), frame, frame.ts_close, progress)
        return len(frame), frame.ts_close
    if len(frames) == 1:  # one symbol: its bars go to the cycle a chunk at a time
        frame = frames[0]
        total = len(frame)
        for start in range(0, total, _CHUNK):
            stop = min(start + _CHUNK, total)
            stamps: list[int] = frame.ts_close[start:stop].tolist()
            cycle.on_bars(0, _rows(columns[0], start, stop), frame, start, stamps)
            if progress is not None:
                progress(stop, total)
        return total, frame.ts_close
    on_bar, on_moment = cycle.on_bar, cycle.on_moment
    ks, idx, ts_sorted = _timeline(frames)
    ts_list = ts_sorted.tolist()
    total = len(ks)
    # the bars of one moment (several symbols closing at one instant) go to the cycle together
    ends: list[int] = [*(np.flatnonzero(np.diff(ts_sorted)) + 1).tolist(), total] if total \
        else []
    # each symbol's bars come in their own order, so its rows are simply taken in turn
    nexts = [_chunked_rows(c).__next__ for c in columns]
    j = reported = 0
    for end in ends:
        if end == j + 1:
            k = ks[j]
            on_bar(k, nexts[k](), frames[k], idx[j], ts_list[j])
        else:
            on_moment([(ks[m], nexts[ks[m]](), frames[ks[m]], idx[m]) for m in range(j, end)],
                      ts_list[j])
        j = end
        if progress is not None and (j - reported >= _CHUNK or j == total):
            progress(j, total)
            reported = j
    return total, np.unique(ts_sorted)


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

    def body() -> Result[RunResult, RunError]:
        columns = [signal_columns(spec.strategy, f, spec.models.get(f.symbol)) for f in frames]
        # A run allocates tens of thousands of long-lived records and no reference cycles, so the
        # collector's passes would only rescan them (~1 s per million bars); it resumes afterwards.
        collecting = gc.isenabled()
        gc.disable()
        try:
            batch = batch_targets_of(spec.strategy, len(frames))
            total, stamps = _loop(cycle, frames, columns, batch, progress)
            equity, cash, gross, net, hhi = mark_to_market(frames, stamps, float(spec.cash),
                                                           cycle.changes)
            adapters.journal.record_equity(cycle.run_id, stamps, equity, cash)
            digest.equity(stamps, equity)
            periods = spec.settings.periods_per_year or (
                frames[0].timeframe.periods_per_year if frames else 252.0)
            curve = (stamps, equity, cash, gross, net, hhi)
            return close_run(spec, adapters, cycle, digest, total, curve, periods)
        finally:
            if collecting:
                gc.enable()

    return guarded(adapters, cycle, cycle.bars_reached, body)
