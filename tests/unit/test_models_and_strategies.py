"""Scheduled fitting never sees later data; the model strategies; the look-ahead check;
session-anchored multi-timeframe bars."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import numpy as np
import pytest
from returns.result import Failure, Result, Success

from aitrader.application.fits import FitTally, fits_line, refused_line
from aitrader.application.lookahead import check_lookahead, cut_points
from aitrader.application.models import FitPlan, fit_models, fit_symbol
from aitrader.domain.market import Session, SessionWindow, Timeframe
from aitrader.domain.series import BarFrame, aggregate, as_of, to_ns
from aitrader.domain.signals import (
    FloatArray,
    GarchParams,
    HmmParams,
    KalmanNoise,
    SignalSettings,
    SymbolModels,
)
from aitrader.domain.strategies import SignalSpec, Target, build_strategy, signal_names
from aitrader.domain.strategies.mean_reversion import MeanReversion
from aitrader.domain.strategies.momentum import Momentum
from aitrader.domain.strategies.multi_factor import MultiFactor
from aitrader.domain.values import Symbol
from aitrader.ports.models import ModelError, ModelFitter

NAN = math.nan
_HMM = HmmParams([0.5, 0.3, 0.2], np.full((3, 3), 1 / 3), [0.0, 0.0, 0.0], [0.5, 1.0, 2.0])


class RecordingFitter(ModelFitter):
    """Returns fixed parameters and remembers what each fit was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, np.ndarray]] = []

    def fit_hmm(self, returns: FloatArray, states: int,
                seed: int) -> Result[HmmParams, ModelError]:
        self.seen.append(("hmm", np.array(returns)))
        return Success(_HMM)

    def fit_garch(self, returns: FloatArray) -> Result[GarchParams, ModelError]:
        self.seen.append(("garch", np.array(returns)))
        if len(returns) > 150:
            return Failure(ModelError("non_stationary", "no"))
        return Success(GarchParams(0.0, 0.1, 0.1, 0.8))

    def fit_kalman(self, y: FloatArray, p0: float,
                   start: KalmanNoise) -> Result[KalmanNoise, ModelError]:
        self.seen.append(("kalman", np.array(y)))
        return Success(KalmanNoise(1e-4, 1e-7, 1e-3))


def _frame(symbol: str, close: np.ndarray, start_day: int = 0) -> BarFrame:
    day = 86_400 * 10**9
    ts = to_ns(datetime(2020, 1, 1, 21, tzinfo=UTC)) + (np.arange(len(close)) + start_day) * day
    return BarFrame(Symbol.parse(symbol), Timeframe.DAY_1, ts - day // 4, ts, close, close * 1.01,
                    close * 0.99, close, np.ones(len(close)))


def _path(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))


def test_models_that_apply_from_bar_s_are_fitted_only_on_bars_before_s() -> None:
    close = _path(300, 1)
    fitter = RecordingFitter()
    plan = FitPlan(window=100, refit_every=50, min_train=60, kalman_fit=True, kalman_train=80)
    models = fit_symbol(close, frozenset({"kalman", "hmm", "garch"}), SignalSettings(), plan,
                        fitter)
    assert models.hmm.starts == (60, 110, 160, 210, 260)
    returns = 100 * np.diff(np.log(close))
    fits = [r for kind, r in fitter.seen if kind == "hmm"]
    for start, seen in zip(models.hmm.starts, fits, strict=True):
        # the returns of the window's bars, the last one being bar start - 1
        assert np.array_equal(seen, returns[max(0, start - 100):start - 1])
    assert models.kalman is not None
    assert models.kalman.starts == (0, 80)
    (kalman_y,) = [y for kind, y in fitter.seen if kind == "kalman"]
    assert np.array_equal(kalman_y, np.log(close[:80]))


def test_a_failed_refit_keeps_the_previous_parameters() -> None:
    fitter = RecordingFitter()
    models = fit_symbol(_path(300, 2), frozenset({"garch"}), SignalSettings(),
                        FitPlan(window=200, refit_every=50, min_train=100), fitter)
    assert models.garch.starts == (100, 150)  # the fits on > 150 returns failed
    assert models.garch.at(299) == models.garch.params[-1]


