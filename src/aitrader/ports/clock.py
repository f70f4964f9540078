"""Clock and IdSource: time and identity arrive through ports, never from the domain."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The time of the run: wall-clock live, simulated in backtests."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...

    def wait_until(self, moment: datetime) -> None:
        """Return once now() >= moment: a real clock sleeps, a stepping clock jumps."""
        ...


class IdSource(Protocol):
    """Identifiers for runs and orders."""

    def run_id(self) -> str:
        """This run's id (the same on every call), unique within the journal."""
        ...

    def client_order_id(self, seq: int) -> str:
        """The id of this run's seq-th order: deterministic, never reused at the broker."""
        ...
