"""The fitter recovers the parameters of simulated processes (seeded), and fails honestly.

Tolerances follow from the sample sizes: with n observations a variance parameter's MLE has a
relative standard error of about sqrt(2 / n_eff), so 2000-3000 bars put the noise variances
and regime volatilities within a few percent and the tolerances below are several standard
errors wide (a fit stuck in a poor local optimum misses them by far more). The Kalman velocity
noise is weakly identified (its signal is a slow drift of the trend), so it is only checked to
a factor of three.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM
from returns.result import Failure, Success
from structlog.testing import capture_logs
from threadpoolctl import threadpool_limits

from aitrader.adapters.models import LibraryModelFitter
from aitrader.adapters.sample import sample_path
from aitrader.application.models import FitPlan, fit_symbol, percent_returns
from aitrader.domain.signals import FloatArray, KalmanNoise, RegimeSettings, SignalSettings


def _local_linear_trend(seed: int, n: int, noise: KalmanNoise) -> FloatArray:
    rng = np.random.default_rng(seed)
    velocity = np.cumsum(rng.normal(0.0, math.sqrt(noise.q_velocity), n))
    level = np.cumsum(velocity + rng.normal(0.0, math.sqrt(noise.q_level), n))
    return level + rng.normal(0.0, math.sqrt(noise.r), n)


def _markov_gaussian(seed: int, n: int, transmat: FloatArray, means: list[float],
                     sds: list[float]) -> FloatArray:
    rng = np.random.default_rng(seed)
    out, state = np.empty(n), 0
    for t in range(n):
        out[t] = rng.normal(means[state], sds[state])
        state = int(rng.choice(len(means), p=transmat[state]))
    return out


def _garch(seed: int, n: int, mu: float, omega: float, alpha: float, beta: float) -> FloatArray:
    rng = np.random.default_rng(seed)
    out, variance = np.empty(n), omega / (1.0 - alpha - beta)
    for t in range(n):
        out[t] = math.sqrt(variance) * rng.standard_normal()
        variance = omega + alpha * out[t] ** 2 + beta * variance
    return mu + out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kalman_mle_recovers_the_noise_of_a_local_linear_trend(seed: int) -> None:
    truth = KalmanNoise(q_level=1e-4, q_velocity=1e-7, r=4e-4)
    y = _local_linear_trend(seed, 2000, truth)
    fitted = LibraryModelFitter().fit_kalman(y, 1.0, KalmanNoise(1e-5, 1e-8, 1e-4))
    assert isinstance(fitted, Success)
    noise = fitted.unwrap()
    assert noise.r == pytest.approx(truth.r, rel=0.15)
    assert noise.q_level == pytest.approx(truth.q_level, rel=0.35)
    assert truth.q_velocity / 3 < noise.q_velocity < truth.q_velocity * 3



def test_kalman_mle_in_price_space_is_not_capped_for_a_high_priced_instrument() -> None:
    # a $500,000 share moving ~$5,000 a day: its noise variances are in the tens of millions
    # of dollars squared, which a fixed search box (variances up to e^10 = 22,026) cut off
    truth = KalmanNoise(q_level=2.5e7, q_velocity=4.0, r=1e6)
    y = 5e5 + _local_linear_trend(3, 1000, truth)
    fitted = LibraryModelFitter().fit_kalman(y, 1.0, KalmanNoise(1e-5, 1e-8, 1e-4))
    assert isinstance(fitted, Success)
    assert fitted.unwrap().q_level == pytest.approx(truth.q_level, rel=0.35)


def test_kalman_mle_on_bars_that_do_not_move_is_an_error_not_a_zero_noise_fit() -> None:
    # no noise explains them exactly: the likelihood has no maximum, and a fit at the search
    # box's floor (1e-18) would make every later innovation z-score explode
    fitter = LibraryModelFitter()
    for y in (np.full(100, 4.6), np.linspace(4.6, 4.7, 100)):
        fitted = fitter.fit_kalman(y, 1.0, KalmanNoise())
        assert isinstance(fitted, Failure)
        assert fitted.failure().code == "degenerate"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_two_state_hmm_is_recovered_calm_state_first(seed: int) -> None:
    transmat = np.array([[0.98, 0.02], [0.05, 0.95]])
    x = _markov_gaussian(seed, 1500, transmat, [0.05, -0.1], [0.6, 2.0])
    fitted = LibraryModelFitter().fit_hmm(x, 2, seed=0)
    assert isinstance(fitted, Success)
    params = fitted.unwrap()
    assert np.sqrt(params.variances) == pytest.approx([0.6, 2.0], rel=0.1)
    assert np.diag(params.transmat) == pytest.approx(np.diag(transmat), abs=0.04)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_three_state_hmm_is_recovered_calm_normal_turbulent(seed: int) -> None:
    transmat = np.array([[0.97, 0.02, 0.01], [0.03, 0.95, 0.02], [0.02, 0.08, 0.90]])
    x = _markov_gaussian(seed, 3000, transmat, [0.05, 0.0, -0.2], [0.5, 1.2, 3.0])
    fitted = LibraryModelFitter().fit_hmm(x, 3, seed=0)
    assert isinstance(fitted, Success)
    params = fitted.unwrap()
    assert np.sqrt(params.variances) == pytest.approx([0.5, 1.2, 3.0], rel=0.15)
    assert np.diag(params.transmat) == pytest.approx(np.diag(transmat), abs=0.06)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_garch_recovers_a_stationary_process_and_its_persistence(seed: int) -> None:
    x = _garch(seed, 3000, mu=0.03, omega=0.05, alpha=0.08, beta=0.9)
    fitted = LibraryModelFitter().fit_garch(x)
    assert isinstance(fitted, Success)
    params = fitted.unwrap()
    assert params.alpha == pytest.approx(0.08, abs=0.03)
    assert params.beta == pytest.approx(0.9, abs=0.04)
    assert params.alpha + params.beta == pytest.approx(0.98, abs=0.015)
    assert params.mu == pytest.approx(0.03, abs=0.1)  # sd of the mean: ~1.6 / sqrt(3000)


def _bundled_closes(symbol: str) -> FloatArray:
    with (sample_path() / "sample_daily.csv").open(newline="") as handle:
        return np.array([float(row["close"]) for row in csv.DictReader(handle)
                         if row["symbol"] == symbol])


def test_garch_whose_likelihood_peaks_on_the_integrated_boundary_is_refitted_stationary() -> None:
    # KO's first 126 bundled bars: arch's optimiser (feasible set alpha + beta <= 1) ends at
    # alpha = 0, beta = 1, which the GARCH kernel cannot run (its variance has no level)
    returns = 100 * np.diff(np.log(_bundled_closes("KO")[:126]))
    fitted = LibraryModelFitter().fit_garch(returns)
    assert isinstance(fitted, Success), fitted
    params = fitted.unwrap()
    assert params.alpha + params.beta <= 1 - 1e-3
    # no clustering to speak of: the fit's long-run variance is the sample's
    assert params.unconditional_variance == pytest.approx(np.var(returns), rel=0.1)
    assert params.starting_variance == pytest.approx(np.var(returns), rel=0.1)



_FITS = """
import numpy as np
from aitrader.adapters.models import LibraryModelFitter
from aitrader.domain.signals import KalmanNoise
def fits():
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(0.05, 0.6, 400), rng.normal(-0.1, 2.5, 200),
                        rng.normal(0.0, 1.1, 400)])
    y = np.cumsum(np.cumsum(rng.normal(0, 3e-4, 400)) + rng.normal(0, 1e-2, 400))
    f, out = LibraryModelFitter(), []
    for k in (2, 3, 4):
        p = f.fit_hmm(x, k, 0).unwrap()
        out += [a.tobytes().hex() for a in (p.startprob, p.transmat, p.means, p.variances,
                                            p.prior)]
    g = f.fit_garch(x).unwrap()
    out += [float(v).hex() for v in (g.mu, g.omega, g.alpha, g.beta, g.first_variance)]
    n = f.fit_kalman(y, 1.0, KalmanNoise(1e-5, 1e-8, 1e-4)).unwrap()
    return out + [float(v).hex() for v in (n.q_level, n.q_velocity, n.r)]
