"""Alpha Vantage: TIME_SERIES_DAILY_ADJUSTED and TIME_SERIES_INTRADAY (one month a request).

Rate limits arrive as HTTP 200 with a `Note` or `Information` body and are reported as
'rate_limited'; `Error Message` is an unknown symbol or a bad call. Daily series carry the
dividend amount and split coefficient, from which split and dividend adjustment are computed;
intraday series are requested unadjusted (`adjusted=false`), so only `raw` is served intraday.
Times are US/Eastern; intraday stamps label the bar's open.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from returns.result import Failure, Result, Success

from aitrader.adapters.vendors._http import HttpVendor, number
from aitrader.adapters.vendors._time import (
    EASTERN,
    build,
    day_label_ns,
    parse_eastern,
)
from aitrader.domain.market import Timeframe
from aitrader.domain.series import Split
from aitrader.domain.series.normalise import Adjustment, Dividend
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import BarVendor, VendorBars

_INTERVALS = {Timeframe.MINUTE_1: "1min", Timeframe.MINUTE_5: "5min",
              Timeframe.MINUTE_15: "15min", Timeframe.HOUR_1: "60min"}
_FIELDS = ("1. open", "2. high", "3. low", "4. close")


class AlphaVantageVendor(HttpVendor, BarVendor):
    """Bars from Alpha Vantage (key as `apikey`)."""

    vendor = "alphavantage"

    def _fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant."""
        key = self._settings.api_key
        if not key:
            return Failure(self._no_key())
        mode = Adjustment.parse(adjustment)
        if timeframe.is_intraday and mode is not Adjustment.RAW:
            return Failure(MarketDataError("unsupported", "alphavantage serves intraday bars "
                                           f"raw only, not {adjustment}"))
        base = {"symbol": str(symbol), "outputsize": "full", "apikey": key}
        rows: dict[str, dict[str, str]] = {}
        if timeframe is Timeframe.DAY_1:
            requests = [{**base, "function": "TIME_SERIES_DAILY_ADJUSTED"}]
        else:
            requests = [{**base, "function": "TIME_SERIES_INTRADAY", "adjusted": "false",
                         "extended_hours": "true", "interval": _INTERVALS[timeframe],
                         "month": month} for month in _months(start, end)]
        for params in requests:  # one page a month for intraday data
            page = self._get("query", params).bind(lambda body: _series(symbol, body))
            if not isinstance(page, Success):
                return Failure(page.failure())
            rows.update(page.unwrap())
        return Success(_bars(symbol, timeframe, rows, start, end, mode, self._calendar))


def _months(start: datetime, end: datetime) -> list[str]:
    first, last = start.astimezone(EASTERN).date(), end.astimezone(EASTERN).date()
    months, at = [], date(first.year, first.month, 1)
    while at <= last:
        months.append(f"{at.year:04d}-{at.month:02d}")
        at = date(at.year + at.month // 12, at.month % 12 + 1, 1)
    return months


def _series(symbol: Symbol, body: Any) -> Result[dict[str, dict[str, str]], MarketDataError]:
    if not isinstance(body, dict):
        return Failure(MarketDataError("invalid_data", "alphavantage: the body is not an object"))
    for key in ("Note", "Information"):
        if key in body:
            return Failure(MarketDataError("rate_limited", f"alphavantage: {key}: "
                                           f"{str(body[key])[:120]}"))
    if "Error Message" in body:
        return Failure(MarketDataError("unknown_symbol", f"alphavantage {symbol}: "
                                       f"{str(body['Error Message'])[:120]}"))
    series = next((v for k, v in body.items() if k.startswith("Time Series")), None)
    if not isinstance(series, dict):
        return Failure(MarketDataError("invalid_data", f"alphavantage {symbol}: no time series "
                                       "in the response"))
    return Success(series)


def _bars(symbol: Symbol, timeframe: Timeframe, rows: dict[str, dict[str, str]],
          start: datetime, end: datetime, mode: Adjustment, calendar: Calendar) -> VendorBars:
    stamps: list[int] = []
    columns: list[list[float]] = [[], [], [], [], []]
    splits: list[Split] = []
    dividends: list[Dividend] = []
    daily = timeframe is Timeframe.DAY_1
    for stamp, row in rows.items():
        at = day_label_ns(date.fromisoformat(stamp[:10])) if daily else parse_eastern(stamp)
        stamps.append(at)
        for k, field in enumerate(_FIELDS):
            columns[k].append(number(row.get(field)))
        columns[4].append(number(row.get("6. volume" if daily else "5. volume")))
        coefficient = number(row.get("8. split coefficient"))
        if coefficient > 0 and coefficient != 1.0:
            splits.append(Split(at, coefficient))
        amount = number(row.get("7. dividend amount"))
        if amount > 0:
            dividends.append(Dividend(at, amount))
    splits.sort(key=lambda s: s.ts_ns)
    dividends.sort(key=lambda d: d.ts_ns)
    raw = build(symbol, timeframe, stamps, columns, start, end, calendar, mode, tuple(splits),
                tuple(dividends))
    return VendorBars(raw, tuple(splits) if mode is Adjustment.RAW else ())
