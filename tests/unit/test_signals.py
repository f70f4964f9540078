"""Streaming signal kernels and their batch twins."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aitrader.domain.signals import Atr, Donchian, Ema, Kernel, Sma, fold

NAN = math.nan

periods = st.integers(min_value=1, max_value=30)
kernels: st.SearchStrategy[Kernel[Any]] = st.one_of(
    st.builds(Sma, periods),
    st.builds(Ema, periods),
    st.builds(Atr, periods),
    st.builds(Donchian, periods),
)
# ties matter for the running max/min, so some prices repeat exactly
prices = st.one_of(
    st.floats(min_value=0.01, max_value=10_000.0),
    st.sampled_from([1.0, 10.0, 10.5, 100.0]),
)


@st.composite
def bars(draw: st.DrawFn, max_size: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns (high, low, close) with low <= close <= high, all finite and positive."""
    n = draw(st.integers(min_value=0, max_value=max_size))
    close = draw(arrays(np.float64, n, elements=prices))
    up = draw(arrays(np.float64, n, elements=st.floats(min_value=0.0, max_value=0.2)))
    down = draw(arrays(np.float64, n, elements=st.floats(min_value=0.0, max_value=0.5)))
    return close * (1.0 + up), close * (1.0 - down), close


def _identical(left: tuple[np.ndarray, ...], right: tuple[np.ndarray, ...]) -> bool:
    return len(left) == len(right) and all(
        np.array_equal(a, b, equal_nan=True) for a, b in zip(left, right, strict=True)
    )


@settings(max_examples=150, deadline=None)
@given(kernel=kernels, columns=bars())
def test_batch_is_bit_identical_to_folding_the_stream(
    kernel: Kernel[Any], columns: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    high, low, close = columns
    batch = kernel.batch(high, low, close)
    assert _identical(batch, fold(kernel, high, low, close))
    assert len(batch) == len(kernel.outputs)
    assert all(len(column) == len(close) for column in batch)


@settings(max_examples=80, deadline=None)
@given(kernel=kernels, columns=bars(), other=bars(), data=st.data())
def test_no_output_changes_when_later_bars_change(
    kernel: Kernel[Any],
    columns: tuple[np.ndarray, np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray, np.ndarray],
    data: st.DataObject,
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(columns[2])))
    prefix = tuple(column[:cut] for column in columns)
    spliced = tuple(np.concatenate((a[:cut], b)) for a, b in zip(columns, other, strict=True))
    before = kernel.batch(*prefix)
    assert _identical(before, tuple(c[:cut] for c in kernel.batch(*columns)))
    assert _identical(before, tuple(c[:cut] for c in kernel.batch(*spliced)))


@settings(max_examples=60, deadline=None)
@given(kernel=kernels, columns=bars())
def test_outputs_are_nan_exactly_during_warmup(
    kernel: Kernel[Any], columns: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    for column in kernel.batch(*columns):
        assert np.isnan(column[: kernel.warmup]).all()
        assert np.isfinite(column[kernel.warmup :]).all()


def test_sma_averages_the_last_closes() -> None:
    close = np.array([1.0, 2.0, 3.0, 4.0, 9.0])
    (value,) = Sma(3).batch(close, close, close)
    assert np.array_equal(value, [NAN, NAN, 2.0, 3.0, 16 / 3], equal_nan=True)


def test_ema_is_seeded_with_the_mean_of_the_first_period_closes() -> None:
    close = np.array([2.0, 4.0, 6.0, 10.0, 2.0])
    (value,) = Ema(3).batch(close, close, close)  # alpha = 0.5
    assert np.array_equal(value, [NAN, NAN, 4.0, 7.0, 4.5], equal_nan=True)


def test_ema_of_period_one_is_the_close() -> None:
    close = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(Ema(1).batch(close, close, close)[0], close)


def test_atr_uses_wilder_smoothing_of_the_true_range() -> None:
    high = np.array([10.0, 11.0, 12.0, 13.0, 20.0])
    low = np.array([8.0, 9.0, 9.0, 11.0, 18.0])
    close = np.array([9.0, 10.0, 11.0, 12.0, 19.0])
    # true ranges: 2 (first bar: high - low), 2, 3, 2, 8 (gap up from 12 to a low of 18)
    (value,) = Atr(3).batch(high, low, close)
    assert np.isnan(value[:2]).all()
    assert value[2:].tolist() == pytest.approx([7 / 3, 20 / 9, 112 / 27], rel=1e-15)


def test_donchian_includes_the_current_bar() -> None:
    high = np.array([5.0, 7.0, 6.0, 4.0])
    low = np.array([1.0, 3.0, 2.0, 0.5])
    upper, lower = Donchian(2).batch(high, low, (high + low) / 2)
    assert np.array_equal(upper, [NAN, 7.0, 7.0, 6.0], equal_nan=True)
    assert np.array_equal(lower, [NAN, 1.0, 2.0, 0.5], equal_nan=True)


def test_step_returns_the_same_values_as_batch_bar_by_bar() -> None:
    kernel = Donchian(3)
    state = kernel.initial()
    seen = []
    for h, lo in [(5.0, 1.0), (7.0, 3.0), (6.0, 2.0), (4.0, 0.5), (3.0, 2.5)]:
        state, values = kernel.step(state, h, lo, (h + lo) / 2)
        seen.append(values)
    assert seen[2:] == [(7.0, 1.0), (7.0, 0.5), (6.0, 0.5)]
    assert all(math.isnan(v) for v in seen[0] + seen[1])


@pytest.mark.parametrize(
    ("kernel", "name", "outputs", "warmup"),
    [
        (Sma(10), "sma(10)", ("value",), 9),
        (Ema(5), "ema(5)", ("value",), 4),
        (Atr(14), "atr(14)", ("value",), 13),
        (Donchian(20), "donchian(20)", ("upper", "lower"), 19),
    ],
)
def test_kernels_describe_their_outputs_and_warmup(
    kernel: Kernel[Any], name: str, outputs: tuple[str, ...], warmup: int
) -> None:
    assert (kernel.name, kernel.outputs, kernel.warmup) == (name, outputs, warmup)


@pytest.mark.parametrize("kind", [Sma, Ema, Atr, Donchian])
@pytest.mark.parametrize("period", [0, -3, 2.5, True, "3", None])
def test_a_period_that_is_not_a_positive_int_is_refused(kind: type, period: object) -> None:
    with pytest.raises(ValueError, match="period"):
        kind(period)


@pytest.mark.parametrize("kernel", [Sma(3), Ema(3), Atr(3), Donchian(3)])
def test_empty_and_short_columns_give_nan_outputs(kernel: Kernel[Any]) -> None:
    empty = np.array([], dtype=np.float64)
    assert all(len(c) == 0 for c in kernel.batch(empty, empty, empty))
    assert all(len(c) == 0 for c in fold(kernel, empty, empty, empty))
    two = np.array([2.0, 3.0])
    assert all(np.isnan(c).all() and len(c) == 2 for c in kernel.batch(two, two, two))


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        Sma(2).batch(np.ones(3), np.ones(2), np.ones(3))


def test_long_histories_stay_bit_identical() -> None:
    rng = np.random.default_rng(11)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 20_000)))
    high = close * (1.0 + rng.uniform(0.0, 0.02, close.size))
    low = close * (1.0 - rng.uniform(0.0, 0.02, close.size))
    kernels: list[Kernel[Any]] = [Sma(50), Ema(50), Atr(14), Donchian(55)]
    for kernel in kernels:
        assert _identical(kernel.batch(high, low, close), fold(kernel, high, low, close))
