"""The New York Stock Exchange calendar, from pandas-market-calendars' NYSE schedule.

Per trading day (times US-Eastern, converted to UTC with the day's DST offset):
OVERNIGHT 20:00 the evening before -> 04:00, PRE 04:00 -> 09:30, REGULAR 09:30 -> 16:00 (13:00 on
early-close days), POST 16:00 -> 20:00 (13:00 -> 17:00 on early-close days). The overnight
session belongs to the trading day it leads into, and only exists when the calendar day before
is a trading day too or a Sunday (the Sunday-night session); every other moment is CLOSED.
A daily bar spans the day's regular session (`daily_session`): it closes at 13:00 on an early
close, as the regular session does.
Schedules are computed for whole calendar years (a span of them in one call) and kept, and so
is each day's list of windows (a streamed bar asks for its session once a bar: ~3 µs instead
of ~0.5 ms).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pandas_market_calendars as mcal

from aitrader.domain.market import Session, SessionWindow, require_utc

EASTERN = ZoneInfo("America/New_York")
OVERNIGHT_START = time(20, 0)
REGULAR_OPEN, REGULAR_CLOSE = time(9, 30), time(16, 0)
_SUNDAY = 6
# pandas-market-calendars names the NYSE calendar with extended hours "NYSE"; its "XNYS" (an
# exchange_calendars mirror) has no pre/post columns.
_SOURCE = "NYSE"
# pandas' nanosecond timestamps end in 1677 and 2262: whole years beyond have no schedule, and
# neither has 2261, whose early closes pandas-market-calendars cannot lay out (asked for in one
# span with other years, it drops the early closes of every year of the span).
_FIRST_YEAR, _LAST_YEAR = 1678, 2260


def _eastern(day: date, at: time) -> datetime:
    return datetime.combine(day, at, EASTERN).astimezone(UTC)


class XnysCalendar:
    """NYSE holidays, early closes and extended sessions; years computed on first use."""

    name = "XNYS"

    def __init__(self) -> None:
        self._source = mcal.get_calendar(_SOURCE)
        self._years: set[int] = set()
        self._days: dict[date, tuple[datetime, datetime, datetime, datetime]] = {}
        self._sorted: list[date] = []
        self._windows: dict[date, tuple[SessionWindow, ...]] = {}

    def _load(self, first: int, last: int | None = None) -> None:
        """Compute the schedule of the years first..last not yet known, in one call (one
        year costs about as much as ten: pandas-market-calendars pays per call)."""
        missing = [year for year in range(first, (last or first) + 1) if year not in self._years]
        if not missing:
            return
        # Years beyond what pandas can lay out have no session: a bar there is outside all.
        low, high = max(min(missing), _FIRST_YEAR), min(max(missing), _LAST_YEAR)
        if low <= high:
            schedule = self._source.schedule(f"{low}-01-01", f"{high}-12-31", start="pre",
                                             end="post")
            columns = [[moment.replace(tzinfo=UTC) for moment in
                        pd.DatetimeIndex(schedule[name]).tz_convert("UTC").to_pydatetime()]
                       for name in ("pre", "market_open", "market_close", "post")]
            for label, *times in zip(schedule.index, *columns, strict=True):
                self._days[label.date()] = tuple(times)
            self._years.update(range(low, high + 1))
            self._sorted = sorted(self._days)
        self._years.update(missing)

    def _times(self, day: date) -> tuple[datetime, datetime, datetime, datetime] | None:
        self._load(day.year)
        return self._days.get(day)

    def is_trading_day(self, day: date) -> bool:
        """Whether day has a regular session."""
        return self._times(day) is not None

    def daily_session(self, day: date) -> SessionWindow:
        """The span of a daily bar dated day: its regular session (to 13:00 on an early
        close), or 09:30-16:00 New York on a day the exchange is closed (the gate judges
        such a bar)."""
        times = self._times(day)
        if times is None:
            return SessionWindow(Session.REGULAR, _eastern(day, REGULAR_OPEN),
                                 _eastern(day, REGULAR_CLOSE))
        return SessionWindow(Session.REGULAR, times[1], times[2])

    def sessions_on(self, day: date) -> Sequence[SessionWindow]:
        windows = self._windows.get(day)
        if windows is None:
            windows = self._windows[day] = self._build(day)
        return windows

    def _build(self, day: date) -> tuple[SessionWindow, ...]:
        times = self._times(day)
        if times is None:
            return ()
        pre, open_, close, post = times
        bounds = []
        eve = day - timedelta(days=1)
        if eve.weekday() == _SUNDAY or self._times(eve) is not None:
            bounds.append((Session.OVERNIGHT, _eastern(eve, OVERNIGHT_START), pre))
        bounds += [(Session.PRE, pre, open_), (Session.REGULAR, open_, close),
                   (Session.POST, close, post)]
        # The schedule has days without some sessions: a late open with no pre-market (09:33
        # on 2001-09-17), a close with no after-hours (14:00 on 1990-12-24).
        return tuple(SessionWindow(session, start, end) for session, start, end in bounds
                     if end > start)

    def session_at(self, moment: datetime) -> Session:
        require_utc(moment, "moment")
        local = moment.astimezone(EASTERN).date()
        for day in (local, local + timedelta(days=1)):
            for window in self.sessions_on(day):
                if window.contains(moment):
                    return window.session
        return Session.CLOSED

    def trading_days(self, start: date, end: date) -> Sequence[date]:
        self._load(start.year, end.year)
        low = bisect.bisect_left(self._sorted, start)
        high = bisect.bisect_right(self._sorted, end)
        return tuple(self._sorted[low:high])

    def windows(self, start: datetime, end: datetime) -> Sequence[SessionWindow]:
        """Every session window overlapping [start, end), in time order."""
        require_utc(start, "start")
        require_utc(end, "end")
        first = start.astimezone(EASTERN).date()
        last = end.astimezone(EASTERN).date() + timedelta(days=1)
        return tuple(window for day in self.trading_days(first, last)
                     for window in self.sessions_on(day)
                     if window.end > start and window.start < end)
