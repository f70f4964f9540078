"""Fills and the order events a broker reports."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

import attrs

from aitrader.domain.market import require_utc
from aitrader.domain.slotted import slot_init
from aitrader.domain.trading.orders import OrderStatus
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol


@slot_init
@attrs.frozen
class Fill:
    """An execution: last_qty units at last_px, unique by trade_id."""

    trade_id: str
    client_order_id: str
    symbol: Symbol
    side: Side
    last_qty: Quantity
    last_px: Price
    commission: Money
    ts_event: datetime

    def __attrs_post_init__(self) -> None:
        if self.ts_event.tzinfo is not UTC:
            require_utc(self.ts_event, "ts_event")
        if self.last_qty.value == 0:
            raise ValueError(f"fill {self.trade_id} has zero quantity")
        if self.commission.amount < 0:
            raise ValueError(f"fill {self.trade_id} has a negative commission")

    @property
    def signed_qty(self) -> Decimal:
        return self.last_qty.value * self.side.sign

    @property
    def notional(self) -> Decimal:
        return self.last_qty.value * self.last_px.value

    @property
    def cash_change(self) -> Decimal:
        """Cash moved by this fill: buys pay, sells receive, commission always costs."""
        # self.signed_qty spelt out: a property call less, on every fill booked twice
        return -(self.last_qty.value * self.side.sign) * self.last_px.value \
            - self.commission.amount


class EventKind(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    status: OrderStatus  # the status the event moves its order to

    __hash__ = object.__hash__  # see OrderStatus

    def __init__(self, value: str) -> None:
        self.status = OrderStatus(value)  # an attribute, not a property: see Side.sign


_FILL_KINDS = frozenset({EventKind.FILLED, EventKind.PARTIALLY_FILLED})


@slot_init
@attrs.frozen
class OrderEvent:
    """A fact a broker reported about an order."""

    client_order_id: str
    kind: EventKind
    ts_event: datetime
    reason: str | None = None
    fill: Fill | None = None
    broker_order_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.ts_event.tzinfo is not UTC:
            require_utc(self.ts_event, "ts_event")
        is_fill = self.kind in _FILL_KINDS
        if is_fill != (self.fill is not None):
            raise ValueError(f"{self.kind.value} event for {self.client_order_id}: fill mismatch")
