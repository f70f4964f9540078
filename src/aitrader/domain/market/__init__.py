"""Market data as domain values: bars, timeframes and trading sessions."""

from aitrader.domain.market.bar import Bar, require_utc
from aitrader.domain.market.session import Session, SessionWindow
from aitrader.domain.market.timeframe import Timeframe

__all__ = ["Bar", "Session", "SessionWindow", "Timeframe", "require_utc"]
