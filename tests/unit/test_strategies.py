"""Strategies map signal rows to targets; the registry names every mistake."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from aitrader.domain.strategies import (
    STRATEGIES,
    batch_targets_of,
    build_strategy,
    signal_names,
    warmup,
)
from aitrader.domain.strategies.breakout import Breakout
from aitrader.domain.strategies.ma_cross import MaCross
from aitrader.domain.strategies.sma_cross import SmaCross

NAN = math.nan


def test_sma_cross_is_long_above_flat_below_and_silent_in_warmup() -> None:
    decide = SmaCross(2, 3).decider()
    assert decide([10.0, NAN, NAN]) is None
    long = decide([10.0, 11.0, 10.5])
    assert long is not None
    assert long.exposure == 1.0
    flat = decide([10.0, 10.0, 10.5])
    assert flat is not None
    assert flat.exposure == 0.0


def test_sma_cross_with_shorting_reverses_on_each_cross() -> None:
    decide = SmaCross(2, 3, allow_short=True).decider()
    exposures = [t.exposure for t in (decide([1.0, a, b]) for a, b in
                                      [(2.0, 1.0), (1.0, 2.0), (3.0, 2.0)]) if t]
    assert exposures == [1.0, -1.0, 1.0]


def test_sma_cross_row_is_close_then_fast_then_slow() -> None:
    assert signal_names(SmaCross(10, 50)) == ("close", "sma_fast", "sma_slow")
    assert warmup(SmaCross(10, 50)) == 49


def _breakout_rows(decider: Any) -> Any:
    """Breakout's rows also carry the regime, Kalman and GARCH columns; NaN = not fitted yet."""
    width = len(signal_names(Breakout()))
    return lambda row: decider([*row, *[math.nan] * (width - len(row))])


def test_breakout_enters_above_the_previous_high_and_exits_on_the_trailing_stop() -> None:
    decide = _breakout_rows(Breakout(entry=3, atr=2, atr_mult=2.0).decider())
    # row: close, donchian upper, donchian lower, atr
    assert decide([10.0, 10.5, 9.5, 0.5]) is None  # no previous channel yet
    assert decide([10.2, 10.5, 9.5, 0.5]).exposure == 0.0  # type: ignore[union-attr]
    entered = decide([11.0, 11.0, 9.5, 0.5])  # close 11 > previous upper 10.5
    assert entered is not None
    assert entered.exposure == 1.0
    held = decide([12.0, 12.0, 9.5, 0.5])  # best close 12, stop 11
    assert held is not None
    assert held.exposure == 1.0
    stopped = decide([10.9, 12.0, 9.5, 0.5])
    assert stopped is not None
    assert stopped.exposure == 0.0
    assert "stop" in stopped.reason


def test_breakout_goes_short_below_the_previous_low_only_when_allowed() -> None:
    row0, row1 = [10.0, 10.5, 9.5, 0.5], [9.0, 10.5, 9.0, 0.5]
    long_only = _breakout_rows(Breakout(entry=3, atr=2).decider())
    long_only(row0)
    assert long_only(row1).exposure == 0.0  # type: ignore[union-attr]
    shorting = _breakout_rows(Breakout(entry=3, atr=2, allow_short=True).decider())
    shorting(row0)
    assert shorting(row1).exposure == -1.0  # type: ignore[union-attr]


def test_parameters_from_the_command_line_are_typed_and_checked() -> None:
    built = build_strategy("sma_cross", {"fast": "5", "slow": "20"}, allow_short=False)
    assert isinstance(built, Success)
    assert built.unwrap().params() == {"fast": 5, "slow": 20, "allow_short": False}


@pytest.mark.parametrize(
    ("name", "params", "code", "fragment"),
    [
        ("nope", {}, "unknown_strategy", "choose from breakout, ma_cross, mean_reversion"),
        ("sma_cross", {"speed": "1"}, "unknown_parameter", "no parameter 'speed'"),
        ("sma_cross", {"fast": "abc"}, "invalid_parameter", "expected int"),
        ("sma_cross", {"fast": "0"}, "invalid_parameter", "at least 1"),
        ("sma_cross", {"fast": "60"}, "invalid_parameter", "must be shorter"),
        ("breakout", {"atr_mult": "-1"}, "invalid_parameter", "must be positive"),
    ],
)
def test_a_bad_strategy_or_parameter_is_named(
    name: str, params: dict[str, object], code: str, fragment: str
) -> None:
    built = build_strategy(name, params, allow_short=False)
    assert isinstance(built, Failure)
    assert built.failure().code == code
    assert fragment in built.failure().message


