"""The stream gate judges one bar at a time exactly as the batch gatekeeper judges the whole feed:
same verdicts, same reasons, for corrupt, duplicate, out-of-order, out-of-session, frozen and
jumping bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.application.data.stream_gate import Row, StreamGate, SymbolGate
from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.series import ALL_REASONS, GateRules, RawBars, gate_codes
from aitrader.domain.values import Price, Symbol

XYZ = Symbol.parse("XYZ")
MINUTE = 60 * 10**9
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)

prices = st.one_of(
    st.sampled_from([100.0, 100.0, 101.0, 180.0, 178.0, 40.0, 0.0, -1.0, float("nan")]),
    st.floats(50.0, 200.0))


@st.composite
def rows(draw: st.DrawFn) -> Row:
    """Mostly sound bars with levels far apart (jumps, spikes, level shifts), some corrupt."""
    close = draw(prices)
    spread = draw(st.sampled_from([0.0, 0.5, 0.5, 0.5, -0.5, 90.0]))
    open_ = close if draw(st.integers(0, 9)) else draw(prices)
    step = draw(st.sampled_from([1, 1, 1, 1, 1, 2, 0, -1, -3]))
    volume = draw(st.sampled_from([1000.0, 1000.0, 1000.0, 0.0, -5.0, float("inf")]))
    return Row(0, step, open_, close + spread, close - abs(spread), close, volume,
               draw(st.sampled_from([1, 1, 1, 4])))


def as_feed(drawn: list[Row]) -> list[Row]:
    """Give the rows real stamps: each ts_close moves by its drawn step (in minutes)."""
    clock, out = 10_000, []
    for row in drawn:
        clock += row.ts_close
        out.append(Row(clock * MINUTE - MINUTE, clock * MINUTE, row.open, row.high, row.low,
                       row.close, row.volume, row.session))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(rows(), max_size=40), st.sampled_from([0.5, 0.1, 2.0]),
       st.booleans())
def test_the_stream_gate_agrees_with_the_batch_gate_on_any_feed(
    drawn: list[Row], max_jump: float, with_sessions: bool,
) -> None:
    feed = as_feed(drawn)
    rules = GateRules(max_jump=max_jump)
    raw = RawBars(XYZ, Timeframe.MINUTE_1, [r.ts_open for r in feed],
                  [r.ts_close for r in feed], [r.open for r in feed], [r.high for r in feed],
                  [r.low for r in feed], [r.close for r in feed], [r.volume for r in feed])
    sessions = (np.asarray([r.session for r in feed], dtype=np.int8) if with_sessions
                else None)
    batch = gate_codes(raw, sessions, rules).tolist()
    gate = SymbolGate(XYZ, Timeframe.MINUTE_1, rules, sessions=with_sessions)
    assert [gate.judge(row) for row in feed] == batch


def bar(k: int, close: str = "100", high: str | None = None, low: str | None = None,
        volume: int = 1000) -> Bar:
    opened = T0 + timedelta(minutes=k)
    return Bar(XYZ, opened, opened + timedelta(minutes=1), Price(close),
               Price(high or close), Price(low or close), Price(close), volume)


def test_sound_bars_pass_unchanged_and_bad_ones_are_quarantined_with_their_reason() -> None:
    gate = StreamGate(None, Timeframe.MINUTE_1)
    feed = [bar(0, "100", volume=1), bar(1, "101", volume=2), bar(1, "102", volume=3),
            bar(0, "99", volume=4), bar(2, "101", volume=2), bar(3, "250", volume=5),
            bar(4, "103", volume=6)]
    admitted = [b for b in feed if gate.admit(b)]
    assert admitted == [feed[0], feed[1], feed[4], feed[6]]
    assert [(q.row, q.reason) for q in gate.quarantined] == [
        (2, "duplicate timestamp"), (3, "timestamp out of order"),
        (5, ALL_REASONS[-1])]
    assert gate.passed == 4
    assert gate.counts == {"duplicate timestamp": 1, "timestamp out of order": 1,
                           ALL_REASONS[-1]: 1}


def test_a_frozen_feed_repeating_its_last_bar_is_quarantined() -> None:
    gate = StreamGate(None, Timeframe.MINUTE_1)
    first, repeat = bar(0), bar(1)
    assert gate.admit(first)
    assert not gate.admit(repeat)
    assert gate.quarantined[0].reason == "repeats the previous bar exactly (stale feed)"
