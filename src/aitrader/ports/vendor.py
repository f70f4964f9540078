"""BarVendor: a market-data vendor's history, normalised but not yet trusted."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs
from returns.result import Result

from aitrader.domain.market import Timeframe
from aitrader.domain.series import RawBars, Split
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError

RETRYABLE = frozenset({"rate_limited", "timeout", "unavailable"})
"""MarketDataError codes worth another try after a pause; others move to the next vendor."""


@attrs.frozen
class VendorBars:
    """A vendor's answer: bars labelled at close, ordered, deduplicated, adjusted as asked, but
    not yet gated; and the splits the vendor reported over the range (to explain jumps)."""

    raw: RawBars
    splits: tuple[Split, ...] = ()


class BarVendor(Protocol):
    """One vendor of historical bars (Alpaca, Alpha Vantage, Finnhub, Twelve Data, Yahoo, files).

    Errors carry codes: rate_limited, timeout, unavailable (retryable), unauthorized,
    unknown_symbol, invalid_data, unsupported."""

    @property
    def name(self) -> str:
        """The vendor's name as configured (alpaca, yahoo, ...)."""
        ...

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant;
        adjustment is raw, split or all. One call may page through several requests, each
        with a timeout."""
        ...
