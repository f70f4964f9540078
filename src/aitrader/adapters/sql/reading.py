"""Reading a run's decisions, orders and fills back: journal rows to domain records, by column.

Rows arrive as plain tuples in the *_READ column order, without SQLAlchemy's type processing:
exact decimals as text (SQLite stores them so; on PostgreSQL SqlJournal._read_records casts
them) and timestamps as the driver gives them (SQLite's naive UTC text, psycopg's aware
datetimes). Each column is then
converted whole through a memo that decodes each distinct raw value once, so a repeat (a price,
a quantity, a symbol, an instant shared by an order's states and its fill, the same verdicts on
every decision) is one dict lookup in C; the records are then built column by column too
(_Builder), their __attrs_post_init__ checks run on each. The values are those SQLAlchemy's
ExactDecimal and UtcDateTime gave row by row: the same Decimal (digits and exponent) from the
same text, the same aware UTC instant; equal values read together may be one shared immutable
object (never a mutable one: each decision gets its own signals and sizing dicts).

Measured on bench_journal.py's 50,000 decisions, orders and fills (SQLite, noisy 2-core
machine): 3.3-4.5 s as RowMappings through the column types and a record per row; 1.1-1.4 s
by column with the garbage collector paused (SqlJournal._collection_paused); 0.95-1.2 s with
records built column-wise too (_Builder). What is left is about half fetching (sqlite3 makes an
object of every cell: ~0.45 s) and half building ~200,000 records and their JSON.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

import attrs

from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.trading import Fill, Order, OrderIntent, OrderStatus, OrderType, TimeInForce
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol

# What each read selects, in the order of the record's own fields (checked by _Builder).
DECISION_READ = (
    "seq", "ts", "symbol", "close", "signals", "target_exposure", "previous_exposure",
    "current_qty", "target_qty", "sizing", "verdicts", "action", "client_order_id",
)
ORDER_READ = (
    "client_order_id", "symbol", "side", "order_type", "time_in_force", "quantity",
    "limit_price", "stop_price", "extended_hours", "reference_price", "status", "filled_qty",
    "avg_px", "broker_order_id", "reason", "created_at", "updated_at", "trail_amount",
    "oco_group",
)
FILL_READ = (
    "trade_id", "client_order_id", "symbol", "side", "last_qty", "last_px", "commission",
    "ts_event",
)
_INTENT_FIELDS = (
    "symbol", "side", "quantity", "order_type", "time_in_force", "limit_price", "stop_price",
    "extended_hours", "reference_price", "trail_amount", "oco_group",
)
_ORDER_FIELDS = (
    "client_order_id", "intent", "created_at", "status", "filled_qty", "avg_px",
    "broker_order_id", "reason", "updated_at",
)


class _Builder:
    """Builds many records of a frozen, slotted attrs class from columns of field values, as
    its __init__ would one by one: every slot set (fields not given keep their default), then
    __attrs_post_init__ on each, so the domain's checks still run. The slots are set column by
    column in C, which halves the cost of a record (13 fields: ~1.3 us -> ~0.8 us). Only for
    classes whose __init__ does nothing else (no converter, validator, pre-init or hidden
    slot), which is checked here."""

    def __init__(self, cls: type, names: Sequence[str]) -> None:
        fields = attrs.fields(cls)
        given = tuple(field.name for field in fields)[:len(names)]
        rest = fields[len(names):]
        if (given != tuple(names) or hasattr(cls, "__attrs_pre_init__")
                or any(f.converter or f.validator for f in fields)
                or any(isinstance(f.default, attrs.Factory) for f in rest)  # type: ignore[arg-type]
                or set(getattr(cls, "__slots__", ())) - {"__weakref__"}
                != {f.name for f in fields}):
            raise TypeError(f"reading.py cannot build {cls.__name__} from columns {names}")
        self._cls = cls
        self._setters = [getattr(cls, field.name).__set__ for field in fields]
        self._defaults = [field.default for field in rest]
        self._check = getattr(cls, "__attrs_post_init__", None)

    def __call__(self, count: int, *columns: Iterable[Any]) -> list[Any]:
        records: list[Any] = list(map(object.__new__, repeat(self._cls, count)))
        defaults = [repeat(default, count) for default in self._defaults]
        for setter, column in zip(self._setters, [*columns, *defaults], strict=True):
            deque(map(setter, records, column), maxlen=0)
        if self._check is not None:
            deque(map(self._check, records), maxlen=0)
        return records


_decisions = _Builder(Decision, DECISION_READ)
_intents = _Builder(OrderIntent, _INTENT_FIELDS)
_orders = _Builder(Order, _ORDER_FIELDS)
_fills = _Builder(Fill, FILL_READ)


class _Memo(dict[Any, Any]):
    """Raw value -> decoded value, decoding each distinct raw value once (on a miss)."""

    def __init__(self, decode: Callable[[Any], Any], nullable: bool = False) -> None:
        super().__init__()
        self._decode = decode
        if nullable:
            self[None] = None

    def __missing__(self, raw: Any) -> Any:
        value = self[raw] = self._decode(raw)
        return value


def _utc(raw: Any) -> datetime:
    """As UtcDateTime reads a value: SQLite's text parsed as SQLAlchemy parses it, then UTC."""
    if type(raw) is str:
        try:  # naive UTC text, as written: parsed with its zone (replace() takes ~1.6 us)
            return datetime.fromisoformat(raw + "+00:00")
        except ValueError:
            raw = datetime.fromisoformat(raw)
    value: datetime = raw
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# What json.loads runs (json's C scanner), without the three Python frames around it; typeshed
# does not declare the attribute JSONDecoder.__init__ sets.
_SCAN: Callable[[str, int], tuple[Any, int]] = (
    json.JSONDecoder().scan_once)  # type: ignore[attr-defined]


