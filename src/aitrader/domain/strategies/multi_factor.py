"""multi_factor: a cross-sectional score over the run's symbols, normalised to [-1, 1].

Each symbol's decider posts its factors when its bar closes (the engine shows every symbol's
bar of a moment before any decides, through `observe`): momentum (Kalman velocity over its
standard deviation), mean reversion (minus the innovation z-score) and low volatility (minus
GARCH's forecast). A symbol's score is the weighted sum of each factor's cross-sectional
z-score over the latest posted values of every symbol that has them, so it only ever reads
bars that have closed. The score's rank among the symbols maps linearly onto [-1, 1] (best
+1, worst -1), rounded to `step` so small reshuffles do not trade.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from aitrader.domain.signals import SignalSettings
from aitrader.domain.strategies.base import FLAT, Decider, ParamSpec, SignalSpec, Target, params_of
from aitrader.domain.strategies.models_row import Columns, garch_spec, kalman_spec, return_edge


def _weight(value: float) -> str | None:
    return None if value >= 0 and math.isfinite(value) else "must be a finite number >= 0"


PARAMS = {
    "w_momentum": ParamSpec(float, 1.0, _weight, "weight of the momentum factor"),
    "w_reversion": ParamSpec(float, 0.5, _weight, "weight of the mean-reversion factor"),
    "w_low_vol": ParamSpec(float, 0.5, _weight, "weight of the low-volatility factor"),
    "step": ParamSpec(float, 0.5, lambda v: None if 0 < v <= 1 else "must be in (0, 1]",
                      "exposures are rounded to multiples of this"),
}


@attrs.frozen
class MultiFactor:
    """Cross-sectional long/short (long-only unless shorting is on) factor portfolio."""

    w_momentum: float = 1.0
    w_reversion: float = 0.5
    w_low_vol: float = 0.5
    step: float = 0.5
    allow_short: bool = False
    settings: SignalSettings = attrs.field(factory=SignalSettings)
    name: str = "multi_factor"

    def __attrs_post_init__(self) -> None:
        if self.w_momentum + self.w_reversion + self.w_low_vol <= 0:
            raise ValueError("at least one factor weight must be positive")

    def signals(self) -> tuple[SignalSpec, ...]:
        return (kalman_spec(self.settings), garch_spec())

    def decider(self) -> Decider:
        """A lone symbol has no cross-section: it stays flat."""
        return self.deciders(1)[0]

    def deciders(self, count: int) -> list[Decider]:
        """One decider per symbol of a universe, sharing the board they post factors to."""
        board: list[tuple[float, float, float] | None] = [None] * count
        at = Columns.of(self.signals())
        return [_Decider(self, at, board, k) for k in range(count)]

    def params(self) -> Mapping[str, object]:
        return params_of(self, PARAMS)


def _zscores(values: Sequence[float]) -> list[float]:
    n = len(values)
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / n)
    return [0.0 if sd == 0 else (v - mean) / sd for v in values]


class _Decider:
    __slots__ = ("_at", "_board", "_k", "_s")

    def __init__(self, strategy: MultiFactor, at: Columns,
                 board: list[tuple[float, float, float] | None], k: int) -> None:
        self._s, self._at, self._board, self._k = strategy, at, board, k

    def observe(self, row: Sequence[float]) -> None:
        """Post this symbol's factors from its closed bar's row (None while any is unknown).
        The engine shows every symbol's row of a moment this way before any of them decides,
        so each ranks the same cross-section: the one every symbol posted at that close."""
        at = self._at
        velocity, velocity_var, z = row[at.kalman + 1], row[at.kalman + 3], row[at.kalman + 4]
        vol = row[at.garch]
        if any(math.isnan(v) for v in (velocity, z, vol)) or velocity_var <= 0:
            self._board[self._k] = None
        else:
            self._board[self._k] = (velocity / math.sqrt(velocity_var), -z, -vol)

    def __call__(self, row: Sequence[float]) -> Target | None:
        at, s = self._at, self._s
        self.observe(row)  # (again, if the engine showed it already: the same factors)
        if self._board[self._k] is None:
            return None
        posted = [(k, f) for k, f in enumerate(self._board) if f is not None]
        if len(posted) < 2:
            return FLAT
        columns = [_zscores([f[j] for _, f in posted]) for j in range(3)]
        weights = (s.w_momentum, s.w_reversion, s.w_low_vol)
        scores = [math.fsum(w * c[i] for w, c in zip(weights, columns, strict=True))
                  for i in range(len(posted))]
        mine = next(i for i, (k, _) in enumerate(posted) if k == self._k)
        # rank: how many score below mine, ties counted half (and ordered by symbol for none)
        below = sum(1 for v in scores if v < scores[mine])
        ties = sum(1 for v in scores if v == scores[mine]) - 1
        position = (below + 0.5 * ties) / (len(scores) - 1)
        exposure = round((2.0 * position - 1.0) / s.step) * s.step
        exposure = max(-1.0, min(1.0, exposure))
        if exposure < 0 and not s.allow_short:
            exposure = 0.0
        if exposure == 0:
            return Target(0.0, reason="middle of the cross-section")
        mu, variance = return_edge(row, at, s.settings.kalman.space)
        return Target(exposure, mu, variance, f"cross-sectional rank {position:.2f}")
