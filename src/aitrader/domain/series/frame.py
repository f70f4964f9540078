"""BarFrame: one symbol's bars as numpy columns, oldest first."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import numpy as np
import numpy.typing as npt

from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.market.bar import checked_bar
from aitrader.domain.values import Price, Symbol, decimal_from_float

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(moment: datetime) -> int:
    """Convert an aware datetime to integer nanoseconds since the Unix epoch."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


# Consecutive bars share stamps (one's close is the next one's open) and a cycle stamps its
# decision with the bar's close, so recent conversions are remembered (datetimes are immutable).
_MOMENTS: dict[int, datetime] = {}
_PRICES: dict[float, Price] = {}
_MEMO_SIZE = 1 << 12


def from_ns(ns: int) -> datetime:
    """Convert integer nanoseconds since the Unix epoch to an aware UTC datetime."""
    moment = _MOMENTS.get(ns) if type(ns) is int else None
    if moment is None:
        moment = _EPOCH + timedelta(0, 0, int(ns) // 1_000)  # positional: no keyword parsing
        if type(ns) is int:
            if len(_MOMENTS) >= _MEMO_SIZE:
                _MOMENTS.clear()
            _MOMENTS[ns] = moment
    return moment


def _price(value: float) -> Price:
    """The Price a float column holds; prices repeat, and a Price is immutable, so the ones
    already built (and validated) are reused."""
    price = _PRICES.get(value) if value > 0 else None
    if price is None:
        price = Price(decimal_from_float(value))
        if len(_PRICES) >= _MEMO_SIZE << 4:
            _PRICES.clear()
        _PRICES[value] = price
    return price


def _volume(value: float) -> Decimal:
    """The Decimal a float volume column holds (volumes repeat too, so finite positive ones go
    through decimal_from_float's memory; the rest as written, for the Bar to judge)."""
    if value > 0 and value != math.inf:
        return decimal_from_float(value)
    return Decimal(repr(value))


def column(kind: type, *, read_only: bool = True) -> object:
    """An attrs field holding a contiguous numpy column of kind (made read-only by default)."""
    def convert(value: object) -> object:
        array: npt.NDArray[np.generic] = np.ascontiguousarray(value, dtype=kind)
        if read_only:
            array.setflags(write=False)
        return array

    return attrs.field(converter=convert, eq=False, repr=False)


_OTHER_COLUMNS = ("ts_open", "open", "high", "low", "close", "volume")


def require_equal_lengths(bars: object, n: int, symbol: Symbol) -> None:
    """Raise unless every other OHLCV column of bars is n (its ts_close column's length) long."""
    for name in _OTHER_COLUMNS:
        if len(getattr(bars, name)) != n:
            raise ValueError(f"{symbol}: column {name} has a different length")


@attrs.frozen
class BarFrame:
    """Bars of one symbol as read-only columns; timestamps are UTC epoch nanoseconds."""

    symbol: Symbol
    timeframe: Timeframe
    ts_open: IntArray = column(np.int64)  # type: ignore[assignment]
    ts_close: IntArray = column(np.int64)  # type: ignore[assignment]
    open: FloatArray = column(np.float64)  # type: ignore[assignment]
    high: FloatArray = column(np.float64)  # type: ignore[assignment]
    low: FloatArray = column(np.float64)  # type: ignore[assignment]
    close: FloatArray = column(np.float64)  # type: ignore[assignment]
    volume: FloatArray = column(np.float64)  # type: ignore[assignment]

    def __attrs_post_init__(self) -> None:
        n = len(self.ts_close)
        require_equal_lengths(self, n, self.symbol)
        if n > 1 and not bool(np.all(np.diff(self.ts_close) > 0)):
            raise ValueError(f"{self.symbol}: bar timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.ts_close)

    def bar(self, i: int) -> Bar:
        """Materialise bar i as a Decimal domain Bar (ValueError if the row breaks a Bar's
        invariants)."""
        # .item() hands back a Python int or float without a numpy scalar in between
        o, h, low, c = self.open.item(i), self.high.item(i), self.low.item(i), self.close.item(i)
        v = self.volume.item(i)
        t_open, t_close = self.ts_open.item(i), self.ts_close.item(i)
        ts_open = _MOMENTS.get(t_open) or from_ns(t_open)
        ts_close = _MOMENTS.get(t_close) or from_ns(t_close)
        # _price refuses a price that is not finite and positive and from_ns gives UTC stamps;
        # the rest of what Bar checks is proved here on the floats, where it costs ~40 ns, not
        # on the Decimals (repr's shortest round-trip decimal orders exactly as the floats do,
        # so these comparisons decide the Decimal ones). A row that fails goes through Bar's
        # own checks for their error. The memories are read here before any call (a hit is
        # most conversions): 29.1k -> ~16k instructions a bar, two bars an order.
        if low <= o <= h and low <= c <= h and 0 <= v < math.inf and ts_open < ts_close:
            prices = _PRICES
            return checked_bar(
                self.symbol, ts_open, ts_close, prices.get(o) or _price(o),
                prices.get(h) or _price(h), prices.get(low) or _price(low),
                prices.get(c) or _price(c), decimal_from_float(v))  # = _volume(v), v finite >= 0
        return Bar(self.symbol, ts_open, ts_close, _price(o), _price(h), _price(low), _price(c),
                   _volume(v))

    def window(self, start: datetime | None, end: datetime | None) -> BarFrame:
        """Bars with start <= ts_close < end (either bound may be open)."""
        lo = 0 if start is None else int(np.searchsorted(self.ts_close, to_ns(start), "left"))
        hi = len(self) if end is None else int(np.searchsorted(self.ts_close, to_ns(end), "left"))
        return self.take(slice(lo, hi))

    def take(self, rows: slice) -> BarFrame:
        """A frame of the rows selected by a slice."""
        return BarFrame(
            symbol=self.symbol,
            timeframe=self.timeframe,
            ts_open=self.ts_open[rows],
            ts_close=self.ts_close[rows],
            open=self.open[rows],
            high=self.high[rows],
            low=self.low[rows],
            close=self.close[rows],
            volume=self.volume[rows],
        )

    def digest(self) -> str:
        """SHA-256 over the symbol, timeframe and every column's bytes."""
        h = hashlib.sha256(f"{self.symbol}|{self.timeframe.value}|{len(self)}".encode())
        for column in (self.ts_open, self.ts_close, self.open, self.high, self.low, self.close,
                       self.volume):
            h.update(column.tobytes())
        return h.hexdigest()
