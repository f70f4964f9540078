"""A live bar stream that never skips and never passes a bad bar.

After a reconnect a stream resumes with the newest bars; any bar whose ts_close lies between the
last one delivered for its symbol and the one just received is fetched from the history source
(a vendor over HTTP) and delivered first, in order. Every bar, live or backfilled, then goes
through the StreamGate (the batch gatekeeper's rules, bar by bar): a replayed message (a duplicate
or out-of-order stamp), a bar outside its session, a frozen feed or a jump no split explains is
quarantined with its reason, counted and recorded, and never reaches the consumer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from returns.result import Success

from aitrader.application.data.stream_gate import StreamGate
from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.values import Symbol
from aitrader.ports.market_data import BarStream, MarketData


class BackfillingStream(BarStream):
    """Wraps a live BarStream; fills holes from `history` before yielding the bar after them,
    and yields only the bars `gate` admits (a gate without a calendar when none is given)."""

    def __init__(self, live: BarStream, history: MarketData, timeframe: Timeframe,
                 gate: StreamGate | None = None) -> None:
        self._live = live
        self._history = history
        self._timeframe = timeframe
        self.gate = gate if gate is not None else StreamGate(None, timeframe)
        self.backfilled = 0
        self.unfilled: list[str] = []  # why holes stayed open: no history source could serve

    def __iter__(self) -> Iterator[Bar]:
        last: dict[Symbol, Bar] = {}
        step = self._timeframe.length
        for bar in self._live:
            previous = last.get(bar.symbol)
            if previous is not None and bar.ts_close - previous.ts_close > step:
                start = previous.ts_close + timedelta(microseconds=1)
                missed = self._history.bars(bar.symbol, self._timeframe, start, bar.ts_close)
                if isinstance(missed, Success):
                    frame = missed.unwrap()
                    for i in range(len(frame)):
                        filled = frame.bar(i)
                        if self.gate.admit(filled):
                            self.backfilled += 1
                            last[bar.symbol] = filled
                            yield filled
                else:  # nothing is invented: the hole stays, and is reported
                    self.unfilled.append(missed.failure().message)
            if self.gate.admit(bar):
                last[bar.symbol] = bar
                yield bar
