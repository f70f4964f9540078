"""Market data as domain values: bars and timeframes."""

from aitrader.domain.market.bar import Bar, require_utc
from aitrader.domain.market.timeframe import Timeframe

__all__ = ["Bar", "Timeframe", "require_utc"]
