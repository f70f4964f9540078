"""A simulated venue: bar-matching broker for backtests and local paper trading."""

from aitrader.adapters.simulated.broker import SimulatedBroker

__all__ = ["SimulatedBroker"]
