"""slot_init: a record built through its slot descriptors is the record attrs' own __init__
builds from the same arguments, or the same error; slot_setters serve trusted constructions."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.market import Bar, Session
from aitrader.domain.risk import RiskContext
from aitrader.domain.risk.state import TradingState
from aitrader.domain.slotted import slot_init, slot_setters
from aitrader.domain.trading import (
    EventKind,
    Fill,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol

AAPL, MSFT = Symbol("AAPL"), Symbol("MSFT")
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
MOMENTS = [T0, T0 + timedelta(minutes=1), T0 - timedelta(days=3), T0.replace(tzinfo=None),
           T0.astimezone(ZoneInfo("America/New_York")), T0.replace(tzinfo=ZoneInfo("UTC")),
           T0.replace(tzinfo=timezone(timedelta(0)))]
DECIMALS = [Decimal(0), Decimal(5), Decimal("2.50"), Decimal(-1), Decimal("1E+2")]
PRICES = [Price(Decimal("10.00")), Price(Decimal(11)), Price(Decimal("0.0001"))]
QUANTITIES = [Quantity(Decimal(0)), Quantity(Decimal(5)), Quantity(Decimal("2.5"))]
INTENTS = [OrderIntent(AAPL, Side.BUY, Quantity(Decimal(5))),
           OrderIntent(MSFT, Side.SELL, Quantity(Decimal("2.5")), OrderType.LIMIT,
                       limit_price=Price(Decimal(10)))]
FILLS = [Fill("t-1", "c-1", AAPL, Side.BUY, Quantity(Decimal(5)), Price(Decimal(10)),
              Money(Decimal("1.00")), T0)]
JUNK = [None, 0, "", "x", -1.5, True]

# what each field of each record may be given: sound values, values its checks refuse, and
# values of the wrong type (attrs does not check types; a check that reads them may fail)
POOLS: dict[type, dict[str, list[Any]]] = {
    OrderIntent: {
        "symbol": [AAPL, MSFT], "side": list(Side), "quantity": QUANTITIES,
        "order_type": list(OrderType), "time_in_force": list(TimeInForce),
        "limit_price": [None, *PRICES], "stop_price": [None, *PRICES],
        "extended_hours": [False, True], "reference_price": [None, *PRICES],
        "trail_amount": [None, *PRICES], "oco_group": [None, "g1"],
    },
    Order: {
        "client_order_id": ["c-1", ""], "intent": INTENTS, "created_at": MOMENTS,
        "status": list(OrderStatus), "filled_qty": DECIMALS, "avg_px": [None, *DECIMALS],
        "broker_order_id": [None, "b-1"], "reason": [None, "why"],
        "updated_at": [None, *MOMENTS],
    },
    Fill: {
        "trade_id": ["t-1", ""], "client_order_id": ["c-1"], "symbol": [AAPL, MSFT],
        "side": list(Side), "last_qty": QUANTITIES, "last_px": PRICES,
        "commission": [Money(Decimal(0)), Money(Decimal("1.00")), Money(Decimal(-1))],
        "ts_event": MOMENTS,
    },
    OrderEvent: {
        "client_order_id": ["c-1", ""], "kind": list(EventKind), "ts_event": MOMENTS,
        "reason": [None, "why"], "fill": [None, *FILLS], "broker_order_id": [None, "b-1"],
    },
    Position: {
        "symbol": [AAPL, MSFT], "signed_qty": DECIMALS, "cost_basis": DECIMALS,
        "realized_pnl": DECIMALS, "commission": DECIMALS,
    },
    GateVerdict: {"rule": ["long_only"], "passed": [True, False], "reason": ["", "why"]},
    Decision: {
        "seq": [1, 2], "ts": MOMENTS, "symbol": [AAPL], "close": DECIMALS,
        "signals": [{}, {"fast": 1.5}], "target_exposure": [0.0, 1.0],
        "previous_exposure": [0.0, -1.0], "current_qty": DECIMALS, "target_qty": DECIMALS,
        "sizing": [{}, {"equity": "100"}], "verdicts": [(), (GateVerdict("long_only", True),)],
        "action": ["hold", "order"], "client_order_id": [None, "c-1"],
    },
    RiskContext: {
        **dict.fromkeys(("equity", "cash", "position_qty", "pending_qty", "price",
                         "reserved_cash", "estimated_commission", "gross_exposure",
                         "net_exposure", "drawdown", "daily_loss", "var_before", "var_after"),
                        DECIMALS),
        **{name: [0, 3] for name in (
            "open_positions", "rejection_streak", "orders_in_window", "day_trades",
            "open_day_trades")},
        "state": list(TradingState), "session": list(Session), "emergency": [False, True],
    },
    Bar: {
        "symbol": [AAPL], "ts_open": MOMENTS, "ts_close": MOMENTS, "open": PRICES,
        "high": PRICES, "low": PRICES, "close": PRICES,
        "volume": [*DECIMALS, 7, "12.5", "nan", 1.5, True, None],
    },
}
RECORDS = list(POOLS)


@st.composite
def calls(draw: st.DrawFn, cls: type) -> tuple[list[Any], dict[str, Any]]:
    """Arguments for cls: each field from its pool (or junk), given by position or by keyword;
    a field with a default may be left out."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    by_keyword = False
    for field in attrs.fields(cls):
        if not field.init:
            continue
        has_default = field.default is not attrs.NOTHING
        if has_default and draw(st.booleans()):
            by_keyword = True  # what follows a left-out field must be named
            continue
        pool = POOLS[cls][field.name]
        value = draw(st.sampled_from(pool) if draw(st.integers(0, 9)) else st.sampled_from(JUNK))
        by_keyword = by_keyword or draw(st.integers(0, 3)) == 0
        if by_keyword or field.kw_only:
            kwargs[field.alias] = value
        else:
            args.append(value)
    return args, kwargs


