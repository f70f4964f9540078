"""From the configuration's kalman and regime sections to signal settings and fitted models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aitrader.application.models import FitPlan, fit_models
from aitrader.domain.series import BarFrame
from aitrader.domain.signals import (
    KalmanNoise,
    KalmanSettings,
    RegimeSettings,
    SignalSettings,
    SymbolModels,
)
from aitrader.domain.strategies import Strategy
from aitrader.domain.values import Symbol
from aitrader.entrypoints.config import Config
from aitrader.entrypoints.container import Container

MODEL_SECTIONS = ("kalman.", "regime.")
"""--param names with these prefixes set configuration keys instead of strategy parameters."""


def signal_settings(config: Config) -> SignalSettings:
    """The data-independent settings of the model kernels."""
    k, r = config.kalman, config.regime
    return SignalSettings(
        kalman=KalmanSettings(space=k.space, p0=k.p0,
                              noise=KalmanNoise(k.q_level, k.q_velocity, k.r)),
        regime=RegimeSettings(states=r.states, switch=r.switch))


def fit_plan(config: Config) -> FitPlan:
    """When and on what the models are fitted."""
    r = config.regime
    return FitPlan(window=r.window, refit_every=r.refit_every, min_train=r.min_train,
                   seed=r.seed, kalman_fit=config.kalman.fit, kalman_train=config.kalman.train)


def fitted_models(container: Container, config: Config, strategy: Strategy,
                  frames: Sequence[BarFrame]) -> Mapping[Symbol, SymbolModels]:
    """Each symbol's model schedules for the kernels the strategy reads."""
    return fit_models(strategy, frames, signal_settings(config), fit_plan(config),
                      container.model_fitter())
