"""Average true range, Wilder's smoothing, streaming and batch."""

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

# seen (capped at period), previous close, sum of true ranges in warm-up, then the ATR
AtrState = tuple[int, float, float]


@attrs.frozen
class Atr(OnePeriodKernel):
    label = "atr"

    """Wilder's average true range over `period` bars.

    True range is max(high - low, |high - prev close|, |low - prev close|), and high - low on the
    first bar. The first ATR (bar period-1) is the mean of the first `period` true ranges, summed
    sequentially; then atr = (atr * (period - 1) + tr) / period. The batch twin computes true
    ranges with numpy (max and abs are exact, so they equal Python's for finite inputs), seeds
    with `np.cumsum`, and runs the recursion through `itertools.accumulate` with the stream's
    expression (about 0.15 s per million bars).
    """

    period: int = attrs.field(validator=valid_period)
    _keep: float = attrs.field(init=False, repr=False)
    _divisor: float = attrs.field(init=False, repr=False)

    @_keep.default
    def _keep_default(self) -> float:
        return float(check_period(self.period) - 1)  # defaults run before validators

    @_divisor.default
    def _divisor_default(self) -> float:
        return float(check_period(self.period))

    def initial(self) -> AtrState:
        return (0, NAN, 0.0)

    def step(
        self, state: AtrState, high: float, low: float, close: float
    ) -> tuple[AtrState, tuple[float, ...]]:
        seen, prev, value = state
        if seen >= self.period:
            tr = max(high - low, abs(high - prev), abs(low - prev))
            value = (value * self._keep + tr) / self._divisor
            return (seen, close, value), (value,)
        tr = high - low if seen == 0 else max(high - low, abs(high - prev), abs(low - prev))
        seen += 1
        value = value + tr
        if seen == self.period:
            value = value / self._divisor
            return (seen, close, value), (value,)
        return (seen, close, value), (NAN,)

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        high, low, close = as_columns(high, low, close)
        n, period, keep, divisor = len(close), self.period, self._keep, self._divisor
        out = nan_column(n)
        if n >= period:
            tr = high - low
            prev = close[:-1]
            tr[1:] = np.maximum(np.maximum(tr[1:], np.abs(high[1:] - prev)), np.abs(low[1:] - prev))
            seed = float(np.cumsum(tr[:period])[-1]) / divisor
            tail: list[float] = tr[period:].tolist()
            out[period - 1 :] = np.fromiter(
                accumulate(tail, lambda atr, x: (atr * keep + x) / divisor, initial=seed),
                np.float64,
                count=n - period + 1,
            )
        return (out,)


if TYPE_CHECKING:
    _atr_is_a_kernel: Kernel[AtrState] = Atr(1)
