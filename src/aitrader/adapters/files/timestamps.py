"""Timestamps of bar files: parsed vectorised to UTC epoch nanoseconds, DST-aware.

Naive times are US-Eastern exchange time (America/New_York); times with an offset or `Z` are
converted from it. Values that are all dates (ISO dates, YYYYMMDD, or midnight) are daily bars;
so are times of day (a vendor's 09:30 open or 16:00 close stamp) when 1D is asked for, or when
they are most often a day or more apart and all at one New York wall-clock time. A daily bar
spans its date's daily_session in the exchange calendar (closing at 13:00 on an early close).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from aitrader.adapters.files.columns import ColumnsError
from aitrader.adapters.files.zone import (
    DAY_NS,
    EXCHANGE_TZ,
    naive,
    utc_to_wall,
    wall_to_utc,
)
from aitrader.domain.market import Timeframe
from aitrader.domain.series import to_ns
from aitrader.ports.calendar import Calendar

IntArray = npt.NDArray[np.int64]

_HOUR_NS = 3_600 * 1_000_000_000
_NS_PER_US = 1_000
_YYYYMMDD = re.compile(r"^\d{8}$")
# An offset ends a datetime (longer than a bare date, whose '-02' would look like one).
_OFFSET = r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
_EXPECTED = "expected ISO 8601 like 2024-01-02 or 2024-01-02T09:30:00, or YYYYMMDD"


class RowError(Exception):
    """Row `row` (0-based, in file order) of a column is unusable for `problem`."""

    def __init__(self, row: int, problem: str) -> None:
        super().__init__(problem)
        self.row = row
        self.problem = problem


@attrs.frozen
class Stamps:
    """Parsed timestamps: local dates (midnight ns) when daily, else UTC epoch ns."""

    ns: IntArray
    is_daily: bool


def parse_timestamps(column: pa.ChunkedArray | pa.Array) -> Stamps:
    """Parse a timestamp column of any supported Arrow type; raise RowError or ColumnsError."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if array.null_count:
        raise RowError(_first(pc.is_null(array)), "timestamp is missing")
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _from_strings(pc.utf8_trim_whitespace(array))
    if pa.types.is_integer(kind):
        return Stamps(_from_yyyymmdd(pc.cast(array, pa.int64()).to_numpy(), array), True)
    if pa.types.is_date(kind):
        days = pc.cast(pc.cast(array, pa.date32()), pa.int32()).to_numpy()
        return Stamps(days.astype(np.int64) * DAY_NS, True)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return _from_naive(_ns(pc.cast(array, pa.timestamp("ns"))))
        return _from_utc(_ns(pc.cast(array, pa.timestamp("ns", "UTC"))))
    raise ColumnsError(f"timestamp column has type {kind}; {_EXPECTED}")


def _from_strings(text: pa.Array) -> Stamps:
    if len(text) == 0:
        return Stamps(np.empty(0, np.int64), False)
    if _YYYYMMDD.match(str(text[0].as_py())):
        shaped = pc.match_substring_regex(text, _YYYYMMDD.pattern)
        if not pc.all(shaped).as_py():
            row = _first(pc.invert(shaped))
            raise RowError(row, f"timestamp {text[row].as_py()!r} is not a YYYYMMDD date")
        return Stamps(_from_yyyymmdd(pc.cast(text, pa.int64()).to_numpy(), text), True)
    try:
        return _from_naive(_ns(pc.cast(text, pa.timestamp("ns"))))
    except pa.ArrowInvalid:
        pass
    try:
        return _from_utc(_ns(pc.cast(text, pa.timestamp("ns", "UTC"))))
    except pa.ArrowInvalid:
        pass
    has_offset = pc.and_(
        pc.greater(pc.utf8_length(text), 10), pc.match_substring_regex(text, _OFFSET)
    ).to_numpy(zero_copy_only=False)
    mixed = np.flatnonzero(has_offset != has_offset[0])
    if len(mixed):
        row = int(mixed[0])
        said = "has" if has_offset[row] else "lacks"
        raise RowError(row, f"timestamp {text[row].as_py()!r} {said} a UTC offset, unlike the "
                       "first row")
    target = pa.timestamp("ns", "UTC") if has_offset[0] else pa.timestamp("ns")
    row = first_failure(text, lambda part: pc.cast(part, target))
    raise RowError(row, f"cannot parse timestamp {text[row].as_py()!r} ({_EXPECTED})")


