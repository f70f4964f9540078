"""Volatility regimes: HMM forward filtering with labels that hold (hysteresis).

Only the forward filter runs, P(state_t | returns up to t); smoothing would use later bars.
Inputs are percent log returns of close; bar 0 and bars before the first fitted parameters
output NaN. When a refit applies, filtering continues from the previous probabilities (states
are always ordered calmest first, so they mean the same from one fit to the next).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from aitrader.domain.signals.compiled import hmm_run, regime_step, scaled_log_returns
from aitrader.domain.signals.kernel import NAN, FloatArray, Kernel, as_columns
from aitrader.domain.signals.models import (
    RETURN_SCALE,
    HmmParams,
    RegimeSettings,
    Schedule,
    SymbolModels,
)

# bars seen, previous close, filtered probabilities (None before the first filtered bar), label
RegimeState = tuple[int, float, FloatArray | None, int]


@attrs.frozen
class Regime:
    """Regime label (0 = calmest) and each state's filtered probability, one bar at a time."""

    settings: RegimeSettings = attrs.field(factory=RegimeSettings)
    schedule: Schedule[HmmParams] = attrs.field(factory=Schedule)

    def __attrs_post_init__(self) -> None:
        if any(p.states != self.settings.states for p in self.schedule.params):
            raise ValueError(f"regime kernel has {self.settings.states} states; a fitted "
                             "model has another number")

    needs = frozenset({"hmm"})  # the fitted models this kernel reads (see model_needs)

    @property
    def name(self) -> str:
        return f"regime({self.settings.states})"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("value", *(f"p_{label}" for label in self.settings.labels))

    @property
    def warmup(self) -> int:
        return self.schedule.starts[0] if self.schedule.starts else 1

    def fitted(self, models: SymbolModels | None) -> Regime:
        """This kernel with the symbol's fitted HMM schedule."""
        if models is None:
            return self
        return attrs.evolve(self, schedule=models.hmm)

    def initial(self) -> RegimeState:
        return (0, NAN, None, -1)

    def step(self, state: RegimeState, high: float, low: float,
             close: float) -> tuple[RegimeState, tuple[float, ...]]:
        i, previous, probs, label = state
        params = self.schedule.at(i) if i else None
        if params is None:
            return (i + 1, close, probs, label), (NAN,) * (1 + self.settings.states)
        first = probs is None
        prior = np.zeros(self.settings.states) if probs is None else probs
        probs, label = regime_step(prior, first, close, previous, label, self.settings.switch,
                                   params.packed)
        return (i + 1, close, probs, label), (float(label), *probs.tolist())

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        close = as_columns(high, low, close)[2]
        n, k = len(close), self.settings.states
        out = np.full((1 + k, n), math.nan)
        x = scaled_log_returns(close, RETURN_SCALE)
        probs = np.zeros(k)
        started, label = False, -1
        for lo, hi, p in self.schedule.segments(n):
            if max(lo, 1) < hi:
                label = hmm_run(x, max(lo, 1), hi, probs, started, label, self.settings.switch,
                                p.prior, p.transmat, p.means, p.variances, out)
                started = True
        return tuple(np.ascontiguousarray(out[j]) for j in range(1 + k))


if TYPE_CHECKING:
    _regime_is_a_kernel: Kernel[RegimeState] = Regime()
