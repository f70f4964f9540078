"""BarFrame.bar: the Bar a row gives is the Bar the checked constructor gives, or its error."""

from __future__ import annotations

import math
from datetime import UTC
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.series import BarFrame, from_ns
from aitrader.domain.values import Price, Symbol

AAPL = Symbol("AAPL")
T0 = 1_709_562_600 * 1_000_000_000  # 2024-03-04 14:30 UTC

# prices around a few cents and dollars (so rows repeat and meet the memories), extremes, and
# everything a float column can hold that a Bar must refuse
special = st.sampled_from([0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 5e-324, 1e308])
plain = st.floats(min_value=0.01, max_value=500.0).map(lambda x: round(x, 2))
anything = st.floats(allow_nan=True, allow_infinity=True)
price = st.one_of(plain, plain, plain, special, anything)
volume = st.one_of(st.integers(0, 10_000).map(float), special, anything)


@st.composite
def rows(draw: st.DrawFn) -> tuple[int, int, float, float, float, float, float]:
    """A row that is mostly sound: four prices sorted into low <= open, close <= high, or not;
    a close after the open by a minute, a nanosecond, nothing or less."""
    values = [draw(price) for _ in range(4)]
    if draw(st.booleans()) and not any(math.isnan(v) for v in values):
        low, a, b, high = sorted(values)
        o, c = (a, b) if draw(st.booleans()) else (b, a)
    else:
        o, high, low, c = values
    ts_open = T0 + draw(st.integers(-10**15, 10**15))
    length = draw(st.sampled_from([60_000_000_000, 1_000, 1, 0, -60_000_000_000]))
    return ts_open, ts_open + length, o, high, low, c, draw(volume)


def checked(row: tuple[int, int, float, float, float, float, float]) -> Bar:
    """The row through Bar's own checks: each float as the Decimal repr writes it."""
    ts_open, ts_close, o, h, low, c, v = row
    prices = [Price(Decimal(repr(x))) for x in (o, h, low, c)]
    return Bar(AAPL, from_ns(ts_open), from_ns(ts_close), *prices, Decimal(repr(v)))


def frame_of(row: tuple[int, int, float, float, float, float, float]) -> BarFrame:
    ts_open, ts_close, o, h, low, c, v = row
    return BarFrame(AAPL, Timeframe.MINUTE_1, [ts_open], [ts_close], [o], [h], [low], [c], [v])


def shown(bar: Bar) -> tuple[object, ...]:
    """Every field with what equality does not see: Decimal exponents, types, the zone."""
    return (bar, bar.ts_open.tzinfo is UTC, bar.ts_close.tzinfo is UTC,
            *(str(p.value) for p in (bar.open, bar.high, bar.low, bar.close)),
            str(bar.volume), type(bar.volume), type(bar))


@settings(max_examples=400, deadline=None)
@given(rows())
def test_a_frame_row_gives_the_bar_the_checked_constructor_gives_or_its_refusal(
    row: tuple[int, int, float, float, float, float, float],
) -> None:
    frame = frame_of(row)
    try:
        expected = checked(row)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - the reason is Bar's or Price's own
            frame.bar(0)
        return
    assert shown(frame.bar(0)) == shown(expected)


def test_a_row_that_breaks_a_bar_invariant_is_refused_with_the_bars_own_reason() -> None:
    sound = (T0, T0 + 60_000_000_000, 10.0, 11.0, 9.0, 10.5, 100.0)
    assert frame_of(sound).bar(0) == checked(sound)
    cases = {
        (T0, T0 + 60_000_000_000, 12.0, 11.0, 9.0, 10.5, 100.0): "high below open/close/low",
        (T0, T0 + 60_000_000_000, 10.0, 11.0, 10.2, 10.5, 100.0): "low above open/close",
        (T0, T0 + 60_000_000_000, 10.0, 11.0, 9.0, 10.5, -1.0): "negative volume",
        (T0, T0 + 999, 10.0, 11.0, 9.0, 10.5, 100.0): "before it opens",  # same microsecond
        (T0, T0 + 60_000_000_000, 10.0, 11.0, 0.0, 10.5, 100.0): "price must be positive",
        (T0, T0 + 60_000_000_000, 10.0, math.nan, 9.0, 10.5, 100.0): "finite",
        (T0, T0 + 60_000_000_000, 10.0, 11.0, 9.0, 10.5, math.inf): "finite",
    }
    for row, reason in cases.items():
        with pytest.raises(ValueError, match=reason):
            frame_of(row).bar(0)


def test_every_row_of_a_longer_frame_gives_its_own_bar() -> None:
    n = 50
    rng = np.random.default_rng(3)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.5, n)), 2)
    open_ = np.round(close + rng.normal(0, 0.2, n), 2)
    high = np.maximum(open_, close) + 0.05
    low = np.minimum(open_, close) - 0.05
    ts_open = T0 + np.arange(n, dtype=np.int64) * 60_000_000_000
    frame = BarFrame(AAPL, Timeframe.MINUTE_1, ts_open, ts_open + 60_000_000_000, open_, high,
                     low, close, np.full(n, 250.0))
    rows_ = zip(ts_open.tolist(), (ts_open + 60_000_000_000).tolist(), open_.tolist(),
                high.tolist(), low.tolist(), close.tolist(), [250.0] * n, strict=True)
    assert [shown(frame.bar(i)) for i in range(n)] == [shown(checked(r)) for r in rows_]
