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
    gate_codes,
    gate_verdicts,
    gatekeep,
    merge_reports,
    reason_counts,
)
from aitrader.domain.series.resample import aggregate, as_of, buckets, session_bounds

__all__ = ["ALL_REASONS", "SESSION_CODES", "BarFrame", "BarIssue", "GateReport", "GateRules",
           "Quarantined", "RawBars", "Split", "aggregate", "as_of", "buckets", "find_bad_bars",
           "from_ns", "gate_codes", "gate_verdicts", "gatekeep", "merge_reports", "reason_counts",
           "session_bounds", "to_ns"]
