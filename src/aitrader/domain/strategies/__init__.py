"""Strategies: signal state to target exposure plus edge; never orders."""

from aitrader.domain.strategies.base import (
    FLAT,
    BarByBar,
    Decider,
    Observer,
    SignalSpec,
    Strategy,
    Target,
    TargetSeries,
    batch_targets_of,
    bound_signals,
    deciders_for,
    model_needs,
    signal_names,
    warmup,
)
from aitrader.domain.strategies.registry import (
    STRATEGIES,
    StrategyError,
    build_strategy,
    describe_strategies,
)

__all__ = [
    "FLAT",
    "STRATEGIES",
    "BarByBar",
    "Decider",
    "Observer",
    "SignalSpec",
    "Strategy",
    "StrategyError",
    "Target",
    "TargetSeries",
    "batch_targets_of",
    "bound_signals",
    "build_strategy",
    "deciders_for",
    "describe_strategies",
    "model_needs",
    "signal_names",
    "warmup",
]
