"""A fake Alpaca market-data websocket on 127.0.0.1: Alpaca's msgpack handshake (connected,
authenticated, subscription), then scripted bar messages per connection; every connection but
the last is dropped after its bars, so the client must reconnect. A refusing script answers
every login with Alpaca's auth error (code 402) instead."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection, serve

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def message(k: int, close: float | None = None) -> dict[str, Any]:
    price = 100.0 + k if close is None else close
    return {"T": "b", "S": "AAPL", "o": price, "h": price + 0.5, "l": price - 0.5, "c": price,
            "v": 1000 + k, "n": 10, "vw": price,
            "t": msgpack.Timestamp.from_datetime(T0 + timedelta(minutes=k))}


class Script:
    """What the server sends on each connection, after the handshake."""

    def __init__(self, *connections: Sequence[dict[str, Any]],
                 refuse: bool = False) -> None:
        self.connections = list(connections)
        self.refuse = refuse  # answer every login with Alpaca's auth error
        self.auth: list[dict[str, Any]] = []
        self.subscriptions: list[dict[str, Any]] = []


async def _serve_one(socket: ServerConnection, script: Script) -> None:
    await socket.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
    script.auth.append(msgpack.unpackb(await socket.recv()))
    if script.refuse:
        await socket.send(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
        return
    await socket.send(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
    script.subscriptions.append(msgpack.unpackb(await socket.recv()))
    await socket.send(msgpack.packb([{"T": "subscription", "bars": ["AAPL"]}]))
    bars = script.connections.pop(0) if script.connections else []
    for bar in bars:
        await socket.send(msgpack.packb([bar], datetime=True))
    if script.connections:  # drop the line: the client must reconnect
        return
    await socket.wait_closed()  # keep the last connection open until the server stops


@contextmanager
def fake_stream(script: Script) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    address: list[str] = []
    stop = asyncio.Event()

    async def main() -> None:
        async with serve(lambda s: _serve_one(s, script), "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            address.append(f"ws://127.0.0.1:{port}")
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield address[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
