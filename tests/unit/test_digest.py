"""RunDigest: every covered field counts, ids and batching do not, and it is deterministic."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aitrader.application.digest import RunDigest
from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.trading import (
    EventKind,
    Fill,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol

CID = "0123456789abcdef-000001"
T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
INTENT = OrderIntent(Symbol("SYN"), Side.BUY, Quantity(Decimal(10)),
                     reference_price=Price(Decimal("99.5")))
DECISION = Decision(
    seq=1, ts=T0, symbol=Symbol("SYN"), close=Decimal("99.5"),
    signals={"sma_fast": 99.25, "sma_slow": 98.75}, target_exposure=1.0,
    previous_exposure=0.0, current_qty=Decimal(0), target_qty=Decimal(10),
    sizing={"budget": "1000", "quantity": "10"},
    verdicts=(GateVerdict("long_only", True), GateVerdict("buying_power", True)),
    action="order", client_order_id=CID)
ORDER = Order(CID, INTENT, created_at=T0, status=OrderStatus.ACCEPTED)
STOP_LIMIT_ORDER = Order(CID, attrs.evolve(INTENT, order_type=OrderType.STOP_LIMIT,
                                           limit_price=Price(Decimal("101")),
                                           stop_price=Price(Decimal("100.5"))),
                         created_at=T0, status=OrderStatus.ACCEPTED)
EVENT = OrderEvent(CID, EventKind.ACCEPTED, T0, broker_order_id="sim-1")
FILL = Fill(f"{CID}-1", CID, Symbol("SYN"), Side.BUY, Quantity(Decimal(10)),
            Price(Decimal("99.4")), Money(Decimal(1)), T0 + timedelta(minutes=1))

names = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)  # signal names, gate rules
texts = st.text(max_size=12)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4,
                       min_value=Decimal("0.0001"), max_value=Decimal(10**6))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(UTC))
symbols = st.from_regex(r"[A-Z]{1,5}", fullmatch=True).map(Symbol)

# Every field the digests cover, with values to change it to: `a.b` is field b of field a.
DECISION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "seq": st.integers(0, 10**9), "ts": moments, "symbol": symbols, "close": decimals,
    "signals": st.dictionaries(names, st.floats(), max_size=3),
    "target_exposure": st.floats(), "previous_exposure": st.floats(),
    "current_qty": decimals, "target_qty": decimals,
    "sizing": st.dictionaries(names, texts, max_size=3),
    "verdicts": st.lists(st.builds(GateVerdict, names, st.booleans(), texts),
                         max_size=3).map(tuple),
    "action": names, "client_order_id": st.none(),
}
ORDER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "intent.symbol": symbols, "intent.side": st.sampled_from(Side),
    "intent.quantity": decimals.map(Quantity),
    "intent.order_type": st.sampled_from([OrderType.STOP]),  # with the stop price below
    "intent.time_in_force": st.sampled_from(TimeInForce),
    "intent.limit_price": decimals.map(Price), "intent.stop_price": decimals.map(Price),
    "intent.extended_hours": st.booleans(), "intent.reference_price": decimals.map(Price),
    "intent.trail_amount": decimals.map(Price), "intent.oco_group": st.none() | texts,
    "status": st.sampled_from(OrderStatus), "filled_qty": decimals, "avg_px": decimals,
    "created_at": moments, "reason": st.one_of(texts, st.just("None")),
}
EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "seq": st.integers(0, 10**9), "ts_event": moments,
    "kind": st.sampled_from([EventKind.REJECTED, EventKind.CANCELED, EventKind.EXPIRED]),
    "reason": st.one_of(texts, st.just("None")),
}
FILL_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "symbol": symbols, "side": st.sampled_from(Side), "last_qty": decimals.map(Quantity),
    "last_px": decimals.map(Price), "commission": decimals.map(Money), "ts_event": moments,
}


def digests(decision: Decision = DECISION, order: Order = ORDER, event: OrderEvent = EVENT,
            fill: Fill = FILL, seq: int = 1, cid: str = CID, batch: int = 512,
            earlier: Sequence[Decision | Order | Fill] = ()) -> tuple[str, str]:
    """The digests of a run of one decision, order, event and fill (after the earlier ones)."""
    digest = RunDigest(batch)
    digest.manifest({"bench": "x"}, "data")
    digest.register_order(1, cid)
    for record in earlier:
        {Decision: digest.decision, Order: digest.order, Fill: digest.fill}[type(record)](record)
    digest.decision(decision)
    digest.order(order)
    digest.event(seq, event)
    digest.fill(fill)
    return digest.digest, digest.decisions_digest


def with_field(record: Any, path: str, value: Any) -> Any:
    """record with the field at path (dotted for nested records) set to value."""
    head, _, rest = path.partition(".")
    if rest:
        value = with_field(getattr(record, head), rest, value)
    if head == "order_type" and value is OrderType.STOP and record.stop_price is None:
        return attrs.evolve(record, order_type=value, stop_price=Price(Decimal(1)))
    return attrs.evolve(record, **{head: value})


def differs(before: object, after: object) -> bool:
    if isinstance(before, float) and isinstance(after, float):  # -0.0 and NaN are data too
        return struct.pack("<d", before) != struct.pack("<d", after)
    return type(before) is not type(after) or repr(before) != repr(after)


def changed(fields: dict[str, st.SearchStrategy[Any]], record: Any, data: st.DataObject
            ) -> tuple[str, Any]:
    path = data.draw(st.sampled_from(sorted(fields)), label="field")
    value = data.draw(fields[path], label="value")
    before = record
    for name in path.split("."):
        before = getattr(before, name)
    assume(differs(before, value))
    try:
        return path, with_field(record, path, value)
    except ValueError:  # a record the domain refuses (e.g. filled more than ordered)
        assume(False)
        raise


@pytest.mark.parametrize(("kind", "fields", "record"), [
    ("decision", DECISION_FIELDS, DECISION), ("order", ORDER_FIELDS, ORDER),
    ("order", ORDER_FIELDS, STOP_LIMIT_ORDER),  # the one whose limit and stop prices can move
    ("fill", FILL_FIELDS, FILL)])
@pytest.mark.parametrize("repeated", [False, True])
@settings(max_examples=300)
@given(data=st.data())
def test_changing_any_field_of_a_decision_order_or_fill_changes_both_digests(
        kind: str, fields: dict[str, st.SearchStrategy[Any]], record: Any, repeated: bool,
        data: st.DataObject) -> None:
    """Also when the record follows one like it: a decision shaped like the one before it
    and a later state of an order are hashed in part as "as before"."""
    _, other = changed(fields, record, data)
    earlier = (record,) if repeated else ()
    before = digests(**{kind: record}, earlier=earlier)
    after = digests(**{kind: other}, earlier=earlier)
    assert after[0] != before[0]
    assert after[1] != before[1]


def test_equal_verdicts_are_hashed_alike_whatever_objects_they_are() -> None:
    """A decision's shape is "as before" by value, not because it shares the objects."""
    copies = tuple(attrs.evolve(v) for v in DECISION.verdicts)
    assert copies[0] is not DECISION.verdicts[0]
    again = attrs.evolve(DECISION, verdicts=copies)
    assert digests(again, earlier=(DECISION,)) == digests(earlier=(DECISION,))
    assert digests(again) == digests()


