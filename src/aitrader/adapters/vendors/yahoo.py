"""Yahoo's chart API (/v8/finance/chart): intraday and daily bars with splits and dividends.

Yahoo's OHLC are split-adjusted and its `adjclose` also dividend-adjusted; raw prices are
recovered by undoing the splits it reports. Timestamps label the bar's open (daily bars: the
trading day). Nulls in the arrays become NaN and are quarantined by the gate, never filled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from returns.result import Failure, Result, Success

from aitrader.adapters.vendors._http import HttpVendor, number
from aitrader.adapters.vendors._time import (
    NS,
    build,
    day_start_ns,
    eastern_date,
    unix_seconds,
)
from aitrader.domain.market import Timeframe
from aitrader.domain.series import Split
from aitrader.domain.series.normalise import Adjustment
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import BarVendor, VendorBars

_INTERVALS = {Timeframe.MINUTE_1: "1m", Timeframe.MINUTE_5: "5m", Timeframe.MINUTE_15: "15m",
              Timeframe.HOUR_1: "60m", Timeframe.DAY_1: "1d"}


class YahooVendor(HttpVendor, BarVendor):
    """Bars from Yahoo Finance's chart endpoint (no key)."""

    vendor = "yahoo"

    def _fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant."""
        length = timeframe.length
        params = {"period1": str(unix_seconds(start - length)), "period2": str(unix_seconds(end)),
                  "interval": _INTERVALS[timeframe], "events": "div,split",
                  "includePrePost": "true" if timeframe.is_intraday else "false"}
        return self._get(f"v8/finance/chart/{symbol}", params).bind(
            lambda body: _parse(symbol, timeframe, body, start, end, Adjustment.parse(adjustment),
                                self._calendar))


def _parse(symbol: Symbol, timeframe: Timeframe, body: Any, start: datetime, end: datetime,
           adjustment: Adjustment, calendar: Calendar) -> Result[VendorBars, MarketDataError]:
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        return Failure(MarketDataError("invalid_data", "yahoo: no 'chart' in the response"))
    error = chart.get("error")
    if error:
        text = f"{error.get('code', '')}: {error.get('description', '')}".strip(": ")
        code = "unknown_symbol" if "not found" in text.lower() else "invalid_request"
        return Failure(MarketDataError(code, f"yahoo {symbol}: {text}"))
    results = chart.get("result") or []
    if not results:
        return Failure(MarketDataError("unknown_symbol", f"yahoo {symbol}: no result"))
    result = results[0]
    stamps = [int(t) * NS for t in result.get("timestamp") or []]
    indicators = result.get("indicators") or {}
    quote = (indicators.get("quote") or [{}])[0]
    n = len(stamps)
    columns = [[number(x) for x in (quote.get(k) or [None] * n)]
               for k in ("open", "high", "low", "close", "volume")]
    if any(len(col) != n for col in columns):
        return Failure(MarketDataError("invalid_data", f"yahoo {symbol}: arrays of unequal "
                                       "length"))
    events = result.get("events") or {}
    splits = tuple(sorted(
        (Split(_event_ns(int(s["date"]), timeframe), float(s["numerator"]) / float(
            s["denominator"])) for s in (events.get("splits") or {}).values()
         if float(s.get("denominator") or 0) > 0 and float(s.get("numerator") or 0) > 0),
        key=lambda s: s.ts_ns))
    if adjustment is not Adjustment.SPLIT and splits:
        columns = _undo_splits(stamps, columns, splits)  # back to the prices as traded
    if adjustment is Adjustment.ALL:
        adjclose = [number(x) for x in ((indicators.get("adjclose") or [{}])[0].get("adjclose")
                                        or [None] * n)]
        columns = _dividend_adjust(columns, adjclose, stamps, splits)
    raw = build(symbol, timeframe, stamps, columns, start, end, calendar)
    return Success(VendorBars(raw, splits if adjustment is Adjustment.RAW else ()))


def _event_ns(seconds: int, timeframe: Timeframe) -> int:
    """An event's stamp: the start of its trading day (splits and dividends act before the
    day's first bar, pre-market included)."""
    return day_start_ns(eastern_date(seconds * NS))


def _undo_splits(stamps: list[int], columns: list[list[float]],
                 splits: tuple[Split, ...]) -> list[list[float]]:
    ts = np.asarray(stamps, dtype=np.int64)
    factor = np.ones(len(ts))
    for split in splits:
        factor[ts < split.ts_ns] *= split.ratio
    prices = [list(np.asarray(col) * factor) for col in columns[:4]]
    return [*prices, list(np.asarray(columns[4]) / factor)]


def _dividend_adjust(columns: list[list[float]], adjclose: list[float], stamps: list[int],
                     splits: tuple[Split, ...]) -> list[list[float]]:
    """Scale raw prices by adjclose / split-adjusted close (Yahoo's split and dividend factor)."""
    ts = np.asarray(stamps, dtype=np.int64)
    split_factor = np.ones(len(ts))
    for split in splits:
        split_factor[ts < split.ts_ns] /= split.ratio
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.asarray(adjclose) / np.asarray(columns[3])  # columns hold raw prices
    prices = [list(np.asarray(col) * factor) for col in columns[:4]]
    return [*prices, list(np.asarray(columns[4]) / split_factor)]
