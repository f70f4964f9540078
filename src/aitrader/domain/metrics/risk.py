"""Risk figures of an equity curve: VaR and CVaR, concentration, gross and net exposure.

VaR and CVaR are one-period losses as positive fractions of equity (0.02 is a 2 % loss),
measured on the curve's simple per-period returns: historical (the empirical quantile, and the
mean loss beyond it) and parametric (a normal distribution with the returns' mean and standard
deviation). Concentration is the Herfindahl index of the positions' absolute values (1 = one
position holds everything), averaged over the points where something is held. Gross and net
exposure are position values as fractions of equity.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@attrs.frozen
class RiskFigures:
    """The risk report of one run (floats; NaN where there is too little data)."""

    var_95_historical: float
    cvar_95_historical: float
    var_95_parametric: float
    cvar_95_parametric: float
    var_99_historical: float
    cvar_99_historical: float
    var_99_parametric: float
    cvar_99_parametric: float
    concentration: float
    gross_exposure_avg: float
    gross_exposure_max: float
    net_exposure_avg: float
    net_exposure_min: float
    net_exposure_max: float

    def to_dict(self) -> dict[str, float | None]:
        return {f.name: (v if math.isfinite(v) else None)
                for f in attrs.fields(RiskFigures) for v in [getattr(self, f.name)]}


def historical_var(returns: FloatArray, level: float) -> tuple[float, float]:
    """(VaR, CVaR) at level from the empirical distribution of returns."""
    return _historical(np.asarray(returns, dtype=np.float64), (level,))[0]


def parametric_var(returns: FloatArray, level: float) -> tuple[float, float]:
    """(VaR, CVaR) at level for normal returns with the sample mean and deviation."""
    return _parametric(np.asarray(returns, dtype=np.float64), (level,))[0]


def _historical(r: FloatArray, levels: tuple[float, ...]) -> list[tuple[float, float]]:
    """historical_var at each level, with one quantile call: it copies and partitions the
    returns, ~20 ms a call for a million of them."""
    if len(r) < 2:
        return [(math.nan, math.nan)] * len(levels)
    figures = []
    for cut in np.quantile(r, [1.0 - level for level in levels]).tolist():
        tail = r[r <= cut]
        figures.append((max(0.0, -cut), max(0.0, -float(tail.mean()))))
    return figures


def _parametric(r: FloatArray, levels: tuple[float, ...]) -> list[tuple[float, float]]:
    """parametric_var at each level, from one mean and one deviation."""
    if len(r) < 2:
        return [(math.nan, math.nan)] * len(levels)
    mu, sigma = float(r.mean()), float(r.std(ddof=1))
    figures = []
    for level in levels:
        if sigma == 0.0:
            figures.append((max(0.0, -mu), max(0.0, -mu)))
            continue
        z = NormalDist().inv_cdf(1.0 - level)
        var = -(mu + z * sigma)
        cvar = -(mu - sigma * NormalDist().pdf(z) / (1.0 - level))
        figures.append((max(0.0, var), max(0.0, cvar)))
    return figures


def risk_figures(equity: FloatArray, gross: FloatArray, net: FloatArray,
                 hhi: FloatArray) -> RiskFigures:
    """The risk report of a curve with its gross, net and Herfindahl series (one per point)."""
    curve = np.asarray(equity, dtype=np.float64)
    # curve[1:] / previous - 1 where the period starts above zero, else 0; in place, as a
    # million-point curve makes every temporary 8 MB
    previous = curve[:-1]
    starts_positive = previous > 0
    returns = np.zeros(len(previous), dtype=np.float64)
    np.divide(curve[1:], previous, out=returns, where=starts_positive)
    np.subtract(returns, 1.0, out=returns, where=starts_positive)
    h95, h99 = _historical(returns, (0.95, 0.99))
    p95, p99 = _parametric(returns, (0.95, 0.99))
    safe = np.where(curve > 0, curve, np.nan)
    gross_f = np.asarray(gross, dtype=np.float64)
    held = gross_f > 0
    h = np.asarray(hhi, dtype=np.float64)
    concentration = float(h[held].mean()) if held.any() else 0.0
    g = _finite(gross_f / safe)
    n = _finite(np.divide(np.asarray(net, dtype=np.float64), safe, out=safe))

    def stat(values: FloatArray, how: str) -> float:
        return float(getattr(np, how)(values)) if len(values) else math.nan

    return RiskFigures(var_95_historical=h95[0], cvar_95_historical=h95[1],
                       var_95_parametric=p95[0], cvar_95_parametric=p95[1],
                       var_99_historical=h99[0], cvar_99_historical=h99[1],
                       var_99_parametric=p99[0], cvar_99_parametric=p99[1],
                       concentration=concentration,
                       gross_exposure_avg=stat(g, "mean"), gross_exposure_max=stat(g, "max"),
                       net_exposure_avg=stat(n, "mean"), net_exposure_min=stat(n, "min"),
                       net_exposure_max=stat(n, "max"))


def _finite(values: FloatArray) -> FloatArray:
    """The finite values, in order (values itself when all are: no copy)."""
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]
