"""Portfolio construction: turning target exposures into quantities."""

from aitrader.domain.portfolio.sizing import FRACTIONAL_STEP, WHOLE, FixedFraction, Sizing

__all__ = ["FRACTIONAL_STEP", "WHOLE", "FixedFraction", "Sizing"]
