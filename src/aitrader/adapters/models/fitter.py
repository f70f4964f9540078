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

    def __init__(self, hmm_iterations: int = 100) -> None:
        self._iterations = hmm_iterations

    def fit_hmm(self, returns: FloatArray, states: int,
                seed: int) -> Result[HmmParams, ModelError]:
        return _remembered(("hmm", states, seed, self._iterations), returns,
                           lambda: self._fit_hmm(returns, states, seed))

    def fit_garch(self, returns: FloatArray) -> Result[GarchParams, ModelError]:
        return _remembered(("garch",), returns, lambda: self._fit_garch(returns))

    def fit_kalman(self, y: FloatArray, p0: float,
                   start: KalmanNoise) -> Result[KalmanNoise, ModelError]:
        return _remembered(("kalman", p0, start), y, lambda: self._fit_kalman(y, p0, start))

    def _fit_hmm(self, returns: FloatArray, states: int,
                 seed: int) -> Result[HmmParams, ModelError]:
        from hmmlearn.hmm import GaussianHMM  # noqa: PLC0415  (first use: it pulls scikit-learn)

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
        model = GaussianHMM(n_components=states, covariance_type="diag",
                            n_iter=self._iterations, tol=1e-4, random_state=seed,
                            init_params="")
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
        transmat = np.asarray(model.transmat_, dtype=np.float64)
        if not np.allclose(transmat.sum(axis=1), 1.0):
            return Failure(ModelError("degenerate", "HMM fit left a state never visited"))
        try:
            # where the window ended (filtered = smoothed at the last observation), one step on:
            # the distribution of the first bar after the window, from the window's bars only
            prior = model.predict_proba(x)[-1] @ transmat
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
        result = minimize(negative, x0, method="L-BFGS-B", bounds=[(low, high)] * 3)
        if not np.all(np.isfinite(result.x)):
            return Failure(ModelError("fit_failed", f"Kalman MLE failed: {result.message}"))
        q_level, q_velocity, r = (float(math.exp(v)) for v in result.x)
        log.debug("kalman.fitted", q_level=q_level, q_velocity=q_velocity, r=r,
                  converged=bool(result.success))
        return Success(KalmanNoise(q_level, q_velocity, r))
