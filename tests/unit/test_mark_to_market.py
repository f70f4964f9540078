"""mark_to_market against a stamp-by-stamp reference: the same floats, to the last bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.application.backtest import mark_to_market
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame
from aitrader.domain.values import Symbol

MINUTE = 60_000_000_000


def _frame(name: str, ts_close: list[int], close: list[float]) -> BarFrame:
    ts = np.array(ts_close, dtype=np.int64)
    px = np.array(close, dtype=np.float64)
    return BarFrame(symbol=Symbol(name), timeframe=Timeframe.MINUTE_1, ts_open=ts - MINUTE,
                    ts_close=ts, open=px, high=px, low=px, close=px,
                    volume=np.ones(len(ts), dtype=np.float64))


def _reference(frames: list[BarFrame], stamps: list[int], cash0: float,
               changes: list[tuple[int, int, float, float]]) -> list[list[float]]:
    """Each stamp on its own: the last change at or before it, the last close at or before it."""
    columns: list[list[float]] = [[], [], [], [], []]
    for stamp in stamps:
        seen = [c for c in changes if c[0] <= stamp]
        cash = seen[-1][2] if seen else cash0
        equity, gross, net, squares = cash, 0.0, 0.0, 0.0
        for k, frame in enumerate(frames):
            mine = [c for c in changes if c[1] == k]
            if not mine:
                continue
            held = [c for c in mine if c[0] <= stamp]
            qty = held[-1][3] if held else 0.0
            bars = [float(px) for t, px in zip(frame.ts_close, frame.close, strict=True)
                    if t <= stamp]
            value = qty * (bars[-1] if bars else 0.0)
            equity += value
            gross += abs(value)
            net += value
            squares += value * value
        hhi = squares / (gross * gross) if gross > 0 else 0.0
        for column, figure in zip(columns, (equity, cash, gross, net, hhi), strict=True):
            column.append(figure)
    return columns


prices = st.floats(min_value=0.5, max_value=500.0)
quantities = st.integers(-30_000, 30_000).map(lambda hundredths: hundredths / 100)  # shares


@st.composite
def _books(draw: st.DrawFn) -> tuple[list[BarFrame], list[int], list[tuple[int, int, float,
                                                                           float]]]:
    n_symbols = draw(st.integers(1, 3))
    frames = []
    for k in range(n_symbols):
        minutes = sorted(draw(st.sets(st.integers(0, 30), min_size=1, max_size=12)))
        frames.append(_frame(f"S{k}", [m * MINUTE for m in minutes],
                             draw(st.lists(prices, min_size=len(minutes),
                                           max_size=len(minutes)))))
    stamps = sorted({int(t) for f in frames for t in f.ts_close})
    moments = sorted(draw(st.lists(st.sampled_from(stamps), max_size=10)))
    changes = [(t, draw(st.integers(0, n_symbols - 1)), draw(st.floats(-1e5, 1e6)),
                draw(quantities)) for t in moments]
    return frames, stamps, changes


@settings(max_examples=150, deadline=None)
@given(_books(), st.floats(min_value=0.0, max_value=1e6))
def test_the_curve_equals_marking_each_stamp_on_its_own(
    book: tuple[list[BarFrame], list[int], list[tuple[int, int, float, float]]], cash0: float,
) -> None:
    frames, stamps, changes = book
    # one symbol passes its own ts_close as the stamps, as the backtest does
    stamp_array = frames[0].ts_close if len(frames) == 1 else np.array(stamps, dtype=np.int64)
    curve = mark_to_market(frames, stamp_array, cash0, changes)
    expected = _reference(frames, stamps, cash0, changes)
    for got, want in zip(curve, expected, strict=True):
        assert got.dtype == np.float64
        assert got.tobytes() == np.array(want, dtype=np.float64).tobytes()


def test_without_fills_the_curve_is_the_starting_cash() -> None:
    frame = _frame("S", [MINUTE, 2 * MINUTE], [10.0, 11.0])
    equity, cash, gross, net, hhi = mark_to_market([frame], frame.ts_close, 500.0, [])
    assert equity.tolist() == cash.tolist() == [500.0, 500.0]
    assert gross.tolist() == net.tolist() == hhi.tolist() == [0.0, 0.0]
