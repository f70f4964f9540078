"""sma_cross: long while the fast SMA is above the slow one; short below it when allowed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from aitrader.domain.signals import Sma
from aitrader.domain.strategies.base import (
    FLAT,
    ParamSpec,
    SignalSpec,
    Target,
    TargetSeries,
    at_least,
    params_of,
)
from aitrader.domain.strategies.crossing import crossover_targets

PARAMS = {
    "fast": ParamSpec(int, 10, at_least(1), "fast SMA period (bars)"),
    "slow": ParamSpec(int, 50, at_least(2), "slow SMA period (bars)"),
}

_LONG = Target(1.0, reason="fast above slow")
_SHORT = Target(-1.0, reason="fast below slow")
_OUT = Target(0.0, reason="fast below slow")


@attrs.frozen
class SmaCross:
    """Hold long while SMA(fast) > SMA(slow); below it hold flat, or short if shorting is on."""

    fast: int = 10
    slow: int = 50
    allow_short: bool = False
    name: str = "sma_cross"

    def __attrs_post_init__(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")

    def signals(self) -> tuple[SignalSpec, ...]:
        return (SignalSpec("sma_fast", Sma(self.fast)), SignalSpec("sma_slow", Sma(self.slow)))

    def decider(self) -> _Decider:
        return _Decider(_SHORT if self.allow_short else _OUT)

    def params(self) -> Mapping[str, object]:
        return params_of(self, PARAMS)

    def batch_targets(self, columns: Sequence[npt.NDArray[np.float64]]) -> TargetSeries:
        """_Decider folded over the columns, vectorised: above -> long, below -> out (or
        short), equal -> flat only before any cross, NaN (warm-up) -> unchanged."""
        return crossover_targets(_LONG, _SHORT if self.allow_short else _OUT, columns)


class _Decider:
    __slots__ = ("_below", "_last")

    def __init__(self, below: Target) -> None:
        self._below = below
        self._last: Target | None = None

    def __call__(self, row: Sequence[float]) -> Target | None:
        fast, slow = row[1], row[2]
        if fast > slow:
            self._last = _LONG
        elif fast < slow:
            self._last = self._below
        elif self._last is None and fast == slow:
            self._last = FLAT
        return self._last