def test_the_tally_counts_each_fit_done_and_refused_with_its_symbol_bar_and_code() -> None:
    tally = FitTally()
    fit_symbol(_path(300, 2), frozenset({"hmm", "garch"}), SignalSettings(),
               FitPlan(window=200, refit_every=50, min_train=100), RecordingFitter(), "KO",
               tally)
    report = tally.report()
    assert list(report) == ["hmm", "garch"]
    assert report["hmm"] == {"fitted": 4, "refused": 0, "refusals": []}  # bars 100 ... 250
    assert (report["garch"]["fitted"], report["garch"]["refused"]) == (2, 2)
    assert report["garch"]["refusals"] == [  # the fits on more than 150 returns
        {"symbol": "KO", "bar": 200, "code": "non_stationary", "detail": "no"},
        {"symbol": "KO", "bar": 250, "code": "non_stationary", "detail": "no"}]
    # as a journal hands it back (keys sorted), the line still lists models in their order
    line = refused_line(json.loads(json.dumps(report, sort_keys=True)))
    assert line == "model fits refused: garch 2 of 4"
    assert fits_line(report) == "hmm 4 fitted, 0 refused; garch 2 fitted, 2 refused"
    assert refused_line({"hmm": report["hmm"]}) is None
    assert fits_line({}) == "none"


def test_the_tally_names_the_models_a_strategy_fits_even_when_none_was_fitted() -> None:
    momentum = build_strategy("momentum", {}, allow_short=False).unwrap()
    short = [_frame("A", _path(50, 4))]  # no bar reaches min_train: no fit at all
    tally = FitTally()
    fit_models(momentum, short, SignalSettings(), FitPlan(kalman_fit=True), RecordingFitter(),
               tally)
    report = tally.report()
    assert list(report) == ["kalman", "hmm", "garch"]
    assert (report["hmm"]["fitted"], report["hmm"]["refused"]) == (0, 0)
    # the Kalman noise cannot be fitted on 50 bars with a 126-bar (default) training window
    assert [(r["symbol"], r["bar"], r["code"]) for r in report["kalman"]["refusals"]] == [
        ("A", 126, "too_few_observations")]
    without = FitTally()
    fit_models(momentum, short, SignalSettings(), FitPlan(), RecordingFitter(), without)
    assert list(without.report()) == ["hmm", "garch"]  # kalman.fit off: the noise is configured


def test_strategies_without_model_kernels_fit_nothing() -> None:
    fitter = RecordingFitter()
    sma = build_strategy("sma_cross", {}, allow_short=False).unwrap()
    assert fit_models(sma, [_frame("A", _path(300, 3))], SignalSettings(), FitPlan(),
                      fitter) == {}
    assert fitter.seen == []


def _row(strategy: Any, **values: float) -> list[float]:
    names = signal_names(strategy)
    row = [NAN] * len(names)
    for name, value in values.items():
        row[names.index(name)] = value
    return row


def test_momentum_trades_velocity_against_its_uncertainty_only_in_whitelisted_regimes() -> None:
    strategy = Momentum(entry=2.0, exit=0.5, regimes="calm")
    decide = strategy.decider()
    base = {"close": 100.0, "kalman_velocity_var": 1e-6, "garch_vol": 0.01}
    assert decide(_row(strategy, **base, kalman_velocity=0.003)) is None  # no regime yet
    entered = decide(_row(strategy, **base, kalman_velocity=0.003, regime=0.0))
    assert entered is not None
    assert entered.exposure == 1.0
    assert entered.expected_return == pytest.approx(0.003)
    assert entered.variance == pytest.approx(1e-4)
    held = decide(_row(strategy, **base, kalman_velocity=0.001, regime=0.0))  # t = 1 > exit
    assert held is not None
    assert held.exposure == 1.0
    out = decide(_row(strategy, **base, kalman_velocity=0.003, regime=2.0))
    assert out is not None
    assert out.exposure == 0.0
    assert "regime" in out.reason
    with pytest.raises(ValueError, match="unknown regime"):
        Momentum(regimes="sunny")


def test_mean_reversion_enters_in_calm_regimes_and_leaves_on_reversion_or_time_stop() -> None:
    strategy = MeanReversion(entry=2.0, exit=0.5, time_stop=3)
    decide = strategy.decider()
    base = {"close": 100.0, "kalman_level": math.log(101.0), "garch_vol": 0.01}
    flat = decide(_row(strategy, **base, kalman_innovation_z=-2.5, regime=1.0))
    assert flat is not None
    assert flat.exposure == 0.0
    entered = decide(_row(strategy, **base, kalman_innovation_z=-2.5, regime=0.0))
    assert entered is not None
    assert entered.exposure == 1.0
    assert entered.expected_return > 0
    reverted = decide(_row(strategy, **base, kalman_innovation_z=-0.2, regime=2.0))
    assert reverted is not None
    assert reverted.exposure == 0.0
    assert reverted.reason == "reverted"
    decide(_row(strategy, **base, kalman_innovation_z=-2.5, regime=0.0))
    for _ in range(2):
        still = decide(_row(strategy, **base, kalman_innovation_z=-1.5, regime=0.0))
        assert still is not None
        assert still.exposure == 1.0
    stopped = decide(_row(strategy, **base, kalman_innovation_z=-1.5, regime=0.0))
    assert stopped is not None
    assert stopped.reason == "time stop"


