"""StreamGate: the gatekeeper for live bars, one bar at a time, with the batch gate's rules.

A live feed cannot wait for a batch, so each new bar is judged by the domain's batch gate
(`gate_verdicts`) over a tiny window: the few earlier bars of its symbol that decide its verdict,
then the bar itself. The window holds, in arrival order, the last bar the jump rule accepted (its
reference close), the last sound bar if the jump rule flagged it (a level shift is confirmed by
the bar after it), the first bar holding the highest ts_close so far (duplicates and out-of-order
stamps are judged against it) and the previous bar (a frozen feed repeats it). Those four carry
everything the batch gate would know about the bars before, so the verdicts and reasons are the
batch gate's over the whole feed; a property test holds the two together.

A live stream announces no splits, so a split's first bar is quarantined as a jump and the next
confirms the new level (a split costs one bar, as in a feed with no split list); bars are not
judged against a validation moment (they arrive as they close).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
from returns.result import Success

from aitrader.application.data.sessions import tag_sessions
from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.series import (
    ALL_REASONS,
    GateReport,
    GateRules,
    Quarantined,
    RawBars,
    gate_verdicts,
    reason_counts,
    to_ns,
)
from aitrader.domain.values import Symbol
from aitrader.ports.bar_cache import BarStore
from aitrader.ports.calendar import Calendar


@attrs.frozen
class Row:
    """One bar of a symbol's feed as the gate sees it: floats and epoch nanoseconds."""

    ts_open: int
    ts_close: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    session: int = 0


@attrs.frozen
class _Seen:
    arrival: int
    row: Row


@attrs.define
class SymbolGate:
    """One symbol's incremental gate: `judge` returns the batch gate's reason code for the next
    row of the feed (0: it passes)."""

    symbol: Symbol
    timeframe: Timeframe
    rules: GateRules
    sessions: bool = False
    arrivals: int = 0
    _accepted: _Seen | None = None  # the jump rule's reference
    _jumped: _Seen | None = None  # the last sound row, when the jump rule flagged it
    _highest: _Seen | None = None  # the first row holding the highest ts_close
    _previous: _Seen | None = None

    def judge(self, row: Row) -> int:
        """The reason code (index into ALL_REASONS) of `row`, given every row judged before."""
        seen = _Seen(self.arrivals, row)
        self.arrivals += 1
        context = {s.arrival: s for s in (self._accepted, self._jumped, self._highest,
                                          self._previous) if s is not None}
        window = [context[k].row for k in sorted(context)] + [row]
        ints = np.asarray([(r.ts_open, r.ts_close) for r in window], dtype=np.int64)
        floats = np.asarray([(r.open, r.high, r.low, r.close, r.volume) for r in window],
                            dtype=np.float64)
        raw = RawBars(self.symbol, self.timeframe, ints[:, 0], ints[:, 1], floats[:, 0],
                      floats[:, 1], floats[:, 2], floats[:, 3], floats[:, 4])
        tags = np.asarray([r.session for r in window], dtype=np.int8) if self.sessions else None
        codes, sound, jumped = gate_verdicts(raw, tags, self.rules)
        if sound[-1]:
            if jumped[-1]:
                self._jumped = seen
            else:
                self._accepted, self._jumped = seen, None
        if self._highest is None or row.ts_close > self._highest.row.ts_close:
            self._highest = seen
        self._previous = seen
        return int(codes[-1])


def row_of(bar: Bar, session: int = 0) -> Row:
    """A domain Bar as a gate row (prices and volume as floats, the float world's view)."""
    return Row(to_ns(bar.ts_open), to_ns(bar.ts_close), float(bar.open.value),
               float(bar.high.value), float(bar.low.value), float(bar.close.value),
               float(bar.volume), session)


class StreamGate:
    """Gates every bar of a live feed: `admit(bar)` is true for a bar that may pass on; a bar
    that fails is quarantined with its reason, counted and recorded in the store (if any)."""

    def __init__(self, calendar: Calendar | None, timeframe: Timeframe,
                 rules: GateRules | None = None, store: BarStore | None = None,
                 run_id: str | None = None, source: str = "stream",
                 notify: Callable[[Quarantined], None] | None = None) -> None:
        self._calendar = calendar
        self._timeframe = timeframe
        self._rules = attrs.evolve(rules or GateRules(), as_of_ns=None, max_age_ns=None, splits=())
        self._store = store
        self._run_id = run_id
        self._source = source
        self._notify = notify
        self._gates: dict[Symbol, SymbolGate] = {}
        self.passed = 0
        self.quarantined: list[Quarantined] = []
        self.unrecorded: list[str] = []  # why a quarantined bar could not be journaled

    def admit(self, bar: Bar) -> bool:
        """Judge `bar` after every earlier bar of its symbol; true when it passes."""
        gate = self._gates.get(bar.symbol)
        if gate is None:
            gate = SymbolGate(bar.symbol, self._timeframe, self._rules,
                              sessions=self._calendar is not None)
            self._gates[bar.symbol] = gate
        session = 0
        if self._calendar is not None:
            session = int(tag_sessions(self._calendar,
                                       np.asarray([to_ns(bar.ts_open)], dtype=np.int64))[0])
        row = gate.arrivals
        code = gate.judge(row_of(bar, session))
        if code == 0:
            self.passed += 1
            return True
        self.reject(Quarantined(bar.symbol, row, bar.ts_close, ALL_REASONS[code]))
        return False

    def reject(self, item: Quarantined) -> None:
        """Quarantine a bar judged elsewhere (a message that could not even become a Bar)."""
        self.quarantined.append(item)
        if self._notify is not None:
            self._notify(item)
        if self._store is None:
            return
        report = GateReport(item.symbol, self._source, 1, 0, (item,))
        recorded = self._store.record_quarantine(self._run_id, [report])
        if not isinstance(recorded, Success):
            self.unrecorded.append(recorded.failure().message)

    @property
    def counts(self) -> dict[str, int]:
        """Quarantined bars by reason, in reason order."""
        return reason_counts(self.quarantined)
