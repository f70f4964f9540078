"""Reading a run back: the records SqlJournal builds column by column (adapters/sql/reading.py)
are exactly those the row-by-row read through SQLAlchemy's column types gave, and what was
written, on SQLite and PostgreSQL: every Decimal's digits and exponent, aware UTC instants,
value types, and the order of the records."""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitrader.adapters.sql import SqlJournal, tables
from aitrader.domain.audit import Decision, GateVerdict, RunManifest
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

T0 = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)
_runs = itertools.count(1)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@attrs.frozen
class Opened:
    journal: SqlJournal
    engine: sa.Engine  # a second way in, for reading the rows as they used to be read
    sqlite: bool


@pytest.fixture
def opened(journal_url: str) -> Iterator[Opened]:
    journal = SqlJournal.open(journal_url).unwrap()
    engine = sa.create_engine(journal_url)
    yield Opened(journal, engine, journal_url.startswith("sqlite"))
    engine.dispose()
    journal.close()


def start(journal: SqlJournal) -> str:
    run_id = f"readback-{next(_runs)}"
    journal.start_run(RunManifest(
        run_id=run_id, mode="backtest", strategy="readback", symbols=(Symbol("AAPL"),),
        config={}, data_digest="-", code_version="-", started_at=T0,
    )).unwrap()
    return run_id


# Decimals in every form their text can take: scale, trailing zeros, exponents, negative zero.
digits = st.from_regex(r"[0-9]{1,14}(\.[0-9]{0,10})?|\.[0-9]{1,10}|[0-9]{1,6}E[-+]?[0-9]{1,2}",
                       fullmatch=True)
positive = digits.map(Decimal).filter(lambda d: d > 0)
unsigned = digits.map(Decimal)
signed = st.builds(lambda sign, d: -d if sign else d, st.booleans(), unsigned)
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                max_size=8)
floats = st.floats(allow_nan=False).map(lambda x: x + 0.0)  # SQLite's REAL drops a -0.0
instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)),
                               timezone(timedelta(hours=5, minutes=30))]),
)
utc_instants = instants.map(lambda at: at.astimezone(UTC))  # orders and fills insist on UTC
symbols = st.sampled_from(["AAPL", "BRK.B", "X", "ES/Z4"]).map(Symbol)
prices = positive.map(Price)

decisions = st.builds(
    Decision, seq=st.just(0), ts=instants, symbol=symbols, close=signed,
    signals=st.dictionaries(texts, st.floats(), max_size=3),
    target_exposure=floats, previous_exposure=floats, current_qty=signed, target_qty=signed,
    sizing=st.dictionaries(texts, texts, max_size=3),
    verdicts=st.lists(st.builds(GateVerdict, texts, st.booleans(), texts),
                      max_size=3).map(tuple),
    action=texts, client_order_id=st.none() | texts,
)


