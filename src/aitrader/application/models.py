"""Fitting the signal models on a schedule over trailing windows, never on later data.

Parameters that apply from bar s are always fitted on bars before s: the regime models on the
returns of the `window` bars before s (refitted every `refit_every` bars once `min_train` bars
exist), the Kalman noise (when estimated) on the first `train` bars, applying from bar `train`.
A failed or refused fit keeps the previous parameters; the failure is a warning naming the symbol,
and, when the caller passes a `FitTally`, a counted refusal that reaches the run's result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import structlog
from returns.result import Failure

from aitrader.application.fits import MODELS, FitTally
from aitrader.domain.series import BarFrame
from aitrader.domain.signals import (
    RETURN_SCALE,
    FloatArray,
    GarchParams,
    HmmParams,
    KalmanNoise,
    Schedule,
    SignalSettings,
    SymbolModels,
    observations,
)
from aitrader.domain.strategies import Strategy, model_needs
from aitrader.domain.values import Symbol
from aitrader.ports.models import ModelFitter

log = structlog.get_logger(__name__)


@attrs.frozen
class FitPlan:
    """When and on what the models are fitted (bar counts)."""

    window: int = 500
    refit_every: int = 63
    min_train: int = 126
    seed: int = 0
    kalman_fit: bool = False
    kalman_train: int = 126

    def __attrs_post_init__(self) -> None:
        for name in ("window", "refit_every", "min_train", "kalman_train"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, was {getattr(self, name)}")
        if self.min_train < 32 or self.kalman_train < 32:
            raise ValueError("min_train and kalman train need at least 32 bars")

    def fit_points(self, n: int) -> range:
        """Bars from which a refit applies: min_train, min_train + refit_every, ... below n."""
        return range(self.min_train, n, self.refit_every)


def percent_returns(close: FloatArray) -> FloatArray:
    """100 * log(c_t / c_{t-1}) for t >= 1 (one shorter than close)."""
    close = np.asarray(close, dtype=np.float64)
    return RETURN_SCALE * np.diff(np.log(close))


def fit_symbol(close: FloatArray, needs: frozenset[str], settings: SignalSettings,
               plan: FitPlan, fitter: ModelFitter, symbol: str = "",
               tally: FitTally | None = None) -> SymbolModels:
    """One symbol's schedules for the models in `needs` ("kalman", "hmm", "garch"); each fit
    done or refused is counted in `tally`, if given."""
    tally = tally if tally is not None else FitTally()
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    hmm: Schedule[HmmParams] = Schedule()
    garch: Schedule[GarchParams] = Schedule()
    kalman: Schedule[KalmanNoise] | None = None
    if needs & {"hmm", "garch"}:
        for start in plan.fit_points(n):
            returns = percent_returns(close[max(0, start - plan.window):start])
            if "hmm" in needs:
                fitted_hmm = fitter.fit_hmm(returns, settings.regime.states, plan.seed)
                if isinstance(fitted_hmm, Failure):
                    log.warning("hmm.fit_failed", symbol=symbol, bar=start,
                                reason=str(fitted_hmm.failure()))
                    tally.refused("hmm", symbol, start, fitted_hmm.failure().code,
                                  fitted_hmm.failure().message)
                else:
                    hmm = hmm.then(start, fitted_hmm.unwrap())
                    tally.done("hmm")
            if "garch" in needs:
                fitted_garch = fitter.fit_garch(returns)
                if isinstance(fitted_garch, Failure):
                    log.warning("garch.fit_failed", symbol=symbol, bar=start,
                                reason=str(fitted_garch.failure()))
                    tally.refused("garch", symbol, start, fitted_garch.failure().code,
                                  fitted_garch.failure().message)
                else:
                    garch = garch.then(start, fitted_garch.unwrap())
                    tally.done("garch")
    if "kalman" in needs and plan.kalman_fit and n <= plan.kalman_train:
        log.warning("kalman.fit_skipped", symbol=symbol, bars=n, train=plan.kalman_train,
                    reason="no bar after the training window: the configured noise applies")
        tally.refused("kalman", symbol, plan.kalman_train, "too_few_observations",
                      f"{n} bars, none after the {plan.kalman_train}-bar training window: "
                      "the configured noise applies")
    if "kalman" in needs and plan.kalman_fit and n > plan.kalman_train:
        k = settings.kalman
        y = observations(close[:plan.kalman_train], k.space)
        fitted_kalman = fitter.fit_kalman(y, k.p0, k.noise)
        if isinstance(fitted_kalman, Failure):
            log.warning("kalman.fit_failed", symbol=symbol, bar=plan.kalman_train,
                        reason=str(fitted_kalman.failure()))
            tally.refused("kalman", symbol, plan.kalman_train, fitted_kalman.failure().code,
                          fitted_kalman.failure().message)
        else:
            kalman = Schedule((0, plan.kalman_train), (k.noise, fitted_kalman.unwrap()))
            tally.done("kalman")
    return SymbolModels(kalman=kalman, hmm=hmm, garch=garch)


def counted_models(needs: frozenset[str], plan: FitPlan) -> tuple[str, ...]:
    """The models fitting `needs` fits, in report order: each one read, the Kalman noise only
    when asked to (kalman.fit)."""
    return tuple(m for m in MODELS if m in needs and (m != "kalman" or plan.kalman_fit))


def fit_models(strategy: Strategy, frames: Sequence[BarFrame], settings: SignalSettings,
               plan: FitPlan, fitter: ModelFitter,
               tally: FitTally | None = None) -> Mapping[Symbol, SymbolModels]:
    """Schedules per symbol for the models the strategy's kernels read (none: empty); the fits
    done and refused are counted in `tally`, if given, under the models the strategy has
    fitted (it reads and, for the Kalman noise, `plan.kalman_fit` asks for)."""
    needs = model_needs(strategy)
    if tally is not None:
        tally.models = counted_models(needs, plan)
    if not needs:
        return {}
    return {f.symbol: fit_symbol(f.close, needs, settings, plan, fitter, str(f.symbol), tally)
            for f in frames}
