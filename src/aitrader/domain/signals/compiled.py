"""The compiled steps of the Kalman, HMM and GARCH kernels, shared by streaming and batch.

A streaming kernel calls one step per bar; its batch twin calls the same compiled step in a
compiled loop, so both perform the same IEEE-754 operations in the same order and agree bit for
bit. numba compiles without fastmath (no reassociation, no fused multiply-add), and caches the
machine code next to the source so only the first run pays for compilation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit

from aitrader.domain.signals.kernel import FloatArray
from aitrader.domain.signals.models import RETURN_SCALE

F = TypeVar("F", bound=Callable[..., Any])
_LOG_2PI = math.log(2.0 * math.pi)


def _compile(function: F) -> F:
    return cast(F, njit(cache=True, nogil=True)(function))


def _kalman_step(level: float, velocity: float, p00: float, p01: float, p11: float, y: float,
                 q_level: float, q_velocity: float, r: float
                 ) -> tuple[float, float, float, float, float, float, float]:
    """Predict with [[1, 1], [0, 1]], update with observation y: state, innovation z and its
    log-likelihood term."""
    a00 = p00 + 2.0 * p01 + p11 + q_level
    a01 = p01 + p11
    a11 = p11 + q_velocity
    s = a00 + r
    e = y - (level + velocity)
    k0 = a00 / s
    k1 = a01 / s
    loglik = -0.5 * (_LOG_2PI + math.log(s) + e * e / s)
    return (level + velocity + k0 * e, velocity + k1 * e, a00 - k0 * a00, a01 - k0 * a01,
            a11 - k1 * a01, e / math.sqrt(s), loglik)


kalman_step = _compile(_kalman_step)


def _kalman_run(y: FloatArray, lo: int, hi: int, state: FloatArray, q_level: float,
                q_velocity: float, r: float, out: FloatArray) -> float:
    """Filter y[lo:hi] from state [level, velocity, p00, p01, p11] (updated in place); outputs
    go to out[:, lo:hi] (level, velocity, level var, velocity var, z); returns the
    log-likelihood of the stretch."""
    level, velocity, p00, p01, p11 = state[0], state[1], state[2], state[3], state[4]
    total = 0.0
    for t in range(lo, hi):
        level, velocity, p00, p01, p11, z, loglik = kalman_step(
            level, velocity, p00, p01, p11, y[t], q_level, q_velocity, r)
        total += loglik
        out[0, t] = level
        out[1, t] = velocity
        out[2, t] = p00
        out[3, t] = p11
        out[4, t] = z
    state[0], state[1], state[2], state[3], state[4] = level, velocity, p00, p01, p11
    return total


kalman_run = _compile(_kalman_run)


def _allowed_only(previous: FloatArray, first: bool, initial: FloatArray,
                  transmat: FloatArray, logb: FloatArray, out: FloatArray) -> float:
    """out[j] = prior_j * density_j relative to the likeliest state the prior allows (zero
    where the prior is zero); returns their total."""
    k = len(logb)
    prior = np.empty(k)
    top = -np.inf
    for j in range(k):
        if first:
            prior[j] = initial[j]
        else:
            prior[j] = 0.0
            for i in range(k):
                prior[j] += previous[i] * transmat[i, j]
        if prior[j] > 0.0:
            top = max(top, logb[j])
    total = 0.0
    for j in range(k):
        out[j] = prior[j] * math.exp(logb[j] - top) if prior[j] > 0.0 else 0.0
        total += out[j]
    return total


allowed_only = _compile(_allowed_only)


def _hmm_step(previous: FloatArray, first: bool, x: float, initial: FloatArray,
              transmat: FloatArray, means: FloatArray, variances: FloatArray) -> FloatArray:
    """One forward-filter step: P(state_t | x_1..x_t) from P(state_{t-1} | x_1..x_{t-1}).

    The densities are scaled by the largest before they are exponentiated. If that state is
    one the prior rules out and every state it allows is so much less likely that its scaled
    density underflows to zero (a shock on absorbing states), the scale is taken again over
    the states the prior allows (`_allowed_only`): the posterior is theirs, never 0 / 0.
    """
    k = len(means)
    logb = np.empty(k)
    top = -np.inf
    for j in range(k):
        d = x - means[j]
        logb[j] = -0.5 * (_LOG_2PI + math.log(variances[j]) + d * d / variances[j])
        top = max(top, logb[j])
    out = np.empty(k)
    total = 0.0
    for j in range(k):
        if first:
            prior = initial[j]
        else:
            prior = 0.0
            for i in range(k):
                prior += previous[i] * transmat[i, j]
        out[j] = prior * math.exp(logb[j] - top)
        total += out[j]
    if total == 0.0:  # rare; kept out of the loop above, which runs on every bar
        total = allowed_only(previous, first, initial, transmat, logb, out)
    for j in range(k):
        out[j] = out[j] / total
    return out


hmm_step = _compile(_hmm_step)


def _relabel(probs: FloatArray, label: int, switch: float) -> int:
    """Hysteresis: move to the most probable state only once its probability reaches switch."""
    best = 0
    for j in range(1, len(probs)):
        if probs[j] > probs[best]:
            best = j
    if label < 0 or (best != label and probs[best] >= switch):
        return best
    return label


relabel = _compile(_relabel)


def _regime_step(previous: FloatArray, first: bool, close: float, previous_close: float,
                 label: int, switch: float, packed: FloatArray) -> tuple[FloatArray, int]:
    """One streamed bar: its percent log return, the filter step and the label, in one call
    (the same compiled functions the batch loop calls). `packed` is HmmParams.packed."""
    x = log_return(close, previous_close, RETURN_SCALE)
    probs = hmm_step(previous, first, x, packed[:, 0], packed[:, 3:], packed[:, 1],
                     packed[:, 2])
    return probs, relabel(probs, label, switch)


def _hmm_run(x: FloatArray, lo: int, hi: int, probs: FloatArray, started: bool, label: int,
             switch: float, initial: FloatArray, transmat: FloatArray, means: FloatArray,
             variances: FloatArray, out: FloatArray) -> int:
    """Filter x[lo:hi] from probs (updated in place); out[0] the label, out[1:] the
    probabilities; returns the last label."""
    first = not started
    for t in range(lo, hi):
        probs[:] = hmm_step(probs, first, x[t], initial, transmat, means, variances)
        first = False
        label = relabel(probs, label, switch)
        out[0, t] = label
        for j in range(len(probs)):
            out[j + 1, t] = probs[j]
    return label


hmm_run = _compile(_hmm_run)


def _garch_step(sigma2: float, x: float, mu: float, omega: float, alpha: float,
                beta: float) -> float:
    """The next bar's conditional variance after observing x with this bar's variance sigma2."""
    e = x - mu
    return omega + alpha * (e * e) + beta * sigma2


garch_step = _compile(_garch_step)


def _garch_run(x: FloatArray, lo: int, hi: int, sigma2: float, mu: float, omega: float,
               alpha: float, beta: float, out: FloatArray) -> float:
    """Run the recursion over x[lo:hi]; out[t] is the variance forecast for bar t+1."""
    for t in range(lo, hi):
        sigma2 = garch_step(sigma2, x[t], mu, omega, alpha, beta)
        out[t] = sigma2
    return sigma2


garch_run = _compile(_garch_run)


def _log_return(close: float, previous: float, scale: float) -> float:
    return scale * math.log(close / previous)


log_return = _compile(_log_return)


def _scaled_log_returns(close: FloatArray, scale: float) -> FloatArray:
    """log_return at every bar, NaN at bar 0."""
    out = np.empty(len(close))
    if len(close):
        out[0] = np.nan
    for t in range(1, len(close)):
        out[t] = log_return(close[t], close[t - 1], scale)
    return out


scaled_log_returns = _compile(_scaled_log_returns)


def _log_price(close: float) -> float:
    return math.log(close)


log_price = _compile(_log_price)


def _log_prices(close: FloatArray) -> FloatArray:
    """log_price at every bar."""
    out = np.empty(len(close))
    for t in range(len(close)):
        out[t] = log_price(close[t])
    return out


log_prices = _compile(_log_prices)


def _exp_price(level: float) -> float:
    return math.exp(level)


exp_price = _compile(_exp_price)


def _exp_prices(level: FloatArray) -> FloatArray:
    """exp_price at every bar."""
    out = np.empty(len(level))
    for t in range(len(level)):
        out[t] = exp_price(level[t])
    return out


exp_prices = _compile(_exp_prices)


regime_step = _compile(_regime_step)
