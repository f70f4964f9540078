"""Allocators' weights sum to the invested fraction and respect caps; Kelly and volatility
targeting size as documented."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.application.allocation import Allocation, AllocationSettings, Rebalance
from aitrader.domain.metrics import historical_var, parametric_var
from aitrader.domain.portfolio import ALLOCATORS, ExposureScaler, allocate
from aitrader.domain.strategies import Target


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(ALLOCATORS),
    n=st.integers(min_value=1, max_value=6),
    rows=st.integers(min_value=0, max_value=40),
    seed=st.integers(min_value=0, max_value=2**16),
    invested=st.floats(min_value=0.1, max_value=1.0),
    # tiny caps too: the weights are split in units of the cap, so none underflows to NaN
    cap=st.floats(min_value=0.15, max_value=1.0) | st.sampled_from([1e-300, 1e-320, 5e-324]),
)
def test_allocator_weights_sum_to_the_invested_fraction_and_respect_the_cap(
    name: str, n: int, rows: int, seed: int, invested: float, cap: float
) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0005, 0.01, size=(rows, n)) * rng.uniform(0.5, 3.0, size=n)
    weights = allocate(name, returns, invested, cap)
    assert weights.shape == (n,)
    assert np.isfinite(weights).all()
    assert (weights >= -1e-12).all()
    assert (weights <= cap).all()
    assert weights.sum() == pytest.approx(min(invested, cap * n), abs=1e-9)


def test_a_tiny_cap_with_weights_far_apart_caps_them_all() -> None:
    # risk parity over a few closes gives weights like (0.55, 0.45, 5e-109): scaled to a cap of
    # 1e-300 the third underflowed to 0 and handing it the excess divided 0 by 0 (NaN)
    closes = np.array([[100.0, 50.0, 80.0], [101.0, 50.5, 79.0], [100.5, 50.2, 81.0],
                       [102.0, 50.9, 80.5], [101.5, 50.4, 82.0]])
    returns = closes[1:] / closes[:-1] - 1.0
    for cap in (1e-300, 1e-320):
        weights = allocate("risk_parity", returns, 1.0, cap)
        assert np.isfinite(weights).all(), (cap, weights)
        assert (weights <= cap).all()


def test_inverse_volatility_and_risk_parity_give_the_calmer_asset_more_weight() -> None:
    rng = np.random.default_rng(7)
    returns = np.column_stack([rng.normal(0, 0.01, 500), rng.normal(0, 0.03, 500)])
    for name in ("inverse_volatility", "risk_parity"):
        calm, wild = allocate(name, returns, 1.0)
        assert calm > 2 * wild, name
    assert allocate("equal_weight", returns, 0.8).tolist() == [0.4, 0.4]


def test_mean_variance_prefers_the_better_asset_within_its_cap() -> None:
    rng = np.random.default_rng(3)
    returns = np.column_stack([rng.normal(0.003, 0.01, 300), rng.normal(-0.001, 0.01, 300)])
    weights = allocate("mean_variance", returns, 1.0, cap=0.7)
    assert weights[0] == pytest.approx(0.7)
    assert weights.sum() == pytest.approx(1.0)


def test_kelly_sizes_a_fraction_of_mu_over_sigma_squared_clipped_and_shrunk() -> None:
    kelly = ExposureScaler(method="kelly", kelly_fraction=0.5, kelly_max=2.0,
                           kelly_uncertainty=50.0)
    size, shown = kelly.scale(Target(1.0, expected_return=0.001, variance=0.0004))
    assert size == pytest.approx(0.5 * 0.001 / 0.0004 * 1.0)  # noise 20 < 50: no shrink
    assert shown["method"] == "kelly"
    clipped, _ = kelly.scale(Target(-1.0, expected_return=-0.01, variance=0.0004))
    assert clipped == -2.0  # the raw Kelly of 12.5 is held to kelly_max, short
    noisy, shown = kelly.scale(Target(1.0, expected_return=0.0001, variance=0.0001))
    assert float(shown["shrink"]) == pytest.approx(0.5)  # noise 100 over uncertainty 50
    assert noisy == pytest.approx(0.5 * 0.0001 / 0.0001 * 0.5)
    against, _ = kelly.scale(Target(1.0, expected_return=-0.001, variance=0.0004))
    assert against == 0.0


def test_an_uncertain_kelly_size_is_shrunk_after_the_cap_so_uncertainty_always_counts() -> None:
    kelly = ExposureScaler(method="kelly", kelly_fraction=0.5, kelly_max=1.0,
                           kelly_uncertainty=50.0)
    # sigma = 0.002, mu = 0.00002: raw Kelly 0.5 x 0.00002 / 0.000004 = 2.5, held to kelly_max
    # 1; noise-to-edge 0.002 / 0.00002 = 100 over 50 halves it: 0.5 (shrinking first, 1.25,
    # would hit the cap and size an edge this uncertain as fully as a certain one)
    size, shown = kelly.scale(Target(1.0, expected_return=0.00002, variance=0.000004))
    assert (float(shown["kelly"]), float(shown["shrink"])) == pytest.approx((2.5, 0.5))
    assert size == pytest.approx(0.5)
    # the target's own |exposure| scales the result: a half-conviction short, 0.5 x 0.5
    half, _ = kelly.scale(Target(-0.5, expected_return=-0.00002, variance=0.000004))
    assert half == pytest.approx(-0.25)


def test_kelly_without_an_edge_estimate_sizes_nothing_or_falls_back_as_configured() -> None:
    assert ExposureScaler(method="kelly").scale(Target(1.0))[0] == 0.0
    fallback = ExposureScaler(method="kelly", kelly_fallback="fixed_fraction")
    assert fallback.scale(Target(0.5))[0] == 0.5


def test_volatility_targeting_scales_to_the_target_and_caps_leverage() -> None:
    vol = ExposureScaler(method="volatility_target", target_volatility=0.10, max_leverage=1.5)
    assert vol.scale(Target(1.0), volatility=0.20)[0] == pytest.approx(0.5)
    assert vol.scale(Target(-1.0), volatility=0.01)[0] == pytest.approx(-1.5)
    assert vol.scale(Target(1.0), volatility=math.nan)[0] == 0.0
    assert ExposureScaler().scale(Target(0.7))[0] == 0.7
    with pytest.raises(ValueError, match="target_volatility"):
        ExposureScaler(target_volatility=0.0)


def test_var_and_cvar_read_the_loss_tail() -> None:
    returns = np.array([-0.05, -0.04, -0.03, -0.02, -0.02, -0.02] + [0.01] * 94)
    var, cvar = historical_var(returns, 0.95)
    assert var == pytest.approx(0.02)
    assert cvar == pytest.approx((0.05 + 0.04 + 0.03 + 0.02 * 3) / 6)
    rng = np.random.default_rng(1)
    normal = rng.normal(0.0, 0.01, 200_000)
    pvar, pcvar = parametric_var(normal, 0.95)
    assert pvar == pytest.approx(0.01645, rel=0.02)
    assert pcvar == pytest.approx(0.02063, rel=0.02)
    assert historical_var(normal, 0.95)[0] == pytest.approx(pvar, rel=0.03)


def test_a_rebalance_estimates_from_aligned_closes_before_the_period_s_first_bar() -> None:
    rng = np.random.default_rng(11)
    closes = 100 * np.cumprod(1 + rng.normal(0, 0.02, size=(30, 2)), axis=0)
    closes[:, 1] = 100 * np.cumprod(1 + np.roll(np.diff(closes[:, 0], prepend=100) /
                                                 np.r_[100, closes[:-1, 0]], 1))
    settings = AllocationSettings(allocator="risk_parity", rebalance="daily", lookback=10)
    allocation = Allocation(settings, 2)
    start = date(2024, 1, 1)
    for t in range(30):
        day = start + timedelta(days=t)
        allocation.observe(0, float(closes[t, 0]), day, t)
        window = closes[max(0, t - 11):t]  # the 11 closes before this bar, both symbols
        if len(window) == 11:
            expected = allocate("risk_parity", window[1:] / window[:-1] - 1.0, 1.0)
            assert allocation.weights == pytest.approx(expected.tolist(), abs=1e-12), t
        allocation.observe(1, float(closes[t, 1]), day, t)
    assert len(allocation.history) == 30


@pytest.mark.parametrize("allocator", ["equal_weight", "risk_parity"])
@pytest.mark.parametrize("rebalance", ["none", "daily"])
def test_the_equal_split_before_the_lookback_is_filled_is_capped_too(
    allocator: str, rebalance: Rebalance
) -> None:
    settings = AllocationSettings(allocator=allocator, rebalance=rebalance, lookback=5,
                                  max_weight=0.2)
    allocation = Allocation(settings, 3)
    assert not settings.is_static  # a binding cap needs the allocation, even for equal weights
    assert allocation.weights == [0.2, 0.2, 0.2]
    allocation.observe(0, 100.0, date(2024, 1, 2), 0)  # a first period: recomputed, still equal
    assert allocation.weights == [0.2, 0.2, 0.2]
    assert AllocationSettings(max_weight=1.0).is_static
