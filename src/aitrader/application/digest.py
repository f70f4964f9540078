"""Run digests: a SHA-256 over every journaled record in order, blind to ids and wall time.

`digest` covers the manifest's deterministic part, decisions, orders, events, fills and the
equity curve; `decisions_digest` covers decisions, orders and fills only, so a backtest and a
paper replay of the same data and configuration can be compared. Ids are replaced by their
sequence numbers: a run id is fresh each run, but the n-th order of a run is the n-th order.

Lines are hashed in batches: SHA-256 over the concatenation equals SHA-256 fed line by line,
and a backtest produces ~7 lines per order, so one update per line was a measurable cost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from aitrader.domain.audit import Decision
from aitrader.domain.trading import Fill, Order, OrderEvent

_BATCH = 512  # lines held before they are hashed


class RunDigest:
    """Accumulates the two digests of one run as records are produced."""

    def __init__(self) -> None:
        self._all = hashlib.sha256()
        self._decisions = hashlib.sha256()
        self._refs: dict[str, str] = {}  # client_order_id -> "#<its sequence number>"
        # Lines not hashed yet, in order: all of them, and those decisions_digest takes too.
        self._lines: list[str] = []
        self._decision_lines: list[str] = []
        # The few timestamps an order's records share (decision, created_at, fill) are
        # formatted once: isoformat costs more than the rest of a line.
        self._iso: dict[datetime, str] = {}
        self._last_moment: datetime | None = None
        self._last_iso = ""

    def _isoformat(self, moment: datetime) -> str:
        """moment.isoformat(), remembered. The records of one step share their datetime, so
        callers test `moment is self._last_moment` first and skip the call."""
        if moment is self._last_moment:
            return self._last_iso
        if moment.tzinfo is not UTC:  # equal instants in other zones format differently
            return moment.isoformat()
        text = self._iso.get(moment)
        if text is None:
            if len(self._iso) >= 64:
                self._iso.clear()
            text = self._iso[moment] = moment.isoformat()
        self._last_moment, self._last_iso = moment, text
        return text

    def _add(self, line: str, in_decisions: bool) -> None:
        self._lines.append(line)
        if in_decisions:
            self._decision_lines.append(line)
        if len(self._lines) >= _BATCH:
            self._hash_pending()

    def _hash_pending(self) -> None:
        if not self._lines:
            return
        self._all.update("".join(self._lines).encode())
        self._decisions.update("".join(self._decision_lines).encode())
        self._lines, self._decision_lines = [], []

    def manifest(self, deterministic_config: Mapping[str, object], data_digest: str) -> None:
        text = json.dumps(deterministic_config, sort_keys=True, default=str)
        self._add(f"manifest|{text}|{data_digest}\n", False)

    def register_order(self, seq: int, client_order_id: str) -> None:
        self._refs[client_order_id] = f"#{seq}"

    def decision(self, d: Decision) -> None:
        # `!s` on Decimals: same text as the default format, a fraction of the cost
        signals = ",".join([f"{k}={v!r}" for k, v in d.signals.items()])
        sizing = ",".join([f"{k}={v}" for k, v in d.sizing.items()])
        verdicts = ",".join([f"{v.rule}:{v.passed}:{v.reason}" for v in d.verdicts])
        ref = "-" if d.client_order_id is None else self._refs[d.client_order_id]
        ts = self._last_iso if d.ts is self._last_moment else self._isoformat(d.ts)
        self._add(
            f"decision|{d.seq}|{ts}|{d.symbol.value}|{d.close!s}|{signals}|"
            f"{d.target_exposure!r}|{d.previous_exposure!r}|{d.current_qty!s}|"
            f"{d.target_qty!s}|{sizing}|{verdicts}|{d.action}|{ref}\n", True)

    def order(self, o: Order) -> None:
        i = o.intent
        cid = o.client_order_id
        ref = self._refs[cid]
        at = o.created_at
        ts = self._last_iso if at is self._last_moment else self._isoformat(at)
        # a reason may quote the order's id: it is hashed with the id replaced by its number
        reason = "None" if o.reason is None else o.reason.replace(cid, ref)
        # enum `_value_` is the member's value without the descriptor lookup of `.value`
        self._add(
            f"order|{ref}|{i.symbol.value}|{i.side._value_}|"
            f"{i.quantity.value!s}|{i.order_type._value_}|{i.time_in_force._value_}|"
            f"{i.limit_price!s}|{i.stop_price!s}|{o.status._value_}|{o.filled_qty!s}|"
            f"{o.avg_px!s}|{ts}|{reason}\n", True)

    def event(self, seq: int, e: OrderEvent) -> None:
        cid = e.client_order_id
        ref = self._refs[cid]
        at = e.ts_event
        ts = self._last_iso if at is self._last_moment else self._isoformat(at)
        reason = "None" if e.reason is None else e.reason.replace(cid, ref)  # as in order()
        self._add(f"event|{seq}|{ref}|{e.kind._value_}|{ts}|{reason}\n", False)

    def fill(self, f: Fill) -> None:
        at = f.ts_event
        ts = self._last_iso if at is self._last_moment else self._isoformat(at)
        self._add(
            f"fill|{self._refs[f.client_order_id]}|{f.symbol.value}|{f.side._value_}|"
            f"{f.last_qty.value!s}|{f.last_px.value!s}|{f.commission.amount!s}|{ts}\n", True)

    def equity(self, ts_ns: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> None:
        self._hash_pending()
        # the arrays' own buffers (little-endian, contiguous): no 8 MB bytes copy of each
        self._all.update(np.ascontiguousarray(ts_ns, dtype="<i8").data)
        self._all.update(np.ascontiguousarray(equity, dtype="<f8").data)

    @property
    def digest(self) -> str:
        self._hash_pending()
        return self._all.hexdigest()

    @property
    def decisions_digest(self) -> str:
        self._hash_pending()
        return self._decisions.hexdigest()