def _json(text: str) -> Any:
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)  # raises json.loads' own error (or skips leading whitespace)
    return value if end == len(text) else json.loads(text)


def _verdicts(text: str) -> tuple[GateVerdict, ...]:
    return tuple(GateVerdict(rule=v["rule"], passed=v["passed"], reason=v["reason"])
                 for v in _json(text))


def _times() -> _Memo:
    return _Memo(_utc, nullable=True)


def _decimals() -> _Memo:
    return _Memo(Decimal, nullable=True)


def to_decisions(fetched: Sequence[Sequence[Any]]) -> tuple[Decision, ...]:
    """Decisions from rows of DECISION_READ, in row order."""
    if not fetched:
        return ()
    (seq, ts, symbol, close, signals, target_exposure, previous_exposure, current_qty,
     target_qty, sizing, verdicts, action, client_order_id) = zip(*fetched, strict=True)
    decimals = _decimals().__getitem__
    return tuple(_decisions(
        len(fetched), seq, map(_times().__getitem__, ts), map(_Memo(Symbol).__getitem__, symbol),
        map(decimals, close), map(_json, signals), target_exposure, previous_exposure,
        map(decimals, current_qty), map(decimals, target_qty), map(_json, sizing),
        map(_Memo(_verdicts).__getitem__, verdicts), action, client_order_id,
    ))


def to_orders(fetched: Sequence[Sequence[Any]]) -> tuple[Order, ...]:
    """Orders (latest state) from rows of ORDER_READ, in row order."""
    if not fetched:
        return ()
    (client_order_id, symbol, side, order_type, time_in_force, quantity, limit_price,
     stop_price, extended_hours, reference_price, status, filled_qty, avg_px, broker_order_id,
     reason, created_at, updated_at, trail_amount, oco_group) = zip(*fetched, strict=True)
    decimals, times = _decimals(), _times()
    prices = _Memo(lambda text: Price(decimals[text]), nullable=True).__getitem__
    intents = _intents(
        len(fetched), map(_Memo(Symbol).__getitem__, symbol), map(_Memo(Side).__getitem__, side),
        map(_Memo(lambda text: Quantity(decimals[text])).__getitem__, quantity),
        map(_Memo(OrderType).__getitem__, order_type),
        map(_Memo(TimeInForce).__getitem__, time_in_force), map(prices, limit_price),
        map(prices, stop_price), map(bool, extended_hours), map(prices, reference_price),
        map(prices, trail_amount), oco_group,
    )
    return tuple(_orders(
        len(fetched), client_order_id, intents, map(times.__getitem__, created_at),
        map(_Memo(OrderStatus).__getitem__, status), map(decimals.__getitem__, filled_qty),
        map(decimals.__getitem__, avg_px), broker_order_id, reason,
        map(times.__getitem__, updated_at),
    ))


def to_fills(fetched: Sequence[Sequence[Any]]) -> tuple[Fill, ...]:
    """Fills from rows of FILL_READ, in row order."""
    if not fetched:
        return ()
    (trade_id, client_order_id, symbol, side, last_qty, last_px, commission,
     ts_event) = zip(*fetched, strict=True)
    decimals = _decimals()
    return tuple(_fills(
        len(fetched), trade_id, client_order_id, map(_Memo(Symbol).__getitem__, symbol),
        map(_Memo(Side).__getitem__, side),
        map(_Memo(lambda text: Quantity(decimals[text])).__getitem__, last_qty),
        map(_Memo(lambda text: Price(decimals[text])).__getitem__, last_px),
        map(_Memo(lambda text: Money(decimals[text])).__getitem__, commission),
        map(_times().__getitem__, ts_event),
    ))
