"""breakout: enter on a close beyond the prior Donchian channel, exit on an ATR trailing stop."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from aitrader.domain.signals import Atr, Donchian
from aitrader.domain.strategies.base import FLAT, ParamSpec, SignalSpec, Target, at_least, positive

PARAMS = {
    "entry": ParamSpec(int, 20, at_least(2), "Donchian channel length for entries (bars)"),
    "atr": ParamSpec(int, 14, at_least(1), "ATR period (bars)"),
    "atr_mult": ParamSpec(float, 3.0, positive, "trailing stop distance in ATRs"),
}


@attrs.frozen
class Breakout:
    """Long when the close breaks above the previous bar's N-bar high; short mirrored if allowed.
    The trailing stop sits atr_mult ATRs behind the best close since entry."""

    entry: int = 20
    atr: int = 14
    atr_mult: float = 3.0
    allow_short: bool = False
    name: str = "breakout"

    def signals(self) -> tuple[SignalSpec, ...]:
        return (SignalSpec("donchian", Donchian(self.entry)), SignalSpec("atr", Atr(self.atr)))

    def decider(self) -> _Decider:
        return _Decider(self.atr_mult, self.allow_short)

    def params(self) -> Mapping[str, object]:
        return {"entry": self.entry, "atr": self.atr, "atr_mult": self.atr_mult,
                "allow_short": self.allow_short}


_LONG = Target(1.0, reason="breakout above channel")
_SHORT = Target(-1.0, reason="breakout below channel")
_STOPPED = Target(0.0, reason="trailing stop hit")


class _Decider:
    """State: direction held, best close since entry, previous channel."""

    __slots__ = ("_allow_short", "_best", "_direction", "_lower", "_mult", "_upper")

    def __init__(self, atr_mult: float, allow_short: bool) -> None:
        self._mult = atr_mult
        self._allow_short = allow_short
        self._direction = 0
        self._best = math.nan
        self._upper = math.nan
        self._lower = math.nan

    def __call__(self, row: Sequence[float]) -> Target | None:
        close, upper, lower, atr = row[0], row[1], row[2], row[3]
        prev_upper, prev_lower = self._upper, self._lower
        self._upper, self._lower = upper, lower
        if math.isnan(prev_upper) or math.isnan(atr):
            return None
        if self._direction > 0:
            self._best = max(self._best, close)
            if close < self._best - self._mult * atr:
                self._direction = 0
                return _STOPPED
            return _LONG
        if self._direction < 0:
            self._best = min(self._best, close)
            if close > self._best + self._mult * atr:
                self._direction = 0
                return _STOPPED
            return _SHORT
        if close > prev_upper:
            self._direction, self._best = 1, close
            return _LONG
        if self._allow_short and close < prev_lower:
            self._direction, self._best = -1, close
            return _SHORT
        return FLAT
