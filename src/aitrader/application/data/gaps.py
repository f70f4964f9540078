"""Gaps: bars the calendar says should exist but the data lacks; backfilled, never invented.

Missing bars are grouped into runs of consecutive expected bars; each run is asked of the
vendor chain (the cache is bypassed: it holds what was fetched, including its holes). Only bars
that land exactly on a missing stamp and pass the gate are added; what no vendor has stays
reported as missing.
"""

from __future__ import annotations

from datetime import datetime

import attrs
import numpy as np
import numpy.typing as npt
from returns.result import Success

from aitrader.application.data.chain import VendorChain
from aitrader.application.data.sessions import expected_closes
from aitrader.application.data.source import gate
from aitrader.domain.market import Session, Timeframe
from aitrader.domain.series import BarFrame, GateReport, GateRules, from_ns
from aitrader.ports.calendar import Calendar

IntArray = npt.NDArray[np.int64]


@attrs.frozen
class Gap:
    """A run of consecutive missing bars: the first and last missing ts_close and how many."""

    first: datetime
    last: datetime
    bars: int


@attrs.frozen
class GapReport:
    """What was expected, what was there, what was filled and from where, what is missing."""

    expected: int
    present: int
    filled: int
    filled_by: tuple[str, ...]
    missing: tuple[Gap, ...]
    frame: BarFrame
    reports: tuple[GateReport, ...] = ()

    @property
    def missing_bars(self) -> int:
        return sum(g.bars for g in self.missing)


def find_missing(expected: IntArray, present: IntArray) -> IntArray:
    """The expected stamps not present."""
    return expected[~np.isin(expected, present)]


def runs(missing: IntArray, expected: IntArray) -> list[tuple[int, int, int]]:
    """Missing stamps grouped into runs of consecutive expected bars: (first, last, count)."""
    if len(missing) == 0:
        return []
    position = np.searchsorted(expected, missing)
    breaks = np.flatnonzero(np.diff(position) != 1) + 1
    found = []
    for chunk in np.split(np.arange(len(missing)), breaks):
        found.append((int(missing[chunk[0]]), int(missing[chunk[-1]]), len(chunk)))
    return found


def fill_gaps(
    frame: BarFrame, expected: IntArray, chain: VendorChain | None, adjustment: str,
    calendar: Calendar | None, rules: GateRules,
) -> GapReport:
    """Backfill frame's missing bars from the chain; report what stays missing."""
    missing = find_missing(expected, frame.ts_close)
    present = len(expected) - len(missing)
    filled_by: list[str] = []
    reports: list[GateReport] = []
    added: list[BarFrame] = []
    step = frame.timeframe.length
    if chain is not None:
        wanted_ns = set(missing.tolist())
        for first, last, _count in runs(missing, expected):
            start, end = from_ns(first), from_ns(last) + step / 2
            for name in chain.names:  # each vendor in turn, until the run is filled
                fetched = chain.fetch(frame.symbol, frame.timeframe, start, end, adjustment,
                                      only=name)
                if not isinstance(fetched, Success):
                    continue
                vendor, answer = fetched.unwrap()
                clean, report = gate(vendor, answer, calendar, rules)
                reports.append(report)
                hit = np.isin(clean.ts_close, np.asarray(sorted(wanted_ns), dtype=np.int64))
                if bool(hit.any()):
                    added.append(_rows(clean, hit))
                    filled_by.append(vendor)
                    wanted_ns -= set(clean.ts_close[hit].tolist())
                if not any(first <= t <= last for t in wanted_ns):
                    break
    merged = _merge(frame, added)
    still = find_missing(expected, merged.ts_close)
    gaps = tuple(Gap(from_ns(a), from_ns(b), n) for a, b, n in runs(still, expected))
    filled = len(missing) - len(still)
    return GapReport(len(expected), present, filled, tuple(dict.fromkeys(filled_by)), gaps,
                     merged, tuple(reports))


def _rows(frame: BarFrame, mask: npt.NDArray[np.bool_]) -> BarFrame:
    return BarFrame(frame.symbol, frame.timeframe, frame.ts_open[mask], frame.ts_close[mask],
                    frame.open[mask], frame.high[mask], frame.low[mask], frame.close[mask],
                    frame.volume[mask])


def _merge(frame: BarFrame, added: list[BarFrame]) -> BarFrame:
    if not added:
        return frame
    names = ("ts_open", "ts_close", "open", "high", "low", "close", "volume")
    columns = {n: np.concatenate([getattr(frame, n)] + [getattr(a, n) for a in added])
               for n in names}
    _, first = np.unique(columns["ts_close"], return_index=True)  # the data's own bar wins
    return BarFrame(frame.symbol, frame.timeframe, **{n: c[first] for n, c in columns.items()})


def expected_for(calendar: Calendar, timeframe: Timeframe, start: datetime, end: datetime,
                 extended: bool) -> IntArray:
    """The stamps expected over [start, end): regular session, or every session if extended."""
    sessions = ((Session.PRE, Session.REGULAR, Session.POST, Session.OVERNIGHT) if extended
                else (Session.REGULAR,))
    return expected_closes(calendar, timeframe, start, end, sessions)
