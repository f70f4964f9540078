"""Multi-timeframe: bars aggregated within exchange sessions, and seen only once closed.

Buckets are anchored at each regular session's open, not at UTC midnight: 5m, 15m and 1h bars
start at 09:30 ET (the last one of a session ends at its close, 16:00 or an early close), and
a daily bar is the whole session. A source bar belongs to the session whose (start, end]
holds its close; bars outside every session (extended hours) are left out. A bucket whose end
lies after the last source bar has not closed yet and is not emitted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aitrader.domain.market import Session, SessionWindow, Timeframe
from aitrader.domain.series.frame import BarFrame, IntArray, to_ns


def _nanos(timeframe: Timeframe) -> int:
    return int(timeframe.length.total_seconds()) * 1_000_000_000


def session_bounds(sessions: Sequence[SessionWindow]) -> tuple[IntArray, IntArray]:
    """Starts and ends (UTC ns) of the regular sessions among `sessions`, in time order."""
    regular = [w for w in sessions if w.session is Session.REGULAR]
    return (np.array([to_ns(w.start) for w in regular], dtype=np.int64),
            np.array([to_ns(w.end) for w in regular], dtype=np.int64))


def buckets(ts_close: IntArray, target: Timeframe, starts: IntArray,
            ends: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Rows inside a regular session, and each one's bucket open and close (UTC ns)."""
    ts = np.asarray(ts_close, dtype=np.int64)
    if not len(ends):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    which = np.searchsorted(ends, ts, side="left")  # first session ending at or after the bar
    inside = which < len(ends)
    which = np.minimum(which, len(ends) - 1)
    inside &= (ts > starts[which]) & (ts <= ends[which])
    rows = np.flatnonzero(inside)
    session = which[rows]
    if target is Timeframe.DAY_1:
        return rows, starts[session], ends[session]
    size = _nanos(target)
    bucket_open = starts[session] + (ts[rows] - 1 - starts[session]) // size * size
    return rows, bucket_open, np.minimum(bucket_open + size, ends[session])


def aggregate(frame: BarFrame, target: Timeframe, sessions: Sequence[SessionWindow]) -> BarFrame:
    """The frame's bars combined into `target` bars within the regular sessions given."""
    if frame.timeframe is target:
        return frame
    if frame.timeframe is Timeframe.DAY_1 or (
            target.is_intraday and _nanos(target) % _nanos(frame.timeframe)):
        raise ValueError(f"cannot aggregate {frame.timeframe.value} bars into {target.value} "
                         "bars (the target must be a whole multiple of the source)")
    starts, ends = session_bounds(sessions)
    ts = frame.ts_close
    rows, bucket_open, bucket_close = buckets(ts, target, starts, ends)
    last = int(ts[-1]) if len(ts) else 0
    keys = bucket_close
    # one group per distinct bucket (bars are in time order, so buckets are contiguous)
    boundary = np.flatnonzero(np.diff(keys)) + 1 if len(keys) else np.empty(0, np.int64)
    first = np.concatenate(([0], boundary)).astype(np.int64) if len(keys) else boundary
    closed = keys[first] <= last if len(keys) else np.zeros(0, bool)
    first_rows = rows[first]
    last_rows = rows[np.concatenate((boundary - 1, [len(rows) - 1])).astype(np.int64)] \
        if len(rows) else rows
    high = np.maximum.reduceat(frame.high[rows], first) if len(rows) else frame.high[:0]
    low = np.minimum.reduceat(frame.low[rows], first) if len(rows) else frame.low[:0]
    volume = np.add.reduceat(frame.volume[rows], first) if len(rows) else frame.volume[:0]
    return BarFrame(
        symbol=frame.symbol, timeframe=target,
        ts_open=bucket_open[first][closed] if len(rows) else frame.ts_open[:0],
        ts_close=keys[first][closed] if len(rows) else frame.ts_close[:0],
        open=frame.open[first_rows][closed], high=high[closed], low=low[closed],
        close=frame.close[last_rows][closed], volume=volume[closed])


def as_of(lower_ts_close: IntArray, higher_ts_close: IntArray) -> IntArray:
    """For each lower-timeframe bar, the index of the last higher-timeframe bar closed by then
    (ts_close <= the lower bar's ts_close), or -1: a higher bar is seen only after it closed."""
    found: IntArray = np.searchsorted(higher_ts_close, lower_ts_close, side="right") - 1
    return found
