"""The probabilistic kernels: Kalman, HMM regimes, GARCH (batch = stream, checked by hand)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aitrader.domain.market import Timeframe
from aitrader.domain.signals import (
    Atr,
    Donchian,
    Ema,
    Garch,
    GarchParams,
    HigherTimeframe,
    HmmParams,
    Kalman,
    KalmanNoise,
    KalmanSettings,
    OnKalmanLevel,
    Regime,
    RegimeSettings,
    Schedule,
    Sma,
    fold,
    kalman_loglik,
)

_HMM = HmmParams([0.6, 0.3, 0.1], [[0.95, 0.04, 0.01], [0.05, 0.9, 0.05], [0.02, 0.08, 0.9]],
                 [0.05, 0.0, -0.1], [0.4, 1.0, 4.0])
_HMM2 = HmmParams([0.5, 0.3, 0.2], [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]],
                  [0.1, -0.05, 0.0], [0.2, 1.5, 6.0])
_HMM_PRIOR = HmmParams(_HMM.startprob, _HMM.transmat, _HMM.means, _HMM.variances,
                       [0.1, 0.1, 0.8])
_GARCH = GarchParams(0.02, 0.05, 0.1, 0.85)


@st.composite
def closes(draw: st.DrawFn, max_size: int = 120) -> np.ndarray:
    """A positive price path, with the occasional large move."""
    n = draw(st.integers(min_value=0, max_value=max_size))
    steps = draw(arrays(np.float64, n, elements=st.floats(min_value=-0.2, max_value=0.2)))
    start = draw(st.floats(min_value=1.0, max_value=1000.0))
    return start * np.exp(np.cumsum(steps))


@st.composite
def schedules(draw: st.DrawFn, choices: list[Any]) -> Schedule[Any]:
    starts = sorted(draw(st.sets(st.integers(min_value=0, max_value=130), max_size=3)))
    return Schedule(tuple(starts), tuple(draw(st.sampled_from(choices)) for _ in starts))


noise = st.builds(KalmanNoise, st.floats(1e-8, 1e-2), st.floats(1e-10, 1e-3),
                  st.floats(1e-6, 1e-1))
kalmans = st.builds(
    Kalman,
    st.builds(KalmanSettings, st.sampled_from(["log", "price"]), st.floats(1e-3, 10.0), noise),
    st.one_of(st.none(), schedules([KalmanNoise(), KalmanNoise(1e-4, 1e-6, 1e-3)])))
kernels = st.one_of(
    kalmans,
    st.builds(Regime, st.builds(RegimeSettings, st.just(3), st.floats(0.5, 1.0)),
              schedules([_HMM, _HMM2, _HMM_PRIOR])),
    st.builds(Garch, schedules([_GARCH, GarchParams(0.0, 0.2, 0.05, 0.9),
                                GarchParams(0.0, 0.2, 0.05, 0.9, 7.5)])),
    st.builds(OnKalmanLevel, st.sampled_from([Sma(3), Ema(4)]), kalmans),
)


@settings(max_examples=120, deadline=None)
@given(kernel=kernels, close=closes())
def test_every_model_kernel_batch_is_bit_identical_to_its_stream(kernel: Any,
                                                                 close: np.ndarray) -> None:
    batch = kernel.batch(close, close, close)
    folded = fold(kernel, close, close, close)
    assert len(batch) == len(kernel.outputs)
    for a, b in zip(batch, folded, strict=True):
        assert np.array_equal(a, b, equal_nan=True)


every_kernel = st.one_of(kernels, st.sampled_from([Sma(5), Ema(5), Atr(4), Donchian(6)]))


@settings(max_examples=60, deadline=None)
@given(kernel=every_kernel, close=closes(), cut=st.integers(min_value=0, max_value=120),
       shock=st.floats(min_value=0.5, max_value=2.0))
def test_no_output_at_bar_t_changes_when_later_bars_change(kernel: Any, close: np.ndarray,
                                                           cut: int, shock: float) -> None:
    changed = close.copy()
    changed[cut:] = changed[cut:] * shock
    before = kernel.batch(close, close, close)
    after = kernel.batch(changed, changed, changed)
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a[:cut], b[:cut], equal_nan=True)


def _reference_kalman(y: np.ndarray, p0: float, n: KalmanNoise) -> tuple[float, list[float]]:
    """The textbook matrix filter, written independently of the kernel."""
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    h = np.array([[1.0, 0.0]])
    q = np.diag([n.q_level, n.q_velocity])
    x = np.array([y[0], 0.0])
    p = np.diag([p0, p0])
    total, levels = 0.0, [y[0]]
    for obs in y[1:]:
        x, p = f @ x, f @ p @ f.T + q
        s = float((h @ p @ h.T)[0, 0]) + n.r
        e = obs - float((h @ x)[0])
        total += -0.5 * (math.log(2 * math.pi * s) + e * e / s)
        k = (p @ h.T)[:, 0] / s
        x = x + k * e
        p = (np.eye(2) - np.outer(k, h[0])) @ p
        levels.append(float(x[0]))
    return total, levels


def test_kalman_likelihood_and_levels_match_a_textbook_matrix_filter() -> None:
    rng = np.random.default_rng(7)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, 400)))
    noise = KalmanNoise(2e-5, 1e-7, 3e-5)
    y = np.log(close)
    expected, levels = _reference_kalman(y, 0.5, noise)
    assert kalman_loglik(y, 0.5, noise) == pytest.approx(expected, rel=1e-9)
    kernel = Kalman(KalmanSettings("log", 0.5, noise))
    assert np.allclose(kernel.batch(close, close, close)[0], levels, rtol=0, atol=1e-10)


def test_kalman_on_price_follows_a_linear_trend_with_a_steady_velocity() -> None:
    close = 100.0 + 0.5 * np.arange(300)
    level, velocity, level_var, velocity_var, z = Kalman(
        KalmanSettings("price", 10.0, KalmanNoise(1e-3, 1e-5, 0.25))).batch(close, close, close)
    assert velocity[-1] == pytest.approx(0.5, abs=1e-3)
    assert level[-1] == pytest.approx(close[-1], abs=1e-2)
    assert math.isnan(z[0])
    assert abs(z[-1]) < 0.01
    assert level_var[-1] < level_var[1]
    assert velocity_var[-1] < velocity_var[1]


def test_hmm_filtered_probabilities_match_hmmlearn_on_each_prefix() -> None:
    from hmmlearn.hmm import GaussianHMM

    rng = np.random.default_rng(3)
    returns = np.concatenate([rng.normal(0, 0.6, 60), rng.normal(0, 2.5, 40),
                              rng.normal(0, 1, 30)])
    close = 100 * np.exp(np.cumsum(np.concatenate([[0.0], returns / 100])))
    model = GaussianHMM(n_components=3, covariance_type="diag")
    model.startprob_ = _HMM.startprob
    model.transmat_ = _HMM.transmat
    model.means_ = _HMM.means.reshape(-1, 1)
    model.covars_ = _HMM.variances.reshape(-1, 1)
    out = Regime(schedule=Schedule((1,), (_HMM,))).batch(close, close, close)
    probs = np.column_stack(out[1:])
    x = (100 * np.diff(np.log(close))).reshape(-1, 1)
    for t in (0, 1, 10, 59, 61, 99, 129):
        # smoothing and filtering agree on the last observation of a prefix
        expected = model.predict_proba(x[: t + 1])[-1]
        assert np.allclose(probs[t + 1], expected, atol=1e-9)
    assert np.allclose(probs[1:].sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.isnan(probs[0]))


def test_the_first_filtered_bar_starts_from_the_fitted_prior_not_the_start_probabilities(
        ) -> None:
    close = np.array([100.0, 100.2, 99.9, 100.1])
    out = Regime(schedule=Schedule((2,), (_HMM_PRIOR,))).batch(close, close, close)
    x = 100 * math.log(close[2] / close[1])
    likelihood = np.exp(-0.5 * (x - _HMM.means) ** 2 / _HMM.variances) / np.sqrt(_HMM.variances)
    expected = _HMM_PRIOR.prior * likelihood / np.sum(_HMM_PRIOR.prior * likelihood)
    assert np.allclose([p[2] for p in out[1:]], expected, atol=1e-12)
    assert out[0][2] == 2  # the prior, not startprob (calm 0.6), decides the label


@settings(max_examples=40, deadline=None)
@given(close=closes(max_size=200))
def test_regime_probabilities_sum_to_one(close: np.ndarray) -> None:
    out = Regime(schedule=Schedule((5, 60), (_HMM, _HMM2))).batch(close, close, close)
    probs = np.column_stack(out[1:])
    filtered = ~np.isnan(probs[:, 0])
    assert np.allclose(probs[filtered].sum(axis=1), 1.0, atol=1e-12)
    assert np.all((probs[filtered] >= 0) & (probs[filtered] <= 1))


def test_the_regime_label_holds_until_another_state_is_probable_enough() -> None:
    rng = np.random.default_rng(11)
    returns = np.concatenate([rng.normal(0, 0.6, 80), rng.normal(0, 2.0, 80)]) / 100
    close = 100 * np.exp(np.cumsum(np.concatenate([[0.0], returns])))
    loose = Regime(RegimeSettings(3, 0.5), Schedule((1,), (_HMM,))).batch(close, close, close)
    sticky = Regime(RegimeSettings(3, 0.95), Schedule((1,), (_HMM,))).batch(close, close, close)

    def flips(labels: np.ndarray) -> int:
        return int(np.count_nonzero(np.diff(labels[1:])))

    assert flips(sticky[0]) < flips(loose[0])
    probs = np.column_stack(sticky[1:])
    for t in range(2, len(close)):
        if sticky[0][t] != sticky[0][t - 1]:  # a switch only on a probable enough state
            assert probs[t, int(sticky[0][t])] >= 0.95


def test_garch_follows_its_recursion_from_the_unconditional_variance() -> None:
    close = np.array([100.0, 101.0, 99.0, 99.5, 103.0])
    (vol,) = Garch(Schedule((2,), (_GARCH,))).batch(close, close, close)
    x = 100 * np.diff(np.log(close))
    sigma2 = _GARCH.omega / (1 - _GARCH.alpha - _GARCH.beta)
    assert np.all(np.isnan(vol[:2]))
    for t in range(2, 5):
        sigma2 = _GARCH.omega + _GARCH.alpha * (x[t - 1] - _GARCH.mu) ** 2 + _GARCH.beta * sigma2
        assert vol[t] == pytest.approx(math.sqrt(sigma2) / 100, rel=1e-12)


def test_garch_starts_from_the_fitted_first_variance_when_there_is_one() -> None:
    close = np.array([100.0, 101.0, 99.0, 99.5])
    started = GarchParams(_GARCH.mu, _GARCH.omega, _GARCH.alpha, _GARCH.beta, 9.0)
    (vol,) = Garch(Schedule((2,), (started,))).batch(close, close, close)
    x = 100 * math.log(close[2] / close[1])
    sigma2 = _GARCH.omega + _GARCH.alpha * (x - _GARCH.mu) ** 2 + _GARCH.beta * 9.0
    assert vol[2] == pytest.approx(math.sqrt(sigma2) / 100, rel=1e-12)


def test_a_schedule_applies_each_parameter_set_from_its_start() -> None:
    schedule = Schedule((3, 7), ("a", "b"))
    assert [schedule.at(i) for i in (0, 2, 3, 6, 7, 100)] == [None, None, "a", "a", "b", "b"]
    assert list(schedule.segments(5)) == [(3, 5, "a")]
    with pytest.raises(ValueError, match="increase"):
        Schedule((3, 3), ("a", "b"))


_DAY = 86_400 * 10**9
_MINUTE = 60 * 10**9
# three regular sessions (09:30-16:00 ET as UTC), the middle one an early close at 13:00 ET
_OPENS = tuple(1_720_013_400 * 10**9 + d * _DAY for d in (0, 1, 4))
_CLOSES = (_OPENS[0] + 390 * _MINUTE, _OPENS[1] + 210 * _MINUTE, _OPENS[2] + 390 * _MINUTE)


@st.composite
def minute_bars(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Increasing bar closes: runs of whole minutes with gaps, in and around three sessions."""
    start = draw(st.integers(min_value=-30, max_value=300))
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 1, 1, 2, 7, 45, 400]), max_size=150))
    offsets = start + np.cumsum([0, *steps])
    ts = np.asarray(_OPENS[0] + offsets * _MINUTE, dtype=np.int64)
    moves = draw(arrays(np.float64, len(ts), elements=st.floats(-0.01, 0.01)))
    return ts, 100 * np.exp(np.cumsum(moves))


