"""Performance statistics of equity curves and round trips (float world)."""

from aitrader.domain.metrics.annual import periods_per_year
from aitrader.domain.metrics.performance import Metrics, performance
from aitrader.domain.metrics.risk import (
    RiskFigures,
    historical_var,
    parametric_var,
    risk_figures,
)

__all__ = ["Metrics", "RiskFigures", "historical_var", "parametric_var", "performance",
           "periods_per_year", "risk_figures"]