def test_multi_factor_scores_the_cross_section_into_minus_one_to_one() -> None:
    strategy = MultiFactor(w_momentum=1.0, w_reversion=0.0, w_low_vol=0.0, step=0.5,
                           allow_short=True)
    deciders = strategy.deciders(3)
    rows = [_row(strategy, close=10.0, kalman_velocity=v, kalman_velocity_var=1.0,
                 kalman_innovation_z=0.0, garch_vol=0.01) for v in (0.5, -1.0, 2.0)]
    targets: list[Target | None] = [d(r) for d, r in zip(deciders, rows, strict=True)]
    # the first symbol saw only itself; the later ones the symbols posted before them
    assert targets[0] is not None
    assert targets[0].exposure == 0.0
    assert targets[1] is not None
    assert targets[1].exposure == -1.0
    assert targets[2] is not None
    assert targets[2].exposure == 1.0
    again = deciders[0](rows[0])
    assert again is not None
    assert again.exposure == 0.0
    alone = MultiFactor().decider()(rows[0])
    assert alone is not None
    assert alone.exposure == 0.0


def test_model_strategies_are_built_with_the_configured_regime_states() -> None:
    settings = attrs.evolve(SignalSettings(), regime=attrs.evolve(SignalSettings().regime,
                                                                  states=2))
    built = build_strategy("momentum", {"regimes": "calm"}, False, settings).unwrap()
    assert "regime_p_turbulent" in signal_names(built)
    assert "regime_p_normal" not in signal_names(built)
    refused = build_strategy("momentum", {"regimes": "normal"}, False, settings)
    assert isinstance(refused, Failure)
    assert "unknown regime" in refused.failure().message


class _Peeking:
    """A kernel whose batch reads the next bar's close: the look-ahead check must see it."""

    outputs = ("value",)
    warmup = 0
    name = "peek"

    def initial(self) -> None:
        return None

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray]:
        return (np.append(close[1:], close[-1:]),)


@attrs.frozen
class _Cheater:
    name: str = "cheater"

    def signals(self) -> tuple[SignalSpec, ...]:
        return (SignalSpec("next", _Peeking()),)

    def decider(self) -> Any:
        return lambda row: Target(1.0 if row[1] > row[0] else 0.0)

    def params(self) -> Mapping[str, object]:
        return {}


def _no_models(frames: Sequence[BarFrame]) -> Mapping[Symbol, SymbolModels]:
    return {}


def test_the_lookahead_check_catches_a_strategy_that_reads_the_next_bar() -> None:
    frames = [_frame("A", _path(120, 5))]
    compared, changed = check_lookahead(_Cheater(), frames, _no_models, cuts=4)
    assert compared > 0
    assert changed
    assert all(c.ts_close_ns < c.cut_ns for c in changed)


def test_a_changed_decision_reads_without_nan() -> None:
    from aitrader.application.lookahead import Changed

    day = to_ns(datetime(2020, 1, 2, 21, tzinfo=UTC))
    change = Changed(Symbol.parse("A"), day, day + 86_400 * 10**9, (1.0, NAN, NAN),
                     (NAN, NAN, NAN))
    assert change.describe() == ("A 2020-01-02T21:00:00+00:00: exposure 1 with all bars, no "
                                 "view with bars before 2020-01-03T21:00:00+00:00")
    edged = attrs.evolve(change, full=(-0.5, 0.0012, NAN), truncated=(1.0, 0.001, 4e-4))
    assert "exposure -0.5 (edge 0.0012, variance unknown) with all bars" in edged.describe()
    assert "exposure 1 (edge 0.001, variance 0.0004) with bars before" in edged.describe()


def test_lookahead_cuts_split_the_history_into_equal_shares() -> None:
    frames = [_frame("A", _path(120, 5))]
    stamps = frames[0].ts_close
    assert cut_points(frames, 1) == [int(stamps[60])]
    assert cut_points(frames, 3) == [int(stamps[i]) for i in (30, 60, 90)]
    assert cut_points(frames, 500) == [int(s) for s in stamps[1:]]  # at most one per bar
    assert cut_points([_frame("A", _path(1, 5))], 3) == []


