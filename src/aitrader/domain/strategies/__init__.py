"""Strategies: signal state to target exposure plus edge; never orders."""

from aitrader.domain.strategies.base import (
    FLAT,
    Decider,
    SignalSpec,
    Strategy,
    Target,
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
    "Decider",
    "SignalSpec",
    "Strategy",
    "StrategyError",
    "Target",
    "build_strategy",
    "describe_strategies",
    "signal_names",
    "warmup",
]
