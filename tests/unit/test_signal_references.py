"""Hand-checked signal values: every kernel against numbers worked out by hand or a plain
reference written here with numpy/scipy, on small inputs.

The parity tests (test_signals.py, test_probabilistic.py) prove that each batch twin equals its
stream; these prove that both equal the RIGHT values, so a wrong convention shared by the two
cannot pass. Each test checks the batch and the fold of the stream.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, norm
from threadpoolctl import threadpool_limits

from aitrader.adapters.models import LibraryModelFitter
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
    Regime,
    RegimeSettings,
    Schedule,
    Sma,
    fold,
    kalman_loglik,
)

NAN = math.nan


def _both(kernel: Any, high: Any, low: Any, close: Any) -> list[tuple[np.ndarray, ...]]:
    """The kernel's batch outputs and the fold of its stream over the same bars."""
    h, lo, c = (np.asarray(v, dtype=np.float64) for v in (high, low, close))
    return [kernel.batch(h, lo, c), fold(kernel, h, lo, c)]


# ---- moving averages, ATR, Donchian --------------------------------------------------------


def test_sma_is_the_mean_of_the_last_period_closes() -> None:
    close = [4.0, 8.0, 6.0, 2.0, 10.0, 7.0]
    expected = [NAN, NAN, 6.0, 16 / 3, 6.0, 19 / 3]  # (4+8+6)/3, (8+6+2)/3, ...
    reference = pd.Series(close).rolling(3).mean().to_numpy()
    for (value,) in _both(Sma(3), close, close, close):
        assert np.allclose(value, expected, equal_nan=True, rtol=0, atol=1e-12)
        assert np.allclose(value, reference, equal_nan=True, rtol=0, atol=1e-12)


def test_ema_is_seeded_with_the_first_mean_then_moves_by_alpha() -> None:
    close = [2.0, 4.0, 6.0, 8.0, 12.0, 3.0]
    # period 3: alpha = 2 / 4 = 0.5; seed (2+4+6)/3 = 4 at bar 2; 4 + .5(8-4) = 6;
    # 6 + .5(12-6) = 9; 9 + .5(3-9) = 6
    expected = [NAN, NAN, 4.0, 6.0, 9.0, 6.0]
    # pandas' recursive EWM (adjust=False) started from the seed
    tail = pd.Series([4.0, *close[3:]]).ewm(alpha=0.5, adjust=False).mean().to_numpy()
    for (value,) in _both(Ema(3), close, close, close):
        assert np.allclose(value, expected, equal_nan=True, rtol=0, atol=1e-12)
        assert np.allclose(value[2:], tail, rtol=0, atol=1e-12)
    long_close = 100 + np.cumsum(np.random.default_rng(1).normal(0, 1, 60))
    (ema,) = Ema(10).batch(long_close, long_close, long_close)
    seed = long_close[:10].mean()
    tail = pd.Series([seed, *long_close[10:]]).ewm(span=10, adjust=False).mean().to_numpy()
    assert np.allclose(ema[9:], tail, rtol=1e-12)


# high, low, close of five bars; bars 1 and 4 gap away from the previous close
_HLC = np.array([[10.0, 8.0, 9.0], [12.0, 9.5, 11.5], [12.0, 11.0, 11.2], [11.5, 10.0, 10.2],
                 [13.0, 11.0, 12.6]])


def test_atr_is_wilders_smoothing_of_the_true_range_as_documented() -> None:
    # true ranges: bar 0 high-low = 2; bar 1 max(2.5, |12-9|, |9.5-9|) = 3;
    # bar 2 max(1, .5, .5) = 1; bar 3 max(1.5, |11.5-11.2|, |10-11.2|) = 1.5;
    # bar 4 max(2, |13-10.2|, |11-10.2|) = 2.8
    # ATR(3): (2+3+1)/3 = 2 at bar 2; (2*2 + 1.5)/3; then (atr*2 + 2.8)/3
    atr3 = (2 * 2 + 1.5) / 3
    expected = [NAN, NAN, 2.0, atr3, (atr3 * 2 + 2.8) / 3]
    high, low, close = _HLC.T
    previous = np.concatenate(([NAN], close[:-1]))
    true_range = np.nanmax(np.column_stack(
        (high - low, np.abs(high - previous), np.abs(low - previous))), axis=1)
    reference = [NAN, NAN, true_range[:3].mean()]
    for tr in true_range[3:]:
        reference.append((reference[-1] * 2 + tr) / 3)
    for (value,) in _both(Atr(3), high, low, close):
        assert np.allclose(value, expected, equal_nan=True, rtol=0, atol=1e-12)
        assert np.allclose(value, reference, equal_nan=True, rtol=0, atol=1e-12)


