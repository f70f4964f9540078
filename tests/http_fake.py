"""A scripted HTTP server on 127.0.0.1 standing in for a vendor (alpaca-py talks `requests`,
which httpx.MockTransport cannot serve; end-to-end tests point AITRADER_<VENDOR>_BASE_URL here).

`answer(path_prefix, status, body)` queues replies per path prefix; the last reply of a prefix
repeats. Every request is recorded (path, query, headers) for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeVendor:
    def __init__(self) -> None:
        self.replies: dict[str, list[tuple[int, Any]]] = {}
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.url = ""

    def answer(self, prefix: str, status: int, body: Any) -> None:
        self.replies.setdefault(prefix, []).append((status, body))

    def reply_for(self, path: str) -> tuple[int, Any]:
        for prefix in sorted(self.replies, key=len, reverse=True):
            if path.startswith(prefix):
                queue = self.replies[prefix]
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return 404, {"message": "not found"}


@contextmanager
def fake_vendor() -> Iterator[FakeVendor]:
    fake = FakeVendor()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake.requests.append((parts.path, parse_qs(parts.query), dict(self.headers)))
            status, body = fake.reply_for(parts.path)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
