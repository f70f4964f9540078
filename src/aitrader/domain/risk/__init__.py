"""Risk: gates that every intent passes, in every mode."""

from aitrader.domain.risk.gates import (
    BuyingPower,
    Gate,
    LongOnly,
    MaxPositionFraction,
    RiskContext,
    RiskRejection,
    judge,
)

__all__ = [
    "BuyingPower",
    "Gate",
    "LongOnly",
    "MaxPositionFraction",
    "RiskContext",
    "RiskRejection",
    "judge",
]
