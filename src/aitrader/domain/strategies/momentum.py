"""momentum: trade the Kalman velocity relative to its uncertainty, only in whitelisted regimes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from aitrader.domain.signals import SignalSettings
from aitrader.domain.strategies.base import FLAT, ParamSpec, SignalSpec, Target, positive
from aitrader.domain.strategies.models_row import (
    Columns,
    garch_spec,
    kalman_spec,
    regime_index,
    regime_spec,
    return_edge,
)

PARAMS = {
    "entry": ParamSpec(float, 2.0, positive,
                       "enter when |velocity| / its standard deviation reaches this"),
    "exit": ParamSpec(float, 0.5, positive, "leave when it falls below this"),
    "regimes": ParamSpec(str, "calm,normal", help="regimes in which positions may be held"),
}


@attrs.frozen
class Momentum:
    """Long (short if allowed) while the filtered velocity is `entry` standard deviations from
    zero, until it falls below `exit` or the regime leaves the whitelist."""

    entry: float = 2.0
    exit: float = 0.5
    regimes: str = "calm,normal"
    allow_short: bool = False
    settings: SignalSettings = attrs.field(factory=SignalSettings)
    name: str = "momentum"

    def __attrs_post_init__(self) -> None:
        if self.exit > self.entry:
            raise ValueError(f"exit ({self.exit}) must not exceed entry ({self.entry})")
        regime_index(self.settings.regime.labels, self.regimes)

    def signals(self) -> tuple[SignalSpec, ...]:
        return (kalman_spec(self.settings), regime_spec(self.settings), garch_spec())

    def decider(self) -> _Decider:
        return _Decider(self, Columns.of(self.signals()),
                        regime_index(self.settings.regime.labels, self.regimes))

    def params(self) -> Mapping[str, object]:
        return {"entry": self.entry, "exit": self.exit, "regimes": self.regimes,
                "allow_short": self.allow_short}


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
        if self._direction and (t * self._direction < s.exit):
            self._direction = 0
        elif not self._direction and abs(t) >= s.entry and (t > 0 or s.allow_short):
            self._direction = 1 if t > 0 else -1
        if not self._direction:
            return FLAT
        mu, variance = return_edge(row, at, s.settings.kalman.space)
        return Target(float(self._direction), mu, variance,
                      "velocity up" if self._direction > 0 else "velocity down")
