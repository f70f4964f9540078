"""mean_reversion: fade the price's deviation from the Kalman level, in calm regimes only."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from aitrader.domain.signals import SignalSettings
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
    "entry": ParamSpec(float, 2.0, positive, "enter when |z| reaches this"),
    "exit": ParamSpec(float, 0.5, positive, "leave once |z| is back within this"),
    "time_stop": ParamSpec(int, 10, at_least(1), "leave after this many bars in a position"),
}


@attrs.frozen
class MeanReversion:
    """z = (price - Kalman level) / its standard deviation, which for this filter is exactly the
    innovation z-score (the residual after the update is (r / s) times the innovation). Long
    when z <= -entry (short when z >= entry, if allowed), entries only in the calmest regime;
    out when |z| <= exit, when z crosses zero, or after `time_stop` bars."""

    entry: float = 2.0
    exit: float = 0.5
    time_stop: int = 10
    allow_short: bool = False
    settings: SignalSettings = attrs.field(factory=SignalSettings)
    name: str = "mean_reversion"

    def __attrs_post_init__(self) -> None:
        if self.exit >= self.entry:
            raise ValueError(f"exit ({self.exit}) must be below entry ({self.entry})")

    def signals(self) -> tuple[SignalSpec, ...]:
        return (kalman_spec(self.settings), regime_spec(self.settings), garch_spec())

    def decider(self) -> _Decider:
        return _Decider(self, Columns.of(self.signals()))

    def params(self) -> Mapping[str, object]:
        return params_of(self, PARAMS)


class _Decider:
    __slots__ = ("_at", "_direction", "_held", "_s")

    def __init__(self, strategy: MeanReversion, at: Columns) -> None:
        self._s, self._at = strategy, at
        self._direction = 0
        self._held = 0

    def __call__(self, row: Sequence[float]) -> Target | None:
        at, s = self._at, self._s
        z, label = row[at.kalman + 4], row[at.regime]
        if math.isnan(z):
            return None
        if self._direction:
            self._held += 1
            if abs(z) <= s.exit or z * self._direction > 0:
                self._direction = 0
                return Target(0.0, reason="reverted")
            if self._held >= s.time_stop:
                self._direction = 0
                return Target(0.0, reason="time stop")
            return self._target(row)
        if math.isnan(label):  # no regime model fitted yet: no view
            return None
        if int(label) != 0:
            return FLAT
        if z <= -s.entry or (s.allow_short and z >= s.entry):
            self._direction, self._held = (1 if z < 0 else -1), 0
            return self._target(row)
        return FLAT

    def _target(self, row: Sequence[float]) -> Target:
        at = self._at
        _, variance = return_edge(row, at, self._s.settings.kalman.space)
        # the expected move back to the level, spread over the bars the trade may last
        close, level = row[0], row[at.kalman]
        here = math.log(close) if self._s.settings.kalman.space == "log" else close
        gap = level - here
        if self._s.settings.kalman.space == "price":
            gap /= close
        return Target(float(self._direction), gap / self._s.time_stop, variance,
                      "below level" if self._direction > 0 else "above level")
