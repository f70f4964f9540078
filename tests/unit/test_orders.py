"""Orders move only along the transition table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from aitrader.domain.trading import (
    TRANSITIONS,
    InvalidTransition,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
)
from aitrader.domain.values import Price, Quantity, Side, Symbol

T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def order() -> Order:
    return Order("c-1", OrderIntent(Symbol("MSFT"), Side.BUY, Quantity("10")), created_at=T0)


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=12))
def test_an_order_only_ever_moves_along_the_transition_table(path: list[OrderStatus]) -> None:
    current = order()
    for status in path:
        moved = current.moved_to(status, T0)
        allowed = status in TRANSITIONS[current.status]
        assert isinstance(moved, Success) == allowed
        if isinstance(moved, Success):
            current = moved.unwrap()
            assert current.status is status


def test_terminal_states_have_no_way_out() -> None:
    for status in OrderStatus:
        assert (not TRANSITIONS[status]) == status.is_terminal


def test_fills_move_an_order_to_partially_filled_then_filled_with_the_average_price() -> None:
    accepted = order().moved_to(OrderStatus.ACCEPTED, T0).unwrap()
    partial = accepted.filled_by(Decimal(4), Decimal(10), T0).unwrap()
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    done = partial.filled_by(Decimal(6), Decimal(15), T0).unwrap()
    assert done.status is OrderStatus.FILLED
    assert done.avg_px == Decimal(13)
    assert isinstance(done.filled_by(Decimal(1), Decimal(10), T0), Failure)


def test_an_overfill_is_an_invalid_transition() -> None:
    accepted = order().moved_to(OrderStatus.ACCEPTED, T0).unwrap()
    assert isinstance(accepted.filled_by(Decimal(11), Decimal(10), T0), Failure)


def test_a_limit_intent_needs_a_limit_price() -> None:
    with pytest.raises(ValueError, match="limit"):
        OrderIntent(Symbol("MSFT"), Side.BUY, Quantity("1"), order_type=OrderType.LIMIT)
    intent = OrderIntent(Symbol("MSFT"), Side.SELL, Quantity("1"), order_type=OrderType.LIMIT,
                         limit_price=Price("10"))
    assert intent.signed_qty == Decimal(-1)


_QUANTITIES = st.sampled_from(["0", "3", "7", "10", "11"])


@given(st.lists(st.tuples(st.sampled_from(list(OrderStatus)), _QUANTITIES), max_size=10))
def test_try_move_to_and_try_fill_are_moved_to_and_filled_by_without_the_result(
    steps: list[tuple[OrderStatus, str]],
) -> None:
    current = order()
    for status, qty in steps:
        for wrapped, bare in (
            (current.moved_to(status, T0, "why"), current.try_move_to(status, T0, "why")),
            (current.filled_by(Decimal(qty), Decimal("9.5"), T0),
             current.try_fill(Decimal(qty), Decimal("9.5"), T0)),
        ):
            if isinstance(wrapped, Success):
                assert bare == wrapped.unwrap()
                current = wrapped.unwrap()
            else:
                assert isinstance(bare, InvalidTransition)
                assert bare == wrapped.failure()
