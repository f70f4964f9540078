"""Allocators: how the invested fraction of equity is split over the symbols (float weights).

Every allocator returns long-only weights that sum to the invested fraction and stay at or
below the cap (the invested fraction is lowered to cap x symbols when the caps cannot hold it).
Inputs are the symbols' recent simple returns, one column per symbol; a window too short to
estimate from (no more rows than symbols, or a column with no variance) falls back to equal
weight.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

FloatArray = npt.NDArray[np.float64]
ALLOCATORS = ("equal_weight", "inverse_volatility", "risk_parity", "mean_variance")
# The risk aversion He and Litterman (1999) and most Black-Litterman practice take for a broad
# equity investor (delta = 2.5). mu'w - delta/2 w'Cw has the same maximiser per bar as
# annualised (mean and covariance both scale with the horizon), so it carries over unchanged.
RISK_AVERSION = 2.5


def allocate(name: str, returns: FloatArray, invested: float, cap: float = 1.0,
             risk_aversion: float = RISK_AVERSION) -> FloatArray:
    """Weights per symbol (columns of returns) by the named allocator."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown allocator {name!r}; expected one of {', '.join(ALLOCATORS)}")
    if not (invested > 0 and cap > 0):
        raise ValueError("the invested fraction and the cap must be positive")
    data = np.asarray(returns, dtype=np.float64)
    n = data.shape[1]
    total = min(invested, cap * n)
    usable = data.shape[0] > n and np.isfinite(data).all() and (data.std(axis=0) > 0).all()
    # the cap as a share of the total: mean-variance optimises within it (the others are capped
    # afterwards, their excess handed on in proportion)
    bound = min(1.0, cap / total)
    raw = _BUILDERS[name](data, risk_aversion, bound) if usable else np.full(n, 1.0 / n)
    if not (np.isfinite(raw).all() and (raw >= 0).all() and raw.sum() > 0):
        raw = np.full(n, 1.0 / n)  # a degenerate estimate (too few rows to span n symbols)
    return _capped(raw / raw.sum(), total, cap)


def _equal(data: FloatArray, _ra: float, _bound: float) -> FloatArray:
    return np.full(data.shape[1], 1.0)


def _inverse_volatility(data: FloatArray, _ra: float, _bound: float) -> FloatArray:
    inv: FloatArray = 1.0 / data.std(axis=0, ddof=1)
    return inv


def _covariance(data: FloatArray) -> FloatArray:
    """The columns' covariance as an n x n matrix (np.cov gives a scalar for one column)."""
    cov: FloatArray = np.atleast_2d(np.cov(data, rowvar=False))
    return cov


def _risk_parity(data: FloatArray, _ra: float, _bound: float) -> FloatArray:
    """Equal risk contributions w_i (C w)_i: the minimiser y of 1/2 y'Cy - 1/n sum log y
    (Maillard, Roncalli and Teiletche; convex, one solution for any covariance), normalised.
    Solved by Newton's method with a step that keeps y positive."""
    cov = _covariance(data)
    n = cov.shape[0]
    scale = float(np.trace(cov)) / n
    cov = cov / scale  # unit diagonal on average: the Newton steps are well scaled
    y = 1.0 / np.sqrt(np.diag(cov))
    y *= np.sqrt(1.0 / float(y @ cov @ y))  # y'Cy = 1 = sum of the n targets 1/n
    b = 1.0 / n
    for _ in range(100):
        grad = cov @ y - b / y
        hess = cov + np.diag(b / (y * y))
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while np.any(y - t * step <= 0):
            t *= 0.5
        y = y - t * step
        if float(np.abs(step).max() * t) <= 1e-15 * float(y.max()):
            break
    result: FloatArray = y / y.sum()
    return result


