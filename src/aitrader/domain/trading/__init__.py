"""Orders, fills, positions and the account: the ledger of the domain."""

from aitrader.domain.trading.account import Account
from aitrader.domain.trading.costs import CommissionModel, SlippageModel
from aitrader.domain.trading.fills import EventKind, Fill, OrderEvent
from aitrader.domain.trading.orders import (
    TRANSITIONS,
    InvalidTransition,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from aitrader.domain.trading.position import Position

__all__ = [
    "TRANSITIONS",
    "Account",
    "CommissionModel",
    "EventKind",
    "Fill",
    "InvalidTransition",
    "Order",
    "OrderEvent",
    "OrderIntent",
    "OrderStatus",
    "OrderType",
    "Position",
    "SlippageModel",
    "TimeInForce",
]
