"""Fitted model parameters, the schedules they apply on, and the settings that shape them.

Fitting is an adapter's job (behind `ports.models.ModelFitter`); the domain only holds what was
fitted and runs inference itself. A `Schedule` says from which bar each parameter set applies: a
set fitted on bars before s applies from bar s on, so no bar is filtered with parameters that
saw it or anything after it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from typing import Generic, Literal, TypeVar

import attrs
import numpy as np

from aitrader.domain.signals.kernel import FloatArray

P = TypeVar("P")

RETURN_SCALE = 100.0
"""Regime models are fitted on log returns of close in percent: 100 * log(c_t / c_{t-1})."""

_LABELS = {
    2: ("calm", "turbulent"),
    3: ("calm", "normal", "turbulent"),
    4: ("calm", "normal", "volatile", "turbulent"),
}


def regime_labels(states: int) -> tuple[str, ...]:
    """Names of an HMM's states, calmest first (2 to 4 states)."""
    labels = _LABELS.get(states)
    if labels is None:
        raise ValueError(f"regime models have 2, 3 or 4 states, not {states}")
    return labels


def _positive_finite(_i: object, a: attrs.Attribute[float], v: float) -> None:
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{a.name} must be a positive finite number, was {v}")


@attrs.frozen
class KalmanNoise:
    """The Kalman filter's noise: process diag(q_level, q_velocity), measurement r."""

    q_level: float = attrs.field(default=1e-5, converter=float, validator=_positive_finite)
    q_velocity: float = attrs.field(default=1e-8, converter=float, validator=_positive_finite)
    r: float = attrs.field(default=1e-4, converter=float, validator=_positive_finite)


@attrs.frozen
class KalmanSettings:
    """How the filter runs: on price or log price, its initial covariance and default noise."""

    space: Literal["price", "log"] = attrs.field(default="log")
    p0: float = attrs.field(default=1.0, converter=float, validator=_positive_finite)
    noise: KalmanNoise = attrs.field(factory=KalmanNoise)

    @space.validator
    def _space(self, _a: attrs.Attribute[str], value: str) -> None:
        if value not in ("price", "log"):
            raise ValueError(f"kalman space must be price or log, was {value!r}")


def _array(value: object) -> FloatArray:
    array = np.array(value, dtype=np.float64)
    array.setflags(write=False)
    return array


def _optional_array(value: object) -> FloatArray | None:
    return None if value is None else _array(value)


@attrs.frozen
class HmmParams:
    """A Gaussian HMM on percent log returns; states ordered by variance, calmest first.

    `startprob` is the fitted distribution of the first state of the training window. `prior`
    is the state distribution the filter starts from on the first bar it filters (default
    `startprob`): a fitter sets it to the filtered distribution at the end of its training
    window moved one step by `transmat`, so the first filtered bar does not inherit the state
    the window began in. Both come only from bars before the ones filtered.
    """

    startprob: FloatArray = attrs.field(converter=_array, eq=False)
    transmat: FloatArray = attrs.field(converter=_array, eq=False)
    means: FloatArray = attrs.field(converter=_array, eq=False)
    variances: FloatArray = attrs.field(converter=_array, eq=False)
    prior: FloatArray = attrs.field(converter=_optional_array, eq=False, default=None)
    # [prior | means | variances | transmat] per state: one array for the compiled step
    packed: FloatArray = attrs.field(init=False, eq=False, repr=False, default=None)

    def __attrs_post_init__(self) -> None:
        k = len(self.means)
        if self.prior is None:
            object.__setattr__(self, "prior", self.startprob)
        if self.startprob.shape != (k,) or self.transmat.shape != (k, k) or \
                self.variances.shape != (k,) or self.prior.shape != (k,):
            raise ValueError("HMM parameters must describe one number of states")
        if not (np.all(np.isfinite(self.transmat)) and np.all(self.variances > 0)
                and np.all(np.isfinite(self.means)) and np.all(np.isfinite(self.prior))):
            raise ValueError("HMM parameters must be finite with positive variances")
        for rows in (self.startprob, self.prior, self.transmat):
            if not (np.all(rows >= 0) and np.allclose(rows.sum(axis=-1), 1.0)):
                raise ValueError("HMM start, prior and transition probabilities must each be "
                                 "non-negative and sum to one")
        packed = _array(np.column_stack((self.prior, self.means, self.variances,
                                         self.transmat)))
        object.__setattr__(self, "packed", packed)  # derived once, after the checks

    @property
    def states(self) -> int:
        return len(self.means)

    def ordered(self) -> HmmParams:
        """The same model with states sorted by variance (calmest first)."""
        order = np.argsort(self.variances, kind="stable")
        return HmmParams(self.startprob[order], self.transmat[np.ix_(order, order)],
                         self.means[order], self.variances[order], self.prior[order])


