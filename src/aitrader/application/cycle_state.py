"""The trading cycle's per-symbol working state and its settings."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from aitrader.application.allocation import AllocationSettings
from aitrader.application.risk_control import RiskSettings
from aitrader.domain.market import Bar, Session
from aitrader.domain.portfolio import ExposureScaler
from aitrader.domain.risk import ExitPlan, OrderTypes
from aitrader.domain.strategies import Decider, Target
from aitrader.domain.trading import Order, Position
from aitrader.domain.values import Symbol

_ZERO = Decimal(0)


class BarSource(Protocol):
    """Anything that can materialise bar i as a domain Bar (a BarFrame, a single streamed bar)."""

    def bar(self, i: int) -> Bar: ...


class SymbolBook:
    """Per-symbol working state of the cycle."""

    __slots__ = ("atr", "atr_state", "bar", "close", "decider", "exit_ids", "exits_at",
                 "exposure", "i", "k", "open_orders", "opened_day", "position", "qty", "qty_f",
                 "retry_after", "seen_close", "shown", "source", "symbol", "target", "unknown",
                 "vol_n", "vol_var")

    def __init__(self, k: int, symbol: Symbol, decider: Decider) -> None:
        self.k = k
        self.symbol = symbol
        self.decider = decider
        self.exposure = 0.0
        self.close = 0.0
        # The account's signed quantity in this symbol, kept here after every fill so the
        # per-order arithmetic does not look the position up by symbol again and again.
        self.qty = _ZERO
        self.qty_f = 0.0
        self.position: Position | None = None  # the cycle's own ledger; None until a fill
        self.open_orders: dict[str, Order] = {}
        self.bar: Bar | None = None
        # The last bar processed and the last one shown to the broker, so held symbols can be
        # marked at the broker before another symbol's order is judged on buying power.
        self.source: BarSource | None = None
        self.i = -1
        self.shown: tuple[BarSource | None, int] = (None, -1)
        # Fills seen when a decision fell short of its target (capped or refused); the target
        # is pursued again once another fill has changed what the account can afford.
        self.retry_after: int | None = None
        self.unknown: set[str] = set()  # orders whose submit was ambiguous, until looked up
        self.target: Target | None = None  # the last target decided on (rebalancing re-sizes it)
        self.seen_close = 0.0  # the close _watch saw last (the previous bar's, when watching)
        self.vol_n = 0  # returns seen by the volatility estimate
        self.vol_var = 0.0  # EWMA of squared log returns
        # the day of the last fill that opened shares not yet paired with a close (day trades)
        self.opened_day: object = None
        # open exit legs (stop-loss, take-profit, trailing), in submission order: a dict, so
        # cancelling them is deterministic (a set of strings iterates in hash order)
        self.exit_ids: dict[str, None] = {}
        self.exits_at: datetime | None = None  # when the entry whose legs are due filled
        self.atr_state: tuple[int, float, float] | None = None
        self.atr = math.nan


@attrs.frozen
class CycleSettings:
    """Knobs of the cycle that are not strategy or risk parameters."""

    flush_before_submit: bool = False
    margin_multiplier: Decimal = Decimal(1)
    scaler: ExposureScaler = ExposureScaler()
    order_types: OrderTypes = OrderTypes()
    risk: RiskSettings = RiskSettings()
    allocation: AllocationSettings = AllocationSettings()
    # the session of a decision moment (from the Calendar port); None: every bar is REGULAR
    session_of: Callable[[datetime], Session] | None = None
    # bars in a year of the run's data (domain.metrics.periods_per_year); None: the
    # timeframe's regular-session XNYS figure
    periods_per_year: float | None = None
    vol_lookback: int = 20
    exits: ExitPlan = ExitPlan()
