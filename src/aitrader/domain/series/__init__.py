"""Columnar bar series: the float world's view of market data (numpy)."""

from aitrader.domain.series.checks import BarIssue, find_bad_bars
from aitrader.domain.series.frame import BarFrame, from_ns, to_ns

__all__ = ["BarFrame", "BarIssue", "find_bad_bars", "from_ns", "to_ns"]