def outcome(build: Any) -> tuple[Any, ...]:
    """What a construction gives: the record with each field's type and repr (what equality
    does not see, as a Decimal's exponent), or the error's type and message."""
    try:
        record = build()
    except Exception as error:  # the point is that errors match
        return ("raised", type(error), str(error))
    fields = attrs.fields(type(record))
    return ("built", type(record), record,
            tuple(repr(getattr(record, f.name)) for f in fields),
            tuple(type(getattr(record, f.name)) for f in fields))


def through_attrs(cls: type, args: list[Any], kwargs: dict[str, Any]) -> object:
    record = object.__new__(cls)
    cls.__init__.checked(record, *args, **kwargs)  # type: ignore[misc]
    return record


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_every_hot_record_sets_its_slots_through_their_descriptors(cls: type) -> None:
    init = cls.__init__
    assert hasattr(init, "checked"), f"{cls.__name__} kept attrs' __init__"
    assert "_setattr" not in init.__code__.co_names
    assert init.__defaults__ == init.checked.__defaults__  # type: ignore[attr-defined]
    assert init.__code__.co_varnames[:init.__code__.co_argcount] == \
        init.checked.__code__.co_varnames[:init.checked.__code__.co_argcount]  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_the_fast_init_keeps_attrs_lines_for_tracebacks_and_debuggers(cls: type) -> None:
    init, checked = cls.__init__, cls.__init__.checked  # type: ignore[misc]
    assert init.__code__.co_filename == checked.__code__.co_filename
    assert init.__code__.co_firstlineno == checked.__code__.co_firstlineno
    assert inspect.getsource(init) == inspect.getsource(checked)
    # every line the fast __init__ runs is a line of attrs' own __init__ (its set calls
    # read as they did: the line numbers point at the same statements)
    lines = {line for _, _, line in init.__code__.co_lines() if line is not None}
    original = {line for _, _, line in checked.__code__.co_lines() if line is not None}
    assert lines <= original


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_record_is_what_attrs_own_init_builds_or_its_error(cls: type, data: st.DataObject
                                                               ) -> None:
    args, kwargs = data.draw(calls(cls))
    fast = outcome(lambda: cls(*args, **kwargs))
    assert fast == outcome(lambda: through_attrs(cls, args, kwargs))
    if fast[0] == "built":  # and the record behaves as one attrs built: eq, hash, repr
        other = through_attrs(cls, args, kwargs)
        assert fast[2] == other
        assert repr(fast[2]) == repr(other)
        if not any(isinstance(getattr(other, f.name), dict) for f in attrs.fields(cls)):
            assert hash(fast[2]) == hash(other)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            fast[2].__setattr__(attrs.fields(cls)[0].name, None)


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, was {value}")


@slot_init
@attrs.frozen
class Everything:
    """Every attrs feature slot_init must keep: converters, validators (decorator and
    argument), defaults, factories, a private name's alias, keyword-only fields, a post-init."""

    count: int = attrs.field(converter=int, validator=_positive)
    label: str = attrs.field(default="x")
    tags: tuple[str, ...] = attrs.field(factory=tuple, converter=tuple)
    _secret: int = attrs.field(default=3, validator=attrs.validators.instance_of(int))
    scale: Decimal = attrs.field(default=Decimal(1), kw_only=True)
    cached: int = attrs.field(init=False, default=7)

    @label.validator
    def _short(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if len(value) > 3:
            raise ValueError(f"label too long: {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.count > 100 * self._secret:
            raise ValueError("count beyond the secret's reach")


POOLS[Everything] = {
    "count": [1, 0, -2, "5", "x", 1000, 2.7], "label": ["x", "long label", 3],
    "tags": [(), ["a", "b"], "ab", 5], "_secret": [3, 1, "3"], "scale": [Decimal(2), None],
}


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_every_attrs_feature_behaves_as_attrs_own_init(data: st.DataObject) -> None:
    assert hasattr(Everything.__init__, "checked")
    args, kwargs = data.draw(calls(Everything))
    assert outcome(lambda: Everything(*args, **kwargs)) == \
        outcome(lambda: through_attrs(Everything, args, kwargs))


def test_validators_switched_off_are_off_on_both_paths() -> None:
    with attrs.validators.disabled():
        assert Everything(0).count == 0
    with pytest.raises(ValueError, match="count must be positive, was 0"):
        Everything(0)


def test_a_class_not_in_the_expected_shape_keeps_attrs_init() -> None:
    @attrs.define(slots=False, frozen=True)
    class Plain:
        x: int

    init = Plain.__init__
    assert slot_init(Plain).__init__ is init


def test_slot_setters_set_each_field_in_order() -> None:
    position: Position = object.__new__(Position)
    for setter, value in zip(slot_setters(Position), (AAPL, *DECIMALS[:4]), strict=True):
        setter(position, value)
    assert position == Position(AAPL, *DECIMALS[:4])
