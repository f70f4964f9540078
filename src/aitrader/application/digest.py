"""Run digests: a SHA-256 over every journaled record in order, blind to ids and wall time.

`digest` covers the manifest's deterministic part, decisions, orders, events, fills and the
equity curve; `decisions_digest` covers decisions, orders and fills only, so a backtest and a
paper replay of the same data and configuration can be compared. Ids are replaced by their
sequence numbers: a run id is fresh each run, but the n-th order of a run is the n-th order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from aitrader.domain.audit import Decision
from aitrader.domain.trading import Fill, Order, OrderEvent


class RunDigest:
    """Accumulates the two digests of one run as records are produced."""

    def __init__(self) -> None:
        self._all = hashlib.sha256()
        self._decisions = hashlib.sha256()
        self._order_seq: dict[str, int] = {}

    def _scrub(self, text: str | None, client_order_id: str) -> str:
        """A reason may quote the order's id; hash it with the id replaced by its number."""
        if text is None:
            return "None"
        return text.replace(client_order_id, self._ref(client_order_id))

    def _ref(self, client_order_id: str | None) -> str:
        if client_order_id is None:
            return "-"
        return f"#{self._order_seq[client_order_id]}"

    def _both(self, line: str) -> None:
        data = line.encode()
        self._all.update(data)
        self._decisions.update(data)

    def manifest(self, deterministic_config: Mapping[str, object], data_digest: str) -> None:
        text = json.dumps(deterministic_config, sort_keys=True, default=str)
        self._all.update(f"manifest|{text}|{data_digest}\n".encode())

    def register_order(self, seq: int, client_order_id: str) -> None:
        self._order_seq[client_order_id] = seq

    def decision(self, d: Decision) -> None:
        signals = ",".join(f"{k}={v!r}" for k, v in d.signals.items())
        sizing = ",".join(f"{k}={v}" for k, v in d.sizing.items())
        verdicts = ",".join(f"{v.rule}:{v.passed}:{v.reason}" for v in d.verdicts)
        ref = "-" if d.client_order_id is None else self._ref(d.client_order_id)
        self._both(
            f"decision|{d.seq}|{d.ts.isoformat()}|{d.symbol}|{d.close}|{signals}|"
            f"{d.target_exposure!r}|{d.previous_exposure!r}|{d.current_qty}|{d.target_qty}|"
            f"{sizing}|{verdicts}|{d.action}|{ref}\n"
        )

    def order(self, o: Order) -> None:
        i = o.intent
        self._both(
            f"order|{self._ref(o.client_order_id)}|{i.symbol}|{i.side.value}|{i.quantity}|"
            f"{i.order_type.value}|{i.time_in_force.value}|{i.limit_price}|{i.stop_price}|"
            f"{o.status.value}|{o.filled_qty}|{o.avg_px}|{o.created_at.isoformat()}|"
            f"{self._scrub(o.reason, o.client_order_id)}\n"
        )

    def event(self, seq: int, e: OrderEvent) -> None:
        self._all.update(
            f"event|{seq}|{self._ref(e.client_order_id)}|{e.kind.value}|"
            f"{e.ts_event.isoformat()}|{self._scrub(e.reason, e.client_order_id)}\n".encode()
        )

    def fill(self, f: Fill) -> None:
        self._both(
            f"fill|{self._ref(f.client_order_id)}|{f.symbol}|{f.side.value}|{f.last_qty}|"
            f"{f.last_px}|{f.commission}|{f.ts_event.isoformat()}\n"
        )

    def equity(self, ts_ns: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> None:
        self._all.update(np.ascontiguousarray(ts_ns, dtype="<i8").tobytes())
        self._all.update(np.ascontiguousarray(equity, dtype="<f8").tobytes())

    @property
    def digest(self) -> str:
        return self._all.hexdigest()

    @property
    def decisions_digest(self) -> str:
        return self._decisions.hexdigest()