@st.composite
def intents(draw: st.DrawFn) -> OrderIntent:
    order_type = draw(st.sampled_from(OrderType))
    needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)
    return OrderIntent(
        symbol=draw(symbols), side=draw(st.sampled_from(Side)),
        quantity=Quantity(draw(positive)), order_type=order_type,
        time_in_force=draw(st.sampled_from(TimeInForce)),
        limit_price=draw(prices) if needs_limit else None,
        stop_price=draw(prices) if needs_stop else None,
        extended_hours=draw(st.booleans()), reference_price=draw(st.none() | prices),
        trail_amount=draw(st.none() | prices), oco_group=draw(st.none() | texts),
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    intent = draw(intents())
    filled = draw(st.sampled_from([Decimal(0), intent.quantity.value]) | unsigned.filter(
        lambda d: d <= intent.quantity.value))
    return Order(
        client_order_id=draw(texts.filter(bool)), intent=intent, created_at=draw(utc_instants),
        status=draw(st.sampled_from(OrderStatus)), filled_qty=filled,
        avg_px=draw(st.none() | positive), broker_order_id=draw(st.none() | texts),
        reason=draw(st.none() | texts), updated_at=draw(st.none() | utc_instants),
    )


fills = st.builds(
    Fill, trade_id=texts, client_order_id=texts, symbol=symbols, side=st.sampled_from(Side),
    last_qty=positive.map(Quantity), last_px=prices, commission=unsigned.map(Money),
    ts_event=utc_instants,
)


@SETTINGS
@given(st.lists(decisions, max_size=6), st.data())
def test_decisions_read_back_as_written_and_as_they_used_to(
    opened: Opened, written: list[Decision], data: st.DataObject,
) -> None:
    journal, run_id = opened.journal, start(opened.journal)
    written = [attrs.evolve(d, seq=data.draw(st.integers(-2**62, 2**62))) for d in written]
    written = sorted({d.seq: d for d in written}.values(), key=lambda d: d.seq)
    for decision in reversed(written):  # read in seq order, whatever the order written
        journal.record_decision(run_id, decision)
    journal.flush().unwrap()

    assert_read_back(opened, run_id, tables.decisions, journal.decisions(run_id).unwrap(), written)


@SETTINGS
@given(st.lists(orders(), max_size=6, unique_by=lambda o: o.client_order_id))
def test_orders_read_back_as_written_and_as_they_used_to(
    opened: Opened, written: list[Order],
) -> None:
    journal, run_id = opened.journal, start(opened.journal)
    for order in written:
        journal.record_order(run_id, order)
    journal.flush().unwrap()

    assert_read_back(opened, run_id, tables.orders, journal.orders(run_id).unwrap(), written)


@SETTINGS
@given(st.lists(fills, max_size=6, unique_by=lambda f: f.trade_id))
def test_fills_read_back_as_written_and_as_they_used_to(
    opened: Opened, written: list[Fill],
) -> None:
    journal, run_id = opened.journal, start(opened.journal)
    for seq, fill in enumerate(written):
        journal.record_event(run_id, seq, OrderEvent(
            fill.client_order_id, EventKind.FILLED, fill.ts_event, fill=fill))
    journal.flush().unwrap()

    assert_read_back(opened, run_id, tables.fills, journal.fills(run_id).unwrap(), written)


def test_records_that_share_values_read_back_equal_and_unshared_where_mutable(
    opened: Opened,
) -> None:
    journal, run_id = opened.journal, start(opened.journal)
    same = Decision(
        seq=0, ts=T0, symbol=Symbol("AAPL"), close=Decimal("1.50"), signals={"a": 1.0},
        target_exposure=0.5, previous_exposure=0.0, current_qty=Decimal("0"),
        target_qty=Decimal("1.50"), sizing={"quantity": "1.50"},
        verdicts=(GateVerdict("long_only", True),), action="order",
    )
    written = [attrs.evolve(same, seq=seq) for seq in range(3)]
    for decision in written:
        journal.record_decision(run_id, decision)
    journal.flush().unwrap()

    read = journal.decisions(run_id).unwrap()

    assert read == tuple(written)
    assert len({id(d.signals) for d in read}) == len({id(d.sizing) for d in read}) == 3


def assert_read_back(opened: Opened, run_id: str, table: sa.Table, read: Sequence[Any],
                     written: list[Any]) -> None:
    """read is exactly what the old read gave and what was written. SQLite keeps each decimal's
    text; PostgreSQL's NUMERIC keeps its value and scale but not a positive exponent or a
    negative zero, so there decimals are compared with what was written by value."""
    assert canonical(read) == canonical(reference_read(opened, run_id, table))
    assert canonical(read, by_value=not opened.sqlite) == canonical(
        tuple(written), utc=True, by_value=not opened.sqlite)


def canonical(value: Any, *, utc: bool = False, by_value: bool = False) -> Any:
    """value as nested tuples that tell apart all that == does not: a Decimal's exponent and
    sign (unless by_value), a float's sign and NaN, a datetime's zone object (after converting
    to UTC if utc), a value's exact type."""
    def canon(item: Any) -> Any:
        return canonical(item, utc=utc, by_value=by_value)

    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return type(value).__name__, tuple(canon(getattr(value, f.name)) for f in fields)
    if isinstance(value, tuple | list):
        return "seq", tuple(canon(item) for item in value)
    if isinstance(value, dict):
        return "dict", tuple(sorted((key, canon(item)) for key, item in value.items()))
    if isinstance(value, datetime):
        if utc:
            value = value.astimezone(UTC)
        return "datetime", value.isoformat(), "UTC" if value.tzinfo is UTC else repr(value.tzinfo)
    if isinstance(value, Decimal) and by_value:
        return "Decimal", Fraction(value)
    if isinstance(value, Decimal | float | enum.Enum):
        return type(value).__name__, repr(value)
    return type(value).__name__, value


def reference_read(opened: Opened, run_id: str, table: sa.Table) -> tuple[Any, ...]:
    """The records as SqlJournal read them before reading.py: every column through its
    SQLAlchemy type, a record built per RowMapping."""
    order, to_record = {
        "decisions": (table.c.get("seq"), _decision),
        "orders": (table.c.get("id"), _order),
        "fills": (table.c.get("seq"), _fill),
    }[table.name]
    query = sa.select(table).where(table.c.run_id == run_id).order_by(order)
    with opened.engine.connect() as connection:
        return tuple(to_record(row) for row in connection.execute(query).mappings())


def _decision(row: sa.RowMapping) -> Decision:
    verdicts = tuple(
        GateVerdict(rule=v["rule"], passed=v["passed"], reason=v["reason"])
        for v in json.loads(row["verdicts"])
    )
    return Decision(
        seq=row["seq"], ts=row["ts"], symbol=Symbol(row["symbol"]), close=row["close"],
        signals=json.loads(row["signals"]), target_exposure=row["target_exposure"],
        previous_exposure=row["previous_exposure"], current_qty=row["current_qty"],
        target_qty=row["target_qty"], sizing=json.loads(row["sizing"]), verdicts=verdicts,
        action=row["action"], client_order_id=row["client_order_id"],
    )


def _price(value: Decimal | None) -> Price | None:
    return None if value is None else Price(value)


def _order(row: sa.RowMapping) -> Order:
    intent = OrderIntent(
        symbol=Symbol(row["symbol"]), side=Side(row["side"]),
        quantity=Quantity(row["quantity"]), order_type=OrderType(row["order_type"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        limit_price=_price(row["limit_price"]), stop_price=_price(row["stop_price"]),
        extended_hours=bool(row["extended_hours"]),
        reference_price=_price(row["reference_price"]),
        trail_amount=_price(row["trail_amount"]), oco_group=row["oco_group"],
    )
    return Order(
        client_order_id=row["client_order_id"], intent=intent, created_at=row["created_at"],
        status=OrderStatus(row["status"]), filled_qty=row["filled_qty"], avg_px=row["avg_px"],
        broker_order_id=row["broker_order_id"], reason=row["reason"],
        updated_at=row["updated_at"],
    )


def _fill(row: sa.RowMapping) -> Fill:
    return Fill(
        trade_id=row["trade_id"], client_order_id=row["client_order_id"],
        symbol=Symbol(row["symbol"]), side=Side(row["side"]),
        last_qty=Quantity(row["last_qty"]), last_px=Price(row["last_px"]),
        commission=Money(row["commission"]), ts_event=row["ts_event"],
    )


def test_the_records_own_checks_still_run_on_what_is_read(opened: Opened) -> None:
    journal, run_id = opened.journal, start(opened.journal)
    intent = OrderIntent(symbol=Symbol("AAPL"), side=Side.BUY, quantity=Quantity("10"))
    journal.record_order(run_id, Order("c-1", intent, T0))
    journal.flush().unwrap()
    with opened.engine.begin() as connection:  # a row no Order could have written
        connection.execute(tables.orders.update().values(filled_qty=Decimal("11")))

    with pytest.raises(ValueError, match="filled quantity out of range"):
        journal.orders(run_id)
