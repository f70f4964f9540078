"""Local files and the bundled sample as vendors, so they take part in chains and compares."""

from __future__ import annotations

from datetime import datetime

from returns.result import Failure, Result, Success

from aitrader.domain.market import Timeframe
from aitrader.domain.series import RawBars
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError
from aitrader.ports.market_data import MarketData
from aitrader.ports.vendor import BarVendor, VendorBars


class MarketDataVendor(BarVendor):
    """A MarketData source (files, the sample) seen as a vendor that serves bars as stored."""

    def __init__(self, name: str, source: MarketData) -> None:
        self._name = name
        self._source = source

    @property
    def name(self) -> str:
        return self._name

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end as the source stores them (no adjustment)."""
        if adjustment != "raw":
            return Failure(MarketDataError("unsupported", f"{self._name} serves bars as stored "
                                           f"(raw), not {adjustment}-adjusted"))
        frame = self._source.bars(symbol, timeframe, start, end)
        if not isinstance(frame, Success):
            return Failure(frame.failure())
        return Success(VendorBars(RawBars.from_frame(frame.unwrap())))