def _from_yyyymmdd(values: IntArray, source: pa.Array) -> IntArray:
    """Dates (midnight ns) from YYYYMMDD integers; raise RowError on an impossible date."""
    year, month, day = values // 10_000, values // 100 % 100, values % 100
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    after = (months + 1).astype("datetime64[D]")
    dates = first + (day - 1).astype("timedelta64[D]")
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (dates < after)
    if not bool(valid.all()):
        row = int(np.flatnonzero(~valid)[0])
        raise RowError(row, f"timestamp {source[row].as_py()!r} is not a YYYYMMDD date")
    return np.asarray(dates.astype("datetime64[ns]").view(np.int64), dtype=np.int64)


def _from_naive(wall: IntArray) -> Stamps:
    if bool(np.all(wall % DAY_NS == 0)):
        return Stamps(wall, True)
    return Stamps(localize(wall, "timestamp"), False)


def _from_utc(utc: IntArray) -> Stamps:
    wall = utc_to_wall(utc)
    if bool(np.all(wall % DAY_NS == 0)):
        return Stamps(wall, True)
    if bool(np.all(utc % DAY_NS == 0)):
        return Stamps(utc, True)
    return Stamps(utc, False)


def localize(wall: IntArray, what: str) -> IntArray:
    """UTC ns of exchange wall-clock ns; raise RowError for a time a DST change skips or repeats."""
    utc, invalid = wall_to_utc(wall)
    if bool(invalid.any()):
        row = int(np.flatnonzero(invalid)[0])
        moment = naive(int(wall[row])).isoformat(sep=" ")
        raise RowError(row, f"{what} {moment} does not exist or is ambiguous in "
                       f"{EXCHANGE_TZ.key} (a DST change); give it a UTC offset")
    return utc


def sessions(dates: IntArray, calendar: Calendar) -> tuple[IntArray, IntArray]:
    """UTC (ts_open, ts_close) of daily bars on these dates (New York midnights): each date's
    daily_session from the calendar, so a bar on an early-close day closes at 13:00 New York."""
    days, inverse = np.unique(dates, return_inverse=True)
    if len(days):  # the whole span's schedule in one go, not a year per lookup
        calendar.trading_days(naive(int(days[0])).date(), naive(int(days[-1])).date())
    spans = [calendar.daily_session(naive(int(day)).date()) for day in days.tolist()]
    opens = np.asarray([to_ns(span.start) for span in spans], dtype=np.int64)
    closes = np.asarray([to_ns(span.end) for span in spans], dtype=np.int64)
    at = inverse.reshape(-1)
    return opens[at], closes[at]


def session_dates(utc: IntArray, bar_label: str) -> IntArray:
    """New York session dates (local midnight ns) of daily bars stamped with a time of day.

    A stamp labelling the open falls on its session's date; one labelling the close ends the
    bar, so a close at midnight belongs to the day before.
    """
    wall = utc_to_wall(utc if bar_label == "open" else utc - _NS_PER_US)
    return wall - wall % DAY_NS


def looks_daily(utc: IntArray, steps: IntArray) -> bool:
    """Whether stamps with a time of day are daily bars: all at one New York wall-clock time
    and most often a day or more apart on that clock (in UTC a DST change makes one 23 hours).
    """
    spacing = _most_common(steps)
    if spacing is None or spacing < DAY_NS - _HOUR_NS:
        return False
    time_of_day = utc_to_wall(utc) % DAY_NS
    return bool(np.all(time_of_day == time_of_day[0]))


def infer_timeframe(steps: IntArray) -> Timeframe | None:
    """The intraday timeframe whose length is the most common positive step; None if no step.

    Raise ValueError when that spacing is not a supported intraday timeframe.
    """
    spacing = _most_common(steps)
    if spacing is None:
        return None
    for timeframe in Timeframe:
        if timeframe.is_intraday and timeframe.length.total_seconds() * 1e9 == spacing:
            return timeframe
    shown = timedelta(microseconds=spacing // 1_000)
    supported = ", ".join(t.value for t in Timeframe if t.is_intraday)
    raise ValueError(f"bars are most often {shown} apart, which is not a supported intraday "
                     f"timeframe ({supported}); dates alone make daily bars")


def _most_common(steps: IntArray) -> int | None:
    """The most common positive step (ties go to the shortest); None if there is none."""
    positive = steps[steps > 0]
    if len(positive) == 0:
        return None
    values, counts = np.unique(positive, return_counts=True)
    return int(values[int(np.argmax(counts))])


def first_failure(array: pa.Array, convert: Callable[[pa.Array], object]) -> int:
    """Index of the first element `convert` rejects (ArrowInvalid), given that one does."""
    lo, hi = 0, len(array)  # array[:lo] converts; array[:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            convert(array.slice(lo, mid - lo))
        except pa.ArrowInvalid:
            hi = mid
        else:
            lo = mid
    return lo


def _first(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False)))[0])


def _ns(array: pa.Array | pa.ChunkedArray) -> IntArray:
    return np.asarray(pc.cast(array, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
