"""Bar: one closed OHLCV interval, stamped in UTC at its open and its close."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs

from aitrader.domain.values import Price, Symbol, exact_decimal

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})


def require_utc(value: datetime, name: str) -> None:
    """Raise unless value is timezone-aware UTC (not merely a zone at offset zero today)."""
    zone = value.tzinfo
    if zone is UTC:
        return
    named = getattr(zone, "key", None) or getattr(zone, "zone", None)  # zoneinfo, pytz
    if zone is None or not (zone == UTC or named in _UTC_NAMES):
        raise ValueError(f"{name} must be timezone-aware UTC, was {value!r}")


@attrs.frozen
class Bar:
    """A closed bar; ts_close is the moment it became knowable."""

    symbol: Symbol
    ts_open: datetime
    ts_close: datetime
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Decimal = attrs.field(converter=exact_decimal)

    def __attrs_post_init__(self) -> None:
        if self.ts_open.tzinfo is not UTC:  # the common case, checked without a call
            require_utc(self.ts_open, "ts_open")
        if self.ts_close.tzinfo is not UTC:
            require_utc(self.ts_close, "ts_close")
        if self.ts_close <= self.ts_open:
            raise ValueError(f"{self.symbol} bar closes at {self.ts_close} before it opens")
        o, h, low, c = self.open.value, self.high.value, self.low.value, self.close.value
        if h < o or h < c or h < low:
            raise ValueError(f"{self.symbol} bar at {self.ts_close}: high below open/close/low")
        if low > o or low > c:
            raise ValueError(f"{self.symbol} bar at {self.ts_close}: low above open/close")
        if self.volume < 0:
            raise ValueError(f"{self.symbol} bar at {self.ts_close}: negative volume")
