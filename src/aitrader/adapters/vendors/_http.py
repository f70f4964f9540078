"""What the HTTP vendors share: settings, one GET with a timeout, errors mapped to port codes."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
from returns.result import Failure, Result, Success

from aitrader.ports.errors import MarketDataError

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
    where = f"{vendor} {httpx.URL(url).path}"
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException:
        return Failure(MarketDataError("timeout", f"{where}: timed out"))
    except httpx.TransportError as error:
        return Failure(MarketDataError("unavailable",
                                       f"{where}: unreachable ({type(error).__name__})"))
    status = response.status_code
    if status == 429:
        return Failure(MarketDataError("rate_limited", f"{where}: rate limited (HTTP 429)"))
    if status in (401, 403):
        return Failure(MarketDataError("unauthorized",
                                       f"{where}: HTTP {status}, check the API key"))
    if status == 404:
        return Failure(MarketDataError("unknown_symbol", f"{where}: HTTP 404, not found"))
    if status >= 500:
        return Failure(MarketDataError("unavailable", f"{where}: HTTP {status}"))
    if status >= 400:
        return Failure(MarketDataError("invalid_request", f"{where}: HTTP {status}: "
                                       f"{_snippet(response.text)}"))
    try:
        return Success(response.json())
    except ValueError:
        return Failure(MarketDataError("invalid_data", f"{where}: the body is not JSON"))


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
