"""Cross-checking vendors: bars that disagree beyond a tolerance, and bars only one side has."""

from __future__ import annotations

from datetime import datetime

import attrs
import numpy as np

from aitrader.domain.series import BarFrame, from_ns


@attrs.frozen
class Disagreement:
    """One ts_close where the two sources differ: the field, both values, relative difference
    (NaN when one side has no bar)."""

    ts_close: datetime
    field: str
    left: float
    right: float
    difference: float


@attrs.frozen
class Comparison:
    """How two sources compare over one symbol and range."""

    left: str
    right: str
    compared: int
    only_left: int
    only_right: int
    disagreements: tuple[Disagreement, ...]


_PRICES = ("open", "high", "low", "close")


def compare_frames(left_name: str, left: BarFrame, right_name: str, right: BarFrame,
                   tolerance: float, volume_tolerance: float) -> Comparison:
    """Align on ts_close; a price differs when |a - b| / max(|a|, |b|) > tolerance, volume
    when the same ratio exceeds volume_tolerance; bars on one side only are listed too."""
    common, li, ri = np.intersect1d(left.ts_close, right.ts_close, return_indices=True)
    found: list[tuple[int, int, Disagreement]] = []
    for order, name in enumerate((*_PRICES, "volume")):
        a, b = getattr(left, name)[li], getattr(right, name)[ri]
        scale = np.maximum(np.abs(a), np.abs(b))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
        limit = volume_tolerance if name == "volume" else tolerance
        for k in np.flatnonzero(rel > limit).tolist():
            found.append((int(common[k]), order, Disagreement(
                from_ns(int(common[k])), name, float(a[k]), float(b[k]), float(rel[k]))))
    only_left = np.setdiff1d(left.ts_close, right.ts_close)
    only_right = np.setdiff1d(right.ts_close, left.ts_close)
    nan = float("nan")
    for ts in only_left.tolist():
        found.append((int(ts), 9, Disagreement(from_ns(int(ts)), "missing_right", nan, nan, nan)))
    for ts in only_right.tolist():
        found.append((int(ts), 9, Disagreement(from_ns(int(ts)), "missing_left", nan, nan, nan)))
    found.sort(key=lambda item: (item[0], item[1]))
    return Comparison(left_name, right_name, len(common), len(only_left), len(only_right),
                      tuple(item[2] for item in found))
