"""MarketData and BarStream: where bars come from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from returns.result import Result

from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.series import BarFrame
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError


class MarketData(Protocol):
    """A source of historical bars (files, the bundled sample, a vendor, a cache)."""

    def bars(
        self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
        end: datetime | None,
    ) -> Result[BarFrame, MarketDataError]:
        """Validated closed bars with start <= ts_close < end, oldest first; None = unbounded."""
        ...

    def symbols(self) -> Result[Sequence[Symbol], MarketDataError]:
        """Symbols this source serves without being asked for them, sorted."""
        ...

    def describe(self) -> str:
        """A short label naming the source (for manifests and messages), never a secret."""
        ...


class BarStream(Protocol):
    """Closed bars delivered as they become knowable."""

    def __iter__(self) -> Iterator[Bar]:
        """Yield closed bars across symbols by ts_close, ties in the run's symbol order, once."""
        ...
