"""Local files as market data: CSV or Parquet bars, validated at the boundary."""

from aitrader.adapters.files.market_data import FileMarketData

__all__ = ["FileMarketData"]