def test_donchian_channel_includes_the_current_bar() -> None:
    high = [1.0, 3.0, 2.0, 5.0, 4.0, 1.5]
    low = [0.0, 1.0, 0.5, 2.0, 3.0, 1.0]
    expected_upper = [NAN, NAN, 3.0, 5.0, 5.0, 5.0]
    expected_lower = [NAN, NAN, 0.0, 0.5, 0.5, 1.0]
    for upper, lower in _both(Donchian(3), high, low, low):
        assert np.array_equal(upper, expected_upper, equal_nan=True)
        assert np.array_equal(lower, expected_lower, equal_nan=True)
        assert np.array_equal(upper, pd.Series(high).rolling(3).max(), equal_nan=True)
        assert np.array_equal(lower, pd.Series(low).rolling(3).min(), equal_nan=True)


# ---- Kalman --------------------------------------------------------------------------------


def test_one_kalman_predict_and_update_by_hand() -> None:
    settings = KalmanSettings("price", 1.0, KalmanNoise(0.1, 0.01, 0.5))
    close = [10.0, 11.0]
    # bar 0: x = [10, 0], P = diag(1, 1)
    # predict: x- = [10, 0]; P- = F P F' + Q = [[1+1+.1, 1], [1, 1+.01]] = [[2.1, 1], [1, 1.01]]
    # update with y = 11: e = 1, S = 2.1 + .5 = 2.6, K = [2.1, 1] / 2.6
    # x = [10 + 2.1/2.6, 1/2.6]; P00 = 2.1 - 2.1^2/2.6; P11 = 1.01 - 1/2.6; z = 1/sqrt(2.6)
    expected = [[10.0, 10 + 2.1 / 2.6], [0.0, 1 / 2.6], [1.0, 2.1 - 2.1**2 / 2.6],
                [1.0, 1.01 - 1 / 2.6], [NAN, 1 / math.sqrt(2.6)]]
    for outputs in _both(Kalman(settings), close, close, close):
        for got, want in zip(outputs, expected, strict=True):
            assert np.allclose(got, want, equal_nan=True, rtol=1e-12, atol=0)


def _matrix_filter(y: np.ndarray, p0: float, noise: KalmanNoise) -> np.ndarray:
    """The documented model with explicit matrices: rows level, velocity, their variances, z."""
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    h = np.array([1.0, 0.0])
    q = np.diag([noise.q_level, noise.q_velocity])
    x, p = np.array([y[0], 0.0]), np.diag([p0, p0])
    rows = [(x[0], x[1], p[0, 0], p[1, 1], NAN)]
    for obs in y[1:]:
        x, p = f @ x, f @ p @ f.T + q
        s = h @ p @ h + noise.r
        k = p @ h / s
        e = obs - h @ x
        x, p = x + k * e, (np.eye(2) - np.outer(k, h)) @ p
        rows.append((x[0], x[1], p[0, 0], p[1, 1], e / math.sqrt(s)))
    return np.array(rows).T


def test_the_kalman_filter_in_log_space_runs_the_documented_matrices_on_ln_close() -> None:
    close = np.array([100.0, 101.5, 100.8, 102.9, 104.0, 103.1, 105.5])
    noise = KalmanNoise(1e-4, 1e-6, 2e-4)
    expected = _matrix_filter(np.log(close), 0.5, noise)
    for outputs in _both(Kalman(KalmanSettings("log", 0.5, noise)), close, close, close):
        assert np.allclose(np.array(outputs), expected, equal_nan=True, rtol=1e-9, atol=1e-13)


