"""Bar: one closed OHLCV interval, stamped in UTC at its open and its close."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs

from aitrader.domain.slotted import slot_init, slot_setters
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


@slot_init
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


def checked_bar(
    symbol: Symbol, ts_open: datetime, ts_close: datetime, open_: Price, high: Price, low: Price,
    close: Price, volume: Decimal,
) -> Bar:
    """A Bar from parts its caller has already proved to meet every check of Bar's constructor
    (UTC stamps, ts_close after ts_open, low <= open, close <= high, volume a finite
    non-negative Decimal), built without running those checks again.

    Only BarFrame.bar calls it, after proving them on the row's floats (see there); a
    Hypothesis property holds it equal to the checked constructor for any row. Anything else
    builds a Bar the usual way.
    """
    bar: Bar = _new(Bar)
    _set_symbol(bar, symbol)
    _set_ts_open(bar, ts_open)
    _set_ts_close(bar, ts_close)
    _set_open(bar, open_)
    _set_high(bar, high)
    _set_low(bar, low)
    _set_close(bar, close)
    _set_volume(bar, volume)
    return bar


# Bar's slots set through their descriptors: the class is frozen (its __setattr__ refuses),
# and a descriptor's __set__ costs ~40 % of the object.__setattr__ attrs' __init__ goes through.
_new = object.__new__
(_set_symbol, _set_ts_open, _set_ts_close, _set_open, _set_high, _set_low, _set_close,
 _set_volume) = slot_setters(Bar)
