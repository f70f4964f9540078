"""Every bundled strategy on hand-built bars: the target exposure and the edge of each bar are
what the README says, worked out by hand here.

The signal columns come from the real kernels (application.backtest.signal_columns) where the
rule is about prices; where it is about model outputs (velocity, regime, z-score), rows are
written directly with chosen values so each threshold is crossed on purpose.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from aitrader.application.backtest import signal_columns
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, to_ns
from aitrader.domain.signals import (
    GarchParams,
    HmmParams,
    Kalman,
    KalmanNoise,
    KalmanSettings,
    Schedule,
    SignalSettings,
    SymbolModels,
)
from aitrader.domain.strategies import FLAT, Target, build_strategy, signal_names
from aitrader.domain.strategies.breakout import Breakout
from aitrader.domain.strategies.ma_cross import MaCross
from aitrader.domain.strategies.mean_reversion import MeanReversion
from aitrader.domain.strategies.momentum import Momentum
from aitrader.domain.strategies.multi_factor import MultiFactor
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.values import Symbol
from tests.unit.test_models_and_strategies import _row
from tests.unit.test_signal_references import _matrix_filter

NAN = math.nan


def _frame(high: Any, low: Any, close: Any) -> BarFrame:
    day = 86_400 * 10**9
    close = np.asarray(close, dtype=np.float64)
    ts = to_ns(datetime(2020, 1, 2, 21, tzinfo=UTC)) + np.arange(len(close)) * day
    return BarFrame(Symbol.parse("TEST"), Timeframe.DAY_1, ts - day // 4, ts, close,
                    np.asarray(high, dtype=np.float64), np.asarray(low, dtype=np.float64), close,
                    np.ones(len(close)))


def _targets(strategy: Any, frame: BarFrame) -> list[Target | None]:
    """Each bar's target from a fresh decider over the kernels' columns (as a backtest)."""
    rows = np.column_stack(signal_columns(strategy, frame)).tolist()
    decide = strategy.decider()
    return [decide(row) for row in rows]


def _exposures(targets: list[Target | None]) -> list[float | None]:
    return [None if t is None else t.exposure for t in targets]


# ---- sma_cross -----------------------------------------------------------------------------

# SMA(2): -, 10.5, 11.5, 11.5, 10, 8.5, 9, 11;  SMA(3): -, -, 11, 11.33, 10.67, 9.33, 9, 10
_CROSSING = [10.0, 11.0, 12.0, 11.0, 9.0, 8.0, 10.0, 12.0]


def test_sma_cross_is_long_above_flat_or_short_below_and_keeps_its_side_on_a_tie() -> None:
    frame = _frame(_CROSSING, _CROSSING, _CROSSING)
    long_only = _targets(SmaCross(2, 3), frame)
    # bar 6: SMA(2) = SMA(3) = 9 after a cross: the last side (flat) holds
    assert _exposures(long_only) == [None, None, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    short = _targets(SmaCross(2, 3, allow_short=True), frame)
    assert _exposures(short) == [None, None, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0]
    assert all(math.isnan(t.expected_return) for t in short if t is not None)  # no edge model


# ---- breakout ------------------------------------------------------------------------------

# high, low, close. Donchian(3) of highs, including each bar: -, -, 10.8, 11.2, 11.5, 12.0, ...
_BREAKOUT = np.array([
    [10.5, 9.5, 10.0], [10.8, 9.8, 10.2], [10.6, 9.9, 10.4],
    [11.2, 10.3, 10.7],   # 10.7 < 10.8, the previous bar's 3-bar high: flat
    [11.5, 10.6, 11.1],   # 11.1 < 11.2: flat
    [12.0, 11.0, 11.6],   # 11.6 > 11.5 (the previous channel), < 12.0 (its own): long
    [12.3, 11.4, 12.2],   # best close 12.2; ATR(2) .921875: stop 11.28, held
    [12.25, 11.0, 11.2],  # ATR 1.0859375: stop 12.2 - 1.086 = 11.114 < 11.2: held
    [11.3, 10.9, 11.0],   # ATR .74296875: stop 11.457 > 11.0: stopped
    [11.2, 10.8, 11.1],   # previous channel 12.3: flat
])


def test_breakout_enters_on_the_previous_channel_and_exits_on_the_atr_trail_by_hand() -> None:
    strategy = Breakout(entry=3, atr=2, atr_mult=1.0)
    frame = _frame(*_BREAKOUT.T)
    targets = _targets(strategy, frame)
    # bars 0-2: the previous bar has no full channel yet
    assert _exposures(targets) == [None, None, None, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert targets[8] is not None
    assert targets[8].reason == "trailing stop hit"
    # a channel that includes the breaking bar can never be broken by its close
    upper = signal_columns(strategy, frame)[1]
    assert _BREAKOUT[5, 2] < upper[5]
    assert _BREAKOUT[5, 2] > upper[4]


def test_breakout_edge_is_the_kalman_velocity_and_the_garch_variance() -> None:
    strategy = Breakout(entry=3, atr=2, atr_mult=1.0)
    frame = _frame(*_BREAKOUT.T)
    targets = _targets(strategy, frame)
    (_, velocity, *_rest) = Kalman(KalmanSettings()).batch(*_BREAKOUT.T)
    for i in (5, 6, 7):
        target = targets[i]
        assert target is not None
        assert target.expected_return == velocity[i]
        # no GARCH fit yet: the return's variance is unknown, not the velocity's variance
        assert math.isnan(target.variance)


def test_breakout_is_scaled_down_only_in_the_turbulent_regime() -> None:
    strategy = Breakout(entry=3, atr=2, atr_mult=1.0, turbulent_scale=0.25)
    base = {"close": 10.0, "donchian_upper": 10.5, "donchian_lower": 9.0, "atr": 0.5,
            "kalman_velocity": 0.002, "kalman_velocity_var": 1e-6, "garch_vol": 0.02}
    for label, scale in ((NAN, 1.0), (0.0, 1.0), (1.0, 1.0), (2.0, 0.25)):
        decide = strategy.decider()
        assert decide(_row(strategy, **base, regime=label)) is None  # no previous channel
        entered = decide(_row(strategy, **{**base, "close": 10.6}, regime=label))
        assert entered is not None
        assert entered.exposure == scale
        assert entered.expected_return == 0.002
        assert entered.variance == pytest.approx(0.02**2)
        assert ("turbulent" in entered.reason) is (scale != 1.0)


# ---- momentum ------------------------------------------------------------------------------


def test_momentum_enters_beyond_entry_holds_until_below_exit_in_listed_regimes() -> None:
    strategy = Momentum(entry=2.0, exit=0.5, regimes="calm,normal")
    decide = strategy.decider()
    # velocity / sqrt(1e-6): 0.001 -> t = 1
    steps = [  # (velocity, regime, expected exposure)
        (0.003, NAN, None),   # no regime fitted yet: no view
        (0.001, 0.0, 0.0),    # t = 1 < entry
        (0.002, 0.0, 1.0),    # t = 2 reaches entry
        (0.0006, 1.0, 1.0),   # t = .6 > exit: held (normal is listed)
        (0.0004, 1.0, 0.0),   # t = .4 < exit: out
        (-0.0025, 0.0, 0.0),  # t = -2.5: no shorting
        (0.003, 2.0, 0.0),    # turbulent is not listed
        (0.003, 1.0, 1.0),
    ]
    for velocity, regime, exposure in steps:
        target = decide(_row(strategy, close=100.0, kalman_velocity=velocity,
                             kalman_velocity_var=1e-6, garch_vol=0.01, regime=regime))
        assert (None if target is None else target.exposure) == exposure, (velocity, regime)
        if exposure:
            assert target is not None
            assert target.expected_return == velocity
            assert target.variance == pytest.approx(1e-4)


def test_momentum_reverses_at_once_when_the_velocity_turns_beyond_entry() -> None:
    strategy = Momentum(entry=2.0, exit=0.5, allow_short=True)
    decide = strategy.decider()
    exposures = []
    for velocity in (0.0025, -0.003, -0.001, 0.0003, 0.0021):
        target = decide(_row(strategy, close=100.0, kalman_velocity=velocity,
                             kalman_velocity_var=1e-6, garch_vol=0.01, regime=0.0))
        assert target is not None
        exposures.append(target.exposure)
    # t: 2.5 long; -3 short (beyond entry the other way); -1 held; .3 out; 2.1 long
    assert exposures == [1.0, -1.0, -1.0, 0.0, 1.0]


def test_momentum_needs_the_higher_timeframe_velocity_to_agree() -> None:
    settings = SignalSettings()
    strategy = Momentum(entry=2.0, exit=0.5, trend="1h", settings=settings)
    decide = strategy.decider()
    exposures = []
    for trend in (NAN, -0.001, 0.001, -0.0001):
        target = decide(_row(strategy, close=100.0, kalman_velocity=0.003,
                             kalman_velocity_var=1e-6, garch_vol=0.01, regime=0.0,
                             trend_velocity=trend))
        assert target is not None
        exposures.append(target.exposure)
    # no closed hour yet; the hour points down; it agrees; it turns
    assert exposures == [0.0, 0.0, 1.0, 0.0]


def test_momentum_refuses_an_empty_regime_whitelist() -> None:
    for regimes in ("", " , "):
        built = build_strategy("momentum", {"regimes": regimes}, allow_short=False)
        assert "regime" in built.failure().message


# ---- mean_reversion ------------------------------------------------------------------------


def test_mean_reversion_by_hand() -> None:
    strategy = MeanReversion(entry=2.0, exit=0.5, time_stop=3)
    decide = strategy.decider()
    level = math.log(101.0)
    steps = [  # (z, regime, expected exposure, reason)
        (NAN, NAN, None, None),           # bar 0: no innovation yet
        (-2.5, NAN, None, None),          # no regime fitted yet: no view
        (-2.5, 1.0, 0.0, "flat"),         # entries only in the calm regime
        (-2.0, 0.0, 1.0, "below level"),  # z <= -entry
        (-1.0, 2.0, 1.0, "below level"),  # held whatever the regime
        (-0.6, 2.0, 1.0, "below level"),  # |z| > exit
        (-1.0, 0.0, 0.0, "time stop"),    # third bar in the position
        (-3.0, 0.0, 1.0, "below level"),
        (-0.5, 0.0, 0.0, "reverted"),     # |z| <= exit
        (-2.2, 0.0, 1.0, "below level"),
        (0.7, 0.0, 0.0, "reverted"),      # z crossed zero
        (2.5, 0.0, 0.0, "flat"),          # long-only: no short entry
    ]
    for z, regime, exposure, reason in steps:
        target = decide(_row(strategy, close=100.0, kalman_level=level,
                             kalman_innovation_z=z, regime=regime, garch_vol=0.01))
        assert (None if target is None else target.exposure) == exposure, (z, regime)
        if target is not None:
            assert target.reason == reason
        if exposure:
            assert target is not None
            # the gap back to the level spread over the time stop
            assert target.expected_return == pytest.approx((level - math.log(100.0)) / 3)
            assert target.variance == pytest.approx(1e-4)


def test_mean_reversion_shorts_above_the_level_when_allowed() -> None:
    strategy = MeanReversion(entry=2.0, exit=0.5, time_stop=10, allow_short=True)
    decide = strategy.decider()
    level = math.log(98.0)
    target = decide(_row(strategy, close=100.0, kalman_level=level, kalman_innovation_z=2.0,
                         regime=0.0, garch_vol=0.01))
    assert target is not None
    assert (target.exposure, target.reason) == (-1.0, "above level")
    assert target.expected_return == pytest.approx((level - math.log(100.0)) / 10)


def test_mean_reversion_in_price_space_states_its_edge_as_a_log_return() -> None:
    settings = SignalSettings(kalman=KalmanSettings("price", 1.0, KalmanNoise(0.1, 0.01, 0.5)))
    strategy = MeanReversion(entry=2.0, exit=0.5, time_stop=4, settings=settings)
    target = strategy.decider()(_row(strategy, close=100.0, kalman_level=102.0,
                                     kalman_innovation_z=-2.1, regime=0.0, garch_vol=0.01))
    assert target is not None
    assert target.expected_return == pytest.approx(2.0 / 100.0 / 4)


# ---- ma_cross ------------------------------------------------------------------------------


def test_ma_cross_sma_matches_sma_cross_and_carries_the_edge() -> None:
    frame = _frame(_CROSSING, _CROSSING, _CROSSING)
    strategy = MaCross("sma", 2, 3, allow_short=True)
    targets = _targets(strategy, frame)
    assert _exposures(targets) == [None, None, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0]
    velocity = Kalman(KalmanSettings()).batch(*(3 * [np.array(_CROSSING)]))[1]
    for i in range(2, 8):
        target = targets[i]
        assert target is not None
        assert target.expected_return == velocity[i]
        assert math.isnan(target.variance)  # no GARCH fit: the return's variance is unknown


def test_ma_cross_ema_by_hand() -> None:
    close = [10.0, 12.0, 14.0, 10.0, 8.0, 13.0]
    # EMA(2), alpha 2/3: 11 at bar 1, 11 + 2/3 * 3 = 13, 13 - 2/3 * 3 = 11, 11 - 2 = 9,
    # 9 + 2/3 * 4 = 11.667; EMA(3), alpha .5: 12 at bar 2, 11, 9.5, 11.25
    frame = _frame(close, close, close)
    strategy = MaCross("ema", 2, 3)
    columns = signal_columns(strategy, frame)
    assert np.allclose(columns[1], [NAN, 11, 13, 11, 9, 9 + 8 / 3], equal_nan=True)
    assert np.allclose(columns[2], [NAN, NAN, 12, 11, 9.5, 11.25], equal_nan=True)
    # 13 > 12 long; 11 = 11 after a side was taken: held; 9 < 9.5 flat; 11.67 > 11.25 long
    assert _exposures(_targets(strategy, frame)) == [None, None, 1.0, 1.0, 0.0, 1.0]


def test_ma_cross_on_the_kalman_price_averages_the_filtered_level() -> None:
    close = np.array([10.0, 12.0, 11.0, 13.0, 12.5])
    noise = KalmanNoise(0.1, 0.01, 0.5)
    settings = SignalSettings(kalman=KalmanSettings("price", 1.0, noise))
    strategy = MaCross("sma", 2, 3, kalman=True, settings=settings)
    columns = signal_columns(strategy, _frame(close, close, close))
    level = Kalman(KalmanSettings("price", 1.0, noise)).batch(close, close, close)[0]
    fast = [NAN, *((level[1:] + level[:-1]) / 2)]
    slow = [NAN, NAN, *((level[2:] + level[1:-1] + level[:-2]) / 3)]
    assert np.allclose(columns[1], fast, equal_nan=True, rtol=1e-12)
    assert np.allclose(columns[2], slow, equal_nan=True, rtol=1e-12)


# ---- multi_factor --------------------------------------------------------------------------


def _factor_row(strategy: Any, velocity: float, z: float, vol: float) -> list[float]:
    return _row(strategy, close=10.0, kalman_velocity=velocity, kalman_velocity_var=1e-4,
                kalman_innovation_z=z, garch_vol=vol)


def test_multi_factor_scores_weighted_cross_sectional_zscores_by_hand() -> None:
    strategy = MultiFactor(w_momentum=1.0, w_reversion=0.5, w_low_vol=0.5, step=0.5,
                           allow_short=True)
    # factors (velocity / sd, -z, -vol): A (2, -1, -.01), B (0, 1, -.02), C (-1, 0, -.03)
    rows = [_factor_row(strategy, 0.02, 1.0, 0.01), _factor_row(strategy, 0.0, -1.0, 0.02),
            _factor_row(strategy, -0.01, 0.0, 0.03)]
    factors = np.array([[2.0, -1.0, -0.01], [0.0, 1.0, -0.02], [-1.0, 0.0, -0.03]])
    zscores = (factors - factors.mean(axis=0)) / factors.std(axis=0)
    scores = zscores @ np.array([1.0, 0.5, 0.5])
    assert scores[0] > scores[1] > scores[2]  # A best, B middle, C worst
    deciders = strategy.deciders(3)
    for decide, row in zip(deciders, rows, strict=True):
        decide(row)
    second = [decide(row) for decide, row in zip(deciders, rows, strict=True)]
    assert [t.exposure if t else None for t in second] == [1.0, 0.0, -1.0]
    assert second[0] is not None
    assert (second[0].expected_return, second[0].variance) == (0.02, pytest.approx(0.01**2))
    long_only = MultiFactor(w_momentum=1.0, w_reversion=0.5, w_low_vol=0.5, step=0.5)
    deciders = long_only.deciders(3)
    for _ in range(2):
        last = [decide(row) for decide, row in zip(deciders, rows, strict=True)]
    assert [t.exposure if t else None for t in last] == [1.0, 0.0, 0.0]


def test_multi_factor_ranks_one_moments_cross_section_whatever_order_symbols_decide_in(
) -> None:
    strategy = MultiFactor(w_momentum=1.0, w_reversion=0.0, w_low_vol=0.0, step=0.5,
                           allow_short=True)
    before = [_factor_row(strategy, v, 0.0, 0.01) for v in (0.03, 0.0, -0.02)]  # A best
    after = [_factor_row(strategy, v, 0.0, 0.01) for v in (-0.03, 0.0, 0.02)]   # C best
    deciders = strategy.deciders(3)
    for rows in (before, after):  # as the engine takes a moment: every row shown, then each
        for decide, row in zip(deciders, rows, strict=True):  # symbol decides in turn
            decide.observe(row)  # type: ignore[attr-defined]
        last = [decide(row) for decide, row in zip(deciders, rows, strict=True)]
    # at the second moment B (0.0) is in the middle, between A (-0.03) and C (0.02). Were it
    # to rank before C had posted that moment's factors, it would read C's previous -0.02 and
    # rank first (+1); C, deciding last, ranks against the same board as A and B
    assert [t.exposure if t else None for t in last] == [-1.0, 0.0, 1.0]
    # a symbol deciding without being shown first posts its own row as it decides
    alone = strategy.deciders(2)
    assert alone[0](before[0]) is FLAT  # no cross-section yet: one symbol posted
    assert [t.exposure if t else None for t in (alone[1](before[2]), alone[0](before[0]))] == [
        -1.0, 1.0]


def test_multi_factor_maps_four_ranks_onto_steps() -> None:
    strategy = MultiFactor(w_momentum=1.0, w_reversion=0.0, w_low_vol=0.0, step=0.5,
                           allow_short=True)
    rows = [_factor_row(strategy, v, 0.0, 0.01) for v in (0.03, -0.02, 0.01, 0.0)]
    deciders = strategy.deciders(4)
    for _ in range(2):
        last = [decide(row) for decide, row in zip(deciders, rows, strict=True)]
    # ranks 3, 0, 2, 1 of 3: 2p - 1 = 1, -1, 1/3, -1/3, rounded to steps of .5
    assert [t.exposure if t else None for t in last] == [1.0, -1.0, 0.5, -0.5]


# ---- the model strategies on a price path, with fitted models bound -------------------------


def test_mean_reversion_on_a_price_path_reads_the_filters_z_and_the_models_it_is_given() -> None:
    close = np.array([100.0, 100.4, 100.9, 101.2, 101.6, 101.9, 97.0, 97.8, 99.5, 101.3, 101.8,
                      102.0])
    # a regime model under which every bar is calm, GARCH from bar 1
    calm = HmmParams([0.98, 0.01, 0.01], np.full((3, 3), 0.01) + np.eye(3) * 0.97,
                     [0.0, 0.0, 0.0], [100.0, 200.0, 400.0])
    garch = GarchParams(0.0, 0.1, 0.1, 0.8, first_variance=1.0)
    models = SymbolModels(hmm=Schedule((1,), (calm,)), garch=Schedule((1,), (garch,)))
    strategy = MeanReversion(entry=2.0, exit=0.5, time_stop=3)
    rows = np.column_stack(signal_columns(strategy, _frame(close, close, close), models)).tolist()
    names = signal_names(strategy)
    decide = strategy.decider()
    settings = KalmanSettings()
    level, _, _, _, z = _matrix_filter(np.log(close), settings.p0, settings.noise)
    position, held, seen = 0, 0, []
    for i, row in enumerate(rows):
        assert i == 0 or row[names.index("regime")] == 0.0  # calm from bar 1
        target = decide(row)
        if i == 0:  # no innovation on the first bar
            assert target is None
            continue
        # the README's rule, with the reference filter's z
        if position:
            held += 1
            if abs(z[i]) <= 0.5 or z[i] * position > 0 or held >= 3:
                position = 0
        elif z[i] <= -2.0:
            position, held = 1, 0
        assert target is not None
        assert target.exposure == position, i
        if position:
            expected = (level[i] - math.log(close[i])) / 3
            assert target.expected_return == pytest.approx(expected, rel=1e-9)
            assert target.variance == pytest.approx(row[names.index("garch_vol")] ** 2)
        seen.append(position)
    assert 1 in seen  # the drop at bar 6 is bought ...
    assert seen[-1] == 0  # ... and the trade ends
