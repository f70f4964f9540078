"""What the vendors share: settings, one GET with a timeout, HTTP errors mapped to port codes,
and the base the HTTP vendors are built on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, ClassVar

import attrs
import httpx
from returns.result import Failure, Result, Success

from aitrader.domain.market import Timeframe
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import VendorBars

DEFAULT_TIMEOUT_S = 10.0


@attrs.frozen
class VendorSettings:
    """Where a vendor lives and how to authenticate; the secrets never appear in repr or
    messages."""

    base_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    api_secret: str | None = attrs.field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S


def get_json(
    client: httpx.Client, vendor: str, url: str, params: dict[str, str],
) -> Result[Any, MarketDataError]:
    """GET url with params; the decoded JSON body, or an error naming the vendor and the path
    (never the query, which may hold a key)."""
    try:
        where = f"{vendor} {httpx.URL(url).path}"
    except httpx.InvalidURL as error:  # the URL may hold a proxy's password: not shown
        return Failure(MarketDataError(
            "invalid_request", f"{vendor}: the base URL (AITRADER_{vendor.upper()}_BASE_URL or "
            f"vendors.{vendor}.base_url) is not a valid URL: {_snippet(str(error))}"))
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException:
        return Failure(MarketDataError("timeout", f"{where}: timed out"))
    except httpx.TransportError as error:
        return Failure(MarketDataError("unavailable",
                                       f"{where}: unreachable ({type(error).__name__})"))
    status = response.status_code
    if status == 404:
        return Failure(MarketDataError("unknown_symbol", f"{where}: HTTP 404, not found"))
    if status >= 400:
        return Failure(status_error(where, status, _snippet(response.text)))
    try:
        return Success(response.json())
    except ValueError:
        return Failure(MarketDataError("invalid_data", f"{where}: the body is not JSON"))


class HttpVendor(ABC):
    """What the HTTP vendors hold alike: their settings, one client, and how they call."""

    vendor: ClassVar[str]  # the configured name, also the prefix of every error message

    def __init__(self, settings: VendorSettings, transport: httpx.BaseTransport | None = None,
                 *, calendar: Calendar) -> None:
        self._settings = settings
        self._client = make_client(settings, transport)
        self._calendar = calendar  # daily bars span its daily_session

    @property
    def name(self) -> str:
        return self.vendor

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """Bars with start <= ts_close < end, ts_close-labelled, oldest first, one per instant;
        a body that is JSON but not the vendor's documented shape is `invalid_data`."""
        try:
            answer = self._fetch(symbol, timeframe, start, end, adjustment)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError,
                OverflowError) as error:
            return Failure(MarketDataError("invalid_data", f"{self.vendor} {symbol}: malformed "
                                           f"response ({type(error).__name__})"))
        return answer.alt(lambda error: redacted(error, self._settings))

    @abstractmethod
    def _fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str,
    ) -> Result[VendorBars, MarketDataError]:
        """What fetch answers, parsing as if the body had the documented shape."""

    def _no_key(self) -> MarketDataError:
        """The error for a vendor that needs an API key and has none configured."""
        return MarketDataError("unauthorized", f"{self.vendor}: no API key (set "
                               f"AITRADER_{self.vendor.upper()}_API_KEY)")

    def _get(self, path: str, params: dict[str, str]) -> Result[Any, MarketDataError]:
        """get_json on path below the base URL."""
        url = f"{self._settings.base_url.rstrip('/')}/{path}"
        return get_json(self._client, self.vendor, url, params)


def redacted(error: MarketDataError, settings: VendorSettings) -> MarketDataError:
    """The error with the key and secret blanked out: vendors echo them back in error texts
    (an Alpha Vantage URL with its apikey, a Twelve Data 'apikey ... is incorrect')."""
    message = error.message
    for secret in (settings.api_key, settings.api_secret):
        if secret:
            message = message.replace(secret, "***")
    return attrs.evolve(error, message=message)


def status_error(where: str, status: int | None, detail: str) -> MarketDataError:
    """A vendor's HTTP error status (None: not known) as the port's error code."""
    if status == 429:
        return MarketDataError("rate_limited", f"{where}: rate limited (HTTP 429)")
    if status in (401, 403):
        return MarketDataError("unauthorized", f"{where}: HTTP {status}, check the API key")
    if status is not None and status >= 500:
        return MarketDataError("unavailable", f"{where}: HTTP {status}")
    return MarketDataError("invalid_request", f"{where}: HTTP {status}: {detail}")


def _snippet(text: str) -> str:
    return " ".join(text.split())[:160]


def make_client(settings: VendorSettings, transport: httpx.BaseTransport | None) -> httpx.Client:
    """An httpx client with the settings' timeout (a test passes a MockTransport)."""
    return httpx.Client(timeout=settings.timeout_s, transport=transport,
                        headers={"User-Agent": "aitrader"})


def number(value: Any) -> float:
    """A vendor's number (JSON number, numeric string, or null) as a float; null is NaN so the
    gatekeeper quarantines the bar instead of the adapter inventing a value."""
    if value is None or value == "":
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