def test_the_price_against_the_filtered_level_is_the_innovation_z_score() -> None:
    """README (mean_reversion): the z-score of price against the Kalman level is exactly the
    innovation z-score: y - level has variance r - level_var after the update."""
    close = np.array([100.0, 101.5, 100.8, 102.9, 104.0, 103.1, 105.5, 99.0])
    noise = KalmanNoise(1e-4, 1e-6, 2e-4)
    level, _, level_var, _, z = Kalman(KalmanSettings("log", 0.5, noise)).batch(
        close, close, close)
    against_level = (np.log(close[1:]) - level[1:]) / np.sqrt(noise.r - level_var[1:])
    assert np.allclose(against_level, z[1:], rtol=1e-6)


def test_the_kalman_likelihood_is_the_joint_gaussian_density_of_the_observations() -> None:
    """Independent of any recursion: y_1..y_n given bar 0's state N([y0, 0], diag(p0, p0)) is
    one multivariate normal, built here from the model's matrices directly."""
    y = np.array([1.0, 1.4, 1.1, 1.9, 2.6, 2.2])
    p0, noise = 0.8, KalmanNoise(0.05, 0.02, 0.3)
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    h = np.array([1.0, 0.0])
    q = np.diag([noise.q_level, noise.q_velocity])
    n = len(y) - 1
    powers = [np.linalg.matrix_power(f, t) for t in range(n + 1)]
    cov = np.empty((n, n))
    for t in range(1, n + 1):
        for u in range(1, n + 1):
            value = h @ powers[t] @ (p0 * np.eye(2)) @ powers[u].T @ h
            value += sum(h @ powers[t - s] @ q @ powers[u - s].T @ h
                         for s in range(1, min(t, u) + 1))
            cov[t - 1, u - 1] = value + (noise.r if t == u else 0.0)
    expected = multivariate_normal(np.full(n, y[0]), cov).logpdf(y[1:])
    assert kalman_loglik(y, p0, noise) == pytest.approx(expected, rel=1e-12)


def test_kalman_noise_estimation_maximises_the_documented_likelihood() -> None:
    rng = np.random.default_rng(21)
    truth = KalmanNoise(4e-3, 1e-4, 0.25)
    level, velocity, y = 50.0, 0.1, []
    for _ in range(400):
        velocity += rng.normal(0, math.sqrt(truth.q_velocity))
        level += velocity + rng.normal(0, math.sqrt(truth.q_level))
        y.append(level + rng.normal(0, math.sqrt(truth.r)))
    observed = np.array(y)
    start = KalmanNoise(1e-2, 1e-3, 1.0)
    fitted = LibraryModelFitter().fit_kalman(observed, 1.0, start).unwrap()
    best = kalman_loglik(observed, 1.0, fitted)
    assert best >= kalman_loglik(observed, 1.0, truth)
    assert best >= kalman_loglik(observed, 1.0, start)
    for scale in (0.5, 2.0):  # a maximum: moving any one noise away lowers the likelihood
        for name in ("q_level", "q_velocity", "r"):
            moved = KalmanNoise(**{**{k: getattr(fitted, k) for k in ("q_level", "q_velocity",
                                                                       "r")},
                                   name: getattr(fitted, name) * scale})
            assert kalman_loglik(observed, 1.0, moved) < best
    assert fitted.r == pytest.approx(truth.r, rel=0.35)  # the measurement noise is well found


# ---- GARCH(1,1) ----------------------------------------------------------------------------


def _closes_from(returns_percent: np.ndarray, first: float = 100.0) -> np.ndarray:
    return first * np.exp(np.cumsum(np.concatenate(([0.0], returns_percent / 100))))


def test_garch_forecasts_the_next_bars_variance_by_its_recursion() -> None:
    params = GarchParams(0.1, 0.2, 0.1, 0.8, first_variance=1.5)
    close = np.array([100.0, 101.0, 99.0, 99.5, 103.0, 102.0])
    x = 100 * np.log(close[1:] / close[:-1])  # x[t-1] is bar t's percent log return
    # from bar 2: sigma2 of bar 2 is first_variance; bar t outputs sqrt(sigma2_{t+1}) / 100
    sigma2, expected = 1.5, [NAN, NAN]
    for t in range(2, 6):
        sigma2 = 0.2 + 0.1 * (x[t - 1] - 0.1) ** 2 + 0.8 * sigma2
        expected.append(math.sqrt(sigma2) / 100)
    # bar 2 by hand: x = 100 ln(99/101) = -1.99999..., 0.2 + 0.1 * 2.1^2 + 0.8 * 1.5 = 1.841
    assert expected[2] == pytest.approx(math.sqrt(0.2 + 0.1 * (x[1] - 0.1) ** 2 + 1.2) / 100)
    assert x[1] == pytest.approx(-2.0, abs=0.001)
    for (vol,) in _both(Garch(Schedule((2,), (params,))), close, close, close):
        assert np.allclose(vol, expected, equal_nan=True, rtol=1e-12, atol=0)