higher = st.builds(HigherTimeframe, st.sampled_from([Sma(2), Kalman(), Ema(3)]),
                   st.sampled_from([Timeframe.MINUTE_15, Timeframe.HOUR_1, Timeframe.DAY_1]),
                   st.just(_OPENS), st.just(_CLOSES))


def _fold_at(kernel: HigherTimeframe, ts: np.ndarray, close: np.ndarray) -> list[np.ndarray]:
    state = kernel.initial()
    rows = []
    for t, c in zip(ts.tolist(), close.tolist(), strict=True):
        state, values = kernel.step_at(state, t, c * 1.001, c * 0.999, c)
        rows.append(values)
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(kernel.outputs))
    return [table[:, j] for j in range(len(kernel.outputs))]


@settings(max_examples=80, deadline=None)
@given(kernel=higher, bars=minute_bars(), cut=st.integers(min_value=0, max_value=150))
def test_a_higher_timeframe_kernel_streams_as_it_batches_and_never_sees_an_open_bucket(
        kernel: HigherTimeframe, bars: tuple[np.ndarray, np.ndarray], cut: int) -> None:
    ts, close = bars
    batch = kernel.batch_at(ts, close * 1.001, close * 0.999, close)
    for a, b in zip(batch, _fold_at(kernel, ts, close), strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    shortened = kernel.batch_at(ts[:cut], close[:cut] * 1.001, close[:cut] * 0.999, close[:cut])
    for a, b in zip(batch, shortened, strict=True):
        assert np.array_equal(a[:cut], b, equal_nan=True)


def test_a_lower_bar_sees_the_hour_only_from_the_bar_that_closes_it() -> None:
    ts = _OPENS[0] + np.arange(1, 130, dtype=np.int64) * _MINUTE
    close = 100.0 + np.arange(len(ts), dtype=np.float64)
    (last_close,) = HigherTimeframe(Sma(1), Timeframe.HOUR_1, _OPENS, _CLOSES).batch_at(
        ts, close, close, close)
    assert np.all(np.isnan(last_close[:59]))
    assert last_close[59] == close[59]  # the 10:30 bar closes the first hour
    assert np.all(last_close[60:119] == close[59])
    assert last_close[119] == close[119]
