"""The gatekeeper: no bar reaches a strategy before it has passed every check.

Checks, in the order a bar's reason is chosen: OHLC integrity and finite positive prices,
non-negative volume, a close after the open, duplicate and out-of-order timestamps (against every
earlier bar of the feed), a bar outside every session of its calendar, a bar not yet knowable
(closing after the `as_of` moment), a bar that repeats the previous one exactly (a frozen feed),
and a jump from the previous close larger than `max_jump` that no split explains. Failing bars
are quarantined with their reason; the report counts them. A feed whose newest passing bar is
older than `max_age_ns` at `as_of_ns` is reported stale (the caller holds; nothing is invented).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs
import numpy as np
import numpy.typing as npt

from aitrader.domain.market import Session, Timeframe
from aitrader.domain.series.checks import REASONS, bar_reason_codes, first_reason
from aitrader.domain.series.frame import BarFrame, column, from_ns, require_equal_lengths
from aitrader.domain.values import Symbol

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int8]

SESSION_CODES: Mapping[Session, int] = {s: k for k, s in enumerate(Session)}
"""Sessions as small integers, for columns of session tags (Session enum order)."""
_CLOSED = SESSION_CODES[Session.CLOSED]

GATE_REASONS: tuple[str, ...] = (
    "outside every session",
    "closes after the moment of validation (not yet knowable)",
    "repeats the previous bar exactly (stale feed)",
    "jumps from the previous close by more than the limit, and no split explains it",
)
ALL_REASONS: tuple[str, ...] = REASONS + GATE_REASONS


@attrs.frozen
class RawBars:
    """One symbol's bars as a vendor or a file delivered them: any order, unchecked."""

    symbol: Symbol
    timeframe: Timeframe
    ts_open: IntArray = column(np.int64, read_only=False)  # type: ignore[assignment]
    ts_close: IntArray = column(np.int64, read_only=False)  # type: ignore[assignment]
    open: FloatArray = column(np.float64, read_only=False)  # type: ignore[assignment]
    high: FloatArray = column(np.float64, read_only=False)  # type: ignore[assignment]
    low: FloatArray = column(np.float64, read_only=False)  # type: ignore[assignment]
    close: FloatArray = column(np.float64, read_only=False)  # type: ignore[assignment]
    volume: FloatArray = column(np.float64, read_only=False)  # type: ignore[assignment]

    def __attrs_post_init__(self) -> None:
        require_equal_lengths(self, len(self.ts_close), self.symbol)

    def __len__(self) -> int:
        return len(self.ts_close)

    @classmethod
    def from_frame(cls, frame: BarFrame) -> RawBars:
        return cls(frame.symbol, frame.timeframe, frame.ts_open, frame.ts_close, frame.open,
                   frame.high, frame.low, frame.close, frame.volume)

    def take(self, rows: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> RawBars:
        """The rows selected by an index or a mask, in that order."""
        return RawBars(self.symbol, self.timeframe, self.ts_open[rows], self.ts_close[rows],
                       self.open[rows], self.high[rows], self.low[rows], self.close[rows],
                       self.volume[rows])

    def to_frame(self) -> BarFrame:
        """As a BarFrame (raises unless strictly increasing in ts_close)."""
        return BarFrame(self.symbol, self.timeframe, self.ts_open, self.ts_close, self.open,
                        self.high, self.low, self.close, self.volume)


@attrs.frozen
class Split:
    """A split effective from `ts_ns` (UTC epoch ns): `ratio` new shares for one old (2 = 2:1)."""

    ts_ns: int
    ratio: float

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.ratio) and self.ratio > 0):
            raise ValueError(f"split ratio must be a positive number, was {self.ratio}")


@attrs.frozen
class GateRules:
    """What the gate tolerates. max_jump 0.5: a move to 1.5x or 1/1.5 of the previous close."""

    max_jump: float = 0.5
    as_of_ns: int | None = None
    max_age_ns: int | None = None
    splits: tuple[Split, ...] = ()

    def __attrs_post_init__(self) -> None:
        if not self.max_jump > 0:
            raise ValueError(f"max_jump must be positive, was {self.max_jump}")


@attrs.frozen
class Quarantined:
    """A bar that failed the gate: where it was in the input, when it closed, and why."""

    symbol: Symbol
    row: int
    ts_close: datetime | None
    reason: str


@attrs.frozen
class GateReport:
    """What the gate did to one feed: how many bars came, passed, were quarantined and why."""

    symbol: Symbol
    source: str
    received: int
    passed: int
    quarantined: tuple[Quarantined, ...]
    stale: bool = False
    sessions: tuple[tuple[str, int], ...] = ()
    """Passing bars by session (PRE, REGULAR, POST, OVERNIGHT), when sessions were given."""

    @property
    def counts(self) -> dict[str, int]:
        """Quarantined bars by reason, in reason order."""
        return reason_counts(self.quarantined)


def reason_counts(quarantined: Sequence[Quarantined]) -> dict[str, int]:
    """Quarantined bars by reason, in reason order."""
    found: dict[str, int] = {}
    for item in quarantined:
        found[item.reason] = found.get(item.reason, 0) + 1
    return {r: found[r] for r in ALL_REASONS if r in found}


def gate_codes(
    raw: RawBars, sessions: npt.NDArray[np.int8] | None, rules: GateRules,
) -> CodeArray:
    """The reason code of every row (index into ALL_REASONS), 0 for a bar that passes."""
    return gate_verdicts(raw, sessions, rules)[0]


