"""The performance and risk reports against plain, independent references.

Each reference below is written from its textbook definition with pandas, numpy or scipy (not
with the product's helpers), and the product's figure must equal it on small hand-built curves
and trade lists, on seeded random curves, and through `aitrader backtest --json` on a seven-bar
file whose every figure is worked out by hand in the test. The definitions (README.md, "Metric
definitions", says the same):

- returns: simple returns between consecutive curve points, r_i = E_i / E_(i-1) - 1; one curve
  point per bar close, so N points give N - 1 returns.
- annualisation factor P: bars per trading year of the run's timeframe: 252 for daily bars,
  252 x 390 for one-minute bars (regular sessions only; the overnight move is one bar's return).
- volatility: sample standard deviation (ddof = 1) of the returns x sqrt(P).
- Sharpe: mean(r) / std(r, ddof = 1) x sqrt(P), risk-free rate 0; 0 when std is 0.
- Sortino: mean(r) / DD x sqrt(P), DD = sqrt(mean of min(r_i, 0)^2) (target 0, the mean over
  every return, not only the losing ones); 0 when DD is 0.
- total return: last point / first point - 1.
- CAGR: (last / first) ^ (1 / years) - 1, years = (last stamp - first stamp) / 365.25 days.
- max drawdown: max over t of 1 - E_t / max(E_0..E_t), a positive fraction.
- drawdown duration: the longest spell from the last point at a peak to the first point back at
  (or above) it, or to the last point if it never recovers; in bars and in calendar days.
- Calmar: CAGR / max drawdown; 0 when there is no drawdown.
- win rate: trades with net P&L > 0 over all trades (break-even trades count, and do not win).
- profit factor: sum of winning net P&Ls / |sum of losing net P&Ls|; infinite (JSON null) with
  no losing trade and some winner, 0 with no trade or no winner.
- average trade: mean net P&L of the round trips ($).
- exposure: the fraction of curve points (bar closes) at which some position is held.
- turnover: traded notional (every fill's |quantity| x price) over mean equity of the curve.
- VaR / CVaR: one-period losses as positive fractions; historical VaR = -(the (1 - level)
  quantile of the returns, linear interpolation), CVaR = -(mean of the returns at or below it);
  parametric: normal with the returns' mean and sample std, VaR = -(mu + z sigma),
  CVaR = -(mu - sigma phi(z) / (1 - level)), z the (1 - level) normal quantile; floored at 0.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import structlog
from scipy import stats

from aitrader.domain.market.timeframe import Timeframe
from aitrader.domain.metrics import (
    Metrics,
    historical_var,
    parametric_var,
    performance,
    risk_figures,
)
from aitrader.entrypoints.cli import main

NS = 1_000_000_000
DAY_NS = 86_400 * NS
T0 = datetime(2010, 1, 4, 21, tzinfo=UTC)


def _ns(stamps: list[datetime]) -> np.ndarray:
    return np.array([pd.Timestamp(s).value for s in stamps], dtype=np.int64)


def _daily(n: int) -> list[datetime]:
    """n stamps one calendar day apart."""
    return [T0 + timedelta(days=i) for i in range(n)]


# -- the references ---------------------------------------------------------------------------


def ref_returns(equity: list[float]) -> pd.Series:
    return pd.Series(equity, dtype=float).pct_change().dropna()


def ref_volatility(equity: list[float], ppy: float) -> float:
    r = ref_returns(equity)
    return float(r.std(ddof=1)) * math.sqrt(ppy) if len(r) >= 2 else 0.0


def ref_sharpe(equity: list[float], ppy: float) -> float:
    r = ref_returns(equity)
    if len(r) < 2 or r.std(ddof=1) == 0:
        return 0.0
    return float(r.mean() / r.std(ddof=1)) * math.sqrt(ppy)


def ref_sortino(equity: list[float], ppy: float) -> float:
    r = ref_returns(equity)
    downside = math.sqrt(float((r.clip(upper=0.0) ** 2).sum()) / len(r)) if len(r) else 0.0
    if len(r) < 2 or downside == 0:
        return 0.0
    return float(r.mean()) / downside * math.sqrt(ppy)


def ref_cagr(equity: list[float], stamps: list[datetime]) -> float:
    years = (stamps[-1] - stamps[0]) / timedelta(days=365.25)
    if years <= 0:
        return 0.0
    return float((equity[-1] / equity[0]) ** (1.0 / years) - 1.0)


def ref_max_drawdown(equity: list[float]) -> float:
    curve = pd.Series(equity, dtype=float)
    return float(-(curve / curve.cummax() - 1.0).min())


def ref_drawdown_duration(equity: list[float], stamps: list[datetime]) -> tuple[int, float]:
    """A plain loop: remember where the last peak was; each spell below it runs to the first
    point back at the peak, or to the last point."""
    best_bars, best_days = 0, 0.0
    peak_value, peak_at = equity[0], 0
    below_since: int | None = None
    for i, value in enumerate(equity):
        if value >= peak_value:
            if below_since is not None:
                best_bars = max(best_bars, i - peak_at)
                best_days = max(best_days, (stamps[i] - stamps[peak_at]) / timedelta(days=1))
                below_since = None
            peak_value, peak_at = value, i
        elif below_since is None:
            below_since = i
    if below_since is not None:
        last = len(equity) - 1
        best_bars = max(best_bars, last - peak_at)
        best_days = max(best_days, (stamps[last] - stamps[peak_at]) / timedelta(days=1))
    return best_bars, best_days


def ref_trade_stats(pnls: list[float]) -> tuple[float, float, float]:
    """(win rate, profit factor, average trade)."""
    if not pnls:
        return 0.0, 0.0, 0.0
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    factor = sum(wins) / -sum(losses) if losses else math.inf if wins else 0.0
    return len(wins) / len(pnls), factor, sum(pnls) / len(pnls)


def ref_var(equity: list[float], level: float) -> tuple[float, float, float, float]:
    """(historical VaR, historical CVaR, parametric VaR, parametric CVaR)."""
    r = ref_returns(equity)
    cut = float(r.quantile(1.0 - level))  # pandas' default: linear interpolation
    h_var, h_cvar = -cut, -float(r[r <= cut].mean())
    mu, sigma = float(r.mean()), float(r.std(ddof=1))
    z = float(stats.norm.ppf(1.0 - level))
    p_var = -(mu + z * sigma)
    p_cvar = -(mu - sigma * float(stats.norm.pdf(z)) / (1.0 - level))
    return max(h_var, 0.0), max(h_cvar, 0.0), max(p_var, 0.0), max(p_cvar, 0.0)


def measure(equity: list[float], stamps: list[datetime], ppy: float = 252.0,
            pnls: list[float] | None = None, gross: list[float] | None = None,
            notional: float = 0.0, commissions: float = 0.0) -> Metrics:
    return performance(
        ts_ns=_ns(stamps), equity=np.array(equity, dtype=np.float64), periods_per_year=ppy,
        trade_pnls=np.array(pnls or [], dtype=np.float64),
        gross_exposure=np.array(gross if gross is not None else [0.0] * len(equity),
                                dtype=np.float64),
        traded_notional=notional, commissions=commissions)


def assert_matches_references(m: Metrics, equity: list[float], stamps: list[datetime],
                              ppy: float) -> None:
    assert m.total_return == pytest.approx(equity[-1] / equity[0] - 1.0, rel=1e-12)
    assert m.volatility == pytest.approx(ref_volatility(equity, ppy), rel=1e-9)
    assert m.sharpe == pytest.approx(ref_sharpe(equity, ppy), rel=1e-9)
    assert m.sortino == pytest.approx(ref_sortino(equity, ppy), rel=1e-9)
    assert m.cagr == pytest.approx(ref_cagr(equity, stamps), rel=1e-9)
    assert m.max_drawdown == pytest.approx(ref_max_drawdown(equity), rel=1e-12, abs=1e-15)
    bars, days = ref_drawdown_duration(equity, stamps)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_days) == (
        bars, pytest.approx(days))
    dd = ref_max_drawdown(equity)
    assert m.calmar == pytest.approx(ref_cagr(equity, stamps) / dd if dd > 0 else 0.0,
                                     rel=1e-9)
    assert m.final_equity == equity[-1]


# -- hand-built curves ------------------------------------------------------------------------

# 100 -> 110 (+10 %) -> 99 (-10 %) -> 88 (-1/9) -> 121 (+37.5 %) -> 110 (-1/11)
HAND = [100.0, 110.0, 99.0, 88.0, 121.0, 110.0]


def test_the_hand_curve_by_hand() -> None:
    """Every figure of a five-return curve, worked out on paper."""
    r = [0.1, -0.1, -1 / 9, 0.375, -1 / 11]
    mean = sum(r) / 5
    sample_sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 4)
    downside = math.sqrt((0.01 + 1 / 81 + 1 / 121) / 5)
    m = measure(HAND, _daily(6))
    assert m.total_return == pytest.approx(0.1)
    assert m.volatility == pytest.approx(sample_sd * math.sqrt(252))
    assert m.sharpe == pytest.approx(mean / sample_sd * math.sqrt(252))
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(252))
    assert m.cagr == pytest.approx(1.1 ** (365.25 / 5) - 1)  # five days, first to last stamp
    assert m.max_drawdown == pytest.approx(0.2)  # 110 -> 88
    assert m.max_drawdown_duration_bars == 3  # peak at bar 1, back above it at bar 4
    assert m.max_drawdown_duration_days == pytest.approx(3.0)
    assert m.calmar == pytest.approx((1.1 ** (365.25 / 5) - 1) / 0.2)
    assert_matches_references(m, HAND, _daily(6), 252.0)


@pytest.mark.parametrize("seed", range(8))
def test_random_daily_curves_match_the_references(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    equity = (1e5 * np.cumprod(1 + rng.normal(0.0005, 0.02, n))).tolist()
    stamps = sorted(T0 + timedelta(days=float(d)) for d in rng.uniform(0, 800, n))
    assert_matches_references(measure(equity, stamps), equity, stamps, 252.0)


def test_minute_bars_across_sessions_annualise_by_regular_session_minutes() -> None:
    """Two sessions of one-minute bars: P = 252 x 390; the overnight move is one bar's return;
    CAGR runs over the calendar time between the first and last bar close."""
    assert Timeframe.MINUTE_1.periods_per_year == 252 * 390
    assert Timeframe.MINUTE_5.periods_per_year == 252 * 78
    assert Timeframe.MINUTE_15.periods_per_year == 252 * 26
    assert Timeframe.HOUR_1.periods_per_year == 252 * 6.5
    assert Timeframe.DAY_1.periods_per_year == 252
    day1 = [datetime(2024, 7, 1, 13, 31, tzinfo=UTC) + timedelta(minutes=i) for i in range(390)]
    day2 = [datetime(2024, 7, 2, 13, 31, tzinfo=UTC) + timedelta(minutes=i) for i in range(390)]
    stamps = day1 + day2
    rng = np.random.default_rng(7)
    equity = (1e5 * np.cumprod(1 + rng.normal(0.0, 0.0005, len(stamps)))).tolist()
    equity[390] = equity[389] * 0.97  # an overnight gap: one return of -3 %
    ppy = Timeframe.MINUTE_1.periods_per_year
    m = measure(equity, stamps, ppy=ppy)
    assert_matches_references(m, equity, stamps, ppy)
    years = (stamps[-1] - stamps[0]).total_seconds() / (365.25 * 86_400)
    assert m.cagr == pytest.approx((equity[-1] / equity[0]) ** (1 / years) - 1, rel=1e-9)


# -- edge cases -------------------------------------------------------------------------------


def test_a_flat_curve_has_zero_volatility_and_zero_ratios_not_inf_or_nan() -> None:
    m = measure([1000.0] * 5, _daily(5))
    assert (m.volatility, m.sharpe, m.sortino, m.cagr, m.calmar) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert (m.max_drawdown, m.max_drawdown_duration_bars, m.total_return) == (0.0, 0, 0.0)
    json.dumps(m.to_dict(), allow_nan=False)
    risk = risk_figures(np.full(5, 1000.0), np.zeros(5), np.zeros(5), np.zeros(5))
    assert (risk.var_95_historical, risk.cvar_95_historical) == (0.0, 0.0)
    assert (risk.var_95_parametric, risk.cvar_99_parametric) == (0.0, 0.0)


def test_one_bar_has_no_returns_so_every_ratio_is_zero_and_var_is_unknown() -> None:
    m = measure([1000.0], _daily(1))
    assert (m.total_return, m.volatility, m.sharpe, m.sortino, m.cagr) == (0, 0, 0, 0, 0)
    assert (m.max_drawdown, m.max_drawdown_duration_bars, m.final_equity) == (0, 0, 1000.0)
    risk = risk_figures(np.array([1000.0]), np.zeros(1), np.zeros(1), np.zeros(1))
    assert risk.to_dict()["var_95_historical"] is None  # too little data: null, not 0


def test_no_trades_all_winners_all_losers_and_break_evens() -> None:
    for pnls in ([], [10.0, 5.0], [-3.0, -7.0], [10.0, 0.0, -5.0, 0.0], [0.0, 0.0]):
        m = measure(HAND, _daily(6), pnls=pnls)
        win_rate, factor, average = ref_trade_stats(pnls)
        assert m.trades == len(pnls)
        assert m.win_rate == pytest.approx(win_rate)
        assert m.profit_factor == pytest.approx(factor)
        assert m.avg_trade == pytest.approx(average)
    assert measure(HAND, _daily(6), pnls=[10.0, 5.0]).to_dict()["profit_factor"] is None
    assert measure(HAND, _daily(6), pnls=[10.0, 0.0, -5.0, 0.0]).win_rate == 0.25


def test_a_curve_that_never_recovers_is_in_drawdown_until_its_last_point() -> None:
    equity = [100.0, 120.0, 110.0, 90.0, 95.0, 100.0, 119.0]
    stamps = _daily(4) + [T0 + timedelta(days=d) for d in (10, 11, 20)]
    m = measure(equity, stamps)
    assert m.max_drawdown == pytest.approx(30 / 120)
    assert m.max_drawdown_duration_bars == 5  # from the peak at bar 1 to the end, bar 6
    assert m.max_drawdown_duration_days == pytest.approx(19.0)
    assert_matches_references(m, equity, stamps, 252.0)


def test_exposure_time_and_turnover() -> None:
    equity = [1000.0, 1000.0, 1050.0, 990.0, 990.0]
    gross = [0.0, 1000.0, 1050.0, 0.0, 0.0]  # held at two bar closes out of five
    m = measure(equity, _daily(5), gross=gross, notional=2040.0, commissions=2.0)
    assert m.exposure == pytest.approx(2 / 5)
    assert m.turnover == pytest.approx(2040.0 / np.mean(equity))
    assert m.commissions == 2.0


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", [0.95, 0.99])
def test_var_and_cvar_match_the_references(seed: int, level: float) -> None:
    rng = np.random.default_rng(seed)
    equity = (1e5 * np.cumprod(1 + rng.normal(0.0, 0.01, int(rng.integers(5, 400))))).tolist()
    r = np.array(ref_returns(equity))
    h_var, h_cvar, p_var, p_cvar = ref_var(equity, level)
    assert historical_var(r, level) == pytest.approx((h_var, h_cvar), rel=1e-9, abs=1e-15)
    assert parametric_var(r, level) == pytest.approx((p_var, p_cvar), rel=1e-9, abs=1e-15)


def test_gross_and_net_exposure_fractions_and_concentration() -> None:
    equity = np.array([1000.0, 1000.0, 1100.0, 900.0])
    gross = np.array([0.0, 800.0, 1100.0, 450.0])
    net = np.array([0.0, 800.0, -1100.0, 450.0])
    hhi = np.array([0.0, 1.0, 0.5, 0.8])
    risk = risk_figures(equity, gross, net, hhi)
    assert risk.gross_exposure_avg == pytest.approx((0 + 0.8 + 1.0 + 0.5) / 4)
    assert risk.gross_exposure_max == pytest.approx(1.0)
    assert risk.net_exposure_avg == pytest.approx((0 + 0.8 - 1.0 + 0.5) / 4)
    assert (risk.net_exposure_min, risk.net_exposure_max) == (pytest.approx(-1.0),
                                                              pytest.approx(0.8))
    assert risk.concentration == pytest.approx((1.0 + 0.5 + 0.8) / 3)  # only while invested


# -- through the command line -----------------------------------------------------------------

# Seven daily bars: sma_cross fast=1 slow=2 buys at the close above the 2-bar mean and sells
# below it; each market order fills at the next bar's open; $1 per order; $1,000 of cash.
SEVEN = [("2010-01-04", 10, 10, 10, 10), ("2010-01-05", 10, 11, 10, 11),
         ("2010-01-06", 11, 12, 11, 12), ("2010-01-07", 12, 12, 9, 9),
         ("2010-01-08", 9, 10, 9, 10), ("2010-01-11", 10, 10, 8, 8),
         ("2010-01-12", 8, 8, 8, 8)]


def _write_bars(path: Path, bars: list[tuple[str, float, float, float, float]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["date,open,high,low,close,volume"]
    lines += [f"{d},{o},{h},{lo},{c},1000" for d, o, h, lo, c in bars]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _backtest_json(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("AITRADER_")]:
        monkeypatch.delenv(name)  # no configuration from the developer's environment
    monkeypatch.setattr("sys.argv", ["aitrader", "backtest", *args, "--json",
                                     "--journal", f"sqlite:///{tmp_path / 'j.db'}",
                                     "--out", str(tmp_path / "out")])
    saved = structlog.get_config()  # main() points logging at this test's captured stderr
    try:
        with pytest.raises(SystemExit) as stop:
            main()
    finally:
        structlog.configure(**saved)
    captured = capsys.readouterr()
    assert stop.value.code in (0, None), captured.err
    assert "NaN" not in captured.out
    assert "Infinity" not in captured.out
    document: dict[str, object] = json.loads(captured.out)
    return document


def test_backtest_json_metrics_of_a_seven_bar_file_worked_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write_bars(tmp_path / "data" / "T.csv", SEVEN)
    document = _backtest_json(["--data", str(data), "--strategy", "sma_cross", "--param",
                               "fast=1", "--param", "slow=2", "--cash", "1000",
                               "--commission-per-order", "1"], tmp_path, monkeypatch, capsys)
    m = document["metrics"]
    assert isinstance(m, dict)
    # Close 11 > mean(10, 11) on Jan 5: buy floor((1000 - 1) / 11) = 90 at Jan 6's open (11),
    # cash 1000 - 990 - 1 = 9. Close 9 < mean(12, 9) on Jan 7: sell 90 at Jan 8's open (9),
    # cash 9 + 810 - 1 = 818. Close 10 > mean(9, 10) on Jan 8: buy floor(817 / 10) = 81 at
    # Jan 11's open (10), cash 818 - 810 - 1 = 7. Close 8 < 9 on Jan 11: sell 81 at Jan 12's
    # open (8), cash 7 + 648 - 1 = 654. Marked at each close:
    equity = [1000.0, 1000.0, 9 + 90 * 12, 9 + 90 * 9, 818.0, 7 + 81 * 8, 654.0]
    assert equity == [1000, 1000, 1089, 819, 818, 655, 654]
    stamps = [datetime(2010, 1, d, 21, tzinfo=UTC) for d in (4, 5, 6, 7, 8, 11, 12)]
    assert m["final_equity"] == 654.0
    assert m["total_return"] == pytest.approx(-0.346)
    assert m["trades"] == 2  # 90 x (9 - 11) - 2 = -182 and 81 x (8 - 10) - 2 = -164
    assert m["win_rate"] == 0.0
    assert m["profit_factor"] == 0.0  # no winner: 0 / 346
    assert m["avg_trade"] == pytest.approx(-173.0)
    assert m["commissions"] == 4.0
    assert m["exposure"] == pytest.approx(3 / 7)  # held at the closes of Jan 6, 7 and 11
    assert m["turnover"] == pytest.approx((990 + 810 + 810 + 648) / (sum(equity) / 7))
    assert m["max_drawdown"] == pytest.approx(1 - 654 / 1089)
    assert m["max_drawdown_duration_bars"] == 4  # Jan 6 to the end, never recovered
    assert m["max_drawdown_duration_days"] == pytest.approx(6.0)
    assert m["cagr"] == pytest.approx(0.654 ** (365.25 / 8) - 1)
    assert m["calmar"] == pytest.approx((0.654 ** (365.25 / 8) - 1) / (1 - 654 / 1089))
    assert m["volatility"] == pytest.approx(ref_volatility(equity, 252))
    assert m["sharpe"] == pytest.approx(ref_sharpe(equity, 252))
    assert m["sortino"] == pytest.approx(ref_sortino(equity, 252))
    assert_matches_references(Metrics(**{**m, "profit_factor": 0.0}), equity, stamps, 252.0)
    risk = document["risk"]
    assert isinstance(risk, dict)
    h_var, h_cvar, p_var, p_cvar = ref_var(equity, 0.95)
    assert (risk["var_95_historical"], risk["cvar_95_historical"]) == (
        pytest.approx(h_var), pytest.approx(h_cvar))
    assert (risk["var_95_parametric"], risk["cvar_95_parametric"]) == (
        pytest.approx(p_var), pytest.approx(p_cvar))
    fractions = [0, 0, 1080 / 1089, 810 / 819, 0, 648 / 655, 0]
    assert risk["gross_exposure_avg"] == pytest.approx(sum(fractions) / 7)
    assert risk["gross_exposure_max"] == pytest.approx(1080 / 1089)
    assert risk["concentration"] == pytest.approx(1.0)


def test_backtest_json_of_a_flat_market_without_trades_reports_zeros_not_nulls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = [(d, 10, 10, 10, 10) for d, *_ in SEVEN]
    data = _write_bars(tmp_path / "data" / "F.csv", flat)
    document = _backtest_json(["--data", str(data), "--param", "fast=1", "--param", "slow=2"],
                              tmp_path, monkeypatch, capsys)
    m = document["metrics"]
    assert isinstance(m, dict)
    for key in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
                "calmar", "win_rate", "profit_factor", "avg_trade", "exposure", "turnover",
                "commissions"):
        assert m[key] == 0.0, key
    assert (m["trades"], m["final_equity"]) == (0, 100_000.0)
