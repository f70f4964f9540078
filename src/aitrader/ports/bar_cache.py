"""BarCache and BarStore: where fetched bars are kept, and where quarantined ones are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from returns.result import Result

from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, GateReport
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError


class BarCache(Protocol):
    """Gated bars per source, symbol and timeframe, content-hashed, with the ranges covered."""

    def load(
        self, source: str, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
    ) -> Result[tuple[BarFrame, str] | None, MarketDataError]:
        """The bars with start <= ts_close < end and the digest of the stored content, or None
        unless the whole range was fetched before. Never calls a vendor."""
        ...

    def store(
        self, source: str, frame: BarFrame, start: datetime, end: datetime,
    ) -> Result[str, MarketDataError]:
        """Merge frame (covering [start, end)) into the stored bars; return the new digest.
        A bar already stored at the same ts_close is replaced by the newer one."""
        ...


class BarStore(Protocol):
    """A SQL table of bars and the journal's quarantine table."""

    def write_bars(self, source: str, frame: BarFrame) -> Result[int, MarketDataError]:
        """Insert or replace frame's bars for source; return how many were written."""
        ...

    def record_quarantine(
        self, run_id: str | None, reports: Sequence[GateReport],
    ) -> Result[int, MarketDataError]:
        """Record every quarantined bar with its reason and source; return how many."""
        ...
