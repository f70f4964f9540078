"""Normalisation: one order, one bar per instant, one adjustment convention, for every vendor.

Rules (the same for every source):
- Bars are ordered by ts_close (a stable sort: equal stamps keep their delivery order).
- Duplicates: when a source delivers several bars with the same ts_close, the last one delivered
  wins (vendors re-send a bar when they revise it, and the revision comes later).
- Adjustment: `raw` leaves prices as traded; `split` divides prices before each split by its
  ratio and multiplies volume by it; `all` also scales prices before each ex-dividend date by
  (1 - dividend / previous close), the CRSP convention. Adjustment happens here, from the
  vendor's corporate actions, unless the vendor adjusts itself (Alpaca's `adjustment` query).
"""

from __future__ import annotations

import enum

import attrs
import numpy as np

from aitrader.domain.series.gate import RawBars, Split


class Adjustment(enum.Enum):
    """How prices are adjusted for corporate actions."""

    RAW = "raw"
    SPLIT = "split"
    ALL = "all"

    @classmethod
    def parse(cls, text: str) -> Adjustment:
        for member in cls:
            if member.value == text:
                return member
        raise ValueError(f"unknown adjustment {text!r} (choose from raw, split, all)")


@attrs.frozen
class Dividend:
    """A cash dividend per share going ex at `ts_ns` (UTC epoch ns)."""

    ts_ns: int
    amount: float


def order_and_dedupe(raw: RawBars) -> RawBars:
    """Sort by ts_close (stable) and keep the last delivered bar of each ts_close."""
    if len(raw) < 2:
        return raw
    order = np.argsort(raw.ts_close, kind="stable")
    ts = raw.ts_close[order]
    last = np.ones(len(ts), dtype=np.bool_)
    last[:-1] = ts[1:] != ts[:-1]
    keep = order[last]
    if len(keep) == len(raw) and bool(np.all(keep == np.arange(len(raw)))):
        return raw
    return raw.take(keep)


def adjust(raw: RawBars, splits: tuple[Split, ...], dividends: tuple[Dividend, ...],
           mode: Adjustment) -> RawBars:
    """Back-adjust an ordered feed for the splits (and, with ALL, the dividends) it spans.

    An event at moment t acts on the bars that close after it: a bar that closed by t traded
    before it (also one that closes exactly at t); one that spans t closes at the new price."""
    if mode is Adjustment.RAW or len(raw) == 0:
        return raw
    price_factor = np.ones(len(raw), dtype=np.float64)
    volume_factor = np.ones(len(raw), dtype=np.float64)
    for split in splits:
        before = raw.ts_close <= split.ts_ns
        price_factor[before] /= split.ratio
        volume_factor[before] *= split.ratio
    if mode is Adjustment.ALL:
        for dividend in dividends:
            row = int(np.searchsorted(raw.ts_close, dividend.ts_ns, "right"))
            if 0 < row <= len(raw):
                previous = float(raw.close[row - 1])
                if previous > dividend.amount > 0:
                    price_factor[:row] *= 1.0 - dividend.amount / previous
    return RawBars(raw.symbol, raw.timeframe, raw.ts_open, raw.ts_close,
                   raw.open * price_factor, raw.high * price_factor, raw.low * price_factor,
                   raw.close * price_factor, raw.volume * volume_factor)