def test_garch_parameters_must_be_stationary_and_non_negative() -> None:
    for alpha, beta in ((0.2, 0.8), (0.5, 0.6), (-0.1, 0.5), (0.1, -0.2)):
        with pytest.raises(ValueError, match="stationary"):
            GarchParams(0.0, 0.1, alpha, beta)
    with pytest.raises(ValueError, match="omega"):
        GarchParams(0.0, 0.0, 0.1, 0.8)
    assert GarchParams(0.0, 0.1, 0.1, 0.8).unconditional_variance == pytest.approx(1.0)


def _simulated_garch(n: int, mu: float, omega: float, alpha: float, beta: float,
                     seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, sigma2 = np.empty(n), omega / (1 - alpha - beta)
    for t in range(n):
        x[t] = mu + math.sqrt(sigma2) * rng.standard_normal()
        sigma2 = omega + alpha * (x[t] - mu) ** 2 + beta * sigma2
    return x


def test_a_garch_fit_recovers_simulated_parameters_and_its_numbers_are_the_recursions() -> None:
    from arch import arch_model

    x = _simulated_garch(3000, 0.05, 0.05, 0.1, 0.85, seed=5)
    fitted = LibraryModelFitter().fit_garch(x).unwrap()
    assert fitted.omega == pytest.approx(0.05, abs=0.03)
    assert fitted.alpha == pytest.approx(0.1, abs=0.04)
    assert fitted.beta == pytest.approx(0.85, abs=0.05)
    assert fitted.mu == pytest.approx(0.05, abs=0.05)
    with threadpool_limits(limits=1, user_api="blas"):  # as the fitter fits (determinism)
        reference = arch_model(x, mean="Constant", vol="GARCH", p=1, q=1, dist="normal",
                               rescale=False).fit(disp="off")
    variance = np.asarray(reference.conditional_volatility) ** 2
    # the domain's recursion, started where arch started, gives arch's variances ...
    (vol,) = Garch(Schedule((1,), (attrs.evolve(fitted, first_variance=variance[0]),))).batch(
        *(3 * [_closes_from(x)]))
    assert np.allclose((100 * vol[1:-1]) ** 2, variance[1:], rtol=1e-10)
    # ... whose Gaussian likelihood, written plainly, is the one arch maximised
    plain = float(np.sum(norm.logpdf(x, loc=fitted.mu, scale=np.sqrt(variance))))
    assert plain == pytest.approx(reference.loglikelihood, rel=1e-10)
    # and the fit's first_variance is the one-step forecast from the window's last bar
    forecast = reference.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]
    assert fitted.first_variance == pytest.approx(forecast, rel=1e-10)


# ---- HMM volatility regimes ----------------------------------------------------------------

_TWO = HmmParams(startprob=[0.5, 0.5], transmat=[[0.9, 0.1], [0.2, 0.8]], means=[0.0, 0.0],
                 variances=[1.0, 4.0], prior=[0.6, 0.4])