@settings(max_examples=200)
@given(st.data())
def test_changing_any_field_of_an_event_changes_the_digest_only(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(EVENT_FIELDS)), label="field")
    value = data.draw(EVENT_FIELDS[path], label="value")
    if path == "seq":  # the event's sequence number is an argument, not a field
        assume(value != 1)
        after = digests(seq=value)
    else:
        assume(differs(getattr(EVENT, path), value))
        after = digests(event=attrs.evolve(EVENT, **{path: value}))
    before = digests()
    assert after[0] != before[0]
    assert after[1] == before[1]


def test_ids_are_hashed_as_order_numbers_even_inside_reasons() -> None:
    other = "fedcba9876543210-000001"

    def renamed(reason: str | None) -> tuple[str, str]:
        return digests(attrs.evolve(DECISION, client_order_id=other),
                       attrs.evolve(ORDER, client_order_id=other,
                                    reason=None if reason is None else reason + other),
                       attrs.evolve(EVENT, client_order_id=other, broker_order_id="sim-9"),
                       attrs.evolve(FILL, client_order_id=other, trade_id=f"{other}-7"),
                       cid=other)

    assert renamed(None) == digests()
    quoting = digests(order=attrs.evolve(ORDER, reason="refused: " + CID))
    assert renamed("refused: ") == quoting != digests()


