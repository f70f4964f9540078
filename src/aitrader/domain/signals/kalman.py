"""Constant-velocity (local linear trend) Kalman filter on price or log price.

State [level, velocity], transition [[1, 1], [0, 1]], observation [1, 0], process noise
diag(q_level, q_velocity), measurement noise r. Bar 0 sets the filtered state to
[first observation, 0] with covariance diag(p0, p0); every later bar predicts and updates.
Outputs per bar: the filtered level and velocity (in the filter's space: log price when
space is "log"), their variances, and the innovation z-score (NaN on bar 0).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from aitrader.domain.signals.compiled import kalman_run, kalman_step, log_price, log_prices
from aitrader.domain.signals.kernel import NAN, FloatArray, Kernel, as_columns
from aitrader.domain.signals.models import (
    KalmanNoise,
    KalmanSettings,
    Schedule,
    SymbolModels,
)

# bars seen, level, velocity, p00, p01, p11
KalmanState = tuple[int, float, float, float, float, float]

OUTPUTS = ("level", "velocity", "level_var", "velocity_var", "innovation_z")


def observations(close: FloatArray, space: str) -> FloatArray:
    """The series the filter observes: close, or its natural log."""
    return log_prices(close) if space == "log" else np.array(close, dtype=np.float64)


def kalman_loglik(y: FloatArray, p0: float, noise: KalmanNoise) -> float:
    """Gaussian log-likelihood of y[1:] given y[0] (the prediction-error decomposition)."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    if len(y) < 2:
        return 0.0
    state = np.array([y[0], 0.0, p0, 0.0, p0])
    out = np.empty((5, len(y)))
    return float(kalman_run(y, 1, len(y), state, noise.q_level, noise.q_velocity, noise.r, out))


@attrs.frozen
class Kalman:
    """The filter as a streaming kernel; `schedule` switches noise from a bar on (MLE)."""

    settings: KalmanSettings = attrs.field(factory=KalmanSettings)
    schedule: Schedule[KalmanNoise] | None = None
    _noise: Schedule[KalmanNoise] = attrs.field(init=False, repr=False)

    @_noise.default
    def _noise_default(self) -> Schedule[KalmanNoise]:
        if self.schedule is not None and self.schedule.starts[:1] == (0,):
            return self.schedule
        base: Schedule[KalmanNoise] = Schedule((0,), (self.settings.noise,))
        if self.schedule is None:
            return base
        for start, params in zip(self.schedule.starts, self.schedule.params, strict=True):
            base = base.then(start, params)
        return base

    needs = frozenset({"kalman"})  # the fitted models this kernel reads (see model_needs)

    @property
    def name(self) -> str:
        return f"kalman({self.settings.space})"

    @property
    def outputs(self) -> tuple[str, ...]:
        return OUTPUTS

    @property
    def warmup(self) -> int:
        return 1

    def fitted(self, models: SymbolModels | None) -> Kalman:
        """This kernel with the symbol's fitted noise schedule, if any."""
        if models is None or models.kalman is None:
            return self
        return attrs.evolve(self, schedule=models.kalman)

    def initial(self) -> KalmanState:
        return (0, NAN, NAN, NAN, NAN, NAN)

    def step(self, state: KalmanState, high: float, low: float,
             close: float) -> tuple[KalmanState, tuple[float, ...]]:
        i, level, velocity, p00, p01, p11 = state
        y = log_price(close) if self.settings.space == "log" else close
        if i == 0:
            p0 = self.settings.p0
            return (1, y, 0.0, p0, 0.0, p0), (y, 0.0, p0, p0, NAN)
        noise = self._noise.at(i)
        assert noise is not None  # the schedule always starts at bar 0
        level, velocity, p00, p01, p11, z, _ = kalman_step(
            level, velocity, p00, p01, p11, y, noise.q_level, noise.q_velocity, noise.r)
        return (i + 1, level, velocity, p00, p01, p11), (level, velocity, p00, p11, z)

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        close = as_columns(high, low, close)[2]
        n = len(close)
        out = np.full((5, n), math.nan)
        if n:
            y = observations(close, self.settings.space)
            p0 = self.settings.p0
            out[0, 0], out[1, 0], out[2, 0], out[3, 0] = y[0], 0.0, p0, p0
            state = np.array([y[0], 0.0, p0, 0.0, p0])
            for lo, hi, noise in self._noise.segments(n):
                if max(lo, 1) < hi:
                    kalman_run(y, max(lo, 1), hi, state, noise.q_level, noise.q_velocity,
                               noise.r, out)
        return tuple(np.ascontiguousarray(out[j]) for j in range(5))


if TYPE_CHECKING:
    _kalman_is_a_kernel: Kernel[KalmanState] = Kalman()
