"""breakout: enter on a close beyond the prior Donchian channel, exit on an ATR trailing stop;
sized down in the turbulent regime."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from aitrader.domain.signals import Atr, Donchian, SignalSettings
from aitrader.domain.strategies.base import (
    FLAT,
    ParamSpec,
    SignalSpec,
    Target,
    at_least,
    params_of,
    positive,
)
from aitrader.domain.strategies.models_row import (
    Columns,
    garch_spec,
    kalman_spec,
    regime_spec,
    return_edge,
)

PARAMS = {
    "entry": ParamSpec(int, 20, at_least(2), "Donchian channel length for entries (bars)"),
    "atr": ParamSpec(int, 14, at_least(1), "ATR period (bars)"),
    "atr_mult": ParamSpec(float, 3.0, positive, "trailing stop distance in ATRs"),
    "turbulent_scale": ParamSpec(float, 0.5, lambda v: None if 0 <= v <= 1 else
                                 "must be between 0 and 1",
                                 "exposure multiplier while the regime is turbulent"),
}


@attrs.frozen
class Breakout:
    """Long when the close breaks above the previous bar's N-bar high; short mirrored if allowed.
    The trailing stop sits atr_mult ATRs behind the best close since entry. While the regime
    is the most turbulent state the exposure is scaled by turbulent_scale (no regime model
    fitted yet: full size)."""

    entry: int = 20
    atr: int = 14
    atr_mult: float = 3.0
    turbulent_scale: float = 0.5
    allow_short: bool = False
    settings: SignalSettings = attrs.field(factory=SignalSettings)
    name: str = "breakout"

    def signals(self) -> tuple[SignalSpec, ...]:
        return (SignalSpec("donchian", Donchian(self.entry)), SignalSpec("atr", Atr(self.atr)),
                regime_spec(self.settings), kalman_spec(self.settings), garch_spec())

    def decider(self) -> _Decider:
        return _Decider(self.atr_mult, self.allow_short, self.turbulent_scale,
                        Columns.of(self.signals()), self.settings)

    def params(self) -> Mapping[str, object]:
        return params_of(self, PARAMS)


_LONG = Target(1.0, reason="breakout above channel")
_SHORT = Target(-1.0, reason="breakout below channel")
_STOPPED = Target(0.0, reason="trailing stop hit")


class _Decider:
    """State: direction held, best close since entry, previous channel."""

    __slots__ = ("_allow_short", "_at", "_best", "_direction", "_lower", "_mult", "_scale",
                 "_space", "_turbulent", "_upper")

    def __init__(self, atr_mult: float, allow_short: bool, scale: float, at: Columns,
                 settings: SignalSettings) -> None:
        self._scale, self._at, self._space = scale, at, settings.kalman.space
        self._turbulent = settings.regime.states - 1
        self._mult = atr_mult
        self._allow_short = allow_short
        self._direction = 0
        self._best = math.nan
        self._upper = math.nan
        self._lower = math.nan

    def __call__(self, row: Sequence[float]) -> Target | None:
        target = self._decide(row)
        if target is None or not target.exposure:
            return target
        label = row[self._at.regime]
        turbulent = not math.isnan(label) and int(label) == self._turbulent
        exposure = target.exposure * (self._scale if turbulent else 1.0)
        mu, variance = return_edge(row, self._at, self._space)
        reason = target.reason + (" (turbulent: scaled down)" if turbulent else "")
        return Target(exposure, mu, variance, reason)

    def _decide(self, row: Sequence[float]) -> Target | None:
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
