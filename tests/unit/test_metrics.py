"""Performance metrics, each checked against a hand computation on a small curve."""

from __future__ import annotations

import json
import math
import statistics

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.metrics import Metrics, performance

DAY = 86_400 * 1_000_000_000
T0 = 1_700_000_000 * 1_000_000_000


def _days(*offsets: float) -> np.ndarray:
    return np.array([T0 + round(d * DAY) for d in offsets], dtype=np.int64)


def _run(
    equity: list[float],
    ts: np.ndarray | None = None,
    pnls: tuple[float, ...] | list[float] = (),
    gross: list[float] | None = None,
    ppy: float = 252.0,
    notional: float = 0.0,
    commissions: float = 0.0,
) -> Metrics:
    curve = np.array(equity, dtype=np.float64)
    return performance(
        ts_ns=_days(*range(len(equity))) if ts is None else ts,
        equity=curve,
        periods_per_year=ppy,
        trade_pnls=np.array(pnls, dtype=np.float64),
        gross_exposure=np.zeros(len(equity)) if gross is None else np.array(gross, float),
        traded_notional=notional,
        commissions=commissions,
    )


CURVE = [100.0, 110.0, 99.0, 88.0, 121.0, 110.0]


def test_returns_and_risk_ratios_match_a_hand_computation() -> None:
    m = _run(CURVE)
    r = [CURVE[i + 1] / CURVE[i] - 1 for i in range(len(CURVE) - 1)]
    mean, sd = statistics.fmean(r), statistics.stdev(r)
    downside = math.sqrt(statistics.fmean([min(x, 0.0) ** 2 for x in r]))
    assert m.total_return == pytest.approx(0.1)
    assert m.volatility == pytest.approx(sd * math.sqrt(252))
    assert m.sharpe == pytest.approx(mean / sd * math.sqrt(252))
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(252))
    assert m.final_equity == 110.0


def test_cagr_compounds_over_the_calendar_span_of_the_curve() -> None:
    m = _run(CURVE)  # five days from the first point to the last
    assert m.cagr == pytest.approx(1.1 ** (365.25 / 5) - 1)
    two_years = _run([100.0, 121.0], ts=_days(0, 2 * 365.25))
    assert two_years.cagr == pytest.approx(0.1)


def test_max_drawdown_is_the_largest_fall_from_a_peak_as_a_positive_fraction() -> None:
    m = _run(CURVE)  # peak 110 falls to 88, then a new peak 121 falls to 110
    assert m.max_drawdown == pytest.approx(0.2)
    assert m.calmar == pytest.approx(m.cagr / 0.2)


def test_drawdown_duration_runs_from_the_peak_to_the_recovery() -> None:
    m = _run(CURVE)  # peak at bar 1, below at bars 2 and 3, back above at bar 4
    assert m.max_drawdown_duration_bars == 3
    assert m.max_drawdown_duration_days == pytest.approx(3.0)


def test_an_unrecovered_drawdown_lasts_until_the_last_point() -> None:
    m = _run([100.0, 105.0, 90.0, 80.0], ts=_days(0, 1, 2, 8.5))
    assert m.max_drawdown == pytest.approx(25 / 105)
    assert m.max_drawdown_duration_bars == 2
    assert m.max_drawdown_duration_days == pytest.approx(7.5)


def test_drawdown_days_come_from_timestamps_not_bar_counts() -> None:
    m = _run([100.0, 90.0, 100.0, 95.0, 96.0, 97.0, 100.0], ts=_days(0, 10, 11, 12, 13, 14, 15))
    assert m.max_drawdown_duration_bars == 4
    assert m.max_drawdown_duration_days == pytest.approx(11.0)


def test_returning_exactly_to_the_peak_counts_as_recovery() -> None:
    m = _run([100.0, 90.0, 100.0, 100.0])
    assert m.max_drawdown_duration_bars == 2
    assert m.max_drawdown == pytest.approx(0.1)


def test_trade_statistics_match_a_hand_computation() -> None:
    m = _run(CURVE, pnls=[100.0, -50.0, 30.0, 0.0, -20.0])
    assert m.trades == 5
    assert m.win_rate == pytest.approx(2 / 5)  # a break-even trade is not a win
    assert m.profit_factor == pytest.approx(130 / 70)
    assert m.avg_trade == pytest.approx(12.0)


def test_profit_factor_without_losses_is_infinite_and_serialises_as_none() -> None:
    m = _run(CURVE, pnls=[10.0, 5.0])
    assert m.profit_factor == math.inf
    document = m.to_dict()
    assert document["profit_factor"] is None
    assert list(document) == [f.name for f in attrs.fields(Metrics)]
    json.dumps(document, allow_nan=False)


def test_no_trades_give_zero_trade_statistics() -> None:
    m = _run(CURVE)
    assert (m.trades, m.win_rate, m.profit_factor, m.avg_trade) == (0, 0.0, 0.0, 0.0)


def test_exposure_turnover_and_commissions_are_reported() -> None:
    m = _run([100.0, 100.0, 102.0, 98.0], gross=[0.0, 50.0, 0.0, 20.0], notional=1000.0,
             commissions=3.5)
    assert m.exposure == 0.5
    assert m.turnover == pytest.approx(10.0)
    assert m.commissions == 3.5


@pytest.mark.parametrize("equity", [[], [100.0], [100.0, 100.0, 100.0]])
def test_degenerate_curves_give_zeros_not_nans(equity: list[float]) -> None:
    m = _run(equity)
    values = m.to_dict()
    assert all(v is not None and math.isfinite(v) for v in values.values())
    assert (m.sharpe, m.sortino, m.volatility, m.max_drawdown, m.cagr) == (0, 0, 0, 0, 0)
    assert m.final_equity == (equity[-1] if equity else 0.0)


def test_a_curve_without_losing_periods_has_zero_sortino() -> None:
    m = _run([100.0, 101.0, 103.0])
    assert m.sortino == 0.0
    assert m.sharpe > 0
    assert m.max_drawdown_duration_bars == 0


def test_a_curve_that_is_wiped_out_reports_a_total_loss() -> None:
    m = _run([100.0, 0.0, 0.0])
    assert (m.total_return, m.cagr, m.max_drawdown) == (-1.0, -1.0, 1.0)
    assert all(v is not None for v in m.to_dict().values())


def test_points_at_one_instant_have_no_cagr() -> None:
    assert _run([100.0, 120.0], ts=_days(0, 0)).cagr == 0.0


def test_a_gain_annualised_over_minutes_is_unbounded_not_an_error() -> None:
    m = _run([100.0, 200.0], ts=_days(0, 1 / 1440))
    assert m.cagr == math.inf
    assert m.to_dict()["cagr"] is None


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per curve point"):
        performance(_days(0, 1), np.array([1.0]), 252.0, np.array([]), np.zeros(1), 0.0, 0.0)


def test_non_finite_equity_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        _run([100.0, math.nan])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=0, max_size=60))
def test_positive_curves_give_finite_bounded_metrics(equity: list[float]) -> None:
    m = _run(equity, ts=_days(*[i * 365.25 for i in range(len(equity))]))
    assert 0.0 <= m.max_drawdown < 1.0
    assert 0 <= m.max_drawdown_duration_bars < max(len(equity), 1)
    assert m.max_drawdown_duration_days == pytest.approx(365.25 * m.max_drawdown_duration_bars)
    assert all(v is not None for v in m.to_dict().values())
    if len(equity) >= 2:
        peak = np.maximum.accumulate(equity)
        assert m.max_drawdown == pytest.approx(float(np.max((peak - equity) / peak)))
