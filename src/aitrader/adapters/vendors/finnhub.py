"""Finnhub's /stock/candle: bars in columns, unix seconds at the bar's open.

Finnhub adjusts daily candles for splits and leaves intraday candles unadjusted, so it serves
`split` for daily bars and `raw` for intraday; any other request is 'unsupported' and the chain
moves on rather than mixing conventions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from returns.result import Failure, Result, Success

from aitrader.adapters.vendors._http import HttpVendor, number
from aitrader.adapters.vendors._time import NS, build, day_label_ns, unix_seconds
from aitrader.domain.market import Timeframe
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import BarVendor, VendorBars

_RESOLUTIONS = {Timeframe.MINUTE_1: "1", Timeframe.MINUTE_5: "5", Timeframe.MINUTE_15: "15",
                Timeframe.HOUR_1: "60", Timeframe.DAY_1: "D"}


class FinnhubVendor(HttpVendor, BarVendor):
    """Bars from Finnhub (key as `token`)."""

    vendor = "finnhub"

    def _fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant."""
        serves = "split" if timeframe is Timeframe.DAY_1 else "raw"
        if adjustment != serves:
            return Failure(MarketDataError(
                "unsupported", f"finnhub serves {timeframe.value} bars {serves}-adjusted only, "
                f"not {adjustment}"))
        key = self._settings.api_key
        if not key:
            return Failure(self._no_key())
        params = {"symbol": str(symbol), "resolution": _RESOLUTIONS[timeframe],
                  "from": str(unix_seconds(start - timeframe.length)),
                  "to": str(unix_seconds(end)), "token": key}
        return self._get("stock/candle", params).bind(
            lambda body: _parse(symbol, timeframe, body, start, end, self._calendar))


def _parse(symbol: Symbol, timeframe: Timeframe, body: Any, start: datetime,
           end: datetime, calendar: Calendar) -> Result[VendorBars, MarketDataError]:
    if not isinstance(body, dict):
        return Failure(MarketDataError("invalid_data", "finnhub: the body is not an object"))
    if "error" in body:
        text = str(body["error"])
        code = "rate_limited" if "limit" in text.lower() else "invalid_request"
        return Failure(MarketDataError(code, f"finnhub {symbol}: {text}"))
    status = body.get("s")
    stamps: list[int] = []
    columns: list[list[float]] = [[], [], [], [], []]
    if status == "ok":
        stamps = [int(t) * NS for t in body.get("t") or []]
        if timeframe is Timeframe.DAY_1:  # daily candles are stamped at 00:00 UTC of the day
            stamps = [day_label_ns(datetime.fromtimestamp(t // NS, UTC).date())
                      for t in stamps]
        columns = [[number(x) for x in body.get(k) or []] for k in ("o", "h", "l", "c", "v")]
        if any(len(col) != len(stamps) for col in columns):
            return Failure(MarketDataError("invalid_data",
                                           f"finnhub {symbol}: arrays of unequal length"))
    elif status != "no_data":
        return Failure(MarketDataError("invalid_data", f"finnhub {symbol}: status {status!r}"))
    return Success(VendorBars(build(symbol, timeframe, stamps, columns, start, end,
                                    calendar)))
