"""risk_figures: its VaR and CVaR are historical_var and parametric_var of the curve's returns."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.metrics import historical_var, parametric_var, risk_figures

equities = st.lists(st.one_of(st.floats(min_value=1.0, max_value=1e6), st.just(0.0),
                              st.just(-10.0)), min_size=3, max_size=60)


@settings(max_examples=100, deadline=None)
@given(equities)
def test_each_level_of_the_report_equals_the_single_level_functions(equity: list[float]) -> None:
    curve = np.array(equity, dtype=np.float64)
    previous = curve[:-1]
    returns = np.array([c / p - 1.0 if p > 0 else 0.0
                        for p, c in zip(previous, curve[1:], strict=False)])
    zeros = np.zeros(len(curve))
    report = risk_figures(curve, zeros, zeros, zeros)
    for level, tag in ((0.95, "95"), (0.99, "99")):
        h_var, h_cvar = historical_var(returns, level)
        p_var, p_cvar = parametric_var(returns, level)
        assert getattr(report, f"var_{tag}_historical") == h_var
        assert getattr(report, f"cvar_{tag}_historical") == h_cvar
        assert getattr(report, f"var_{tag}_parametric") == p_var
        assert getattr(report, f"cvar_{tag}_parametric") == p_cvar


def test_exposure_skips_points_where_equity_is_not_positive() -> None:
    equity = np.array([100.0, 0.0, 200.0, -50.0])
    gross = np.array([50.0, 10.0, 100.0, 10.0])
    net = np.array([50.0, -10.0, -100.0, 10.0])
    report = risk_figures(equity, gross, net, np.array([1.0, 1.0, 1.0, 1.0]))
    assert (report.gross_exposure_avg, report.gross_exposure_max) == (0.5, 0.5)
    assert (report.net_exposure_min, report.net_exposure_max) == (-0.5, 0.5)
    assert report.net_exposure_avg == 0.0
    assert report.concentration == 1.0