_FLOAT_PARAMS = [(name, key) for name, entry in STRATEGIES.items()
                 for key, spec in entry.params.items() if spec.kind is float]


@pytest.mark.parametrize(("name", "key"), _FLOAT_PARAMS)
@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "NaN", "1e400", math.inf, math.nan])
def test_a_float_parameter_must_be_finite(name: str, key: str, raw: object) -> None:
    built = build_strategy(name, {key: raw}, allow_short=False)
    assert isinstance(built, Failure), (name, key, raw)
    assert built.failure().code == "invalid_parameter"
    assert built.failure().message.startswith(f"parameter {key} must be a finite number")


def test_every_bundled_strategy_has_a_float_threshold_checked_for_finiteness() -> None:
    assert {name for name, _ in _FLOAT_PARAMS} >= {"breakout", "momentum", "mean_reversion",
                                                   "multi_factor"}


# SMA values drawn from a few levels so ties (fast == slow) and NaN warm-ups both occur
_LEVELS = st.sampled_from([NAN, 1.0, 2.0, 3.0])


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_LEVELS, _LEVELS), max_size=40), allow_short=st.booleans())
def test_sma_cross_batch_targets_equal_folding_the_decider(
        pairs: list[tuple[float, float]], allow_short: bool) -> None:
    strategy = SmaCross(2, 3, allow_short=allow_short)
    decide = strategy.decider()
    folded = [decide([10.0, fast, slow]) for fast, slow in pairs]
    columns = [np.full(len(pairs), 10.0), np.array([p[0] for p in pairs], dtype=np.float64),
               np.array([p[1] for p in pairs], dtype=np.float64)]
    series = strategy.batch_targets(columns)
    assert [series.target(i) for i in range(len(pairs))] == folded
    exposures = series.exposures()
    assert [None if math.isnan(e) else e for e in exposures.tolist()] == [
        None if t is None else t.exposure for t in folded]


def _key(target: Any) -> Any:
    """A target as comparable values (NaN edges compare equal)."""
    if target is None:
        return None
    return (target.exposure, repr(target.expected_return), repr(target.variance), target.reason)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(_LEVELS, _LEVELS, st.floats(-0.01, 0.01),
                                st.floats(0.0, 0.001), st.sampled_from([NAN, 0.02])),
                      max_size=30),
       allow_short=st.booleans(), kind=st.sampled_from(["sma", "ema"]))
def test_ma_cross_batch_targets_equal_folding_the_decider_edges_included(
        pairs: list[tuple[float, float, float, float, float]], allow_short: bool,
        kind: str) -> None:
    strategy = MaCross(kind, 2, 3, allow_short=allow_short)
    names = signal_names(strategy)
    at = {name: k for k, name in enumerate(names)}
    rows = []
    for fast, slow, velocity, velocity_var, garch in pairs:
        row = [10.0] * len(names)
        row[1], row[2] = fast, slow
        row[at["kalman_velocity"]], row[at["kalman_velocity_var"]] = velocity, velocity_var
        row[at["garch_vol"]] = garch
        rows.append(row)
    decide = strategy.decider()
    folded = [_key(decide(row)) for row in rows]
    columns = [np.array([r[k] for r in rows], dtype=np.float64) for k in range(len(names))]
    series = strategy.batch_targets(columns)
    assert [_key(series.target(i, row)) for i, row in enumerate(rows)] == folded


def test_only_strategies_whose_deciders_stand_alone_offer_a_batch_twin() -> None:
    assert batch_targets_of(SmaCross(), 3) is not None
    assert batch_targets_of(Breakout(), 1) is None  # no batch twin: folded bar by bar
    multi = build_strategy("multi_factor", {}, allow_short=False).unwrap()
    assert batch_targets_of(multi, 2) is None


def test_a_batch_twin_is_not_inherited_by_a_different_decider() -> None:
    class Contrarian(SmaCross):
        def decider(self) -> Any:  # its own decider: SmaCross's twin no longer mirrors it
            return SmaCross(self.fast, self.slow, allow_short=True).decider()

    class Forwarding:  # a wrapper passing attribute reads through
        def __init__(self, inner: SmaCross) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    class Renamed(SmaCross):  # nothing of the decider changed: the twin still holds
        pass

    assert batch_targets_of(Contrarian(), 1) is None
    assert batch_targets_of(Forwarding(SmaCross()), 1) is None  # type: ignore[arg-type]
    assert batch_targets_of(Renamed(), 1) is not None