def gate_verdicts(
    raw: RawBars, sessions: npt.NDArray[np.int8] | None, rules: GateRules,
) -> tuple[CodeArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Each row's reason code (as gate_codes), whether it passed the per-row and order checks
    (a "sound" row, which the jump rule may take as its reference), and whether the jump rule
    flagged it (true even when an earlier reason was chosen for it). An incremental gate carries
    the last two forward to judge the next bar exactly as this batch gate would."""
    n = len(raw)
    codes = bar_reason_codes(raw.ts_close, raw.open, raw.high, raw.low, raw.close, raw.volume,
                             raw.ts_open)
    empty = np.zeros(n, dtype=np.bool_)
    outside = empty if sessions is None else sessions == _CLOSED
    future = empty if rules.as_of_ns is None else raw.ts_close > rules.as_of_ns
    repeated = empty.copy()
    jumped = empty.copy()
    if n > 1:
        same = ((raw.open[1:] == raw.open[:-1]) & (raw.high[1:] == raw.high[:-1])
                & (raw.low[1:] == raw.low[:-1]) & (raw.close[1:] == raw.close[:-1])
                & (raw.volume[1:] == raw.volume[:-1]))
        repeated[1:] = same
        jumped = _jumps(raw, codes, rules)
    extra = first_reason([outside, future, repeated, jumped], n, offset=len(REASONS) - 1)
    return np.where(codes > 0, codes, extra).astype(np.int8), codes == 0, jumped


def _jumps(raw: RawBars, codes: CodeArray, rules: GateRules) -> npt.NDArray[np.bool_]:
    """Bars whose high or low lies further than max_jump from the reference close, with the
    splits between the two bars undone. The reference is the close of the last bar accepted
    (rows that failed an integrity check are skipped, so a jump cannot hide behind a NaN bar).
    A bar within the limit of the row just quarantined as a jump confirms a new level (a level
    shift costs one bar); a bar back within the limit of the accepted close ends a spike (a
    spike costs one bar)."""
    limit = math.log1p(rules.max_jump)
    sound = np.flatnonzero(codes == 0)
    jumped = np.zeros(len(raw), dtype=np.bool_)
    if len(sound) < 2:
        return jumped
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(raw.close[sound])
        log_high, log_low = np.log(raw.high[sound]), np.log(raw.low[sound])
    steps = np.zeros(len(raw), dtype=np.float64)  # log of the split ratios taking effect
    for split in rules.splits:  # from the first bar closing after it (as adjust reads it)
        row = int(np.searchsorted(raw.ts_close, split.ts_ns, "right"))
        if 0 < row < len(raw):
            steps[row] += math.log(split.ratio)
    level = np.cumsum(steps)[sound]  # log split factor in force at each sound row

    def beyond(ref: IntArray | int, rows: IntArray | int) -> npt.NDArray[np.bool_]:
        shift = level[rows] - level[ref]
        up = log_high[rows] - log_close[ref] + shift
        down = log_close[ref] - shift - log_low[rows]
        return np.asarray((up > limit) | (down > limit))

    # Fast path: every bar judged against the previous sound bar. While each bar is accepted
    # that is the sequential rule exactly; only flagged bars and those after them are revisited.
    flagged = np.zeros(len(sound), dtype=np.bool_)
    flagged[1:] = beyond(np.arange(len(sound) - 1), np.arange(1, len(sound)))
    out = np.zeros(len(sound), dtype=np.bool_)
    candidates = np.flatnonzero(flagged).tolist()
    k = 0
    while k < len(candidates):
        position = candidates[k]  # the bar before it was accepted, so it is a jump
        accepted = position - 1
        out[position] = True
        position += 1
        while position < len(sound):  # after a jump: a spike ends or a new level is confirmed
            out[position] = (bool(beyond(accepted, position))
                             and bool(beyond(position - 1, position)))
            if not out[position]:
                break
            position += 1
        while k < len(candidates) and candidates[k] <= position:
            k += 1
    jumped[sound[out]] = True
    return jumped


def gatekeep(
    raw: RawBars, sessions: npt.NDArray[np.int8] | None, rules: GateRules, source: str,
) -> tuple[BarFrame, GateReport]:
    """Split a feed into the bars that pass (a BarFrame) and a report of those quarantined."""
    codes = gate_codes(raw, sessions, rules)
    bad = np.flatnonzero(codes)
    quarantined = tuple(
        Quarantined(raw.symbol, row, _moment(int(raw.ts_close[row])),
                    ALL_REASONS[int(codes[row])])
        for row in bad.tolist())
    clean = raw.take(codes == 0).to_frame()
    stale = False
    if rules.as_of_ns is not None and rules.max_age_ns is not None:
        newest = int(clean.ts_close[-1]) if len(clean) else None
        stale = newest is None or newest < rules.as_of_ns - rules.max_age_ns
    tally: tuple[tuple[str, int], ...] = ()
    if sessions is not None:
        counts = np.bincount(sessions[codes == 0], minlength=len(SESSION_CODES))
        tally = tuple((s.value, int(counts[k])) for s, k in SESSION_CODES.items() if counts[k])
    report = GateReport(raw.symbol, source, len(raw), len(clean), quarantined, stale, tally)
    return clean, report


def _moment(ns: int) -> datetime | None:
    try:
        return from_ns(ns)
    except (OverflowError, ValueError):
        return None


def merge_reports(reports: Sequence[GateReport]) -> dict[str, int]:
    """Quarantined bars by reason over several reports, in reason order."""
    total: dict[str, int] = {}
    for report in reports:
        for reason, count in report.counts.items():
            total[reason] = total.get(reason, 0) + count
    return {r: total[r] for r in ALL_REASONS if r in total}
