"""Columnar bar series: the float world's view of market data (numpy)."""

from aitrader.domain.series.checks import BarIssue, find_bad_bars
from aitrader.domain.series.frame import BarFrame, from_ns, to_ns
from aitrader.domain.series.gate import (
    ALL_REASONS,
    SESSION_CODES,
    GateReport,
    GateRules,
    Quarantined,
    RawBars,
    Split,
    gatekeep,
    merge_reports,
)

__all__ = ["ALL_REASONS", "SESSION_CODES", "BarFrame", "BarIssue", "GateReport", "GateRules",
           "Quarantined", "RawBars", "Split", "find_bad_bars", "from_ns", "gatekeep",
           "merge_reports", "to_ns"]
