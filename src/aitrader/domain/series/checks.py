"""The data gate for columns: every reason a bar must not reach a strategy."""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt


@attrs.frozen
class BarIssue:
    """Row `row` (0-based, in input order) is unusable for `reason`."""

    row: int
    reason: str


def find_bad_bars(
    ts_close: npt.NDArray[np.int64],
    open_: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
) -> list[BarIssue]:
    """Return the issues of one symbol's rows in input order, first reason per row."""
    issues: dict[int, str] = {}

    def flag(mask: npt.NDArray[np.bool_], reason: str) -> None:
        for row in np.flatnonzero(mask).tolist():
            issues.setdefault(int(row), reason)

    prices = {"open": open_, "high": high, "low": low, "close": close}
    for name, column in prices.items():
        flag(~np.isfinite(column), f"{name} is not a finite number")
    for name, column in prices.items():
        with np.errstate(invalid="ignore"):
            flag(column <= 0, f"{name} must be positive")
    flag(~np.isfinite(volume), "volume is not a finite number")
    with np.errstate(invalid="ignore"):
        flag(volume < 0, "volume is negative")
        flag(high < low, "high is below low")
        flag(high < np.maximum(open_, close), "high is below open or close")
        flag(low > np.minimum(open_, close), "low is above open or close")
    if len(ts_close) > 1:
        step = np.diff(ts_close)
        flag(np.concatenate(([False], step == 0)), "duplicate timestamp")
        flag(np.concatenate(([False], step < 0)), "timestamp out of order")
    return [BarIssue(row, issues[row]) for row in sorted(issues)]
