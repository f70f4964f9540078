"""LibraryModelFitter: hmmlearn, arch and scipy behind the ModelFitter port."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import structlog
from returns.result import Failure, Result, Success
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from aitrader.domain.signals import (
    FloatArray,
    GarchParams,
    HmmParams,
    KalmanNoise,
    kalman_loglik,
)
from aitrader.ports.models import ModelError, ModelFitter

log = structlog.get_logger(__name__)
_MIN_OBSERVATIONS = 30
_LOG_BOUNDS = (-30.0, 10.0)  # Kalman noise variances: e^-30 to e^10 times the moves' variance
_STAY = 0.9  # the HMM's starting probability of staying in a state
# Every HMM state's variance is at least this share of the window's sample variance (a standard
# deviation a tenth of the sample's). A Gaussian state that sits on a few bars has a likelihood
# that grows without bound as its variance shrinks; hmmlearn's own floor (min_covar) is absolute
# and applies only to its k-means start, so in its EM only a 0.01 prior held JPM's collapsed
# state at sd 0.1 against a sample sd of 1.96. A real calm regime of equities is not ten times
# quieter than its window.
_VARIANCE_FLOOR = 0.01
# ... and owns at least this many bars (expected, the smoothed posteriors' sum): a variance
# estimated from fewer has a relative standard error above sqrt(2 / 10) = 45 %, and a state that
# owns one or two outlying bars is a jump, not a regime.
_MIN_OCCUPANCY = 10.0
_HMM_TOLERANCE = 1e-4  # log-likelihood units per EM iteration (a window's is ~ -1.7 per bar)
# A GARCH refit off the integrated boundary keeps alpha + beta <= 1 - margin: a variance
# half-life of ~690 bars, longer than any window it is fitted on, yet a stationary model.
_PERSISTENCE_MARGIN = 1e-3
T = TypeVar("T")
# Fits are deterministic, and the same windows come back (refits in look-ahead checks, runs of
# several strategies on one data set), so results are remembered by their exact inputs.
_FITS: dict[tuple[object, ...], Any] = {}
_MAX_FITS = 4096
# The BLAS libraries numpy and scipy loaded (above). A multi-threaded BLAS splits its sums by
# thread count, so arch's fit moved in the 6th digit between 1 and 2+ threads (OpenBLAS takes
# one per core): the same data gave other parameters, and another run digest, on another
# machine. Fits run on one BLAS thread; they are small, so it costs nothing measurable.
_BLAS = ThreadpoolController()


def _remembered(key: tuple[object, ...], data: FloatArray, fit: Callable[[], T]) -> T:
    full = (*key, hashlib.sha256(np.ascontiguousarray(data, dtype=np.float64).tobytes())
            .hexdigest())
    if full not in _FITS:
        if len(_FITS) >= _MAX_FITS:
            _FITS.clear()
        with _BLAS.limit(limits=1, user_api="blas"):
            _FITS[full] = fit()
    result: T = _FITS[full]
    return result


def _is_off_the_boundary(params: Any) -> bool:
    """alpha, beta >= 0 and alpha + beta <= 1 - margin: a fit the kernel runs as it is."""
    alpha, beta = float(params["alpha[1]"]), float(params["beta[1]"])
    return alpha >= 0 and beta >= 0 and alpha + beta <= 1 - _PERSISTENCE_MARGIN


def _garch_fit(x: FloatArray, stationary: bool) -> Result[Any, ModelError]:
    """arch's GARCH(1,1) fit; `stationary` keeps alpha + beta <= 1 - _PERSISTENCE_MARGIN."""
    from arch.univariate import GARCH, ConstantMean, Normal  # noqa: PLC0415  (slow import)

    model = ConstantMean(x, volatility=_stationary_garch()() if stationary else GARCH(p=1, q=1),
                         distribution=Normal(), rescale=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Success(model.fit(disp="off", show_warning=False))
    except (ValueError, np.linalg.LinAlgError) as error:
        return Failure(ModelError("fit_failed", f"GARCH fit failed: {error}"))


@functools.cache
def _stationary_garch() -> type:
    """arch's GARCH(1,1) with alpha + beta <= 1 - _PERSISTENCE_MARGIN (made once, on first use:
    arch is a slow import)."""
    from arch.univariate import GARCH  # noqa: PLC0415  (slow import)

    class StationaryGarch(GARCH):
        def constraints(self) -> tuple[FloatArray, FloatArray]:
            a, b = super().constraints()
            b = b.copy()
            b[-1] = -(1.0 - _PERSISTENCE_MARGIN)  # the row -alpha - beta >= b[-1]
            return a, b

    return StationaryGarch


@functools.cache
def _floored_hmm() -> type:
    """hmmlearn's GaussianHMM whose M-step holds every variance at or above a floor (made once,
    on first use: hmmlearn pulls scikit-learn). The per-state likelihood is unimodal in the
    variance, so the clipped value is the constrained maximiser and EM still climbs."""
    from hmmlearn.hmm import GaussianHMM  # noqa: PLC0415  (slow import)

    class FlooredHmm(GaussianHMM):  # type: ignore[misc]
        floor = 0.0  # set on the instance (scikit-learn's estimators take no extra arguments)
        _covars_: Any

        def _do_mstep(self, stats: dict[str, Any]) -> None:
            super()._do_mstep(stats)
            self._covars_ = np.maximum(self._covars_, self.floor)

    return FlooredHmm


def _usable(x: FloatArray, what: str) -> Result[FloatArray, ModelError]:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < _MIN_OBSERVATIONS:
        return Failure(ModelError("too_few_observations",
                                  f"{what} needs at least {_MIN_OBSERVATIONS} finite "
                                  f"observations, got {len(x)}"))
    return Success(x)


class LibraryModelFitter(ModelFitter):
    """Fits with hmmlearn's GaussianHMM (EM), arch's GARCH(1,1) and scipy's L-BFGS-B."""

    def __init__(self, hmm_iterations: int = 1000, kalman_iterations: int = 15000) -> None:
        self._iterations = hmm_iterations
        self._kalman_iterations = kalman_iterations  # scipy's L-BFGS-B default

    def fit_hmm(self, returns: FloatArray, states: int,
                seed: int) -> Result[HmmParams, ModelError]:
        return _remembered(("hmm", states, seed, self._iterations), returns,
                           lambda: self._fit_hmm(returns, states, seed))

    def fit_garch(self, returns: FloatArray) -> Result[GarchParams, ModelError]:
        return _remembered(("garch",), returns, lambda: self._fit_garch(returns))

    def fit_kalman(self, y: FloatArray, p0: float,
                   start: KalmanNoise) -> Result[KalmanNoise, ModelError]:
        return _remembered(("kalman", p0, start, self._kalman_iterations), y,
                           lambda: self._fit_kalman(y, p0, start))

    def _fit_hmm(self, returns: FloatArray, states: int,
                 seed: int) -> Result[HmmParams, ModelError]:
        usable = _usable(returns, "an HMM")
        if isinstance(usable, Failure):
            return usable
        x = usable.unwrap().reshape(-1, 1)
        # Start EM from volatility regimes rather than k-means: every state at the sample mean,
        # variances spread geometrically around the sample variance (calm below, turbulent
        # above). It is deterministic (no threaded clustering) and separates states by
        # volatility, which is what the labels mean. Regimes persist, so the transitions start
        # persistent too: staying has probability 0.9 plus a share of the rest, which is drawn
        # (Dirichlet) from a generator seeded with `seed`. From hmmlearn's own draw (a random
        # transition matrix, no persistence) EM needed hundreds of iterations and stopped at
        # its cap far from the maximum: a 3-state fit lost ~140 log-likelihood units and found
        # transient "regimes" (see tests/unit/test_fit_recovery.py).
        model = _floored_hmm()(n_components=states, covariance_type="diag",
                               n_iter=self._iterations, tol=_HMM_TOLERANCE, random_state=seed,
                               init_params="")
        model.floor = _VARIANCE_FLOOR * float(np.var(x))
        draw = np.random.default_rng(seed).dirichlet(np.ones(states), size=states)
        model.startprob_ = np.full(states, 1.0 / states)
        model.transmat_ = _STAY * np.eye(states) + (1.0 - _STAY) * draw
        spread = np.geomspace(0.25, 4.0, states)
        model.means_ = np.full((states, 1), float(np.mean(x)))
        model.covars_ = (float(np.var(x)) * spread).reshape(-1, 1) + 1e-6
        hmm_logger = logging.getLogger("hmmlearn")
        level = hmm_logger.level
        hmm_logger.setLevel(logging.ERROR)  # non-convergence notes: the fit is checked below
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(x)
        except (ValueError, np.linalg.LinAlgError) as error:
            return Failure(ModelError("fit_failed", f"HMM fit failed: {error}"))
        finally:
            hmm_logger.setLevel(level)
        history = list(model.monitor_.history)
        # hmmlearn's monitor calls a fit stopped by its cap "converged": judge by the last step
        if len(history) < 2 or history[-1] - history[-2] >= _HMM_TOLERANCE:
            return Failure(ModelError("not_converged",
                                      f"HMM EM did not converge in {self._iterations} "
                                      f"iterations (log-likelihood still rising by "
                                      f"{history[-1] - history[-2]:.2g} a step)"
                                      if len(history) >= 2 else "HMM EM did not run"))
        transmat = np.asarray(model.transmat_, dtype=np.float64)
        if not np.allclose(transmat.sum(axis=1), 1.0):
            return Failure(ModelError("degenerate", "HMM fit left a state never visited"))
        try:
            # where the window ended (filtered = smoothed at the last observation), one step on:
            # the distribution of the first bar after the window, from the window's bars only
            posteriors = model.predict_proba(x)
            owned = posteriors.sum(axis=0)
            if owned.min() < _MIN_OCCUPANCY:
                k = int(owned.argmin())
                return Failure(ModelError(
                    "degenerate",
                    f"an HMM state (sd {math.sqrt(float(model.covars_[k, 0, 0])):.2g} against "
                    f"the window's {float(np.std(x)):.2g}) owns {owned[k]:.1f} of {len(x)} "
                    f"bars, fewer than {_MIN_OCCUPANCY:g}: fewer states or a longer window"))
            prior = posteriors[-1] @ transmat
            params = HmmParams(model.startprob_, transmat, model.means_[:, 0],
                               model.covars_[:, 0, 0], prior / prior.sum())
        except (ValueError, np.linalg.LinAlgError) as error:
            return Failure(ModelError("degenerate", f"HMM fit is unusable: {error}"))
        return Success(params.ordered())

    def _fit_garch(self, returns: FloatArray) -> Result[GarchParams, ModelError]:
        usable = _usable(returns, "GARCH")
        if isinstance(usable, Failure):
            return usable
        x = usable.unwrap()
        fitted = _garch_fit(x, stationary=False)
        if isinstance(fitted, Success) and not _is_off_the_boundary(fitted.unwrap().params):
            # arch searches alpha + beta <= 1 and may end on the boundary (a window with no
            # volatility clustering ends at alpha = 0, beta = 1: a variance with no level),
            # which the kernel cannot run: refit over the stationary set it can. A fit on the
            # boundary lands a hair either side of 1 as rounding goes (1 + 1e-9 on one BLAS
            # thread, 1 - 1.4e-9 on two, for one window), so the margin decides, not the hair.
            log.debug("garch.boundary_refit", alpha=float(fitted.unwrap().params["alpha[1]"]),
                      beta=float(fitted.unwrap().params["beta[1]"]))
            fitted = _garch_fit(x, stationary=True)
        if isinstance(fitted, Failure):
            return fitted
        fit = fitted.unwrap()
        p = fit.params
        mu, omega = float(p["mu"]), float(p["omega"])
        alpha, beta = float(p["alpha[1]"]), float(p["beta[1]"])
        # the variance of the first bar after the window, forecast from the window's last bar
        last = x[-1] - mu
        first = omega + alpha * last * last + beta * float(fit.conditional_volatility[-1]) ** 2
        try:
            return Success(GarchParams(mu, omega, alpha, beta, first))
        except ValueError as error:
            return Failure(ModelError("non_stationary", f"GARCH fit is unusable: {error}"))

    def _fit_kalman(self, y: FloatArray, p0: float,
                    start: KalmanNoise) -> Result[KalmanNoise, ModelError]:
        y = np.ascontiguousarray(y, dtype=np.float64)
        if len(y) < _MIN_OBSERVATIONS or not np.all(np.isfinite(y)):
            return Failure(ModelError("too_few_observations",
                                      f"Kalman MLE needs at least {_MIN_OBSERVATIONS} finite "
                                      f"observations, got {len(y)}"))

        if np.max(np.abs(np.diff(y, 2))) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            return Failure(ModelError("degenerate",
                                      "Kalman MLE: the training bars lie on a straight line "
                                      "(flat or constant drift), which no noise explains "
                                      "better than zero; the configured noise applies"))
        # The search box is centred on the data's own scale (the variance of its moves):
        # fixed bounds cut off price-space fits of high-priced instruments (a $500,000 share
        # has noise variances ~1e7 dollars squared) and sat far below log-space ones.
        centre = math.log(float(np.var(np.diff(y))))
        low, high = centre + _LOG_BOUNDS[0], centre + _LOG_BOUNDS[1]

        def negative(theta: FloatArray) -> float:
            q_level, q_velocity, r = (math.exp(v) for v in theta)
            value = -kalman_loglik(y, p0, KalmanNoise(q_level, q_velocity, r))
            return value if math.isfinite(value) else 1e300

        x0 = np.clip(np.log([start.q_level, start.q_velocity, start.r]), low, high)
        result = minimize(negative, x0, method="L-BFGS-B", bounds=[(low, high)] * 3,
                          options={"maxiter": self._kalman_iterations})
        if not np.all(np.isfinite(result.x)):
            return Failure(ModelError("fit_failed", f"Kalman MLE failed: {result.message}"))
        if not result.success:
            # a point where the search stopped is not a maximum-likelihood estimate: the
            # configured noise is the better-founded one (the caller says so at warning level)
            return Failure(ModelError("not_converged",
                                      f"Kalman MLE did not converge: {result.message}"))
        q_level, q_velocity, r = (float(math.exp(v)) for v in result.x)
        log.debug("kalman.fitted", q_level=q_level, q_velocity=q_velocity, r=r)
        return Success(KalmanNoise(q_level, q_velocity, r))
