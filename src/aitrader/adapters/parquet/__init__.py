"""The Parquet bar cache."""

from aitrader.adapters.parquet.cache import ParquetBarCache

__all__ = ["ParquetBarCache"]
