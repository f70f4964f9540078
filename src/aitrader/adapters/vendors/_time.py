"""Vendor time to the system's: aware UTC nanoseconds, bars labelled at their close."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from aitrader.domain.market import Timeframe
from aitrader.domain.series import RawBars, Split, to_ns
from aitrader.domain.series.normalise import Adjustment, Dividend, adjust, order_and_dedupe
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar

EASTERN = ZoneInfo("America/New_York")
_OPEN = time(9, 30)
_OVERNIGHT = time(20, 0)  # the overnight session into the next trading day opens
NS = 1_000_000_000


def day_label_ns(day: date) -> int:
    """A stamp that labels a daily bar with its trading day (09:30 New York, as UTC ns);
    `build` gives the bar its span from the calendar."""
    return to_ns(datetime.combine(day, _OPEN, EASTERN))


def day_start_ns(day: date) -> int:
    """The start of `day`'s trading day, as UTC ns: 20:00 New York time the evening before,
    when the overnight session leading into it opens. A split or dividend takes effect there:
    trades of the ex-date's overnight and pre-market sessions are already at the new price,
    so the event acts from the day's first extended-hours bar, not from the regular open (nor
    from midnight, which falls inside that overnight session)."""
    return to_ns(datetime.combine(day - timedelta(days=1), _OVERNIGHT, EASTERN))


def eastern_date(ns: int) -> date:
    """The New York date of a UTC instant."""
    return datetime.fromtimestamp(ns / NS, UTC).astimezone(EASTERN).date()


def parse_eastern(text: str) -> int:
    """'YYYY-MM-DD HH:MM:SS' New York wall time as UTC ns."""
    return to_ns(datetime.fromisoformat(text).replace(tzinfo=EASTERN))


def parse_utc(text: str) -> int:
    """An ISO datetime (naive = UTC, 'Z' accepted) as UTC ns."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ns(moment)


def build(
    symbol: Symbol, timeframe: Timeframe, stamps: Sequence[int],
    columns: Sequence[Sequence[float]], start: datetime, end: datetime, calendar: Calendar,
    adjustment: Adjustment = Adjustment.RAW, splits: tuple[Split, ...] = (),
    dividends: tuple[Dividend, ...] = (),
) -> RawBars:
    """Vendor rows to RawBars: stamps (UTC ns) label the bar's open, or a daily bar's trading
    day (every vendor here does so: its span is the calendar's daily_session, which closes at
    13:00 New York on an early close); ordered, deduplicated (last wins), adjusted as asked,
    and windowed to start <= ts_close < end."""
    ts = np.asarray(stamps, dtype=np.int64)
    if timeframe is Timeframe.DAY_1:
        days = [eastern_date(int(t)) for t in ts.tolist()]
        if days:  # the whole span's schedule in one go, not a year per lookup
            calendar.trading_days(min(days), max(days))
        spans = [calendar.daily_session(day) for day in days]
        ts_open = np.asarray([to_ns(s.start) for s in spans], dtype=np.int64).reshape(-1)
        ts_close = np.asarray([to_ns(s.end) for s in spans], dtype=np.int64).reshape(-1)
    else:
        ts_open = ts
        ts_close = ts + int(timeframe.length.total_seconds()) * NS
    o, h, low, c, v = (np.asarray(col, dtype=np.float64).reshape(-1) for col in columns)
    raw = order_and_dedupe(RawBars(symbol, timeframe, ts_open, ts_close, o, h, low, c, v))
    raw = adjust(raw, splits, dividends, adjustment)
    keep: npt.NDArray[np.bool_] = (raw.ts_close >= to_ns(start)) & (raw.ts_close < to_ns(end))
    return raw.take(keep)


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())
