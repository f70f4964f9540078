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
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan, math.nan
    cut = float(np.quantile(r, 1.0 - level))
    tail = r[r <= cut]
    return max(0.0, -cut), max(0.0, -float(tail.mean()))


def parametric_var(returns: FloatArray, level: float) -> tuple[float, float]:
    """(VaR, CVaR) at level for normal returns with the sample mean and deviation."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan, math.nan
    mu, sigma = float(r.mean()), float(r.std(ddof=1))
    if sigma == 0.0:
        return max(0.0, -mu), max(0.0, -mu)
    z = NormalDist().inv_cdf(1.0 - level)
    var = -(mu + z * sigma)
    cvar = -(mu - sigma * NormalDist().pdf(z) / (1.0 - level))
    return max(0.0, var), max(0.0, cvar)


def risk_figures(equity: FloatArray, gross: FloatArray, net: FloatArray,
                 hhi: FloatArray) -> RiskFigures:
    """The risk report of a curve with its gross, net and Herfindahl series (one per point)."""
    curve = np.asarray(equity, dtype=np.float64)
    previous = curve[:-1]
    returns = np.where(previous > 0, curve[1:] / np.where(previous > 0, previous, 1.0) - 1.0,
                       0.0)
    h95, p95 = historical_var(returns, 0.95), parametric_var(returns, 0.95)
    h99, p99 = historical_var(returns, 0.99), parametric_var(returns, 0.99)
    safe = np.where(curve > 0, curve, np.nan)
    g = np.asarray(gross, dtype=np.float64) / safe
    n = np.asarray(net, dtype=np.float64) / safe
    held = np.asarray(gross, dtype=np.float64) > 0
    h = np.asarray(hhi, dtype=np.float64)
    concentration = float(h[held].mean()) if held.any() else 0.0

    def stat(values: FloatArray, how: str) -> float:
        finite = values[np.isfinite(values)]
        if not len(finite):
            return math.nan
        return float(getattr(np, how)(finite))

    return RiskFigures(var_95_historical=h95[0], cvar_95_historical=h95[1],
                       var_95_parametric=p95[0], cvar_95_parametric=p95[1],
                       var_99_historical=h99[0], cvar_99_historical=h99[1],
                       var_99_parametric=p99[0], cvar_99_parametric=p99[1],
                       concentration=concentration,
                       gross_exposure_avg=stat(g, "mean"), gross_exposure_max=stat(g, "max"),
                       net_exposure_avg=stat(n, "mean"), net_exposure_min=stat(n, "min"),
                       net_exposure_max=stat(n, "max"))
