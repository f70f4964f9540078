"""BarFrame: one symbol's bars as numpy columns, oldest first."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import numpy as np
import numpy.typing as npt

from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.values import Price, Symbol, decimal_from_float

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(moment: datetime) -> int:
    """Convert an aware datetime to integer nanoseconds since the Unix epoch."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def from_ns(ns: int) -> datetime:
    """Convert integer nanoseconds since the Unix epoch to an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=int(ns) // 1_000)


def _column(kind: type) -> object:
    def convert(value: object) -> object:
        array: npt.NDArray[np.generic] = np.ascontiguousarray(value, dtype=kind)
        array.setflags(write=False)
        return array

    return attrs.field(converter=convert, eq=False, repr=False)


@attrs.frozen
class BarFrame:
    """Bars of one symbol as read-only columns; timestamps are UTC epoch nanoseconds."""

    symbol: Symbol
    timeframe: Timeframe
    ts_open: IntArray = _column(np.int64)  # type: ignore[assignment]
    ts_close: IntArray = _column(np.int64)  # type: ignore[assignment]
    open: FloatArray = _column(np.float64)  # type: ignore[assignment]
    high: FloatArray = _column(np.float64)  # type: ignore[assignment]
    low: FloatArray = _column(np.float64)  # type: ignore[assignment]
    close: FloatArray = _column(np.float64)  # type: ignore[assignment]
    volume: FloatArray = _column(np.float64)  # type: ignore[assignment]

    def __attrs_post_init__(self) -> None:
        n = len(self.ts_close)
        for name in ("ts_open", "open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{self.symbol}: column {name} has a different length")
        if n > 1 and not bool(np.all(np.diff(self.ts_close) > 0)):
            raise ValueError(f"{self.symbol}: bar timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.ts_close)

    def bar(self, i: int) -> Bar:
        """Materialise bar i as a Decimal domain Bar."""
        return Bar(
            symbol=self.symbol,
            ts_open=from_ns(int(self.ts_open[i])),
            ts_close=from_ns(int(self.ts_close[i])),
            open=Price(decimal_from_float(float(self.open[i]))),
            high=Price(decimal_from_float(float(self.high[i]))),
            low=Price(decimal_from_float(float(self.low[i]))),
            close=Price(decimal_from_float(float(self.close[i]))),
            volume=Decimal(repr(float(self.volume[i]))),
        )

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
