"""momentum: trade the Kalman velocity relative to its uncertainty, only in whitelisted regimes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from aitrader.domain.signals import SignalSettings
from aitrader.domain.strategies.base import FLAT, ParamSpec, SignalSpec, Target, params_of, positive
from aitrader.domain.strategies.models_row import (
    Columns,
    garch_spec,
    kalman_spec,
    regime_index,
    regime_spec,
    return_edge,
    timeframe_check,
    trend_spec,
)

PARAMS = {
    "entry": ParamSpec(float, 2.0, positive,
                       "enter when |velocity| / its standard deviation reaches this"),
    "exit": ParamSpec(float, 0.5, positive, "leave when it falls below this"),
    "regimes": ParamSpec(str, "calm,normal",
                         help="regimes in which positions may be held (comma-separated, at least "
                         "one)"),
    "trend": ParamSpec(str, "", timeframe_check,
                       "a longer timeframe (e.g. 1h, 1D) whose closed bars' Kalman velocity "
                       "must agree in sign; empty: off"),
}


@attrs.frozen
class Momentum:
    """Long (short if allowed) while the filtered velocity is `entry` standard deviations from
    zero, until it falls below `exit` or the regime leaves the whitelist. With `trend` set, the
    velocity filtered on that longer timeframe's closed bars must point the same way."""

    entry: float = 2.0
    exit: float = 0.5
    regimes: str = "calm,normal"
    trend: str = ""
    allow_short: bool = False
    settings: SignalSettings = attrs.field(factory=SignalSettings)
    name: str = "momentum"

    def __attrs_post_init__(self) -> None:
        if self.exit > self.entry:
            raise ValueError(f"exit ({self.exit}) must not exceed entry ({self.entry})")
        regime_index(self.settings.regime.labels, self.regimes,
                     default=self.regimes == PARAMS["regimes"].default)
        problem = timeframe_check(self.trend)
        if problem:
            raise ValueError(problem)

    def signals(self) -> tuple[SignalSpec, ...]:
        specs = (kalman_spec(self.settings), regime_spec(self.settings), garch_spec())
        return (*specs, trend_spec(self.settings, self.trend)) if self.trend else specs

    def decider(self) -> _Decider:
        return _Decider(self, Columns.of(self.signals()),
                        regime_index(self.settings.regime.labels, self.regimes))

    def params(self) -> Mapping[str, object]:
        return params_of(self, PARAMS)


class _Decider:
    __slots__ = ("_allowed", "_at", "_direction", "_s")

    def __init__(self, strategy: Momentum, at: Columns, allowed: frozenset[int]) -> None:
        self._s, self._at, self._allowed = strategy, at, allowed
        self._direction = 0

    def __call__(self, row: Sequence[float]) -> Target | None:
        at, s = self._at, self._s
        velocity, velocity_var, label = row[at.kalman + 1], row[at.kalman + 3], row[at.regime]
        if math.isnan(label) or math.isnan(velocity_var) or velocity_var <= 0:
            return None
        t = velocity / math.sqrt(velocity_var)
        if int(label) not in self._allowed:
            self._direction = 0
            return Target(0.0, reason="regime not traded")
        trend = 0.0 if at.trend < 0 else row[at.trend + 1]
        if self._direction and (t * self._direction < s.exit or trend * self._direction < 0
                                or math.isnan(trend)):
            self._direction = 0
        # (not elif: a velocity that turned beyond entry the other way reverses on this bar)
        if not self._direction and abs(t) >= s.entry and (t > 0 or s.allow_short) and \
                (at.trend < 0 or trend * t > 0):
            self._direction = 1 if t > 0 else -1
        if not self._direction:
            return FLAT
        mu, variance = return_edge(row, at, s.settings.kalman.space)
        return Target(float(self._direction), mu, variance,
                      "velocity up" if self._direction > 0 else "velocity down")
