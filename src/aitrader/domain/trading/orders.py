"""Order intents, orders and the transition table that is the only way an order changes."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

import attrs
from returns.result import Failure, Result, Success

from aitrader.domain.market import require_utc
from aitrader.domain.slotted import slot_init, slot_setters
from aitrader.domain.values import Price, Quantity, Side, Symbol


class OrderType(enum.Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"  # a stop that follows the best price by trail_amount

    __hash__ = object.__hash__  # see OrderStatus


class TimeInForce(enum.Enum):
    DAY = "day"
    GTC = "gtc"

    __hash__ = object.__hash__  # see OrderStatus


_TERMINAL_VALUES = frozenset({"filled", "canceled", "expired", "rejected"})


class OrderStatus(enum.Enum):
    """FIX-style order states; PENDING_NEW is persisted before the broker is called."""

    PENDING_NEW = "pending_new"
    UNKNOWN = "unknown"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    is_terminal: bool  # filled, canceled, expired or rejected: nothing more can happen
    is_open: bool  # not terminal

    # Members are singletons compared by identity, so identity hashing is exact; Enum's own
    # __hash__ is Python code, and every order step looks statuses up in tables and sets.
    __hash__ = object.__hash__

    def __init__(self, value: str) -> None:
        # plain attributes of each member, not properties: a property read measured ~140 ns
        # against ~20 ns, and every order step and broker book-keeping reads them
        self.is_terminal = value in _TERMINAL_VALUES
        self.is_open = not self.is_terminal


_ZERO = Decimal(0)
_S = OrderStatus
# read per order or fill: Python 3.11 reads an enum member off its class through EnumType's
# __getattr__ hook (~130 ns, against ~15 ns for a module name)
_FILLED, _PARTIALLY_FILLED = OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED
_MARKET = OrderType.MARKET
_LIVE_EXITS = frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED})
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING_NEW: frozenset({_S.ACCEPTED, _S.REJECTED, _S.UNKNOWN, _S.CANCELED})
    | _LIVE_EXITS,
    _S.UNKNOWN: frozenset({_S.ACCEPTED, _S.REJECTED}) | _LIVE_EXITS,
    _S.ACCEPTED: frozenset({_S.PENDING_CANCEL}) | _LIVE_EXITS,
    _S.PARTIALLY_FILLED: frozenset({_S.PENDING_CANCEL}) | _LIVE_EXITS,
    _S.PENDING_CANCEL: _LIVE_EXITS,
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.REJECTED: frozenset(),
}


@attrs.frozen
class InvalidTransition:
    """An order was asked to move along an edge the transition table does not have."""

    client_order_id: str
    current: OrderStatus
    requested: OrderStatus
    code: str = "invalid_transition"


@slot_init
@attrs.frozen
class OrderIntent:
    """What the engine wants to trade, before risk gates and before it has an id."""

    symbol: Symbol
    side: Side
    quantity: Quantity
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Price | None = None
    stop_price: Price | None = None
    extended_hours: bool = False
    reference_price: Price | None = None
    # a trailing stop's distance; stop_price is then where the stop starts
    trail_amount: Price | None = None
    # exit legs of one position share a group: when one fills the venue cancels the others
    oco_group: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.quantity.value == 0:
            raise ValueError("an order intent needs a positive quantity")
        if (self.order_type is _MARKET and self.limit_price is None
                and self.stop_price is None):
            return  # the common case: nothing else to check
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT,
                                         OrderType.TRAILING_STOP)
        if needs_limit != (self.limit_price is not None):
            raise ValueError(f"{self.order_type.value} order: limit price mismatch")
        if needs_stop != (self.stop_price is not None):
            raise ValueError(f"{self.order_type.value} order: stop price mismatch")

    @property
    def signed_qty(self) -> Decimal:
        return self.quantity.value * self.side.sign


@slot_init
@attrs.frozen
class Order:
    """An intent with an id, as it moves through its life at the broker."""

    client_order_id: str
    intent: OrderIntent
    created_at: datetime
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled_qty: Decimal = Decimal(0)
    avg_px: Decimal | None = None
    broker_order_id: str | None = None
    reason: str | None = None
    updated_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        if self.created_at.tzinfo is not UTC:
            require_utc(self.created_at, "created_at")
        if not self.client_order_id:
            raise ValueError("an order needs a client_order_id")
        if self.filled_qty < 0 or self.filled_qty > self.intent.quantity.value:
            raise ValueError(f"{self.client_order_id}: filled quantity out of range")

    @property
    def symbol(self) -> Symbol:
        return self.intent.symbol

    @property
    def side(self) -> Side:
        return self.intent.side

    @property
    def leaves_qty(self) -> Decimal:
        return self.intent.quantity.value - self.filled_qty

    def with_broker_id(self, broker_order_id: str | None) -> Order:
        """The same order, known at the broker by broker_order_id."""
        return self._successor(self.status, self.filled_qty, self.avg_px, broker_order_id,
                               self.reason, self.updated_at)

    def moved_to(
        self, status: OrderStatus, at: datetime, reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> Result[Order, InvalidTransition]:
        """Move to status if the transition table allows it (and, when given, take the id the
        broker knows the order by: an acknowledgement moves and names it in one step)."""
        moved = self.try_move_to(status, at, reason, broker_order_id)
        return Failure(moved) if isinstance(moved, InvalidTransition) else Success(moved)

    def filled_by(
        self, qty: Decimal, px: Decimal, at: datetime
    ) -> Result[Order, InvalidTransition]:
        """Book a fill of qty at px: partially filled or filled, by the transition table."""
        filled = self.try_fill(qty, px, at)
        return Failure(filled) if isinstance(filled, InvalidTransition) else Success(filled)

    # moved_to and filled_by without the Result around them, for the simulated venue's inner
    # steps (two a simulated order; a Result is ~0.7 µs to build and unwrap)

    def try_move_to(
        self, status: OrderStatus, at: datetime, reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> Order | InvalidTransition:
        """As moved_to: the moved order, or the InvalidTransition."""
        if status not in TRANSITIONS[self.status]:
            return InvalidTransition(self.client_order_id, self.status, status)
        return self._successor(
            status, self.filled_qty, self.avg_px,
            broker_order_id if broker_order_id is not None else self.broker_order_id,
            reason if reason is not None else self.reason, at)

    def try_fill(self, qty: Decimal, px: Decimal, at: datetime) -> Order | InvalidTransition:
        """As filled_by: the order with the fill booked, or the InvalidTransition."""
        total = self.filled_qty + qty
        ordered = self.intent.quantity.value
        status = _FILLED if total == ordered else _PARTIALLY_FILLED
        if status not in TRANSITIONS[self.status] or qty <= 0 or total > ordered:
            return InvalidTransition(self.client_order_id, self.status, status)
        previous = (self.avg_px or _ZERO) * self.filled_qty
        avg = (previous + px * qty) / total
        return self._successor(status, total, avg, self.broker_order_id, self.reason, at)

    def _successor(self, status: OrderStatus, filled_qty: Decimal, avg_px: Decimal | None,
                   broker_order_id: str | None, reason: str | None,
                   updated_at: datetime | None) -> Order:
        """This order one step on, built without re-running the constructor's checks: the id,
        intent and creation time are this order's (already checked), the step was checked
        against the transition table by the caller, and filled_by keeps the filled quantity in
        range. An order changes several times in its life, so the checks showed in backtests."""
        successor: Order = _new(Order)
        _set_client_order_id(successor, self.client_order_id)
        _set_intent(successor, self.intent)
        _set_created_at(successor, self.created_at)
        _set_status(successor, status)
        _set_filled_qty(successor, filled_qty)
        _set_avg_px(successor, avg_px)
        _set_broker_order_id(successor, broker_order_id)
        _set_reason(successor, reason)
        _set_updated_at(successor, updated_at)
        return successor


# Order's slots set through their descriptors, as _successor does: the class is frozen (its
# __setattr__ refuses), and object.__setattr__, which attrs' own __init__ goes through, costs
# ~2.5x a descriptor's __set__ (try_move_to measured 13.8k -> 9.5k instructions with them).
_new = object.__new__
(_set_client_order_id, _set_intent, _set_created_at, _set_status, _set_filled_qty, _set_avg_px,
 _set_broker_order_id, _set_reason, _set_updated_at) = slot_setters(Order)
