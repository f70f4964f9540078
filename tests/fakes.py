"""Test doubles shared by the suites (fakes over mocks)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

from returns.result import Result

from aitrader.adapters.clocks import SteppingClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.application.backtest import run_backtest
from aitrader.application.run import Adapters, RunResult, RunSpec
from aitrader.domain.market import Bar
from aitrader.domain.series import BarFrame
from aitrader.domain.trading import Account, Order, OrderEvent
from aitrader.ports.broker import Broker
from aitrader.ports.errors import BrokerError


class DelegatingBroker(Broker):
    """A Broker that passes every call to a SimulatedBroker; subclasses override what they
    watch or break."""

    def __init__(self, inner: SimulatedBroker) -> None:
        self.inner = inner

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        return self.inner.submit(order)

    def cancel(self, client_order_id: str) -> Result[None, BrokerError]:
        return self.inner.cancel(client_order_id)

    def order(self, client_order_id: str) -> Result[Order, BrokerError]:
        return self.inner.order(client_order_id)

    def open_orders(self) -> Result[Sequence[Order], BrokerError]:
        return self.inner.open_orders()

    def account(self) -> Result[Account, BrokerError]:
        return self.inner.account()

    def observe(self, bar: Bar) -> None:
        self.inner.observe(bar)

    def events(self) -> Sequence[OrderEvent]:
        return self.inner.events()


def journaled_backtest(spec: RunSpec, frames: Sequence[BarFrame], broker: Broker) -> RunResult:
    """run_backtest of spec over frames through broker, journaled in a throwaway SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = SqlJournal.open(f"sqlite:///{tmp}/j.db").unwrap()
        adapters = Adapters(broker=broker, journal=journal, clock=SteppingClock(),
                            ids=RunScopedIds(), wall_clock=SteppingClock())
        try:
            return run_backtest(spec, frames, adapters).unwrap()
        finally:
            journal.close()