def test_two_state_forward_filter_by_hand() -> None:
    x = np.array([0.5, -3.0, 0.2])
    close = _closes_from(x)
    x = 100 * np.diff(np.log(close))  # what the kernel sees (equal up to rounding)
    calm, wild = norm(0, 1).pdf, norm(0, 2).pdf
    # bar 1: prior [.6, .4] (no transition: it is already the first bar's distribution)
    a = np.array([0.6 * calm(x[0]), 0.4 * wild(x[0])])
    p1 = a / a.sum()
    # bar 2: predict with the transition matrix, then weigh by the densities
    predicted = p1 @ np.array([[0.9, 0.1], [0.2, 0.8]])
    b = predicted * np.array([calm(x[1]), wild(x[1])])
    p2 = b / b.sum()
    predicted = p2 @ np.array([[0.9, 0.1], [0.2, 0.8]])
    c = predicted * np.array([calm(x[2]), wild(x[2])])
    p3 = c / c.sum()
    # with x = .5, -3, .2: bar 1 leans calm (.6 * .3521 vs .4 * .1933), bar 2 turbulent
    assert p1[0] == pytest.approx(0.6 * 0.35207 / (0.6 * 0.35207 + 0.4 * 0.19334), rel=1e-4)
    kernel = Regime(RegimeSettings(2, 0.7), Schedule((1,), (_TWO,)))
    for label, p_calm, p_turbulent in _both(kernel, close, close, close):
        assert np.allclose(p_calm, [NAN, p1[0], p2[0], p3[0]], equal_nan=True, rtol=1e-12)
        assert np.allclose(p_turbulent, [NAN, p1[1], p2[1], p3[1]], equal_nan=True, rtol=1e-12)
        # the label: calm at once (no label yet), turbulent once its probability >= 0.7
        expected = [NAN, 0.0, 1.0 if p2[1] >= 0.7 else 0.0]
        expected.append(1.0 if (expected[2] == 1.0 and p3[0] < 0.7) or p3[1] >= 0.7 else 0.0)
        assert np.array_equal(label, expected, equal_nan=True)
    assert p2[1] >= 0.7  # the hand numbers really exercise a switch


def test_regimes_are_filtered_never_smoothed() -> None:
    x = np.array([0.3, 0.1, -4.0, 3.5, -0.2])
    close = _closes_from(x)
    kernel = Regime(RegimeSettings(2, 0.7), Schedule((1,), (_TWO,)))
    probs = kernel.batch(close, close, close)[1]
    # the forward-backward (smoothed) probability of calm at bar 1 uses the later shocks
    from hmmlearn.hmm import GaussianHMM

    model = GaussianHMM(n_components=2, covariance_type="diag")
    model.startprob_, model.transmat_ = _TWO.prior, _TWO.transmat
    model.means_, model.covars_ = _TWO.means.reshape(-1, 1), _TWO.variances.reshape(-1, 1)
    returns = (100 * np.diff(np.log(close))).reshape(-1, 1)
    smoothed = model.predict_proba(returns)[:, 0]
    filtered = [model.predict_proba(returns[: t + 1])[-1, 0] for t in range(len(returns))]
    assert np.allclose(probs[1:], filtered, rtol=1e-10)
    assert abs(smoothed[1] - probs[2]) > 0.05  # the kernel is not the smoothed answer
    changed = close.copy()
    changed[3:] *= 1.5  # a shock after bar 2 changes nothing up to bar 2
    again = kernel.batch(changed, changed, changed)[1]
    assert np.array_equal(again[:3], probs[:3], equal_nan=True)


def test_a_shock_no_allowed_state_can_explain_keeps_the_filter_finite() -> None:
    # absorbing states, filtering from calm: a 40% fall is e^-1600 less likely under calm than
    # under turbulent, whose density alone survived in floats; but the prior rules turbulent
    # out, so the posterior is calm with certainty (it divided 0 by 0)
    absorbing = HmmParams([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], [0.5, 4.0])
    close = np.array([100.0, 100.1, 100.2, 60.0, 61.0])
    kernel = Regime(RegimeSettings(2, 0.7), Schedule((1,), (absorbing,)))
    for label, p_calm, p_turbulent in _both(kernel, close, close, close):
        assert np.array_equal(p_calm, [NAN, 1.0, 1.0, 1.0, 1.0], equal_nan=True)
        assert np.array_equal(p_turbulent, [NAN, 0.0, 0.0, 0.0, 0.0], equal_nan=True)
        assert np.array_equal(label, [NAN, 0.0, 0.0, 0.0, 0.0], equal_nan=True)


@pytest.mark.parametrize(("startprob", "transmat", "prior"), [
    ([0.5, 0.6], [[0.9, 0.1], [0.2, 0.8]], None),
    ([0.5, 0.5], [[0.9, 0.2], [0.2, 0.8]], None),
    ([0.5, 0.5], [[1.1, -0.1], [0.2, 0.8]], None),
    ([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], [0.0, 0.0]),
])
def test_hmm_probabilities_must_be_distributions(startprob: list[float],
                                                 transmat: list[list[float]],
                                                 prior: list[float] | None) -> None:
    with pytest.raises(ValueError, match="probabilit"):
        HmmParams(startprob, transmat, [0.0, 0.0], [1.0, 2.0], prior)