def test_more_cuts_than_bars_cost_no_more_than_one_cut_per_bar() -> None:
    # --cuts 100000000 on 120 bars looped over every requested cut (minutes, then hours)
    frames = [_frame("A", _path(120, 5))]
    every_bar = [int(s) for s in frames[0].ts_close[1:]]
    for cuts in (119, 120, 10**8, 10**20):
        assert cut_points(frames, cuts) == every_bar
    assert cut_points(frames, 118) == [int(frames[0].ts_close[max(1, k * 120 // 119)])
                                       for k in range(1, 119)]


def test_a_single_lookahead_cut_compares_half_the_history() -> None:
    frames = [_frame("A", _path(120, 5))]
    compared, changed = check_lookahead(_Cheater(), frames, _no_models, cuts=1)
    assert compared == 60
    assert changed


@pytest.mark.parametrize("name", ["sma_cross", "breakout", "momentum", "mean_reversion",
                                  "ma_cross", "multi_factor"])
def test_bundled_strategies_pass_the_lookahead_check_with_scheduled_refits(name: str) -> None:
    strategy = build_strategy(name, {}, allow_short=True).unwrap()
    frames = [_frame("A", _path(260, 6)), _frame("B", _path(240, 7), start_day=20)]
    plan = FitPlan(window=120, refit_every=40, min_train=60, kalman_fit=True, kalman_train=80)

    def fit(fs: Sequence[BarFrame]) -> Mapping[Symbol, SymbolModels]:
        return fit_models(strategy, fs, SignalSettings(), plan, _SensitiveFitter())

    compared, changed = check_lookahead(strategy, frames, fit, cuts=4)
    assert compared > 400
    assert changed == []


class _SensitiveFitter(RecordingFitter):
    """Parameters that depend on every return fitted on, so a leak would change them."""

    def fit_hmm(self, returns: FloatArray, states: int,
                seed: int) -> Result[HmmParams, ModelError]:
        v = float(np.var(returns))
        last = min(abs(float(returns[-1])) / (3 * math.sqrt(v)), 1.0)  # where the window ended
        return Success(HmmParams([0.4, 0.3, 0.3], np.full((3, 3), 1 / 3),
                                 [0.0, 0.0, 0.0], [0.3 * v, v, 3 * v],
                                 [(1 - last) / 2, (1 - last) / 2, last]))

    def fit_garch(self, returns: FloatArray) -> Result[GarchParams, ModelError]:
        return Success(GarchParams(float(np.mean(returns)), 0.1 * float(np.var(returns)),
                                   0.1, 0.8))


def _minutes(day: datetime, count: int) -> np.ndarray:
    return to_ns(day) + (np.arange(count) + 1) * 60 * 10**9


def test_bars_aggregate_within_sessions_and_the_unfinished_last_one_is_left_out() -> None:
    # 2024-07-03 closes early (13:00 ET = 17:00 UTC); 2024-07-05 is a full day, cut short
    sessions = [SessionWindow(Session.REGULAR, datetime(2024, 7, 3, 13, 30, tzinfo=UTC),
                              datetime(2024, 7, 3, 17, 0, tzinfo=UTC)),
                SessionWindow(Session.POST, datetime(2024, 7, 3, 17, 0, tzinfo=UTC),
                              datetime(2024, 7, 3, 21, 0, tzinfo=UTC)),
                SessionWindow(Session.REGULAR, datetime(2024, 7, 5, 13, 30, tzinfo=UTC),
                              datetime(2024, 7, 5, 20, 0, tzinfo=UTC))]
    ts = np.concatenate([_minutes(datetime(2024, 7, 3, 13, 30, tzinfo=UTC), 240),  # 30 after
                         _minutes(datetime(2024, 7, 5, 13, 30, tzinfo=UTC), 100)])
    close = 100.0 + np.arange(len(ts))
    frame = BarFrame(Symbol.parse("X"), Timeframe.MINUTE_1, ts - 60 * 10**9, ts, close,
                     close + 1, close - 1, close, np.ones(len(ts)))
    hourly = aggregate(frame, Timeframe.HOUR_1, sessions)
    opens = [datetime.fromtimestamp(t / 1e9, UTC).strftime("%d %H:%M") for t in hourly.ts_open]
    closes = [datetime.fromtimestamp(t / 1e9, UTC).strftime("%H:%M") for t in hourly.ts_close]
    assert opens == ["03 13:30", "03 14:30", "03 15:30", "03 16:30", "05 13:30"]
    assert closes == ["14:30", "15:30", "16:30", "17:00", "14:30"]
    assert list(hourly.volume) == [60, 60, 60, 30, 60]  # after-hours bars are left out
    assert hourly.close[3] == close[209]
    assert hourly.high[0] == close[59] + 1
    daily = aggregate(frame, Timeframe.DAY_1, sessions)
    assert len(daily) == 1
    assert daily.volume[0] == 210
    # a 1m bar sees an hourly bar only once that bar has closed
    seen = as_of(frame.ts_close, hourly.ts_close)
    assert seen[58] == -1
    assert seen[59] == 0
    assert seen[60] == 0
    with pytest.raises(ValueError, match="cannot aggregate"):
        aggregate(daily, Timeframe.HOUR_1, sessions)
