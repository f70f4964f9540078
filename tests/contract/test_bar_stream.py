"""The BarStream port's contract, on ReplayBarStream paced by a recording fake Clock.

The fake clock jumps to whatever it is asked to wait for and writes each wait into the same log
the consumer writes each received bar into, so the order of waits and bars can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.adapters.replay import ReplayBarStream
from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.series import BarFrame, from_ns, to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.clock import Clock

MINUTE_NS = 60_000_000_000
FIRST_OPEN = to_ns(datetime(2024, 3, 4, 14, 30, tzinfo=UTC))
# Deliberately not alphabetical: ties at one ts_close follow the order the frames were given.
SYMBOLS = (Symbol("MSFT"), Symbol("AAPL"), Symbol("KO"))

Entry = tuple[str, object]


class RecordingClock(Clock):
    """A fake clock: waiting jumps to the moment (never back) and is written to `log`."""

    def __init__(self, log: list[Entry], start: datetime) -> None:
        self._log = log
        self._now = start

    def now(self) -> datetime:
        return self._now

    def wait_until(self, moment: datetime) -> None:
        self._log.append(("wait", moment))
        self._now = max(self._now, moment)


def minute_frame(symbol: Symbol, slots: Sequence[int], seed: int) -> BarFrame:
    """One-minute bars of symbol at the given minute slots after the first open."""
    rng = np.random.default_rng(seed)
    n = len(slots)
    close = np.round(100.0 + np.cumsum(rng.normal(0.0, 0.1, n)), 2)
    high, low = close + 0.05, close - 0.05
    ts_open = FIRST_OPEN + np.asarray(slots, dtype=np.int64) * MINUTE_NS
    return BarFrame(symbol=symbol, timeframe=Timeframe.MINUTE_1, ts_open=ts_open,
                    ts_close=ts_open + MINUTE_NS, open=close, high=high, low=low, close=close,
                    volume=np.full(n, 100.0))


@st.composite
def frame_sets(draw: st.DrawFn) -> list[BarFrame]:
    """1-3 frames on random, overlapping subsets of 40 one-minute slots (some may be empty)."""
    count = draw(st.integers(1, 3))
    return [minute_frame(symbol, sorted(draw(st.sets(st.integers(0, 39), max_size=40))), k)
            for k, symbol in enumerate(SYMBOLS[:count])]


def replay(frames: Sequence[BarFrame]) -> tuple[list[Bar], list[Entry], RecordingClock]:
    log: list[Entry] = []
    clock = RecordingClock(log, datetime(2024, 1, 1, tzinfo=UTC))
    bars = []
    for bar in ReplayBarStream(frames, clock):
        log.append(("bar", bar))
        bars.append(bar)
    return bars, log, clock


def expected_order(frames: Sequence[BarFrame]) -> list[tuple[int, int]]:
    """(ts_close ns, frame index) of every bar, in (ts_close, frame order) order."""
    return sorted((int(t), k) for k, f in enumerate(frames) for t in f.ts_close.tolist())


@settings(max_examples=60, deadline=None)
@given(frames=frame_sets())
def test_every_bar_is_yielded_once_in_close_then_symbol_order(frames: list[BarFrame]) -> None:
    bars, _log, _clock = replay(frames)
    index = {f.symbol: k for k, f in enumerate(frames)}
    assert [(to_ns(b.ts_close), index[b.symbol]) for b in bars] == expected_order(frames)


@settings(max_examples=60, deadline=None)
@given(frames=frame_sets())
def test_each_bar_is_the_frames_own_bar(frames: list[BarFrame]) -> None:
    bars, _log, _clock = replay(frames)
    by_symbol = {f.symbol: f for f in frames}
    position = dict.fromkeys(by_symbol, 0)
    for bar in bars:
        assert bar == by_symbol[bar.symbol].bar(position[bar.symbol])
        position[bar.symbol] += 1
    assert position == {f.symbol: len(f) for f in frames}


@settings(max_examples=60, deadline=None)
@given(frames=frame_sets())
def test_the_stream_waits_on_the_clock_until_each_bars_close_before_yielding_it(
    frames: list[BarFrame],
) -> None:
    _bars, log, _clock = replay(frames)
    last_wait: datetime | None = None
    for kind, item in log:
        if kind == "wait":
            assert isinstance(item, datetime)
            assert last_wait is None or item >= last_wait, "waits go backwards"
            last_wait = item
        else:
            assert isinstance(item, Bar)
            assert last_wait == item.ts_close, f"{item} yielded before its close was awaited"


def test_the_consumer_sees_the_clock_at_the_bars_close_when_it_receives_it() -> None:
    frames = [minute_frame(SYMBOLS[0], [0, 1, 5], 0), minute_frame(SYMBOLS[1], [1, 2], 1)]
    log: list[Entry] = []
    clock = RecordingClock(log, datetime(2024, 1, 1, tzinfo=UTC))
    for bar in ReplayBarStream(frames, clock):
        assert clock.now() == bar.ts_close
    assert clock.now() == from_ns(FIRST_OPEN + 6 * MINUTE_NS)


def test_bars_are_not_read_ahead_of_the_consumer() -> None:
    frames = [minute_frame(SYMBOLS[0], [0, 1, 2], 0)]
    log: list[Entry] = []
    clock = RecordingClock(log, datetime(2024, 1, 1, tzinfo=UTC))
    stream = iter(ReplayBarStream(frames, clock))
    first = next(stream)
    assert [kind for kind, _ in log] == ["wait"]
    assert clock.now() == first.ts_close


def test_no_frames_yield_nothing_and_never_wait() -> None:
    bars, log, _clock = replay([])
    assert bars == []
    assert log == []