def _optional_positive(_i: object, a: attrs.Attribute[float | None], v: float | None) -> None:
    if v is not None and not (math.isfinite(v) and v > 0):
        raise ValueError(f"{a.name} must be a positive finite number, was {v}")


@attrs.frozen
class GarchParams:
    """GARCH(1,1) on percent log returns with a constant mean mu.

    `first_variance` is the conditional variance of the first bar the recursion runs on: a
    fitter sets it to the forecast made at the end of its training window (from the window's
    bars only); without it the recursion starts from the unconditional variance.
    """

    mu: float = attrs.field(converter=float)
    omega: float = attrs.field(converter=float, validator=_positive_finite)
    alpha: float = attrs.field(converter=float)
    beta: float = attrs.field(converter=float)
    first_variance: float | None = attrs.field(
        default=None, converter=attrs.converters.optional(float), validator=_optional_positive)

    def __attrs_post_init__(self) -> None:
        if not (self.alpha >= 0 and self.beta >= 0 and self.alpha + self.beta < 1):
            raise ValueError("GARCH needs alpha, beta >= 0 and alpha + beta < 1 (stationary)")

    @property
    def unconditional_variance(self) -> float:
        return self.omega / (1.0 - self.alpha - self.beta)

    @property
    def starting_variance(self) -> float:
        """The variance the recursion starts from on its first bar."""
        if self.first_variance is None:
            return self.unconditional_variance
        return self.first_variance


@attrs.frozen
class Schedule(Generic[P]):
    """Parameter sets and the bar index each applies from (increasing)."""

    starts: tuple[int, ...] = ()
    params: tuple[P, ...] = ()

    def __attrs_post_init__(self) -> None:
        if len(self.starts) != len(self.params):
            raise ValueError("a schedule needs one start per parameter set")
        if any(b <= a for a, b in zip(self.starts, self.starts[1:], strict=False)):
            raise ValueError("schedule starts must increase")

    def at(self, i: int) -> P | None:
        """The parameters that apply to bar i (None before the first start)."""
        k = bisect_right(self.starts, i) - 1
        return self.params[k] if k >= 0 else None

    def segments(self, n: int) -> Iterator[tuple[int, int, P]]:
        """(first bar, bar after the last, params) for each stretch of bars 0..n-1 with params."""
        for k, (start, params) in enumerate(zip(self.starts, self.params, strict=True)):
            stop = self.starts[k + 1] if k + 1 < len(self.starts) else n
            lo, hi = min(start, n), min(stop, n)
            if lo < hi:
                yield lo, hi, params

    def then(self, start: int, params: P) -> Schedule[P]:
        """This schedule with another parameter set applying from bar start."""
        return Schedule((*self.starts, start), (*self.params, params))


@attrs.frozen
class RegimeSettings:
    """The regime model's shape: number of states and the hysteresis of its labels.

    The label moves to another state only when that state's filtered probability reaches
    `switch` (and is the largest); below that the previous label stays, so it does not flicker.
    """

    states: int = 3
    switch: float = 0.7

    def __attrs_post_init__(self) -> None:
        regime_labels(self.states)
        if not 0.5 <= self.switch <= 1.0:
            raise ValueError(f"regime switch must be in [0.5, 1], was {self.switch}")

    @property
    def labels(self) -> tuple[str, ...]:
        return regime_labels(self.states)


@attrs.frozen
class SignalSettings:
    """Settings of the model kernels that do not depend on data (same for every symbol)."""

    kalman: KalmanSettings = attrs.field(factory=KalmanSettings)
    regime: RegimeSettings = attrs.field(factory=RegimeSettings)
    # the regular sessions of the run's span (UTC ns), for higher-timeframe kernels
    session_starts: tuple[int, ...] = ()
    session_ends: tuple[int, ...] = ()


@attrs.frozen
class SymbolModels:
    """One symbol's fitted schedules (empty: not fitted yet, the kernels output NaN)."""

    kalman: Schedule[KalmanNoise] | None = None
    hmm: Schedule[HmmParams] = attrs.field(factory=Schedule)
    garch: Schedule[GarchParams] = attrs.field(factory=Schedule)
