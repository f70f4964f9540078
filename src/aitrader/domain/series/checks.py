"""The data gate for columns: every reason a bar must not reach a strategy, vectorised.

Each row gets one reason code (0 = sound); when a row has several problems the first reason in
`REASONS` names it. Order and duplicates are judged against every earlier row of the feed (its
running maximum), so the rows that pass are strictly increasing in time.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int8]

REASONS: tuple[str, ...] = (
    "",
    "open is not a finite number",
    "high is not a finite number",
    "low is not a finite number",
    "close is not a finite number",
    "open must be positive",
    "high must be positive",
    "low must be positive",
    "close must be positive",
    "volume is not a finite number",
    "volume is negative",
    "high is below low",
    "high is below open or close",
    "low is above open or close",
    "bar closes before it opens",
    "duplicate timestamp",
    "timestamp out of order",
)
"""Reason texts by code; code 0 means the row is sound. Codes above these are the gate's."""


@attrs.frozen
class BarIssue:
    """Row `row` (0-based, in input order) is unusable for `reason`."""

    row: int
    reason: str


def bar_reason_codes(
    ts_close: IntArray, open_: FloatArray, high: FloatArray, low: FloatArray,
    close: FloatArray, volume: FloatArray, ts_open: IntArray | None = None,
) -> CodeArray:
    """One reason code a row (an index into REASONS), first reason wins; 0 for a sound row."""
    n = len(ts_close)
    masks: list[npt.NDArray[np.bool_]] = []
    with np.errstate(invalid="ignore"):
        prices = (open_, high, low, close)
        masks += [~np.isfinite(column) for column in prices]
        masks += [~(column > 0) & np.isfinite(column) for column in prices]
        masks.append(~np.isfinite(volume))
        masks.append(volume < 0)
        masks.append(high < low)
        masks.append(high < np.maximum(open_, close))
        masks.append(low > np.minimum(open_, close))
    empty = np.zeros(n, dtype=np.bool_)
    masks.append(empty if ts_open is None else ts_close <= ts_open)
    if n > 1:
        seen = np.maximum.accumulate(ts_close)[:-1]
        later = ts_close[1:]
        masks.append(np.concatenate(([False], later == seen)))
        masks.append(np.concatenate(([False], later < seen)))
    else:
        masks += [empty, empty]
    return first_reason(masks, n)


def first_reason(masks: list[npt.NDArray[np.bool_]], n: int, offset: int = 0) -> CodeArray:
    """Code offset+k+1 for the first mask k that holds for a row, 0 where none does."""
    codes = np.zeros(n, dtype=np.int8)
    for k in range(len(masks) - 1, -1, -1):  # last to first: the first reason overwrites
        codes[masks[k]] = offset + k + 1
    return codes


def find_bad_bars(
    ts_close: IntArray, open_: FloatArray, high: FloatArray, low: FloatArray,
    close: FloatArray, volume: FloatArray,
) -> list[BarIssue]:
    """Return the issues of one symbol's rows in input order, first reason per row."""
    codes = bar_reason_codes(ts_close, open_, high, low, close, volume)
    rows = np.flatnonzero(codes)
    return [BarIssue(int(row), REASONS[int(codes[row])]) for row in rows.tolist()]
