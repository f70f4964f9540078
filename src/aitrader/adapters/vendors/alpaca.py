"""Alpaca market data through alpaca-py's StockHistoricalDataClient (/v2/stocks/bars).

Alpaca stamps a bar at its open; daily bars at midnight New York time of the trading day. The
client pages with next_page_token itself. Raw bars come with the symbol's forward and reverse
splits in the requested span, from Alpaca's corporate actions (/v1/corporate-actions, through
alpaca-py's CorporateActionsClient), so the data gate can tell a split from a bad tick; a split
acts from the start of its ex-date (pre-market bars already trade at the new price) with
new_rate / old_rate new shares for one old. A base URL pointing elsewhere than Alpaca (a proxy)
must serve that endpoint too: a raw fetch fails when it cannot get the splits. Adjusted bars
carry no splits (Alpaca has applied them). Its own retry on 429 (sleeping three seconds, three
times) is switched off: rate limits are reported as 'rate_limited' and the vendor chain decides.
Requests carry the configured timeout (alpaca-py sets none).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from returns.result import Failure, Result, Success

from aitrader.adapters.vendors._http import VendorSettings, redacted, status_error
from aitrader.adapters.vendors._time import build, day_start_ns
from aitrader.domain.market import Timeframe
from aitrader.domain.series import Split, to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import BarVendor, VendorBars

if TYPE_CHECKING:
    from alpaca.common.rest import RESTClient
    from alpaca.data.historical.corporate_actions import CorporateActionsClient
    from alpaca.data.historical.stock import StockHistoricalDataClient

# alpaca-py (and requests) are imported on first use: they cost a third of a second, which
# every command would otherwise pay whether or not it talks to Alpaca.
_AMOUNTS = {Timeframe.MINUTE_1: (1, "Minute"), Timeframe.MINUTE_5: (5, "Minute"),
            Timeframe.MINUTE_15: (15, "Minute"), Timeframe.HOUR_1: (1, "Hour"),
            Timeframe.DAY_1: (1, "Day")}
_ADJUST = ("raw", "split", "all")
_NEVER_RETRIED = [599]  # alpaca-py retries only these status codes; 599 is never sent
_Client = TypeVar("_Client", bound="RESTClient")


class AlpacaVendor(BarVendor):
    """Bars from Alpaca's market data API (key and secret)."""

    def __init__(self, settings: VendorSettings, *, calendar: Calendar) -> None:
        self._settings = settings
        self._calendar = calendar  # daily bars span its daily_session
        self._client: StockHistoricalDataClient | None = None
        self._actions: CorporateActionsClient | None = None

    @property
    def name(self) -> str:
        return "alpaca"

    def _configured(self, client: _Client) -> _Client:
        """No SDK retries (the vendor chain decides) and the configured timeout on every call."""
        client._retry_codes = _NEVER_RETRIED  # private: see the module docstring
        session: Any = client._session  # private: alpaca-py passes no timeout
        session.request = functools.partial(session.request, timeout=self._settings.timeout_s)
        return client

    def _connect(self) -> StockHistoricalDataClient:
        from alpaca.data.historical.stock import StockHistoricalDataClient  # noqa: PLC0415 - lazy, see the note above _AMOUNTS

        if self._client is None:
            self._client = self._configured(StockHistoricalDataClient(
                self._settings.api_key, self._settings.api_secret,
                url_override=self._settings.base_url.rstrip("/")))
        return self._client

    def _corporate_actions(self) -> CorporateActionsClient:
        from alpaca.data.historical.corporate_actions import CorporateActionsClient  # noqa: PLC0415 - lazy, see the note above _AMOUNTS

        if self._actions is None:
            self._actions = self._configured(CorporateActionsClient(
                self._settings.api_key, self._settings.api_secret,
                url_override=self._settings.base_url.rstrip("/")))
        return self._actions

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
        path = "/v2/stocks/bars"
        try:
            raw = self._connect().get_stock_bars(request)
            bars = getattr(raw, "data", {}).get(str(symbol), [])
            stamps = [to_ns(bar.timestamp) for bar in bars]
            columns = [[float(getattr(bar, k)) for bar in bars]
                       for k in ("open", "high", "low", "close", "volume")]
            path = "/v1/corporate-actions"
            # only raw bars need them, and only when there are bars to explain
            splits = self._splits(symbol, start, end) if adjustment == "raw" and stamps else ()
        except APIError as error:
            return Failure(redacted(_api_error(error, path), self._settings))
        except Timeout:
            return Failure(MarketDataError("timeout", f"alpaca {path}: timed out"))
        except RequestException as error:
            return Failure(MarketDataError("unavailable", f"alpaca {path}: unreachable "
                                           f"({type(error).__name__})"))
        except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as error:
            return Failure(MarketDataError("invalid_data", f"alpaca {path} {symbol}: malformed "
                                           f"response ({type(error).__name__})"))
        return Success(VendorBars(build(symbol, timeframe, stamps, columns, start, end,
                                        self._calendar), splits))

    def _splits(self, symbol: Symbol, start: datetime, end: datetime) -> tuple[Split, ...]:
        """The symbol's forward and reverse splits with an ex-date in [start, end], in order."""
        from alpaca.data.enums import CorporateActionsType  # noqa: PLC0415 - lazy, see the note above _AMOUNTS
        from alpaca.data.requests import CorporateActionsRequest  # noqa: PLC0415 - lazy, see the note above _AMOUNTS

        request = CorporateActionsRequest(
            symbols=[str(symbol)], start=start.date(), end=end.date(),
            types=[CorporateActionsType.FORWARD_SPLIT, CorporateActionsType.REVERSE_SPLIT])
        found = getattr(self._corporate_actions().get_corporate_actions(request), "data", {})
        splits = [Split(day_start_ns(action.ex_date), action.new_rate / action.old_rate)
                  for kind in ("forward_splits", "reverse_splits")
                  for action in found.get(kind, []) if action.symbol == str(symbol)]
        return tuple(sorted(splits, key=lambda split: split.ts_ns))


def _api_error(error: Any, path: str) -> MarketDataError:
    try:
        status = error.status_code
    except AttributeError:
        status = None
    return status_error(f"alpaca {path}", status, str(error)[:160])
