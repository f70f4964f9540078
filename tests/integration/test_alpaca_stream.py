"""The Alpaca bar stream through alpaca-py's StockDataStream against a fake websocket server on
127.0.0.1 speaking Alpaca's msgpack protocol; the server drops the connection once, and the
bars missed meanwhile are backfilled over HTTP (a fake history) before the stream resumes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np
import pytest
from returns.result import Result, Success

from aitrader.adapters.vendors import AlpacaBarStream, VendorSettings
from aitrader.application.data.stream import BackfillingStream
from aitrader.domain.market import Bar, Timeframe
from aitrader.domain.series import BarFrame, to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError
from aitrader.ports.market_data import MarketData
from tests.ws_fake import T0, Script, fake_stream, message

AAPL = Symbol.parse("AAPL")


class History(MarketData):
    """Minute bars k = 0..9 as the HTTP vendor would serve them."""

    def __init__(self) -> None:
        k = np.arange(10)
        closes = 100.0 + k
        ts_open = np.asarray([to_ns(T0 + timedelta(minutes=int(i))) for i in k], dtype=np.int64)
        self.frame = BarFrame(AAPL, Timeframe.MINUTE_1, ts_open, ts_open + 60 * 10**9, closes,
                              closes + 0.5, closes - 0.5, closes, 1000.0 + k)
        self.asked: list[tuple[datetime | None, datetime | None]] = []

    def bars(self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
             end: datetime | None) -> Result[BarFrame, MarketDataError]:
        self.asked.append((start, end))
        return Success(self.frame.window(start, end))

    def symbols(self) -> Result[Sequence[Symbol], MarketDataError]:
        return Success([AAPL])

    def describe(self) -> str:
        return "history"


def drain(stream: BackfillingStream, live: AlpacaBarStream,
          done: Callable[[list[Bar]], bool]) -> list[Bar]:
    """The bars the stream yields until `done` says enough (or a 20 s watchdog ends it)."""
    watchdog = threading.Timer(20.0, live.close)  # never hang the suite
    watchdog.start()
    got: list[Bar] = []
    iterator = iter(stream)
    try:
        for bar in iterator:
            got.append(bar)
            if done(got):
                break
    finally:
        watchdog.cancel()
        live.close()
        iterator.close()  # type: ignore[attr-defined]
    return got


def test_bars_missed_during_a_reconnect_are_backfilled_before_the_stream_resumes() -> None:
    bad = message(9, close=100.0)
    bad["h"] = 90.0  # high below low: dropped, never delivered
    script = Script([message(0), message(1), message(2)],
                    [message(2), message(6), bad, message(7)])
    with fake_stream(script) as url:
        live = AlpacaBarStream(VendorSettings(url, "AKTEST", "s3cr3t"), [AAPL])
        history = History()
        stream = BackfillingStream(live, history, Timeframe.MINUTE_1)
        got = drain(stream, live, lambda bars: len(bars) == 8)
    assert [b.ts_close - T0 for b in got] == [timedelta(minutes=k + 1) for k in range(8)]
    assert [float(b.close.value) for b in got] == [100.0 + k for k in range(8)]
    assert stream.backfilled == 3
    assert [q.reason for q in stream.gate.quarantined] == ["duplicate timestamp"]
    assert [q.reason for q in live.rejected] == ["high is below low"]
    assert history.asked == [(T0 + timedelta(minutes=3, microseconds=1),
                              T0 + timedelta(minutes=7))]
    assert script.auth[0] == {"action": "auth", "key": "AKTEST", "secret": "s3cr3t"}
    assert script.subscriptions[0]["bars"] == ["AAPL"]
    assert len(script.auth) == 2  # it reconnected


def test_a_refused_login_stops_the_stream_at_once_instead_of_retrying() -> None:
    script = Script([message(0)], refuse=True)
    with fake_stream(script) as url:
        live = AlpacaBarStream(VendorSettings(url, "AKBAD", "wrong"), [AAPL])
        watchdog = threading.Timer(20.0, live.close)  # never hang the suite
        watchdog.start()
        try:
            with pytest.raises(PermissionError, match="auth failed"):
                next(iter(live))
        finally:
            watchdog.cancel()
            live.close()
    assert len(script.auth) == 1  # tried once, not again


def test_live_and_backfilled_bars_pass_the_gate_before_the_consumer_sees_them() -> None:
    corrupt = message(1)
    corrupt["c"] = float("nan")  # not a bar at all: quarantined by the adapter's check
    spike = message(4, close=300.0)  # a jump no split explains
    script = Script([message(0), corrupt, message(2), message(1), spike, message(5)],
                    [message(8), message(9)])
    history = History()
    with fake_stream(script) as url:
        live = AlpacaBarStream(VendorSettings(url, "AKTEST", "s3cr3t"), [AAPL])
        stream = BackfillingStream(live, history, Timeframe.MINUTE_1)
        got = drain(stream, live, lambda bars: bars[-1].ts_close == T0 + timedelta(minutes=10))
    # the holes at 2 and 4 are backfilled; minute 5 (the spike) stays out: its backfilled twin
    # comes after it, a duplicate stamp, as the batch gate would judge the same feed
    assert [(b.ts_close - T0, float(b.close.value)) for b in got] == [
        (timedelta(minutes=k), 99.0 + k) for k in (1, 2, 3, 4, 6, 7, 8, 9, 10)]
    assert [(q.ts_close - T0 if q.ts_close else None, q.reason)
            for q in stream.gate.quarantined] == [
        (timedelta(minutes=2), "timestamp out of order"),
        (timedelta(minutes=5),
         "jumps from the previous close by more than the limit, and no split explains it"),
        (timedelta(minutes=5), "duplicate timestamp")]
    assert [q.reason for q in live.rejected] == ["close is not a finite number"]


@pytest.mark.parametrize("url", ["not a url", "https://stream.data.alpaca.markets/v2/iex",
                                 "wss://", "ws:///v2/iex"])
def test_a_stream_url_that_is_no_websocket_is_refused_before_connecting(url: str) -> None:
    # alpaca-py would log "restarting connection" and retry such a URL forever
    with pytest.raises(ValueError, match="AITRADER_ALPACA_STREAM_URL") as refused:
        AlpacaBarStream(VendorSettings(url, "AKTEST", "s3cr3t"), [AAPL])
    assert "s3cr3t" not in str(refused.value)
