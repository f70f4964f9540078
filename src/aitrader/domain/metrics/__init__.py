"""Performance statistics of equity curves and round trips (float world)."""

from aitrader.domain.metrics.performance import Metrics, performance
from aitrader.domain.metrics.risk import (
    RiskFigures,
    historical_var,
    parametric_var,
    risk_figures,
)

__all__ = ["Metrics", "RiskFigures", "historical_var", "parametric_var", "performance",
           "risk_figures"]
