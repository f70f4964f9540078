"""The 24/7 calendar: one REGULAR session every UTC day, for markets that never close.

Daily bars keep the exchange's spans even here (`daily_session`): sources label them by date,
and a bar's stamps must not depend on the calendar a run judges it with (the cache holds one
copy for every calendar).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from aitrader.adapters.calendars.exchange import XnysCalendar
from aitrader.domain.market import Session, SessionWindow, require_utc


class ContinuousCalendar:
    """Every day is a trading day and every moment is in the regular session."""

    name = "24/7"

    def __init__(self, exchange: XnysCalendar | None = None) -> None:
        self._exchange = exchange

    def daily_session(self, day: date) -> SessionWindow:
        """The exchange's span for a daily bar dated day (XnysCalendar.daily_session)."""
        if self._exchange is None:
            self._exchange = XnysCalendar()
        return self._exchange.daily_session(day)

    def sessions_on(self, day: date) -> Sequence[SessionWindow]:
        start = datetime.combine(day, time(0), UTC)
        return (SessionWindow(Session.REGULAR, start, start + timedelta(days=1)),)

    def session_at(self, moment: datetime) -> Session:
        require_utc(moment, "moment")
        return Session.REGULAR

    def trading_days(self, start: date, end: date) -> Sequence[date]:
        return tuple(start + timedelta(days=n) for n in range((end - start).days + 1))

    def windows(self, start: datetime, end: datetime) -> Sequence[SessionWindow]:
        require_utc(start, "start")
        require_utc(end, "end")
        first = start.date() - timedelta(days=1)
        return tuple(window for day in self.trading_days(first, end.date())
                     for window in self.sessions_on(day)
                     if window.end > start and window.start < end)