def bayes_stein_means(data: FloatArray) -> FloatArray:
    """The columns' means shrunk toward the minimum-variance portfolio's mean (Jorion 1986,
    "Bayes-Stein estimation for portfolio analysis", JFQA 21(3)).

    Y0 = 1'S^-1 Y / 1'S^-1 1; the weight on Y0 is (N + 2) / ((N + 2) + T d'S^-1 d), d = Y - Y0,
    S the covariance scaled by (T - 1) / (T - N - 2) (the unbiased inverse). The weight is
    large when the means differ by little more than their sampling error, as 60 daily returns
    (a mean's standard error is a sixth of a day's sd) nearly always do. With T <= N + 2 the
    means say nothing apart: all are Y0."""
    t, n = data.shape
    mean = data.mean(axis=0)
    inverse = np.linalg.pinv(_covariance(data))
    ones = np.ones(n)
    y0 = float(ones @ inverse @ mean) / float(ones @ inverse @ ones)
    if t <= n + 2:
        return np.full(n, y0)
    d = mean - y0
    spread = t * float(d @ inverse @ d) * (t - n - 2) / (t - 1)
    shrink = (n + 2) / ((n + 2) + spread)
    shrunk: FloatArray = (1.0 - shrink) * mean + shrink * y0
    return shrunk


def _mean_variance(data: FloatArray, risk_aversion: float, bound: float) -> FloatArray:
    """max mu'w - risk_aversion/2 w'Cw, long-only, every weight at most bound, sum 1, with mu
    the Bayes-Stein means: the sample means of a short window are mostly noise, and the
    optimiser, fed them raw, put everything in the symbol that happened to rise most.

    The objective is divided by its own scale (daily returns make it ~1e-4, below SLSQP's
    default tolerance, which then stopped at the equal start) and given its gradient."""
    mu, cov = bayes_stein_means(data), _covariance(data)
    n = len(mu)
    scale = max(float(np.abs(mu).max()), risk_aversion * float(np.abs(cov).max()), 1e-300)
    mu_s, cov_s = mu / scale, cov * (risk_aversion / scale)

    def objective(w: FloatArray) -> float:
        return float(-(mu_s @ w) + 0.5 * (w @ cov_s @ w))

    def gradient(w: FloatArray) -> FloatArray:
        g: FloatArray = -mu_s + cov_s @ w
        return g

    start = np.full(n, 1.0 / n)
    solved = minimize(objective, start, jac=gradient, method="SLSQP",
                      bounds=[(0.0, bound)] * n,
                      constraints=[{"type": "eq", "fun": lambda w: float(w.sum() - 1.0),
                                    "jac": np.ones_like}],
                      options={"ftol": 1e-15, "maxiter": 1000})
    # SLSQP may end at the optimum and still report a failed line search (a tolerance finer
    # than the objective's rounding): its point is kept when it is feasible and no worse than
    # the equal start
    w = np.clip(np.asarray(solved.x, dtype=np.float64), 0.0, bound)
    if not (np.isfinite(w).all() and abs(w.sum() - 1.0) < 1e-6
            and objective(w) <= objective(start)):
        return np.full(n, 1.0)
    return w


_BUILDERS: dict[str, Callable[[FloatArray, float, float], FloatArray]] = {
    "equal_weight": _equal, "inverse_volatility": _inverse_volatility,
    "risk_parity": _risk_parity, "mean_variance": _mean_variance,
}


def _capped(shares: FloatArray, total: float, cap: float) -> FloatArray:
    """Split total by shares (summing to 1) with no weight above cap, the excess handed to the
    uncapped ones in proportion.

    The split is worked out in units of the cap (each weight a number in [0, 1]) and scaled at
    the end, so a tiny cap (1e-300) cannot underflow the smaller weights to zero on the way.
    """
    room = float(len(shares)) if total >= cap * len(shares) else total / cap
    u = shares * room
    for _ in range(len(u) + 1):
        over = u > 1.0
        if not over.any():
            break
        excess = float((u[over] - 1.0).sum())
        u[over] = 1.0
        free = u < 1.0
        if not free.any():
            break
        held = float(u[free].sum())
        u[free] += excess * u[free] / held if held > 0 else excess / int(free.sum())
    u = np.minimum(u, 1.0)
    # rounding: put any remainder on the largest weight that still has room
    gap = room - float(u.sum())
    if abs(gap) > 0:
        space = np.where(u < 1.0)[0]
        if len(space):
            k = space[np.argmax(u[space])]
            u[k] = min(1.0, u[k] + gap)
    weights: FloatArray = u * cap  # u <= 1, so no weight exceeds cap
    return weights