"""


def test_fits_are_the_same_to_the_bit_in_another_process_and_thread_count() -> None:
    # a process with one BLAS thread, and this one with four (OpenBLAS splits its sums by
    # thread count): the fitter must not depend on either
    script = _FITS + "import sys\nsys.stdout.write(''.join(f'fit {v}\\n' for v in fits()))\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    other = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    namespace: dict[str, Any] = {}
    exec(_FITS, namespace)  # the same code as the other process runs
    with threadpool_limits(limits=4, user_api="blas"):
        here = namespace["fits"]()
    output = other.communicate(timeout=120)[0].decode().splitlines()
    assert other.returncode == 0
    assert len(here) == 3 * 5 + 5 + 3
    assert [line.removeprefix("fit ") for line in output if line.startswith("fit ")] == here


@pytest.mark.parametrize("states", [2, 3, 4])
def test_every_refit_on_the_sample_orders_its_states_calmest_first(states: int) -> None:
    settings = SignalSettings(regime=RegimeSettings(states=states))
    plan = FitPlan(window=120, refit_every=30, min_train=60)
    accepted = 0
    for symbol in ("JPM", "KO"):
        models = fit_symbol(_bundled_closes(symbol), frozenset({"hmm"}), settings, plan,
                            LibraryModelFitter(), symbol)
        # a fit with a state that owns too few bars is refused (the previous one holds)
        assert set(models.hmm.starts) <= set(plan.fit_points(len(_bundled_closes(symbol))))
        accepted += len(models.hmm.params)
        for params in models.hmm.params:  # fitted from different starts: labels by variance
            assert params.states == states
            assert np.all(np.diff(params.variances) > 0)
            assert np.allclose(params.transmat.sum(axis=1), 1.0)
    assert accepted >= 2


# ---- degenerate and unconverged fits --------------------------------------------------------

def _sample_windows() -> list[tuple[str, int, FloatArray]]:
    """The 16 windows the defaults fit on the sample: 8 symbols, at bars 126 and 189."""
    plan, out = FitPlan(), []
    for symbol in ("AAPL", "AMZN", "IBM", "JNJ", "JPM", "KO", "MSFT", "XOM"):
        close = _bundled_closes(symbol)
        for start in plan.fit_points(len(close)):
            out.append((symbol, start, percent_returns(close[max(0, start - plan.window):start])))
    return out


def test_a_state_that_owns_a_single_bar_is_refused_not_labelled_a_regime() -> None:
    # JPM's first 125 returns: EM ends with a "calm" state of sd 0.1 (the sample's is 1.96)
    # holding one bar, a point mass whose likelihood grows without bound as it shrinks
    returns = percent_returns(_bundled_closes("JPM")[:126])
    fitted = LibraryModelFitter().fit_hmm(returns, 3, seed=0)
    assert isinstance(fitted, Failure), fitted
    assert fitted.failure().code == "degenerate"
    assert "bars" in fitted.failure().message


def test_every_state_of_an_accepted_sample_fit_owns_bars_and_a_floored_variance() -> None:
    fitter = LibraryModelFitter()
    accepted = 0
    for _symbol, _start, returns in _sample_windows():
        for states in (2, 3, 4):
            fitted = fitter.fit_hmm(returns, states, seed=0)
            if isinstance(fitted, Failure):
                assert fitted.failure().code == "degenerate", fitted  # never the iteration cap
                continue
            accepted += 1
            params = fitted.unwrap()
            assert np.all(params.variances >= 0.01 * np.var(returns) * (1 - 1e-12))
            owned = _occupancy(params, returns)
            assert np.all(owned >= 10), owned
    assert accepted >= 24  # most windows carry their regimes


def _occupancy(params: Any, returns: FloatArray) -> FloatArray:
    """Expected bars per state (the smoothed posteriors' sums), computed with hmmlearn anew."""
    model = GaussianHMM(n_components=params.states, covariance_type="diag")
    model.startprob_, model.transmat_ = params.startprob, params.transmat
    model.means_ = params.means.reshape(-1, 1)
    model.covars_ = params.variances.reshape(-1, 1)
    owned: FloatArray = model.predict_proba(returns.reshape(-1, 1)).sum(axis=0)
    return owned


def test_a_run_of_identical_returns_cannot_shrink_a_state_below_the_variance_floor() -> None:
    # 20 bars of no move among normal ones: without a floor relative to the window's variance
    # a state sits on them with a variance set by hmmlearn's absolute prior (0.01 / 20)
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0.0, 1.5, 150), np.zeros(20), rng.normal(0.0, 1.5, 150)])
    fitted = LibraryModelFitter().fit_hmm(x, 2, seed=0)
    assert isinstance(fitted, Success), fitted
    assert fitted.unwrap().variances[0] >= 0.01 * np.var(x) * (1 - 1e-12)


