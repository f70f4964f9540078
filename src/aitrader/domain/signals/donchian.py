"""Donchian channel: highest high and lowest low of the last bars, streaming and batch."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from aitrader.domain.signals.kernel import (
    NAN,
    FloatArray,
    Kernel,
    as_columns,
    nan_column,
    valid_period,
)

# the last `period` highs and lows (fewer during warm-up), oldest first, and their max and min
DonchianState = tuple[tuple[float, ...], tuple[float, ...], float, float]


def _rolling(x: FloatArray, k: int, ufunc: np.ufunc, pad: float) -> FloatArray:
    """ufunc (maximum or minimum) over each window x[i-k+1 : i+1], for i >= k-1.

    van Herk/Gil-Werman: cut x into blocks of k, take prefix and suffix extremes inside each
    block; a window spans at most two blocks, so it is the extreme of one suffix and one
    prefix. O(n) whatever k, and exact because max and min never round.
    """
    n = len(x)
    if k == 1:
        return x.copy()
    padded = np.full(-(-n // k) * k, pad)
    padded[:n] = x
    columns = padded.reshape(-1, k).T  # (k, blocks): accumulate runs across blocks at once
    prefix = ufunc.accumulate(columns, axis=0).T.ravel()
    suffix = ufunc.accumulate(columns[::-1], axis=0)[::-1].T.ravel()
    result: FloatArray = ufunc(suffix[: n - k + 1], prefix[k - 1 : n])
    return result


@attrs.frozen
class Donchian:
    """Upper = max high, lower = min low over the last `period` bars including this one.

    The stream keeps the window as tuples with its running max and min, rescanning only when
    the extreme drops out; the batch twin uses an O(n) block algorithm. Both only compare,
    never round, so they agree exactly on finite input.
    """

    period: int = attrs.field(validator=valid_period)

    @property
    def name(self) -> str:
        return f"donchian({self.period})"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("upper", "lower")

    @property
    def warmup(self) -> int:
        return self.period - 1

    def initial(self) -> DonchianState:
        return ((), (), -math.inf, math.inf)

    def step(
        self, state: DonchianState, high: float, low: float, close: float
    ) -> tuple[DonchianState, tuple[float, ...]]:
        highs, lows, upper, lower = state
        if len(highs) == self.period:
            # rescan only when an extreme drops out; otherwise one comparison keeps it exact
            if highs[0] == upper:
                upper = max(highs[1:], default=-math.inf)
            if lows[0] == lower:
                lower = min(lows[1:], default=math.inf)
            highs, lows = highs[1:], lows[1:]
        highs = (*highs, high)
        lows = (*lows, low)
        upper = high if high > upper else upper
        lower = low if low < lower else lower
        if len(highs) == self.period:
            return (highs, lows, upper, lower), (upper, lower)
        return (highs, lows, upper, lower), (NAN, NAN)

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        high, low, close = as_columns(high, low, close)
        n, period = len(close), self.period
        upper, lower = nan_column(n), nan_column(n)
        if n >= period:
            upper[period - 1 :] = _rolling(high, period, np.maximum, -np.inf)
            lower[period - 1 :] = _rolling(low, period, np.minimum, np.inf)
        return upper, lower


if TYPE_CHECKING:
    _donchian_is_a_kernel: Kernel[DonchianState] = Donchian(1)
