"""The gatekeeper: nothing invalid passes, nothing valid is dropped; normalisation rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.market import Session, Timeframe
from aitrader.domain.series import (
    ALL_REASONS,
    SESSION_CODES,
    GateRules,
    RawBars,
    Split,
    gatekeep,
)
from aitrader.domain.series.normalise import Adjustment, Dividend, adjust, order_and_dedupe
from aitrader.domain.values import Symbol

GATE = settings(max_examples=60, deadline=None)
MIN = 60_000_000_000
REGULAR = SESSION_CODES[Session.REGULAR]
CLOSED = SESSION_CODES[Session.CLOSED]
SYMBOL = Symbol.parse("TEST")


@st.composite
def valid_feeds(draw: st.DrawFn) -> tuple[RawBars, np.ndarray]:
    """Sound minute bars: increasing times, OHLC consistent, moves well inside the jump limit,
    no bar an exact copy of the previous one, all in the regular session."""
    n = draw(st.integers(2, 40))
    gaps = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    ts_close = np.cumsum(np.asarray(gaps, dtype=np.int64)) * MIN + 1_700_000_000 * 10**9
    moves = draw(st.lists(st.floats(-0.1, 0.1), min_size=n, max_size=n))
    close = 100.0 * np.exp(np.cumsum(moves))
    spread = np.asarray(draw(st.lists(st.floats(0.0, 0.02), min_size=n, max_size=n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    volume = np.arange(1, n + 1, dtype=np.float64) * 100.0  # never repeats
    raw = RawBars(SYMBOL, Timeframe.MINUTE_1, ts_close - MIN, ts_close, open_, high, low,
                  close, volume)
    return raw, np.full(n, REGULAR, dtype=np.int8)


CORRUPTIONS = ("nan", "inf", "zero", "negative", "high_below_low", "high_below_close",
               "low_above_open", "negative_volume", "nan_volume", "duplicate", "out_of_order",
               "closed_session", "repeat", "spike", "price_spike", "closes_before_open")


def _corrupt(raw: RawBars, sessions: np.ndarray, row: int, kind: str) -> None:
    o, h, low, c, v = raw.open, raw.high, raw.low, raw.close, raw.volume
    if kind == "nan":
        c[row] = math.nan
    elif kind == "inf":
        h[row] = math.inf
    elif kind == "zero":
        low[row] = 0.0
    elif kind == "negative":
        o[row] = -o[row]
    elif kind == "high_below_low":
        h[row], low[row] = low[row] * 0.99, h[row] * 1.01
    elif kind == "high_below_close":
        h[row] = c[row] * 0.999
        low[row] = min(low[row], h[row] * 0.99)
        o[row] = min(o[row], h[row])
    elif kind == "low_above_open":
        low[row] = o[row] * 1.001
        h[row] = max(h[row], low[row] * 1.01)
        c[row] = max(c[row], low[row])
    elif kind == "negative_volume":
        v[row] = -1.0
    elif kind == "nan_volume":
        v[row] = math.nan
    elif kind == "duplicate":
        raw.ts_close[row] = raw.ts_close[row - 1]
        raw.ts_open[row] = raw.ts_close[row] - MIN
    elif kind == "out_of_order":
        raw.ts_close[row] = raw.ts_close[row - 1] - MIN // 2
        raw.ts_open[row] = raw.ts_close[row] - MIN
    elif kind == "closed_session":
        sessions[row] = CLOSED
    elif kind == "repeat":
        for column in (o, h, low, c, v):
            column[row] = column[row - 1]
    elif kind == "spike":
        h[row] = h[row] * 3.0
    elif kind == "price_spike":  # the whole bar, close too: the next bar must still pass
        for column in (o, h, low, c):
            column[row] = column[row] * 3.0
    elif kind == "closes_before_open":
        raw.ts_open[row] = raw.ts_close[row] + 1


def _is_sound(raw: RawBars, row: int) -> bool:
    """An independent, bar-at-a-time statement of what a sound bar is."""
    o, h, low, c, v = (float(x[row]) for x in (raw.open, raw.high, raw.low, raw.close,
                                                raw.volume))
    prices = (o, h, low, c)
    return (all(math.isfinite(p) and p > 0 for p in prices) and math.isfinite(v) and v >= 0
            and low <= min(o, c) and h >= max(o, c) and h >= low
            and raw.ts_open[row] < raw.ts_close[row])


@GATE
@given(valid_feeds())
def test_a_sound_feed_passes_whole(feed: tuple[RawBars, np.ndarray]) -> None:
    raw, sessions = feed
    clean, report = gatekeep(raw, sessions, GateRules(), "test")
    assert report.quarantined == ()
    assert len(clean) == len(raw) == report.passed
    assert np.array_equal(clean.close, raw.close)


@GATE
@given(valid_feeds(), st.data())
def test_corrupt_bars_never_pass_and_sound_ones_are_never_dropped(
    feed: tuple[RawBars, np.ndarray], data: st.DataObject,
) -> None:
    raw, sessions = feed
    candidates = list(range(1, len(raw), 2))  # not adjacent: each corruption stands alone
    rows = data.draw(st.lists(st.sampled_from(candidates), unique=True, min_size=1,
                              max_size=len(candidates)))
    kinds = {row: data.draw(st.sampled_from(CORRUPTIONS)) for row in rows}
    for row, kind in kinds.items():
        _corrupt(raw, sessions, row, kind)
    clean, report = gatekeep(raw, sessions, GateRules(), "test")
    quarantined = {item.row for item in report.quarantined}
    assert quarantined == set(kinds), (kinds, report.quarantined)
    assert report.passed + len(report.quarantined) == report.received == len(raw)
    for row in range(len(raw)):
        if row not in quarantined:
            assert _is_sound(raw, row)
    assert bool(np.all(np.diff(clean.ts_close) > 0))
    for item in report.quarantined:
        assert item.reason in ALL_REASONS
        assert item.reason


def test_each_reason_is_named() -> None:
    raw = RawBars(SYMBOL, Timeframe.MINUTE_1, [0, MIN, 2 * MIN], [MIN, 2 * MIN, 3 * MIN],
                  [10.0, 10.0, 10.0], [11.0, 9.0, 11.0], [9.0, 9.5, 9.0], [10.5, 10.0, 10.2],
                  [100.0, 100.0, -5.0])
    _, report = gatekeep(raw, None, GateRules(), "test")
    assert [(q.row, q.reason) for q in report.quarantined] == [
        (1, "high is below low"), (2, "volume is negative")]
    assert report.counts == {"high is below low": 1, "volume is negative": 1}


def _two_bars(second_close: float) -> RawBars:
    return RawBars(SYMBOL, Timeframe.DAY_1, [0, 10 * MIN], [5 * MIN, 15 * MIN],
                   [100.0, second_close], [101.0, second_close], [99.0, second_close],
                   [100.0, second_close], [1.0, 2.0])


def test_a_jump_is_quarantined_unless_a_split_explains_it() -> None:
    raw = _two_bars(50.0)  # halved overnight
    _, report = gatekeep(raw, None, GateRules(), "test")
    assert [q.row for q in report.quarantined] == [1]
    assert "no split explains" in report.quarantined[0].reason
    explained = GateRules(splits=(Split(8 * MIN, 2.0),))
    clean, report = gatekeep(raw, None, explained, "test")
    assert report.quarantined == ()
    assert len(clean) == 2
    wrong_ratio = GateRules(splits=(Split(8 * MIN, 4.0),))
    _, report = gatekeep(raw, None, wrong_ratio, "test")
    assert [q.row for q in report.quarantined] == [1]


def test_bars_from_the_future_are_quarantined_and_a_quiet_feed_is_stale() -> None:
    raw = _two_bars(100.5)
    clean, report = gatekeep(raw, None, GateRules(as_of_ns=10 * MIN), "test")
    assert [q.row for q in report.quarantined] == [1]
    assert len(clean) == 1
    _, fresh = gatekeep(raw, None, GateRules(as_of_ns=20 * MIN, max_age_ns=10 * MIN), "test")
    assert not fresh.stale
    _, stale = gatekeep(raw, None, GateRules(as_of_ns=40 * MIN, max_age_ns=10 * MIN), "test")
    assert stale.stale
    assert stale.quarantined == ()


def test_a_spike_is_quarantined_but_the_bar_after_it_is_not() -> None:
    closes = [100.0, 300.0, 101.0]
    raw = RawBars(SYMBOL, Timeframe.DAY_1, [0, 10, 20], [5, 15, 25], closes, closes, closes,
                  closes, [1.0, 2.0, 3.0])
    _, report = gatekeep(raw, None, GateRules(), "test")
    assert [q.row for q in report.quarantined] == [1]


def _closes(*closes: float) -> RawBars:
    n = len(closes)
    stamps = [k * 10 * MIN for k in range(n)]
    return RawBars(SYMBOL, Timeframe.DAY_1, stamps, [t + 5 * MIN for t in stamps], closes,
                   closes, closes, closes, [float(k + 1) for k in range(n)])


@pytest.mark.parametrize(("closes", "rows"), [
    ((100.0, 101.0, 1000.0, 101.0, 102.0, 103.0), [2]),  # a spike, then the old level again
    ((100.0, 101.0, 200.0, 201.0, 202.0), [2]),  # a level shift without a split: one bar
    ((100.0, 101.0, math.nan, 1000.0, 1001.0), [2, 3]),  # a jump behind a corrupt bar
    ((100.0, 1000.0, 10.0, 100.0, 101.0), [1, 2]),  # two outliers, then the accepted level
])
def test_a_jump_is_judged_against_the_last_accepted_close(
    closes: tuple[float, ...], rows: list[int],
) -> None:
    _, report = gatekeep(_closes(*closes), None, GateRules(), "test")
    assert [q.row for q in report.quarantined] == rows


def test_duplicates_keep_the_last_delivered_and_order_is_by_close() -> None:
    raw = RawBars(SYMBOL, Timeframe.MINUTE_1, [MIN, 0, MIN], [2 * MIN, MIN, 2 * MIN],
                  [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0],
                  [1.0, 1.0, 1.0])
    out = order_and_dedupe(raw)
    assert out.ts_close.tolist() == [MIN, 2 * MIN]
    assert out.close.tolist() == [2.0, 3.0]  # the later delivery of 2*MIN wins


def test_split_and_dividend_adjustment_scale_the_bars_before_the_event() -> None:
    raw = RawBars(SYMBOL, Timeframe.DAY_1, [0, 10, 20], [5, 15, 25], [100.0, 100.0, 50.0],
                  [100.0, 100.0, 50.0], [100.0, 100.0, 50.0], [100.0, 100.0, 50.0],
                  [10.0, 10.0, 20.0])
    split = (Split(18, 2.0),)
    by_split = adjust(raw, split, (), Adjustment.SPLIT)
    assert by_split.close.tolist() == [50.0, 50.0, 50.0]
    assert by_split.volume.tolist() == [20.0, 20.0, 20.0]
    assert adjust(raw, split, (), Adjustment.RAW) is raw
    both = adjust(raw, split, (Dividend(12, 1.0),), Adjustment.ALL)
    assert both.close[0] == pytest.approx(50.0 * 0.99)
    assert both.close[1:].tolist() == [50.0, 50.0]


def test_a_bar_closing_exactly_at_a_split_traded_before_it_and_one_spanning_it_after() -> None:
    # bars [0, 5), [5, 10), [10, 15): the split at 10 falls between the second and the third
    prices = [100.0, 102.0, 50.0]
    raw = RawBars(SYMBOL, Timeframe.MINUTE_1, [0, 5, 10], [5, 10, 15], prices, prices, prices,
                  prices, [10.0, 11.0, 20.0])
    at_the_close = (Split(10, 2.0),)
    assert adjust(raw, at_the_close, (), Adjustment.SPLIT).close.tolist() == [50.0, 51.0, 50.0]
    _, report = gatekeep(raw, None, GateRules(splits=at_the_close), "test")
    assert report.quarantined == ()  # the halving is the split's, at the third bar
    spanned = (Split(12, 2.0),)  # inside the third bar: it closes at the new price
    assert adjust(raw, spanned, (), Adjustment.SPLIT).close.tolist() == [50.0, 51.0, 50.0]
    paid = adjust(raw, (), (Dividend(10, 2.04),), Adjustment.ALL).close.tolist()
    assert paid == pytest.approx([98.0, 99.96, 50.0])  # 2 % off both bars before it
