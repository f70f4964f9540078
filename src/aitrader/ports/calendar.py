"""Calendar: the exchange's trading days and sessions (holidays, early closes, DST)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from aitrader.domain.market import Session, SessionWindow


class Calendar(Protocol):
    """An exchange calendar (XNYS by default; `24/7` for continuous markets)."""

    @property
    def name(self) -> str:
        """The calendar's name as configured (XNYS, 24/7, ...)."""
        ...

    def sessions_on(self, day: date) -> Sequence[SessionWindow]:
        """The sessions of one exchange day (its local date), in time order; empty when closed."""
        ...

    def daily_session(self, day: date) -> SessionWindow:
        """The span of a daily bar dated day (its New York date): the exchange's regular
        session, so 13:00 New York on an early close; 09:30-16:00 when the exchange is closed.
        The same on every calendar: a daily bar's stamps do not depend on the one judging it."""
        ...

    def session_at(self, moment: datetime) -> Session:
        """The session an aware UTC moment falls in (CLOSED outside every session)."""
        ...

    def trading_days(self, start: date, end: date) -> Sequence[date]:
        """Days with a regular session between start and end, both inclusive, in order."""
        ...

    def windows(self, start: datetime, end: datetime) -> Sequence[SessionWindow]:
        """Every session window overlapping [start, end) (aware UTC), in time order; for
        tagging many bars at once (searchsorted over the window bounds)."""
        ...