def test_each_state_of_an_order_is_hashed_whole_whatever_objects_it_shares() -> None:
    def states(*orders: Order) -> str:
        digest = RunDigest()
        digest.register_order(1, CID)
        for order in orders:
            digest.order(order)
        return digest.decisions_digest

    filled = attrs.evolve(ORDER, status=OrderStatus.FILLED, filled_qty=Decimal(10),
                          avg_px=Decimal("99.4"))
    same = states(ORDER, filled)
    copied = attrs.evolve(filled, intent=attrs.evolve(INTENT),
                          created_at=T0 + timedelta(0))  # equal values, other objects
    assert copied.intent is not ORDER.intent
    assert states(ORDER, copied) == same
    other = attrs.evolve(filled, intent=attrs.evolve(INTENT, quantity=Quantity(Decimal(11))))
    assert states(ORDER, other) != same
    later = attrs.evolve(filled, created_at=T0 + timedelta(seconds=1))
    assert states(ORDER, later) != same


def test_the_order_of_records_counts() -> None:
    digest = RunDigest()
    digest.register_order(1, CID)
    digest.order(ORDER)
    digest.event(1, EVENT)
    digest.fill(FILL)
    swapped = RunDigest()
    swapped.register_order(1, CID)
    swapped.order(ORDER)
    swapped.fill(FILL)
    swapped.event(1, EVENT)
    assert swapped.digest != digest.digest
    assert swapped.decisions_digest == digest.decisions_digest  # events are not in it


@settings(max_examples=100)
@given(kinds=st.lists(st.sampled_from("DOEF"), max_size=40), batch=st.integers(1, 16),
       cut=st.integers(0, 20))
def test_batching_never_changes_a_digest(kinds: list[str], batch: int, cut: int) -> None:
    """Records hashed in batches of any size, and the curve in chunks cut anywhere, give the
    same digests as one batch and one chunk."""
    ts = np.arange(20, dtype=np.int64) * 60_000_000_000
    equity = np.linspace(100.0, 120.0, 20)

    def run(batch: int, chunks: list[slice]) -> tuple[str, str]:
        digest = RunDigest(batch)
        digest.manifest({}, "data")
        digest.register_order(1, CID)
        for i, kind in enumerate(kinds):
            if kind == "D":
                digest.decision(attrs.evolve(DECISION, seq=i))
            elif kind == "O":
                digest.order(ORDER)
            elif kind == "E":
                digest.event(i, EVENT)
            else:
                digest.fill(FILL)
        for chunk in chunks:
            digest.equity(ts[chunk], equity[chunk])
        return digest.digest, digest.decisions_digest

    assert run(batch, [slice(0, cut), slice(cut, None)]) == run(10_000, [slice(None)])


def test_the_curve_is_hashed_as_little_endian_bytes_whatever_the_layout() -> None:
    ts = np.arange(0, 20, dtype=np.int64) * 60_000_000_000
    equity = np.linspace(100.0, 120.0, 20)
    seen = set()
    for layout in (lambda a: a[::2].copy(), lambda a: a[::2],
                   lambda a: a[::2].astype(a.dtype.newbyteorder(">"))):
        digest = RunDigest()
        digest.equity(layout(ts), layout(equity))
        seen.add(digest.digest)
    other = RunDigest()
    other.equity(ts[::2], equity[::2] + 1.0)
    assert len(seen) == 1
    assert other.digest not in seen


def test_digests_are_the_same_in_processes_with_other_hash_seeds() -> None:
    script = ("from tests.unit.test_digest import digests; print(*digests())")
    root = Path(__file__).resolve().parents[2]
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
        outputs.add(subprocess.run([sys.executable, "-c", script], env=env, check=True,
                                   capture_output=True, text=True, cwd=root).stdout)
    assert outputs == {" ".join(digests()) + "\n"}


def test_the_digests_are_pinned() -> None:
    """A change of encoding changes every stored digest's meaning: it must be deliberate."""
    assert digests() == PINNED


PINNED = ("f94dc3ef6d06536685a311d6e9bff5e31a2c1a4c08dd04100b22232df07d0199",
          "3cb6508ca55ca756741d57dad2ac1d6d985a7dbe3930e445cbd09d9b8461156d")


def test_every_nan_hashes_alike_whatever_its_sign_and_payload_bits() -> None:
    # a batch twin and a streaming kernel may produce NaNs with different bits: the same data
    quiet, negative = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0], \
        struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000001))[0]
    first = digests(attrs.evolve(DECISION, signals={"vol": quiet}))
    second = digests(attrs.evolve(DECISION, signals={"vol": negative}))
    assert first == second
    assert first != digests(attrs.evolve(DECISION, signals={"vol": 0.0}))
