"""Performance statistics of equity curves and round trips (float world)."""

from aitrader.domain.metrics.performance import Metrics, performance

__all__ = ["Metrics", "performance"]