def test_an_hmm_fit_stopped_by_its_iteration_cap_is_reported_not_converged() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0.0, 0.6, 300), rng.normal(0.0, 2.0, 300)])
    fitted = LibraryModelFitter(hmm_iterations=2).fit_hmm(x, 3, seed=0)
    assert isinstance(fitted, Failure), fitted
    assert fitted.failure().code == "not_converged"
    assert LibraryModelFitter().fit_hmm(x, 3, seed=0).unwrap().states == 3


def test_every_default_fit_on_the_sample_converges_within_the_iteration_budget() -> None:
    # at the old cap (100) JPM@126, KO@189 and MSFT@126 stopped mid-way; none may now
    def unconverged(fitter: LibraryModelFitter) -> list[tuple[str, int]]:
        return [(symbol, start) for symbol, start, returns in _sample_windows()
                if isinstance(fitted := fitter.fit_hmm(returns, 3, seed=0), Failure)
                and fitted.failure().code == "not_converged"]

    assert unconverged(LibraryModelFitter(hmm_iterations=100)) == [("JPM", 126), ("KO", 189),
                                                                   ("MSFT", 126)]
    assert unconverged(LibraryModelFitter()) == []


def test_a_kalman_fit_that_does_not_converge_is_an_error_not_an_estimate() -> None:
    y = _local_linear_trend(0, 500, KalmanNoise(q_level=1e-4, q_velocity=1e-7, r=4e-4))
    fitted = LibraryModelFitter(kalman_iterations=1).fit_kalman(y, 1.0, KalmanNoise())
    assert isinstance(fitted, Failure), fitted
    assert fitted.failure().code == "not_converged"


def test_a_failed_kalman_fit_is_a_warning_naming_the_symbol() -> None:
    close = np.exp(_local_linear_trend(0, 300, KalmanNoise(1e-4, 1e-7, 4e-4)))
    plan = FitPlan(kalman_fit=True, kalman_train=200)
    with capture_logs() as logs:
        models = fit_symbol(close, frozenset({"kalman"}), SignalSettings(), plan,
                            LibraryModelFitter(kalman_iterations=1), "XYZ")
    assert models.kalman is None  # the configured noise applies throughout
    failed = [e for e in logs if e["event"] == "kalman.fit_failed"]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "warning"
    assert failed[0]["symbol"] == "XYZ"
    assert "did not converge" in failed[0]["reason"]
