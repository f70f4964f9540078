"""Sessions as columns: tag every bar with its session, and lay out the bars a day should have.

A bar belongs to the session its first instant (ts_open) falls in: a 09:25-09:30 bar is
pre-market, 09:30-09:35 regular. A daily bar opens at 09:30 New York time, so it is REGULAR on
a trading day and CLOSED on a holiday or weekend.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from aitrader.domain.market import Session, SessionWindow, Timeframe
from aitrader.domain.series import SESSION_CODES, from_ns, to_ns
from aitrader.ports.calendar import Calendar

EASTERN = ZoneInfo("America/New_York")
_CLOSED = SESSION_CODES[Session.CLOSED]


def _days(first_ns: int, last_ns: int) -> list[date]:
    lo = from_ns(first_ns).astimezone(EASTERN).date() - timedelta(days=1)
    hi = from_ns(last_ns).astimezone(EASTERN).date() + timedelta(days=1)
    return [lo + timedelta(days=k) for k in range((hi - lo).days + 1)]


def windows(calendar: Calendar, days: Iterable[date]) -> list[SessionWindow]:
    """Every session window of the days, in time order, without repeats."""
    seen: dict[tuple[int, int], SessionWindow] = {}
    for day in days:
        for window in calendar.sessions_on(day):
            seen.setdefault((to_ns(window.start), to_ns(window.end)), window)
    return [seen[key] for key in sorted(seen)]


def tag_sessions(calendar: Calendar, ts_open: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
    """The session code (SESSION_CODES) of each bar, by its opening instant; vectorised."""
    if len(ts_open) == 0:
        return np.zeros(0, dtype=np.int8)
    found = windows(calendar, _days(int(ts_open.min()), int(ts_open.max())))
    if not found:
        return np.full(len(ts_open), _CLOSED, dtype=np.int8)
    starts = np.asarray([to_ns(w.start) for w in found], dtype=np.int64)
    ends = np.asarray([to_ns(w.end) for w in found], dtype=np.int64)
    codes = np.asarray([SESSION_CODES[w.session] for w in found], dtype=np.int8)
    at = np.searchsorted(starts, ts_open, "right") - 1
    inside = (at >= 0) & (ts_open < ends[np.clip(at, 0, None)])
    return np.where(inside, codes[np.clip(at, 0, None)], _CLOSED).astype(np.int8)


def expected_closes(
    calendar: Calendar, timeframe: Timeframe, start: datetime, end: datetime,
    sessions: Sequence[Session] = (Session.REGULAR,),
) -> npt.NDArray[np.int64]:
    """The ts_close (UTC ns) of every bar the calendar says should exist in [start, end):
    daily bars on trading days (closing at the calendar's daily_session end: 16:00 New York
    time, 13:00 on an early close, as every source stamps them); intraday
    bars on a grid aligned to the timeframe in New York wall time, over the chosen sessions."""
    lo, hi = to_ns(start), to_ns(end)
    if timeframe is Timeframe.DAY_1:
        first = start.astimezone(EASTERN).date() - timedelta(days=1)
        last = end.astimezone(EASTERN).date()
        closes = [to_ns(calendar.daily_session(d).end)
                  for d in calendar.trading_days(first, last)]
        ts = np.asarray(closes, dtype=np.int64)
        return ts[(ts >= lo) & (ts < hi)]
    step = int(timeframe.length.total_seconds()) * 1_000_000_000
    grid: list[npt.NDArray[np.int64]] = []
    for window in windows(calendar, _days(lo, hi)):
        if window.session not in sessions:
            continue
        local = window.start.astimezone(EASTERN)
        midnight = to_ns(datetime.combine(local.date(), time(0), EASTERN).astimezone(UTC))
        w_lo, w_hi = to_ns(window.start), to_ns(window.end)
        first_open = midnight + ((w_lo - midnight) // step) * step
        opens = np.arange(first_open, w_hi, step, dtype=np.int64)
        grid.append(opens + step)
    if not grid:
        return np.zeros(0, dtype=np.int64)
    ts = np.unique(np.concatenate(grid))
    return ts[(ts >= lo) & (ts < hi)]
