"""The paper runner: streamed bars, streaming kernels, the shared cycle, journal as it goes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import structlog
from returns.result import Failure, Result

from aitrader.application.cycle_state import BarSource
from aitrader.application.run import (
    Adapters,
    FloatArray,
    RunError,
    RunResult,
    RunSpec,
    close_run,
    failed_run,
    guarded,
    open_run,
)
from aitrader.domain.market import Bar
from aitrader.domain.series import to_ns
from aitrader.domain.signals import step_of
from aitrader.domain.strategies import bound_signals
from aitrader.ports.market_data import BarStream

log = structlog.get_logger(__name__)
Progress = Callable[[int], None]
"""Told the bars done after each bar (it decides how often to show them)."""


class _One:
    """A BarSource over one streamed bar."""

    __slots__ = ("_bar",)

    def __init__(self, bar: Bar) -> None:
        self._bar = bar

    def bar(self, i: int) -> Bar:
        return self._bar


def run_paper(spec: RunSpec, stream: BarStream, data_digest: str, adapters: Adapters,
              periods_per_year: float, progress: Progress | None = None,
              flush_every: int = 1_000) -> Result[RunResult, RunError]:
    """Trade the stream bar by bar until it ends; the journal is flushed every flush_every bars."""
    opened = open_run(spec, adapters, data_digest)
    if isinstance(opened, Failure):
        return opened
    cycle, digest = opened.unwrap()

    def body() -> Result[RunResult, RunError]:
        kernels = [[s.kernel for s in bound_signals(spec.strategy, spec.models.get(symbol))]
                   for symbol in spec.symbols]
        states = [[kernel.initial() for kernel in mine] for mine in kernels]
        points: tuple[list[int], list[float], list[float], list[float], list[float],
                      list[float]] = ([], [], [], [], [], [])
        written = 0
        last_ts: int | None = None

        def mark() -> None:
            points[1].append(cycle.equity_f())
            points[2].append(cycle.cash_f)
            gross, net, hhi = cycle.exposures_f()
            points[3].append(gross)
            points[4].append(net)
            points[5].append(hhi)

        def write_equity(upto: int) -> None:
            nonlocal written
            ts = np.array(points[0][written:upto], dtype=np.int64)
            eq = np.array(points[1][written:upto], dtype=np.float64)
            cash = np.array(points[2][written:upto], dtype=np.float64)
            adapters.journal.record_equity(cycle.run_id, ts, eq, cash)
            digest.equity(ts, eq)
            written = upto

        # The bars of one moment go to the cycle together (see TradingCycle.on_moment): they
        # wait until every symbol of the run has its bar for that moment, or a later bar comes.
        moment: list[tuple[int, Sequence[float], BarSource, int]] = []
        symbols = len(spec.symbols)

        def settle() -> None:
            if len(moment) == 1:
                k, row, source, i = moment[0]
                cycle.on_bar(k, row, source, i, last_ts or 0)
            elif moment:
                moment.sort(key=lambda bar: bar[0])  # in the run's symbol order, as backtests
                cycle.on_moment(moment, last_ts or 0)
            moment.clear()

        for bar in stream:
            if bar.symbol not in spec.symbols:
                continue
            taken[0] += 1  # taken in: a run stopped on it journals it as reached
            bars = taken[0]
            k = cycle.index_of(bar.symbol)
            high, low, close = float(bar.high.value), float(bar.low.value), float(bar.close.value)
            row = [close]
            symbol_states = states[k]
            ts_ns = to_ns(bar.ts_close)
            for j, kernel in enumerate(kernels[k]):
                symbol_states[j], outputs = step_of(kernel, symbol_states[j], ts_ns, high, low,
                                                    close)
                row.extend(outputs)
            if ts_ns != last_ts:
                if last_ts is not None:
                    settle()
                    mark()
                points[0].append(ts_ns)
                last_ts = ts_ns
            moment.append((k, row, _One(bar), 0))
            if len(moment) == symbols:
                settle()
            if bars % flush_every == 0:
                write_equity(len(points[1]))
                flushed = adapters.journal.flush()
                if isinstance(flushed, Failure):  # the run stops here: say so in the journal
                    return failed_run(adapters, cycle.run_id, str(flushed.failure()), bars)
            if progress is not None:  # every bar: a paced replay's bar may take minutes
                progress(bars)
        if last_ts is not None:
            settle()
            mark()
        write_equity(len(points[1]))
        def column(j: int) -> FloatArray:
            return np.array(points[j], dtype=np.float64)

        curve = (np.array(points[0], dtype=np.int64), column(1), column(2), column(3),
                 column(4), column(5))
        return close_run(spec, adapters, cycle, digest, taken[0], curve, periods_per_year)

    taken = [0]  # the bars taken from the stream so far
    return guarded(adapters, cycle, lambda: taken[0], body)
