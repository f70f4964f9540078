"""A live bar stream that never skips: bars missed while disconnected are backfilled over HTTP.

After a reconnect a stream resumes with the newest bars; any bar whose ts_close lies between the
last one delivered for its symbol and the one just received is fetched from the history source
(a vendor over HTTP), gated like every other bar, and delivered first, in order. Bars at or
before the last delivered stamp (a replayed message) are dropped as duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from returns.result import Success

from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.values import Symbol
from aitrader.ports.market_data import BarStream, MarketData


class BackfillingStream(BarStream):
    """Wraps a live BarStream; fills holes from `history` before yielding the bar after them."""

    def __init__(self, live: BarStream, history: MarketData, timeframe: Timeframe) -> None:
        self._live = live
        self._history = history
        self._timeframe = timeframe
        self.backfilled = 0
        self.duplicates = 0
        self.unfilled: list[str] = []  # why holes stayed open: no history source could serve

    def __iter__(self) -> Iterator[Bar]:
        last: dict[Symbol, Bar] = {}
        step = self._timeframe.length
        for bar in self._live:
            previous = last.get(bar.symbol)
            if previous is not None and bar.ts_close <= previous.ts_close:
                self.duplicates += 1
                continue
            if previous is not None and bar.ts_close - previous.ts_close > step:
                start = previous.ts_close + timedelta(microseconds=1)
                missed = self._history.bars(bar.symbol, self._timeframe, start, bar.ts_close)
                if isinstance(missed, Success):
                    frame = missed.unwrap()
                    for i in range(len(frame)):
                        self.backfilled += 1
                        yield frame.bar(i)
                else:  # nothing is invented: the hole stays, and is reported
                    self.unfilled.append(missed.failure().message)
            last[bar.symbol] = bar
            yield bar
