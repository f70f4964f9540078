"""The ModelFitter port: the library adapter recovers known parameters from simulated data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from returns.result import Failure, Success

from aitrader.adapters.models import LibraryModelFitter
from aitrader.domain.signals import KalmanNoise, kalman_loglik


def test_hmm_fit_finds_the_calm_and_turbulent_states_in_order() -> None:
    rng = np.random.default_rng(5)
    returns = np.concatenate([rng.normal(0.05, 0.5, 300), rng.normal(-0.1, 3.0, 300),
                              rng.normal(0.05, 0.5, 300)])
    fitted = LibraryModelFitter().fit_hmm(returns, 2, seed=0)
    assert isinstance(fitted, Success)
    params = fitted.unwrap()
    assert list(params.variances) == sorted(params.variances)  # calm first
    assert math.sqrt(params.variances[0]) == pytest.approx(0.5, rel=0.15)
    assert math.sqrt(params.variances[1]) == pytest.approx(3.0, rel=0.15)
    assert np.allclose(params.transmat.sum(axis=1), 1.0)
    again = LibraryModelFitter().fit_hmm(returns, 2, seed=0).unwrap()
    assert np.array_equal(again.transmat, params.transmat)  # deterministic


def test_the_hmm_filter_starts_where_its_training_window_ended_not_where_it_began() -> None:
    from hmmlearn.hmm import GaussianHMM

    rng = np.random.default_rng(6)
    returns = np.concatenate([rng.normal(0.0, 0.5, 300), rng.normal(0.0, 3.0, 200)])
    params = LibraryModelFitter().fit_hmm(returns, 2, seed=0).unwrap()
    assert params.startprob[0] > 0.99  # the window began calm ...
    assert params.prior[1] > 0.8  # ... and ended turbulent: the next bar starts from there
    model = GaussianHMM(n_components=2, covariance_type="diag")
    model.startprob_, model.transmat_ = params.startprob, params.transmat
    model.means_ = params.means.reshape(-1, 1)
    model.covars_ = params.variances.reshape(-1, 1)
    # independently: the prior is the predictive distribution of the state after the window
    history, nxt = returns.reshape(-1, 1), np.array([[0.1]])
    joint = model.predict_proba(np.vstack((history, nxt)))[-1]
    likelihood = np.exp(-0.5 * (0.1 - params.means) ** 2 / params.variances) / np.sqrt(
        params.variances)
    expected = params.prior * likelihood / np.sum(params.prior * likelihood)
    assert np.allclose(joint, expected, atol=1e-9)


def test_garch_fit_recovers_a_simulated_process() -> None:
    rng = np.random.default_rng(9)
    omega, alpha, beta, n = 0.05, 0.1, 0.85, 4000
    x, sigma2 = np.empty(n), omega / (1 - alpha - beta)
    for t in range(n):
        x[t] = math.sqrt(sigma2) * rng.standard_normal()
        sigma2 = omega + alpha * x[t] ** 2 + beta * sigma2
    fitted = LibraryModelFitter().fit_garch(x)
    assert isinstance(fitted, Success)
    params = fitted.unwrap()
    assert params.alpha == pytest.approx(alpha, abs=0.04)
    assert params.beta == pytest.approx(beta, abs=0.05)


def test_garch_starts_from_the_forecast_at_the_end_of_its_window() -> None:
    from arch import arch_model

    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0, 0.5, 400), rng.normal(0, 3.0, 100)])
    params = LibraryModelFitter().fit_garch(x).unwrap()
    # arch's forecast from the fitted parameters (this window's fit is on the integrated
    # boundary, so the fitter refits it stationary: the reference takes its parameters)
    fit = arch_model(x, mean="Constant", vol="GARCH", p=1, q=1, dist="normal",
                     rescale=False).fix([params.mu, params.omega, params.alpha, params.beta])
    forecast = float(fit.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0])
    assert params.first_variance == pytest.approx(forecast, rel=1e-9)
    assert params.starting_variance > 4 * np.var(x[:400])  # the window ended wild


def test_kalman_mle_improves_the_likelihood_and_finds_the_measurement_noise() -> None:
    rng = np.random.default_rng(2)
    n = 1500
    velocity = np.cumsum(rng.normal(0, 1e-4, n))
    level = np.cumsum(velocity + rng.normal(0, 3e-3, n))
    y = level + rng.normal(0, 0.01, n)
    start = KalmanNoise(1e-6, 1e-10, 1e-6)
    fitted = LibraryModelFitter().fit_kalman(y, 1.0, start)
    assert isinstance(fitted, Success)
    noise = fitted.unwrap()
    assert kalman_loglik(y, 1.0, noise) > kalman_loglik(y, 1.0, start)
    assert math.sqrt(noise.r) == pytest.approx(0.01, rel=0.25)


def test_too_few_observations_are_an_error_not_a_fit() -> None:
    fitter = LibraryModelFitter()
    short = np.ones(10)
    for result in (fitter.fit_hmm(short, 3, 0), fitter.fit_garch(short),
                   fitter.fit_kalman(short, 1.0, KalmanNoise())):
        assert isinstance(result, Failure)
        assert result.failure().code == "too_few_observations"
