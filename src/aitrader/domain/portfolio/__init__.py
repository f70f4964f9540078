"""Portfolio construction: sizing targets into quantities, and allocators' weights."""

from aitrader.domain.portfolio.allocators import (
    ALLOCATORS,
    RISK_AVERSION,
    allocate,
    bayes_stein_means,
)
from aitrader.domain.portfolio.scaling import SIZING_METHODS, ExposureScaler, SizingMethod
from aitrader.domain.portfolio.sizing import FRACTIONAL_STEP, WHOLE, FixedFraction, Sizing

__all__ = ["ALLOCATORS", "FRACTIONAL_STEP", "RISK_AVERSION", "SIZING_METHODS", "WHOLE",
           "ExposureScaler", "FixedFraction", "Sizing", "SizingMethod", "allocate",
           "bayes_stein_means"]
