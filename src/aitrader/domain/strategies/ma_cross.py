"""ma_cross: fast/slow SMA or EMA crossover, on closes or on the Kalman-filtered price."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from aitrader.domain.signals import Ema, OnKalmanLevel, SignalSettings, Sma
from aitrader.domain.signals.kalman import Kalman
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
from aitrader.domain.strategies.models_row import Columns, garch_spec, kalman_spec, return_edge

PARAMS = {
    "kind": ParamSpec(str, "ema", lambda v: None if v in ("sma", "ema") else "must be sma or ema",
                      "moving average: sma or ema"),
    "fast": ParamSpec(int, 10, at_least(1), "fast average period (bars)"),
    "slow": ParamSpec(int, 50, at_least(2), "slow average period (bars)"),
    "kalman": ParamSpec(bool, False, help="average the Kalman-filtered price, not the close"),
}


@attrs.frozen
class MaCross:
    """Long while the fast average is above the slow one; below it flat, or short if allowed.
    The edge comes from the Kalman velocity and the GARCH variance."""

    kind: str = "ema"
    fast: int = 10
    slow: int = 50
    kalman: bool = False
    allow_short: bool = False
    settings: SignalSettings = attrs.field(factory=SignalSettings)
    name: str = "ma_cross"

    def __attrs_post_init__(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")

    def _average(self, period: int) -> object:
        average = Sma(period) if self.kind == "sma" else Ema(period)
        return OnKalmanLevel(average, Kalman(self.settings.kalman)) if self.kalman else average

    def signals(self) -> tuple[SignalSpec, ...]:
        return (SignalSpec("ma_fast", self._average(self.fast)),
                SignalSpec("ma_slow", self._average(self.slow)),
                kalman_spec(self.settings), garch_spec())

    def decider(self) -> _Decider:
        return _Decider(self, Columns.of(self.signals()))

    def params(self) -> Mapping[str, object]:
        return params_of(self, PARAMS)

    def batch_targets(self, columns: Sequence[npt.NDArray[np.float64]]) -> TargetSeries:
        """_Decider folded over the columns: the crossover state vectorised (as sma_cross's),
        each bar's edge made from its own row when the engine asks for that bar's target."""
        at, space = Columns.of(self.signals()), self.settings.kalman.space

        def with_edge(target: Target, row: Sequence[float]) -> Target:
            if target.exposure == 0.0:
                return target
            mu, variance = return_edge(row, at, space)
            return Target(target.exposure, mu, variance, target.reason)

        return crossover_targets(_LONG, _SHORT if self.allow_short else FLAT, columns,
                                 per_bar=with_edge)


_LONG = Target(1.0, reason="fast above slow")  # (batch_targets' table; the edge is per bar)
_SHORT = Target(-1.0, reason="fast below slow")


class _Decider:
    __slots__ = ("_at", "_last", "_s")

    def __init__(self, strategy: MaCross, at: Columns) -> None:
        self._s, self._at = strategy, at
        self._last: int | None = None

    def __call__(self, row: Sequence[float]) -> Target | None:
        fast, slow = row[1], row[2]
        if fast > slow:
            self._last = 1
        elif fast < slow:
            self._last = -1 if self._s.allow_short else 0
        elif self._last is None and fast == slow:
            self._last = 0
        if self._last is None:
            return None
        if self._last == 0:
            return FLAT
        mu, variance = return_edge(row, self._at, self._s.settings.kalman.space)
        return Target(float(self._last), mu, variance,
                      "fast above slow" if self._last > 0 else "fast below slow")
