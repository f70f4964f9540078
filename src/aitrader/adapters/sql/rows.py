"""Translation between journal rows and domain records, canonical JSON and equity chunks."""

from __future__ import annotations

import enum
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from aitrader.domain.audit import Decision, GateVerdict, RunManifest, RunSummary
from aitrader.domain.trading import (
    Fill,
    Order,
    OrderEvent,
)
from aitrader.domain.values import Money, Price, Quantity, Symbol

Row = dict[str, Any]
EquityColumns = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
ZLIB_LEVEL = 1


def canonical_json(value: object) -> str:
    """Sorted, compact JSON; decimals and other exact values travel as strings."""
    return _CANONICAL.encode(value)


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal | Symbol | Price | Quantity | Money):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot journal a {type(value).__name__} as JSON: {value!r}")


# What json.dumps(sort_keys=True, separators=(",", ":"), default=_jsonable) builds per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_jsonable)
_KEYS: dict[str, str] = {}
_VERDICTS: dict[tuple[str, bool, str], str] = {}


def _key(text: str) -> str:
    quoted = _KEYS.get(text)
    if quoted is None:
        quoted = encode_basestring_ascii(text)
        if len(_KEYS) < 1024:
            _KEYS[text] = quoted
    return quoted


def _flat_json(mapping: Mapping[str, object]) -> str:
    """canonical_json of a mapping of str to str or float, built directly (a decision carries
    two; the general encoder took ~4 us per call). Anything else goes the general way."""
    names = tuple(mapping)
    plan = _PLANS.get(names)
    if plan is None:  # the sorted keys, quoted, of mappings with these keys in this order
        if any(type(name) is not str for name in names):
            return canonical_json(mapping)
        plan = tuple((name, _key(name) + ":") for name in sorted(names))
        if len(_PLANS) < 1024:
            _PLANS[names] = plan
    parts = []
    for name, key in plan:
        value = mapping[name]
        if type(value) is float and math.isfinite(value):
            parts.append(key + repr(value))  # what the encoder writes for a finite float
        elif type(value) is str:
            parts.append(key + encode_basestring_ascii(value))
        else:
            parts.append(key + canonical_json(value))
    return "{" + ",".join(parts) + "}"


# Decisions carry mappings with the same keys in the same order (a strategy's signal names,
# the sizer's figures), so the sorting and quoting of their keys is done once per key tuple.
_PLANS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}


def _verdicts_json(verdicts: Sequence[GateVerdict]) -> str:
    """canonical_json of the verdict list; the same few verdicts recur, so each is cached."""
    parts = []
    for v in verdicts:
        key = (v.rule, v.passed, v.reason)
        text = _VERDICTS.get(key) if type(v.passed) is bool else None  # 1 == True, "1" != "true"
        if text is None:
            text = canonical_json({"rule": v.rule, "passed": v.passed, "reason": v.reason})
            if len(_VERDICTS) < 1024 and type(v.passed) is bool:
                _VERDICTS[key] = text
        parts.append(text)
    return "[" + ",".join(parts) + "]"


def manifest_row(manifest: RunManifest) -> Row:
    return {
        "run_id": manifest.run_id, "mode": manifest.mode, "strategy": manifest.strategy,
        "symbols": canonical_json([s.value for s in manifest.symbols]),
        "config": canonical_json(manifest.config), "data_digest": manifest.data_digest,
        "code_version": manifest.code_version, "started_at": manifest.started_at,
        "status": "running",
    }


def summary_values(summary: RunSummary) -> Row:
    return {
        "status": summary.status, "bars": summary.bars, "digest": summary.digest,
        "decisions_digest": summary.decisions_digest, "finished_at": summary.finished_at,
        "metrics": canonical_json(summary.metrics),
    }


def to_manifest(row: sa.RowMapping) -> RunManifest:
    return RunManifest(
        run_id=row["run_id"], mode=row["mode"], strategy=row["strategy"],
        symbols=tuple(Symbol(s) for s in json.loads(row["symbols"])),
        config=json.loads(row["config"]), data_digest=row["data_digest"],
        code_version=row["code_version"], started_at=row["started_at"],
    )


def to_summary(row: sa.RowMapping) -> RunSummary | None:
    if row["finished_at"] is None:
        return None
    return RunSummary(
        run_id=row["run_id"], status=row["status"], bars=row["bars"], digest=row["digest"],
        decisions_digest=row["decisions_digest"], finished_at=row["finished_at"],
        metrics=json.loads(row["metrics"]) if row["metrics"] is not None else {},
    )


