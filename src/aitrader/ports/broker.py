"""Broker: where orders go and where fills come from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from returns.result import Result

from aitrader.domain.market import Bar
from aitrader.domain.trading import Account, Order, OrderEvent
from aitrader.ports.errors import BrokerError


class Broker(Protocol):
    """A venue account: submit and cancel orders, report events, account and open orders."""

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        """Send a PENDING_NEW order once; return it ACCEPTED (or filled), or the rejection."""
        ...

    def cancel(self, client_order_id: str) -> Result[None, BrokerError]:
        """Ask to cancel an open order; the outcome arrives as an event."""
        ...

    def order(self, client_order_id: str) -> Result[Order, BrokerError]:
        """Look an order up by client_order_id (resolves an UNKNOWN submit)."""
        ...

    def open_orders(self) -> Result[Sequence[Order], BrokerError]:
        """Orders not yet terminal, oldest first."""
        ...

    def account(self) -> Result[Account, BrokerError]:
        """Cash and positions as the broker books them."""
        ...

    def observe(self, bar: Bar) -> None:
        """Show a simulated venue a closed bar to match resting orders; real venues ignore it."""
        ...

    def events(self) -> Sequence[OrderEvent]:
        """Drain the events reported since the last call, oldest first."""
        ...
