"""Simple and exponential moving averages of closes, streaming and batch."""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING

import attrs
import numpy as np

from aitrader.domain.signals.kernel import (
    NAN,
    FloatArray,
    Kernel,
    OnePeriodKernel,
    as_columns,
    check_period,
    nan_column,
    valid_period,
)

# seen (capped at period), running total of every close, running totals after each of the
# last `period` bars (oldest first; zeros stand for the totals before the first bar)
SmaState = tuple[int, float, tuple[float, ...]]
# seen (capped at period), sum of the first closes, current average (NaN in warm-up)
EmaState = tuple[int, float, float]


@attrs.frozen
class Sma(OnePeriodKernel):
    label = "sma"

    """Mean of the last `period` closes, as a difference of running totals.

    value_t = (c_t - c_{t-period}) / period with c_t the running total of closes and c_{-1} = 0.
    The batch twin takes c from `np.cumsum` (sequential float additions); the stream keeps the
    same running total and the totals of the last `period` bars, so both subtract and divide
    the same floats. Rounding error grows with the running total, about eps * c_t (1e-10
    relative after a million bars of similar prices), never with the window.
    """

    period: int = attrs.field(validator=valid_period)

    def initial(self) -> SmaState:
        return (0, 0.0, (0.0,) * self.period)

    def step(
        self, state: SmaState, high: float, low: float, close: float
    ) -> tuple[SmaState, tuple[float, ...]]:
        seen, total, totals = state
        period = self.period
        total = total + close
        oldest = totals[0]
        totals = (*totals[1:], total)
        if seen < period:
            seen += 1
            if seen < period:
                return (seen, total, totals), (NAN,)
        return (seen, total, totals), ((total - oldest) / period,)

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        close = as_columns(high, low, close)[2]
        n, period = len(close), self.period
        out = nan_column(n)
        if n >= period:
            totals = np.cumsum(close)
            before = np.concatenate(([0.0], totals[: n - period]))
            out[period - 1 :] = (totals[period - 1 :] - before) / period
        return (out,)


@attrs.frozen
class Ema(OnePeriodKernel):
    label = "ema"

    """Exponential moving average of closes, alpha = 2 / (period + 1).

    Convention: the first value (bar period-1) is the mean of the first `period` closes, summed
    sequentially; afterwards ema = ema + alpha * (close - ema). The recursion has no exact
    vectorization, so the batch twin runs the same expression through `itertools.accumulate`
    over a Python list (about 0.1 s per million bars).
    """

    period: int = attrs.field(validator=valid_period)
    _alpha: float = attrs.field(init=False, repr=False)

    @_alpha.default
    def _alpha_default(self) -> float:
        return 2.0 / (check_period(self.period) + 1)  # defaults run before validators

    def initial(self) -> EmaState:
        return (0, 0.0, NAN)

    def step(
        self, state: EmaState, high: float, low: float, close: float
    ) -> tuple[EmaState, tuple[float, ...]]:
        seen, acc, ema = state
        if seen >= self.period:
            ema = ema + self._alpha * (close - ema)
            return (seen, acc, ema), (ema,)
        seen += 1
        acc = acc + close
        if seen == self.period:
            ema = acc / self.period
            return (seen, acc, ema), (ema,)
        return (seen, acc, ema), (NAN,)

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        close = as_columns(high, low, close)[2]
        n, period, alpha = len(close), self.period, self._alpha
        out = nan_column(n)
        if n >= period:
            seed = float(np.cumsum(close[:period])[-1]) / period
            tail: list[float] = close[period:].tolist()
            out[period - 1 :] = np.fromiter(
                accumulate(tail, lambda ema, x: ema + alpha * (x - ema), initial=seed),
                np.float64,
                count=n - period + 1,
            )
        return (out,)


if TYPE_CHECKING:
    _sma_is_a_kernel: Kernel[SmaState] = Sma(1)


if TYPE_CHECKING:
    _ema_is_a_kernel: Kernel[EmaState] = Ema(1)