DECISION_COLUMNS = (
    "run_id", "seq", "ts", "symbol", "close", "signals", "target_exposure", "previous_exposure",
    "current_qty", "target_qty", "sizing", "verdicts", "action", "client_order_id",
)


def decision_values(run_id: str, d: Decision) -> tuple[Any, ...]:
    return (
        run_id, d.seq, d.ts, d.symbol.value, d.close, _flat_json(d.signals), d.target_exposure,
        d.previous_exposure, d.current_qty, d.target_qty, _flat_json(d.sizing),
        _verdicts_json(d.verdicts), d.action, d.client_order_id,
    )


def _value(price: Price | None) -> Decimal | None:
    return None if price is None else price.value


ORDER_COLUMNS = (
    "run_id", "client_order_id", "symbol", "side", "order_type", "time_in_force", "quantity",
    "limit_price", "stop_price", "extended_hours", "reference_price", "status", "filled_qty",
    "avg_px", "broker_order_id", "reason", "created_at", "updated_at", "trail_amount",
    "oco_group",
)


def order_values(run_id: str, order: Order) -> tuple[Any, ...]:
    intent = order.intent
    # enum `_value_` is `.value` without the descriptor lookup (tens of thousands of rows)
    return (
        run_id, order.client_order_id, intent.symbol.value, intent.side._value_,
        intent.order_type._value_, intent.time_in_force._value_, intent.quantity.value,
        _value(intent.limit_price), _value(intent.stop_price), intent.extended_hours,
        _value(intent.reference_price), order.status._value_, order.filled_qty, order.avg_px,
        order.broker_order_id, order.reason, order.created_at, order.updated_at,
        _value(intent.trail_amount), intent.oco_group,
    )


EVENT_COLUMNS = (
    "run_id", "seq", "client_order_id", "kind", "ts_event", "reason", "broker_order_id",
    "trade_id",
)


def event_values(run_id: str, seq: int, event: OrderEvent) -> tuple[Any, ...]:
    fill = event.fill
    return (
        run_id, seq, event.client_order_id, event.kind._value_, event.ts_event, event.reason,
        event.broker_order_id, None if fill is None else fill.trade_id,
    )


FILL_COLUMNS = (
    "run_id", "trade_id", "seq", "client_order_id", "symbol", "side", "last_qty", "last_px",
    "commission", "ts_event",
)


def fill_values(run_id: str, seq: int, fill: Fill) -> tuple[Any, ...]:
    return (
        run_id, fill.trade_id, seq, fill.client_order_id, fill.symbol.value, fill.side._value_,
        fill.last_qty.value, fill.last_px.value, fill.commission.amount, fill.ts_event,
    )


def equity_chunk_row(run_id: str, chunk: int, columns: EquityColumns) -> Row:
    """Pack consecutive points: ts as zlib'd int64 deltas, equity raw, cash zlib'd (all LE)."""
    ts, equity, cash = columns
    deltas = np.diff(ts, prepend=np.int64(0)).astype("<i8", copy=False)
    return {
        "run_id": run_id, "chunk": chunk, "points": len(ts),
        "first_ts_ns": int(ts[0]), "last_ts_ns": int(ts[-1]),
        "ts_ns": zlib.compress(deltas.tobytes(), ZLIB_LEVEL),
        "equity": equity.astype("<f8", copy=False).tobytes(),
        "cash": zlib.compress(cash.astype("<f8", copy=False).tobytes(), ZLIB_LEVEL),
    }


def to_equity_columns(row: sa.RowMapping) -> EquityColumns:
    """Unpack one chunk exactly as it was packed."""
    deltas = np.frombuffer(zlib.decompress(row["ts_ns"]), dtype="<i8")
    ts = np.cumsum(deltas, dtype=np.int64)
    equity = np.frombuffer(bytes(row["equity"]), dtype="<f8").astype(np.float64)
    cash = np.frombuffer(zlib.decompress(row["cash"]), dtype="<f8").astype(np.float64)
    if not len(ts) == len(equity) == len(cash) == row["points"]:
        raise ValueError(f"equity chunk {row['chunk']} is corrupt: lengths disagree")
    return ts, equity, cash
