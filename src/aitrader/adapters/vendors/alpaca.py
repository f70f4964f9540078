"""Alpaca market data through alpaca-py's StockHistoricalDataClient (/v2/stocks/bars).

Alpaca stamps a bar at its open; daily bars at midnight New York time of the trading day. The
client pages with next_page_token itself. Its own retry on 429 (sleeping three seconds, three
times) is switched off: rate limits are reported as 'rate_limited' and the vendor chain decides.
Requests carry the configured timeout (alpaca-py sets none).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any

from returns.result import Failure, Result, Success

from aitrader.adapters.vendors._http import VendorSettings, status_error
from aitrader.adapters.vendors._time import build
from aitrader.domain.market import Timeframe
from aitrader.domain.series import to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import BarVendor, VendorBars

if TYPE_CHECKING:
    from alpaca.data.historical.stock import StockHistoricalDataClient

# alpaca-py (and requests) are imported on first use: they cost a third of a second, which
# every command would otherwise pay whether or not it talks to Alpaca.
_AMOUNTS = {Timeframe.MINUTE_1: (1, "Minute"), Timeframe.MINUTE_5: (5, "Minute"),
            Timeframe.MINUTE_15: (15, "Minute"), Timeframe.HOUR_1: (1, "Hour"),
            Timeframe.DAY_1: (1, "Day")}
_ADJUST = ("raw", "split", "all")
_NEVER_RETRIED = [599]  # alpaca-py retries only these status codes; 599 is never sent


class AlpacaVendor(BarVendor):
    """Bars from Alpaca's market data API (key and secret)."""

    def __init__(self, settings: VendorSettings) -> None:
        self._settings = settings
        self._client: StockHistoricalDataClient | None = None

    @property
    def name(self) -> str:
        return "alpaca"

    def _connect(self) -> StockHistoricalDataClient:
        from alpaca.data.historical.stock import StockHistoricalDataClient  # noqa: PLC0415 - lazy, see the note above _AMOUNTS

        if self._client is None:
            client = StockHistoricalDataClient(
                self._settings.api_key, self._settings.api_secret,
                url_override=self._settings.base_url.rstrip("/"))
            client._retry_codes = _NEVER_RETRIED  # private: see the module docstring
            session: Any = client._session  # private: alpaca-py passes no timeout
            session.request = functools.partial(session.request,
                                                timeout=self._settings.timeout_s)
            self._client = client
        return self._client

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant."""
        if not (self._settings.api_key and self._settings.api_secret):
            return Failure(MarketDataError("unauthorized", "alpaca: needs AITRADER_ALPACA_API_KEY "
                                           "and AITRADER_ALPACA_API_SECRET"))
        if adjustment not in _ADJUST:
            return Failure(MarketDataError("unsupported", f"alpaca: adjustment {adjustment}"))
        from alpaca.common.exceptions import APIError  # noqa: PLC0415 - lazy, see the note above _AMOUNTS
        from alpaca.data.enums import Adjustment as AlpacaAdjustment  # noqa: PLC0415 - lazy, see the note above _AMOUNTS
        from alpaca.data.requests import StockBarsRequest  # noqa: PLC0415 - lazy, see the note above _AMOUNTS
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit  # noqa: PLC0415 - lazy, see the note above _AMOUNTS
        from requests import RequestException, Timeout  # noqa: PLC0415 - alpaca-py's transport

        amount, unit = _AMOUNTS[timeframe]
        request = StockBarsRequest(symbol_or_symbols=str(symbol),
                                   timeframe=TimeFrame(amount, TimeFrameUnit[unit]),
                                   start=start - timeframe.length, end=end,
                                   adjustment=AlpacaAdjustment(adjustment))
        try:
            raw = self._connect().get_stock_bars(request)
        except APIError as error:
            return Failure(_api_error(error))
        except Timeout:
            return Failure(MarketDataError("timeout", "alpaca /v2/stocks/bars: timed out"))
        except RequestException as error:
            return Failure(MarketDataError("unavailable", f"alpaca /v2/stocks/bars: unreachable "
                                           f"({type(error).__name__})"))
        except (ValueError, KeyError, TypeError) as error:
            return Failure(MarketDataError("invalid_data", f"alpaca {symbol}: malformed "
                                           f"response ({type(error).__name__})"))
        bars = getattr(raw, "data", {}).get(str(symbol), [])
        stamps = [to_ns(bar.timestamp) for bar in bars]
        columns = [[float(getattr(bar, k)) for bar in bars]
                   for k in ("open", "high", "low", "close", "volume")]
        return Success(VendorBars(build(symbol, timeframe, stamps, columns, start, end)))


def _api_error(error: Any) -> MarketDataError:
    try:
        status = error.status_code
    except AttributeError:
        status = None
    return status_error("alpaca /v2/stocks/bars", status, str(error)[:160])
