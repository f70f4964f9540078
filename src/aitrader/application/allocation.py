"""Portfolio weights over time: an allocator re-run on a rebalancing schedule.

Weights are each symbol's share of the invested fraction (they sum to 1, or to `max_weight` x
symbols when that is less). Until `lookback` + 1 closes at moments every symbol has a bar are
known (among each symbol's last 2 x (`lookback` + 1): see aligned.py) the split is equal (and
capped). With a schedule (daily, weekly, monthly)
the weights are recomputed on the first bar of each new period, from the closes before it, and
every symbol whose position has drifted from its target by more than `drift` of equity is
re-sized on its next bar. Without one (`none`), the allocator runs once, on the first bar
after the lookback is filled (from the closes before it, as a rebalance does).

When every symbol has its closes but they do not meet at lookback + 1 moments (a symbol with
bars on fewer than about half the moments of the others' window), the equal split stays, and
a warning names the symbol, once per symbol per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt
import structlog

from aitrader.application.aligned import AlignedCloses
from aitrader.domain.portfolio import RISK_AVERSION, allocate

log = structlog.get_logger(__name__)
Rebalance = Literal["none", "daily", "weekly", "monthly"]
REBALANCE = ("none", "daily", "weekly", "monthly")


@attrs.frozen
class AllocationSettings:
    """The allocator and its schedule (see the README's portfolio section)."""

    allocator: str = "equal_weight"
    rebalance: Rebalance = "none"
    drift: Decimal = Decimal(0)
    lookback: int = 60
    max_weight: float = 1.0
    risk_aversion: float = RISK_AVERSION

    @property
    def is_static(self) -> bool:
        """Equal, uncapped weights that never move: the cycle needs no allocation at all (a
        cap below 1 may bind on the equal split, so a capped one is an Allocation)."""
        return (self.allocator == "equal_weight" and self.rebalance == "none"
                and self.max_weight >= 1.0)


def _period(day: date, rebalance: Rebalance) -> tuple[int, ...]:
    if rebalance == "daily":
        return (day.toordinal(),)
    if rebalance == "weekly":
        iso = day.isocalendar()
        return (iso.year, iso.week)
    if rebalance == "monthly":
        return (day.year, day.month)
    return ()


class Allocation:
    """The current weights of n symbols, and which symbols are due for a rebalance check."""

    def __init__(self, settings: AllocationSettings, n: int, names: Sequence[str] = ()) -> None:
        self.settings = settings
        self._names = [str(x) for x in names] or [f"#{k}" for k in range(n)]
        self._warned: set[int] = set()
        # the equal split until the lookback is filled: capped like every later split
        self.weights = [float(w) for w in _equal_split(n, settings.max_weight)]
        self.shares = [_share(w) for w in self.weights]
        self.due = [False] * n
        # twice what an estimate reads: room for the shared moments when a symbol misses bars
        self._keep = 2 * (settings.lookback + 1)
        self._closes = AlignedCloses(n, self._keep)
        self._symbols = list(range(n))
        self._period: tuple[int, ...] | None = None
        self._once_done = False
        self.history: list[tuple[date, tuple[float, ...]]] = []

    def observe(self, k: int, close: float, day: date, ts_ns: int) -> None:
        """Record symbol k's close; on a new period recompute the weights first.

        The first symbol to reach a new period recomputes from every symbol's closes up to the
        previous bar: the others have not seen this bar yet, and adding only its own close
        would pair its return of today with theirs of yesterday."""
        s = self.settings
        if s.rebalance == "none":
            # once, on the first bar after the lookback is filled, before any symbol decides
            # on it: filled by a later symbol's close, the weights would reach the symbols
            # that had decided on that bar one bar later than the rest
            if not self._once_done and self._ready():
                self._once_done = True
                self._recompute(day)
            self._closes.observe(k, ts_ns, close)
            return
        period = _period(day, s.rebalance)
        if period != self._period:
            self._period = period
            self._recompute(day)
            self.due = [True] * len(self.due)
        self._closes.observe(k, ts_ns, close)

    def _shared(self) -> npt.NDArray[np.float64]:
        """The last lookback + 1 closes at moments every symbol has (a row a moment)."""
        return self._closes.shared(self._symbols, self.settings.lookback + 1)

    def _ready(self) -> bool:
        wanted = self.settings.lookback + 1  # (counts first: cheap, and most bars stop there)
        if not all(self._closes.count(k) >= wanted for k in self._symbols):
            return False
        shared = len(self._shared())
        if shared < wanted and self._cannot_fill():
            self._warn_short(shared)
        return shared == wanted

    def _cannot_fill(self) -> bool:
        """The shared window is short for want of shared moments, not of bars yet: every
        symbol holds all the closes kept for it (twice the window) and an allocator that
        estimates is waiting on them. (A window one moment short while the closes are still
        coming fills on a later bar: no warning for that.)"""
        return self.settings.allocator != "equal_weight" and all(
            self._closes.count(k) >= self._keep for k in self._symbols)

    def _warn_short(self, shared: int) -> None:
        """Name, once each, the symbols whose missing bars keep the window short: those with
        bars at fewer than lookback + 1 of the moments every symbol's window spans (else the
        one missing most of them)."""
        wanted = self.settings.lookback + 1
        present = self._closes.coverage(self._symbols)
        short = [k for k in self._symbols if present[k] < wanted] or \
            [min(self._symbols, key=lambda k: present[k])]
        for k in short:
            if k not in self._warned:
                self._warned.add(k)
                log.warning("allocation.too_few_shared_bars", symbol=self._names[k],
                            shared=shared, needed=wanted, present=present[k],
                            reason="the symbol has no bar at too many of the moments the "
                                   "others have: the equal split is kept")

    def _recompute(self, day: date) -> None:
        s = self.settings
        closes = self._shared() if s.allocator != "equal_weight" else None
        if closes is not None and len(closes) < s.lookback + 1 and self._cannot_fill():
            self._warn_short(len(closes))  # (not while the closes are still coming)
        if closes is not None and len(closes) == s.lookback + 1:
            returns = closes[1:] / closes[:-1] - 1.0
            weights = allocate(s.allocator, returns, 1.0, s.max_weight, s.risk_aversion)
        else:
            weights = _equal_split(len(self._symbols), s.max_weight)
        self.weights = [float(w) for w in weights]
        self.shares = [_share(w) for w in self.weights]
        self.history.append((day, tuple(self.weights)))


def _equal_split(n: int, max_weight: float) -> npt.NDArray[np.float64]:
    """n equal weights of the invested fraction, each at most max_weight."""
    return allocate("equal_weight", np.zeros((0, n)), 1.0, max_weight)


def _share(weight: float) -> Decimal:
    """A weight as a Decimal share, to 1e-8 (sizes round down from there)."""
    return Decimal(repr(weight)).quantize(Decimal("1e-8"), rounding=ROUND_DOWN)
