"""AlpacaBarStream: minute bars from Alpaca's market data websocket (alpaca-py StockDataStream).

alpaca-py runs the socket on its own asyncio loop, reconnecting after errors with backoff; this
adapter runs that loop on a thread and hands bars over a queue. Alpaca stamps a bar at its open
(ts_close = ts_open + 1 minute). A message that is not a valid bar (high below low, a
non-positive price) is never passed on: it is kept in `rejected` with the gatekeeper's reason,
for the caller to quarantine and record. Bars missed while the socket was down are not this
adapter's concern: the application's BackfillingStream fetches them over HTTP before the
stream resumes. Iteration ends when `close()` is called.

alpaca-py treats a refused login like a dropped line and retries it forever; this adapter stops
the stream at the first refusal instead, and the iteration raises PermissionError naming
Alpaca's reason (a wrong key does not become right by retrying).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import numpy as np
import structlog

from aitrader.adapters.vendors._http import VendorSettings
from aitrader.domain.market import Bar
from aitrader.domain.series import Quarantined
from aitrader.domain.series.checks import REASONS, bar_reason_codes
from aitrader.domain.values import Price, Symbol
from aitrader.ports.market_data import BarStream

if TYPE_CHECKING:
    from alpaca.data.live.stock import StockDataStream

log = structlog.get_logger(__name__)

DEFAULT_STREAM_URL = "wss://stream.data.alpaca.markets/v2/iex"
_END = object()


@attrs.frozen
class _Refused:
    reason: str


class AlpacaBarStream(BarStream):
    """Closed one-minute bars of `symbols` as Alpaca publishes them."""

    def __init__(self, settings: VendorSettings, symbols: Sequence[Symbol],
                 feed: str = "iex") -> None:
        if not (settings.api_key and settings.api_secret):
            # alpaca-py would retry a refused login forever: refuse before connecting
            raise ValueError("Alpaca's stream needs AITRADER_ALPACA_API_KEY and "
                             "AITRADER_ALPACA_API_SECRET")
        address = urlsplit(settings.base_url)
        if address.scheme not in ("ws", "wss") or not address.hostname:
            # alpaca-py would log "restarting connection" and retry it forever
            raise ValueError("AITRADER_ALPACA_STREAM_URL (or vendors.alpaca.stream_url) must be "
                             "a ws:// or wss:// URL with a host")
        self._settings = settings
        self._symbols = [str(s) for s in symbols]
        self._feed = "sip" if feed == "sip" else "iex"
        self._queue: queue.Queue[object] = queue.Queue()
        self._stream: StockDataStream | None = None
        self.rejected: list[Quarantined] = []  # messages that could not become a Bar
        self._received: dict[str, int] = {}

    def __iter__(self) -> Iterator[Bar]:
        from alpaca.data.enums import DataFeed  # noqa: PLC0415 - lazy: see alpaca.py
        from alpaca.data.live.stock import StockDataStream  # noqa: PLC0415 - lazy: see alpaca.py

        stream = StockDataStream(str(self._settings.api_key), str(self._settings.api_secret),
                                 feed=DataFeed(self._feed), url_override=self._settings.base_url)
        self._stream = stream

        async def on_bar(message: Any) -> None:
            bar = self._to_bar(message)
            if bar is not None:
                self._queue.put(bar)

        login = stream._auth  # the one place alpaca-py sees a refused login

        async def login_once() -> None:
            try:
                await login()
            except ValueError as error:  # alpaca-py would retry a refused login forever
                self._queue.put(_Refused(str(error)))
                await stream.stop_ws()
                raise

        stream._auth = login_once  # type: ignore[method-assign]
        stream.subscribe_bars(on_bar, *self._symbols)
        thread = threading.Thread(target=stream.run, name="alpaca-bars", daemon=True)
        thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    return
                if isinstance(item, _Refused):
                    raise PermissionError(f"Alpaca refused the stream login: {item.reason} "
                                          "(check AITRADER_ALPACA_API_KEY and "
                                          "AITRADER_ALPACA_API_SECRET)")
                assert isinstance(item, Bar)
                yield item
        finally:
            self._stop(stream, thread)

    def close(self) -> None:
        """End the iteration (from another thread or a consumer) and the socket with it."""
        self._queue.put(_END)

    def _stop(self, stream: StockDataStream, thread: threading.Thread) -> None:
        try:
            stream.stop()
        except (RuntimeError, TimeoutError, AttributeError) as error:  # loop already gone
            log.info("stream.stop_failed", error=type(error).__name__)
        # alpaca-py's loop notices the stop within its 5 s receive timeout; the thread is a
        # daemon, so a consumer that is done is not held up waiting for it.
        thread.join(timeout=0.5)

    def _to_bar(self, message: Any) -> Bar | None:
        def field(key: str) -> Any:
            if isinstance(message, dict):
                return message.get(key)
            return getattr(message, _ATTRS.get(key, key), None)

        symbol = str(field("S"))
        row = self._received.get(symbol, 0)
        self._received[symbol] = row + 1
        opened: Any = None
        try:
            opened = field("t")
            if not isinstance(opened, datetime):
                opened = opened.to_datetime()
            opened = opened.astimezone(UTC)
            o, h, low, c = (Price(Decimal(repr(float(field(k))))) for k in ("o", "h", "l", "c"))
            return Bar(Symbol.parse(symbol), opened, opened + timedelta(minutes=1),
                       o, h, low, c, Decimal(repr(float(field("v")))))
        except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
            reason = _reason(field) or str(error)[:120]
            log.warning("stream.bar_rejected", symbol=symbol, reason=reason)
            closed = opened + timedelta(minutes=1) if isinstance(opened, datetime) else None
            try:
                name = Symbol.parse(symbol)
            except ValueError:
                return None  # not even a symbol: nothing to file it under
            self.rejected.append(Quarantined(name, row, closed, reason))
            return None


def _reason(field: Any) -> str | None:
    """The gatekeeper's reason for a message's prices and volume, if they give one."""
    try:
        values = [float(field(k)) for k in ("o", "h", "l", "c", "v")]
    except (TypeError, ValueError):
        return None
    o, h, low, c, v = (np.asarray([x], dtype=np.float64) for x in values)
    code = int(bar_reason_codes(np.zeros(1, dtype=np.int64), o, h, low, c, v)[0])
    return REASONS[code] if code else None


_ATTRS = {"t": "timestamp", "S": "symbol", "o": "open", "h": "high", "l": "low", "c": "close",
          "v": "volume"}
