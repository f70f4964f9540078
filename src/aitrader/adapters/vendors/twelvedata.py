"""Twelve Data's /time_series: newest-first pages of at most 5,000 values, asked in UTC.

Errors come as `{"status": "error", "code": N, "message": ...}` (code 429 for the rate limit),
sometimes with HTTP 200. The `adjust` query selects the adjustment (none, splits, all). Stamps
label the bar's open (daily bars: the trading day). Pages are walked backwards from `end` until
`start` is reached or a page comes back short.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from returns.result import Failure, Result, Success

from aitrader.adapters.vendors._http import HttpVendor, number
from aitrader.adapters.vendors._time import NS, build, day_label_ns, parse_utc
from aitrader.domain.market import Timeframe
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import BarVendor, VendorBars

_INTERVALS = {Timeframe.MINUTE_1: "1min", Timeframe.MINUTE_5: "5min",
              Timeframe.MINUTE_15: "15min", Timeframe.HOUR_1: "1h", Timeframe.DAY_1: "1day"}
_ADJUST = {"raw": "none", "split": "splits", "all": "all"}
PAGE_SIZE = 5000
MAX_PAGES = 200


class TwelveDataVendor(HttpVendor, BarVendor):
    """Bars from Twelve Data (key as `apikey`)."""

    vendor = "twelvedata"

    def _fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant."""
        key = self._settings.api_key
        if not key:
            return Failure(self._no_key())
        if adjustment not in _ADJUST:
            return Failure(MarketDataError("unsupported", f"twelvedata: adjustment {adjustment}"))
        first = (start - timeframe.length).astimezone(UTC)
        upto = end.astimezone(UTC)
        stamps: list[int] = []
        columns: list[list[float]] = [[], [], [], [], []]
        for _page in range(MAX_PAGES):
            params = {"symbol": str(symbol), "interval": _INTERVALS[timeframe],
                      "start_date": _text(first), "end_date": _text(upto), "timezone": "UTC",
                      "outputsize": str(PAGE_SIZE), "adjust": _ADJUST[adjustment],
                      "apikey": key}
            page = self._get("time_series", params).bind(lambda body: _values(symbol, body))
            if not isinstance(page, Success):
                return Failure(page.failure())
            values = page.unwrap()
            for value in values:
                text = str(value["datetime"])
                stamps.append(day_label_ns(date.fromisoformat(text)) if len(text) == 10
                              else parse_utc(text))
                for k, key in enumerate(("open", "high", "low", "close", "volume")):
                    columns[k].append(number(value.get(key)))
            if len(values) < PAGE_SIZE:
                break
            oldest = min(stamps[-len(values):])
            upto = datetime.fromtimestamp(oldest / NS, UTC) - timedelta(seconds=1)
            if upto < first:
                break
        return Success(VendorBars(build(symbol, timeframe, stamps, columns, start, end,
                                        self._calendar)))


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _values(symbol: Symbol, body: Any) -> Result[list[dict[str, Any]], MarketDataError]:
    if not isinstance(body, dict):
        return Failure(MarketDataError("invalid_data", "twelvedata: the body is not an object"))
    if body.get("status") == "error":
        code, message = body.get("code"), str(body.get("message", ""))[:160]
        if code == 429:
            return Failure(MarketDataError("rate_limited", f"twelvedata: {message}"))
        if code in (401, 403):
            return Failure(MarketDataError("unauthorized", f"twelvedata: {message}"))
        if code == 400 and "no data" in message.lower():
            return Success([])
        if code == 404 or "symbol" in message.lower():
            return Failure(MarketDataError("unknown_symbol", f"twelvedata {symbol}: {message}"))
        return Failure(MarketDataError("invalid_request", f"twelvedata {symbol}: {message}"))
    values = body.get("values")
    if not isinstance(values, list):
        return Failure(MarketDataError("invalid_data", f"twelvedata {symbol}: no values"))
    return Success(values)
