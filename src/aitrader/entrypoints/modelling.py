"""From the configuration's kalman and regime sections to signal settings and fitted models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import attrs

from aitrader.application.fits import FitTally
from aitrader.application.models import FitPlan, fit_models
from aitrader.domain.series import BarFrame, from_ns, session_bounds
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
from aitrader.entrypoints.container.wiring import Container


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
                  frames: Sequence[BarFrame],
                  tally: FitTally | None = None) -> Mapping[Symbol, SymbolModels]:
    """Each symbol's model schedules for the kernels the strategy reads (the fits done and
    refused counted in `tally`, if given)."""
    return fit_models(strategy, frames, signal_settings(config), fit_plan(config),
                      container.model_fitter(), tally)


def with_sessions(container: Container, strategy: Strategy,
                  frames: Sequence[BarFrame]) -> Strategy:
    """The strategy with the regular sessions of the data's span, if a kernel of it groups bars
    into a higher timeframe (ValueError when that timeframe is not longer than the bars)."""
    kernels = [s.kernel for s in strategy.signals() if "sessions" in getattr(s.kernel, "needs", ())]
    if not kernels or not frames:
        return strategy
    for kernel in kernels:
        for frame in frames:
            if kernel.timeframe.length <= frame.timeframe.length:
                raise ValueError(f"{strategy.name}: the {kernel.timeframe.value} timeframe must "
                                f"be longer than the data's {frame.timeframe.value} bars")
    first = min(int(f.ts_open[0]) for f in frames if len(f))
    last = max(int(f.ts_close[-1]) for f in frames if len(f))
    windows = container.calendar().windows(from_ns(first) - timedelta(days=2),
                                           from_ns(last) + timedelta(days=2))
    starts, ends = session_bounds(windows)
    settings = getattr(strategy, "settings")  # noqa: B009  (strategies with model kernels)
    return attrs.evolve(strategy, settings=attrs.evolve(  # type: ignore[misc]
        settings, session_starts=tuple(starts.tolist()), session_ends=tuple(ends.tolist())))
