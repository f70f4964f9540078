"""Performance statistics of an equity curve and its round trips (float world, vectorized)."""

from __future__ import annotations

import math

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NS_PER_DAY = 86_400 * 1_000_000_000
DAYS_PER_YEAR = 365.25


@attrs.frozen
class Metrics:
    """A run's performance; returns and ratios are plain fractions (0.12 is 12 %)."""

    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_duration_bars: int
    max_drawdown_duration_days: float
    calmar: float
    trades: int
    win_rate: float
    profit_factor: float
    avg_trade: float
    exposure: float
    turnover: float
    commissions: float
    final_equity: float

    def to_dict(self) -> dict[str, float | int | None]:
        """Every field by name, with non-finite floats (an infinite profit factor) as None."""
        return {
            field.name: _finite_or_none(getattr(self, field.name))
            for field in attrs.fields(Metrics)
        }


def _finite_or_none(value: float | int) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def performance(
    ts_ns: IntArray,
    equity: FloatArray,
    periods_per_year: float,
    trade_pnls: FloatArray,
    gross_exposure: FloatArray,
    traded_notional: float,
    commissions: float,
) -> Metrics:
    """Measure an equity curve sampled at ts_ns (UTC epoch ns, one point per bar).

    Returns are simple per-period returns of the curve (a period that starts at non-positive
    equity counts as 0). Sharpe is mean / std(ddof=1) * sqrt(periods_per_year) with a zero
    risk-free rate; Sortino divides the mean by sqrt(mean(min(r, 0)^2)); both are 0 when their
    deviation is 0 or there are fewer than two returns. CAGR compounds over (last - first
    timestamp) / 365.25 days. trade_pnls are round-trip net P&Ls in dollars; gross_exposure
    (one value per curve point) is positive where a position is held.
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    curve = np.asarray(equity, dtype=np.float64)
    gross = np.asarray(gross_exposure, dtype=np.float64)
    pnls = np.asarray(trade_pnls, dtype=np.float64)
    if not len(ts) == len(curve) == len(gross):
        raise ValueError("ts_ns, equity and gross_exposure must have one value per curve point")
    if not (np.isfinite(curve).all() and np.isfinite(pnls).all()):
        raise ValueError("equity and trade P&Ls must be finite")
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive, was {periods_per_year}")
    returns = _returns(curve)
    volatility, sharpe, sortino = _risk_adjusted(returns, periods_per_year)
    cagr = _cagr(ts, curve)
    max_drawdown, bars, days = _drawdown(ts, curve)
    win_rate, profit_factor, avg_trade = _trade_stats(pnls)
    mean_equity = float(curve.mean()) if len(curve) else 0.0
    return Metrics(
        total_return=_growth(curve) - 1.0 if len(curve) and curve[0] > 0 else 0.0,
        cagr=cagr,
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=max_drawdown,
        max_drawdown_duration_bars=bars,
        max_drawdown_duration_days=days,
        calmar=cagr / max_drawdown if max_drawdown > 0 else 0.0,
        trades=len(pnls),
        win_rate=win_rate,
        profit_factor=profit_factor,
        avg_trade=avg_trade,
        exposure=float(np.count_nonzero(gross > 0)) / len(gross) if len(gross) else 0.0,
        turnover=float(traded_notional) / mean_equity if mean_equity > 0 else 0.0,
        commissions=float(commissions),
        final_equity=float(curve[-1]) if len(curve) else 0.0,
    )


def _growth(curve: FloatArray) -> float:
    return float(curve[-1]) / float(curve[0])


def _returns(curve: FloatArray) -> FloatArray:
    previous = curve[:-1]
    out = curve[1:] - previous  # then divided in place: no second million-point array
    starts_positive = previous > 0
    np.divide(out, previous, out=out, where=starts_positive)
    np.copyto(out, 0.0, where=~starts_positive)
    return out


def _risk_adjusted(returns: FloatArray, periods_per_year: float) -> tuple[float, float, float]:
    """(annualised volatility, Sharpe, Sortino); overwrites returns."""
    if len(returns) < 2:
        return 0.0, 0.0, 0.0
    scale = math.sqrt(periods_per_year)
    mean = float(returns.mean())
    std = float(returns.std(ddof=1))
    downside = np.minimum(returns, 0.0, out=returns)  # the returns are not needed again
    downside_dev = math.sqrt(float(np.dot(downside, downside)) / len(returns))
    sharpe = mean / std * scale if std > 0 else 0.0
    sortino = mean / downside_dev * scale if downside_dev > 0 else 0.0
    return std * scale, sharpe, sortino


def _cagr(ts: IntArray, curve: FloatArray) -> float:
    if len(curve) < 2 or curve[0] <= 0:
        return 0.0
    years = float(ts[-1] - ts[0]) / NS_PER_DAY / DAYS_PER_YEAR
    if years <= 0:
        return 0.0
    if curve[-1] <= 0:
        return -1.0
    try:
        return math.expm1(math.log(_growth(curve)) / years)
    except OverflowError:  # a gain annualised over minutes: report it as unbounded
        return math.inf


def _drawdown(ts: IntArray, curve: FloatArray) -> tuple[float, int, float]:
    """(largest fall from a running peak as a positive fraction, longest spell below a peak in
    bars and in days, each measured from the peak to recovery or to the last point)."""
    n = len(curve)
    if n < 2:
        return 0.0, 0, 0.0
    peak = np.maximum.accumulate(curve)
    below = curve < peak
    if peak[0] > 0:  # peaks never fall, so every one is positive
        deepest = 1.0 - float(np.divide(curve, peak, out=peak).min())  # peak is not needed again
    else:
        falls = np.zeros(n, dtype=np.float64)
        np.divide(peak - curve, peak, out=falls, where=peak > 0)
        deepest = float(falls.max())
    # the first point is a peak, so changes alternate: first bar below, first bar back at peak
    changes = np.flatnonzero(below[1:] != below[:-1]) + 1
    if not len(changes):
        return 0.0, 0, 0.0
    peaks = changes[0::2] - 1
    ends = changes[1::2]
    if len(ends) < len(peaks):  # still below at the last point
        ends = np.append(ends, n - 1)
    bars = int((ends - peaks).max())
    days = float((ts[ends] - ts[peaks]).max()) / NS_PER_DAY
    return max(deepest, 0.0), bars, days


def _trade_stats(pnls: FloatArray) -> tuple[float, float, float]:
    """(win rate, profit factor, average trade)."""
    if not len(pnls):
        return 0.0, 0.0, 0.0
    gross_profit = float(pnls[pnls > 0].sum())
    gross_loss = -float(pnls[pnls < 0].sum())
    if gross_loss > 0:
        profit_factor = gross_profit / gross_loss
    else:
        profit_factor = math.inf if gross_profit > 0 else 0.0
    win_rate = float(np.count_nonzero(pnls > 0)) / len(pnls)
    return win_rate, profit_factor, float(pnls.mean())
