"""Journal: the durable record of runs, decisions, orders, fills and equity."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt
from returns.result import Result

from aitrader.domain.audit import Decision, RunInfo, RunManifest, RunSummary
from aitrader.domain.risk import RiskState
from aitrader.domain.trading import Fill, Order, OrderEvent
from aitrader.ports.errors import JournalError


class Journal(Protocol):
    """Append-only run records; writes may be buffered until flush() or finish_run()."""

    def start_run(self, manifest: RunManifest) -> Result[None, JournalError]:
        """Record a new run's manifest; fails if the run id exists or the schema is missing."""
        ...

    def record_decision(self, run_id: str, decision: Decision) -> None:
        """Buffer one decision (with its gate verdicts)."""
        ...

    def record_order(self, run_id: str, order: Order) -> None:
        """Buffer an order's current state; the latest state of a client_order_id wins."""
        ...

    def record_event(self, run_id: str, seq: int, event: OrderEvent) -> None:
        """Buffer one order event (and its fill, if any); seq orders events within the run."""
        ...

    def record_equity(
        self, run_id: str, ts_ns: npt.NDArray[np.int64], equity: npt.NDArray[np.float64],
        cash: npt.NDArray[np.float64],
    ) -> None:
        """Buffer equity curve points: UTC epoch nanoseconds, equity and cash in dollars."""
        ...

    def flush(self) -> Result[None, JournalError]:
        """Write everything buffered in one transaction."""
        ...

    def finish_run(self, summary: RunSummary) -> Result[None, JournalError]:
        """Flush, then record how the run ended. If the buffered records cannot be written,
        none is, and the run is recorded as failed (with why) where the database allows."""
        ...

    def runs(self, limit: int) -> Result[Sequence[RunInfo], JournalError]:
        """The most recent runs, newest first."""
        ...

    def run(self, run_id: str) -> Result[RunInfo, JournalError]:
        """One run by id (code 'unknown_run' if absent)."""
        ...

    def orders(self, run_id: str, client_order_ids: Collection[str] | None = None
               ) -> Result[Sequence[Order], JournalError]:
        """A run's orders in submission order (only the named ones, given client_order_ids)."""
        ...

    def fills(self, run_id: str) -> Result[Sequence[Fill], JournalError]:
        """A run's fills in execution order."""
        ...

    def decisions(self, run_id: str, *, symbol: str | None = None,
                  client_order_id: str | None = None, since: datetime | None = None,
                  until: datetime | None = None) -> Result[Sequence[Decision], JournalError]:
        """A run's decisions in order; given filters, only one symbol's, the one behind an
        order, or those with since <= ts < until, chosen by the journal (explaining one order
        of a long run reads one decision, not all of them)."""
        ...

    def equity(
        self, run_id: str
    ) -> Result[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
                JournalError]:
        """A run's equity curve as (ts_ns, equity, cash) columns, oldest first."""
        ...

    def risk_state(self) -> Result[RiskState | None, JournalError]:
        """The account's durable trading state; None before one was ever saved."""
        ...

    def save_risk_state(self, state: RiskState, at: datetime) -> Result[None, JournalError]:
        """Replace the durable trading state at once (unbuffered), stamped at (UTC)."""
        ...
