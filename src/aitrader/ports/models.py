"""ModelFitter: estimating model parameters from history (inference stays in the domain)."""

from __future__ import annotations

from typing import Protocol

import attrs
from returns.result import Result

from aitrader.domain.signals import FloatArray, GarchParams, HmmParams, KalmanNoise
from aitrader.ports.errors import PortError


@attrs.frozen
class ModelError(PortError):
    """A fit failed: too few observations, no convergence, a degenerate or non-stationary model."""


class ModelFitter(Protocol):
    """Fits the signal models; every fit is deterministic for the same inputs."""

    def fit_hmm(self, returns: FloatArray, states: int,
                seed: int) -> Result[HmmParams, ModelError]:
        """A Gaussian HMM on percent log returns, states ordered calmest first."""
        ...

    def fit_garch(self, returns: FloatArray) -> Result[GarchParams, ModelError]:
        """GARCH(1,1) with a constant mean on percent log returns; stationary or an error."""
        ...

    def fit_kalman(self, y: FloatArray, p0: float,
                   start: KalmanNoise) -> Result[KalmanNoise, ModelError]:
        """Maximum-likelihood noise of the constant-velocity filter on observations y."""
        ...
