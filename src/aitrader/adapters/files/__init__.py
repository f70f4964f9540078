"""Local files as market data: CSV or Parquet bars, validated at the boundary."""

from aitrader.adapters.files.market_data import FileMarketData
from aitrader.adapters.files.reading import FileBars, read_raw
from aitrader.adapters.files.tables import FileDataError

__all__ = ["FileBars", "FileDataError", "FileMarketData", "read_raw"]
