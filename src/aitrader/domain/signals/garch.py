"""GARCH(1,1) conditional volatility by its recursion, one bar at a time.

sigma2_{t+1} = omega + alpha * (x_t - mu)^2 + beta * sigma2_t on percent log returns x; the
first filtered bar starts from the fit's forecast at the end of its window (or, without one,
the unconditional variance). The output at bar t is the forecast
for bar t+1 (known at t's close) as a fraction: sqrt(sigma2_{t+1}) / 100, a per-bar standard
deviation of log returns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from aitrader.domain.signals.compiled import garch_run, garch_step, log_return, scaled_log_returns
from aitrader.domain.signals.kernel import NAN, FloatArray, Kernel, as_columns
from aitrader.domain.signals.models import RETURN_SCALE, GarchParams, Schedule, SymbolModels

# bars seen, previous close, variance forecast for this bar (NaN before the first fitted bar)
GarchState = tuple[int, float, float]


@attrs.frozen
class Garch:
    """Conditional volatility forecast for the next bar."""

    schedule: Schedule[GarchParams] = attrs.field(factory=Schedule)

    needs = frozenset({"garch"})  # the fitted models this kernel reads (see model_needs)

    @property
    def name(self) -> str:
        return "garch(1,1)"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("vol",)

    @property
    def warmup(self) -> int:
        return self.schedule.starts[0] if self.schedule.starts else 1

    def fitted(self, models: SymbolModels | None) -> Garch:
        """This kernel with the symbol's fitted GARCH schedule."""
        if models is None:
            return self
        return attrs.evolve(self, schedule=models.garch)

    def initial(self) -> GarchState:
        return (0, NAN, NAN)

    def step(self, state: GarchState, high: float, low: float,
             close: float) -> tuple[GarchState, tuple[float, ...]]:
        i, previous, sigma2 = state
        p = self.schedule.at(i) if i else None
        if p is None:
            return (i + 1, close, sigma2), (NAN,)
        x = log_return(close, previous, RETURN_SCALE)
        if math.isnan(sigma2):
            sigma2 = p.starting_variance
        sigma2 = garch_step(sigma2, x, p.mu, p.omega, p.alpha, p.beta)
        return (i + 1, close, sigma2), (math.sqrt(sigma2) / RETURN_SCALE,)

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        close = as_columns(high, low, close)[2]
        n = len(close)
        out = np.full(n, math.nan)
        x = scaled_log_returns(close, RETURN_SCALE)
        sigma2 = math.nan
        for lo, hi, p in self.schedule.segments(n):
            if max(lo, 1) < hi:
                if math.isnan(sigma2):
                    sigma2 = p.starting_variance
                sigma2 = garch_run(x, max(lo, 1), hi, sigma2, p.mu, p.omega, p.alpha, p.beta,
                                   out)
        return (np.sqrt(out) / RETURN_SCALE,)


if TYPE_CHECKING:
    _garch_is_a_kernel: Kernel[GarchState] = Garch()
