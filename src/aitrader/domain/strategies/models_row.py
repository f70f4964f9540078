"""Shared by the model-driven strategies: their kernels, where each reads in a row, the edge."""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from aitrader.domain.market import Timeframe
from aitrader.domain.signals import Garch, HigherTimeframe, Kalman, Regime, SignalSettings
from aitrader.domain.strategies.base import SignalSpec


def kalman_spec(settings: SignalSettings) -> SignalSpec:
    return SignalSpec("kalman", Kalman(settings.kalman))


def regime_spec(settings: SignalSettings) -> SignalSpec:
    return SignalSpec("regime", Regime(settings.regime))


def garch_spec() -> SignalSpec:
    return SignalSpec("garch", Garch())


def trend_spec(settings: SignalSettings, timeframe: str) -> SignalSpec:
    """The Kalman filter on `timeframe` bars of the regular sessions, seen once closed."""
    return SignalSpec("trend", HigherTimeframe(Kalman(settings.kalman), Timeframe.parse(timeframe),
                                               settings.session_starts, settings.session_ends))


def timeframe_check(value: str) -> str | None:
    """A ParamSpec check: empty (off) or a timeframe name."""
    if not value:
        return None
    try:
        Timeframe.parse(value)
    except ValueError as error:
        return f"must be empty or a timeframe: {error}"
    return None


@attrs.frozen
class Columns:
    """Row positions of the model outputs, from the order the specs were declared in."""

    kalman: int = -1  # level; velocity, level_var, velocity_var, innovation_z follow
    regime: int = -1  # label; each state's probability follows
    garch: int = -1
    trend: int = -1  # a higher timeframe's Kalman outputs, in the kalman order

    @classmethod
    def of(cls, specs: Sequence[SignalSpec]) -> Columns:
        positions: dict[str, int] = {}
        at = 1  # the close comes first
        for spec in specs:
            if spec.prefix in ("kalman", "regime", "garch", "trend"):
                positions[spec.prefix] = at
            at += len(spec.kernel.outputs)
        return cls(**positions)


def regime_index(labels: Sequence[str], wanted: str, default: bool = False) -> frozenset[int]:
    """The state indexes named in a comma-separated list, or ValueError naming the bad one
    (and saying the list is the default one, which a model of other states may not fit)."""
    chosen = set()
    for name in (part.strip() for part in wanted.split(",")):
        if not name:
            continue
        if name not in labels:
            raise ValueError(f"regimes {wanted!r}{' (the default)' if default else ''} names "
                             f"unknown regime {name!r} (a {len(labels)}-state regime model has "
                             f"{', '.join(labels)})")
        chosen.add(labels.index(name))
    if not chosen:  # a whitelist of nothing would never hold a position
        raise ValueError(f"regimes must name at least one regime (choose from "
                         f"{', '.join(labels)})")
    return frozenset(chosen)


def return_edge(row: Sequence[float], at: Columns, space: str) -> tuple[float, float]:
    """Expected next-bar log return (the Kalman velocity) and that return's variance (GARCH's
    forecast squared): the edge a Kelly sizer reads. Before GARCH is fitted the variance is
    NaN (unknown), never the velocity's own variance: that is how sure the filter is of the
    trend, orders of magnitude below a return's variance, and a Kelly size read from it would
    bet the whole allowance on every trade."""
    velocity = row[at.kalman + 1]
    if space == "price":  # a velocity in dollars per bar, as a fraction of the close
        velocity = velocity / row[0]
    variance = math.nan
    if at.garch >= 0:
        variance = row[at.garch] * row[at.garch]
    return velocity, variance
