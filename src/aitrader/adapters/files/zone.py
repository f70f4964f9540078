"""New York exchange time <-> UTC for arrays of epoch nanoseconds, vectorised, via zoneinfo.

pandas' tz_localize with a zoneinfo zone asks for an offset per element (about 6 s for a
million bars); the offset only changes twice a year, so ask zoneinfo once per distinct day and
per element only on the days a DST change happens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EXCHANGE_TZ = ZoneInfo("America/New_York")
DAY_NS = 86_400 * 1_000_000_000
_NS_PER_US = 1_000
_EPOCH = datetime(1970, 1, 1)


def naive(ns: int) -> datetime:
    """The naive datetime of epoch ns (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // _NS_PER_US)


def _offset_ns(moment: datetime) -> int:
    offset = moment.utcoffset()
    assert offset is not None  # an aware datetime always has one
    return (offset.days * 86_400 + offset.seconds) * 1_000_000_000


def wall_to_utc(wall: IntArray) -> tuple[IntArray, BoolArray]:
    """UTC ns of New York wall-clock ns, and a mask of times a DST change skips or repeats."""
    offsets, changing, inverse = _day_offsets(wall, _local)
    utc = wall - offsets[inverse]
    invalid = np.zeros(len(wall), dtype=np.bool_)
    for row in np.flatnonzero(np.isin(inverse, changing)).tolist():
        local = naive(int(wall[row]))
        early = _offset_ns(local.replace(tzinfo=EXCHANGE_TZ, fold=0))
        late = _offset_ns(local.replace(tzinfo=EXCHANGE_TZ, fold=1))
        invalid[row] = early != late
        utc[row] = wall[row] - early
    return utc, invalid


def utc_to_wall(utc: IntArray) -> IntArray:
    """New York wall-clock ns of UTC ns."""
    offsets, changing, inverse = _day_offsets(utc, _from_utc)
    wall = utc + offsets[inverse]
    for row in np.flatnonzero(np.isin(inverse, changing)).tolist():
        wall[row] = utc[row] + _offset_ns(_from_utc(int(utc[row])))
    return wall


def _day_offsets(
    ns: IntArray, moment: Callable[[int], datetime]
) -> tuple[IntArray, IntArray, IntArray]:
    """Per distinct day of `ns`: its offset at midnight, which days change it, each row's day."""
    days, inverse = np.unique(ns // DAY_NS, return_inverse=True)
    offsets = np.empty(len(days), dtype=np.int64)
    changing: list[int] = []
    for i, day in enumerate(days.tolist()):
        offsets[i] = _offset_ns(moment(day * DAY_NS))
        if _offset_ns(moment((day + 1) * DAY_NS - _NS_PER_US)) != offsets[i]:
            changing.append(i)
    return offsets, np.asarray(changing, dtype=np.int64), inverse.astype(np.int64)


def _local(ns: int) -> datetime:
    return naive(ns).replace(tzinfo=EXCHANGE_TZ)


def _from_utc(ns: int) -> datetime:
    return naive(ns).replace(tzinfo=UTC).astimezone(EXCHANGE_TZ)