def test_states_are_ordered_calm_first_by_variance_whatever_the_fit_returned() -> None:
    turbulent_first = HmmParams([0.3, 0.7], [[0.8, 0.2], [0.1, 0.9]], [0.1, -0.2], [4.0, 1.0],
                                prior=[0.25, 0.75])
    ordered = turbulent_first.ordered()
    assert ordered.variances.tolist() == [1.0, 4.0]
    assert ordered.means.tolist() == [-0.2, 0.1]
    assert ordered.transmat.tolist() == [[0.9, 0.1], [0.2, 0.8]]
    assert ordered.startprob.tolist() == [0.7, 0.3]
    assert ordered.prior.tolist() == [0.75, 0.25]


def test_fitted_regimes_are_labelled_calm_first_on_every_window() -> None:
    rng = np.random.default_rng(8)
    # calm and turbulent stretches, the turbulent one first in the second window
    returns = np.concatenate([rng.normal(0, 0.5, 150), rng.normal(0, 3.0, 100),
                              rng.normal(0, 0.5, 150)])
    fitter = LibraryModelFitter()
    for window in (returns[:250], returns[150:]):
        fit = fitter.fit_hmm(window, 2, 0).unwrap()
        assert fit.variances[0] < fit.variances[1]
        assert fit.variances[0] == pytest.approx(0.25, rel=0.4)
        assert fit.variances[1] == pytest.approx(9.0, rel=0.4)
        # the prior of the first bar after the window: the window's last filtered
        # distribution (computed here by a plain forward pass) moved one step
        alpha = fit.startprob * norm(fit.means, np.sqrt(fit.variances)).pdf(window[0])
        alpha /= alpha.sum()
        for value in window[1:]:
            alpha = (alpha @ fit.transmat) * norm(fit.means, np.sqrt(fit.variances)).pdf(value)
            alpha /= alpha.sum()
        assert np.allclose(fit.prior, alpha @ fit.transmat, atol=1e-8)


# ---- multi-timeframe -----------------------------------------------------------------------

_MINUTE = 60 * 10**9
_OPEN = 1_720_013_400 * 10**9  # 2024-07-03 09:30 ET, a regular session
_SESSION = ((_OPEN,), (_OPEN + 390 * _MINUTE,))


def test_a_higher_timeframe_bar_is_seen_only_from_the_lower_bar_that_closes_it() -> None:
    ts = _OPEN + np.arange(1, 14, dtype=np.int64) * _MINUTE  # 09:31 .. 09:43 one-minute closes
    close = np.array([10, 11, 12, 11, 13, 14, 12, 15, 16, 14, 13, 12, 11], dtype=np.float64)
    high, low = close + 0.5, close - 0.5
    # 5m buckets from the open: 09:30-09:35 (bars 0-4), 09:35-09:40 (bars 5-9), the third
    # (09:40-09:45) has not closed by the last bar
    inner = Donchian(1)  # outputs the bucket's own high and low
    upper, lower = HigherTimeframe(inner, Timeframe.MINUTE_5, *_SESSION).batch_at(
        ts, high, low, close)
    first, second = (13.5, 9.5), (16.5, 11.5)
    assert np.array_equal(upper, [NAN] * 4 + [first[0]] * 5 + [second[0]] * 4, equal_nan=True)
    assert np.array_equal(lower, [NAN] * 4 + [first[1]] * 5 + [second[1]] * 4, equal_nan=True)
    # the Kalman filter on the 5m closes (13, 14) seen by the 1m bars
    settings = KalmanSettings("price", 1.0, KalmanNoise(0.1, 0.01, 0.5))
    on_5m = HigherTimeframe(Kalman(settings), Timeframe.MINUTE_5, *_SESSION).batch_at(
        ts, high, low, close)
    direct = _matrix_filter(np.array([13.0, 14.0]), 1.0, KalmanNoise(0.1, 0.01, 0.5))
    for got, want in zip(on_5m, direct, strict=True):
        assert np.isnan(got[3])
        assert np.allclose(got[4:9], want[0], equal_nan=True)
        assert np.allclose(got[9:], want[1], equal_nan=True)
