"""An ambiguous submit is resolved by looking the order up, never by sending it again."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import numpy as np
import pytest
from returns.result import Failure, Result

from aitrader.adapters.simulated import SimulatedBroker
from aitrader.application.run import RunResult, RunSpec
from aitrader.domain.market import Timeframe
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import BuyingPower, LongOnly
from aitrader.domain.series import BarFrame
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import (
    CommissionModel,
    Order,
    OrderStatus,
    SlippageModel,
)
from aitrader.domain.values import Symbol
from aitrader.ports.broker import Broker
from aitrader.ports.errors import BrokerError
from tests.fakes import DelegatingBroker, journaled_backtest


class FirstSubmitTimesOut(DelegatingBroker):
    """A venue whose first submit is lost on the way: the caller hears 'timeout'."""

    def __init__(self, inner: SimulatedBroker) -> None:
        super().__init__(inner)
        self.submits: list[str] = []
        self.lookups: list[str] = []

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        self.submits.append(order.client_order_id)
        if len(self.submits) == 1:
            return Failure(BrokerError("timeout", "no answer within 10 s"))
        return self.inner.submit(order)

    def order(self, client_order_id: str) -> Result[Order, BrokerError]:
        self.lookups.append(client_order_id)
        return self.inner.order(client_order_id)


CASH = Decimal(10_000)


def sine_backtest(broker: Broker) -> RunResult:
    """sma_cross 3/8 over 120 daily bars of a sine wave, through broker, journal on."""
    n = 120
    close = 100 + 10 * np.sin(np.arange(n) / 8.0)
    ts_open = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 86_400_000_000_000
    frame = BarFrame(symbol=Symbol("AAA"), timeframe=Timeframe.DAY_1, ts_open=ts_open,
                     ts_close=ts_open + 23_400_000_000_000, open=close, high=close + 0.5,
                     low=close - 0.5, close=close, volume=np.full(n, 1000.0))
    spec = RunSpec(mode="backtest", strategy=SmaCross(3, 8), symbols=(frame.symbol,),
                   cash=CASH, sizing=FixedFraction(Decimal(1), 1, CommissionModel(),
                                                   SlippageModel()),
                   gates=(LongOnly(), BuyingPower()), config={}, code_version="test")
    return journaled_backtest(spec, [frame], broker)


def test_a_timed_out_submit_is_looked_up_marked_rejected_and_never_resent() -> None:
    broker = FirstSubmitTimesOut(SimulatedBroker(cash=CASH))
    result = sine_backtest(broker)
    first = broker.submits[0]
    assert broker.submits.count(first) == 1  # never sent twice
    assert first in broker.lookups  # resolved by asking
    lost = next(o for o in result.orders if o.client_order_id == first)
    assert lost.status is OrderStatus.REJECTED
    assert lost.reason == "the broker never received it"
    assert len(result.fills) > 0  # trading carried on once the fate was known


class FirstAnswerLost(DelegatingBroker):
    """A venue that takes the first order but whose answer is lost: the caller hears 'timeout'
    while the venue's events (accepted, then filled at once with fill_at="close") still come."""

    def __init__(self, inner: SimulatedBroker) -> None:
        super().__init__(inner)
        self.submits = 0

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        self.submits += 1
        sent = self.inner.submit(order)
        if self.submits == 1:
            return Failure(BrokerError("timeout", "the answer was lost"))
        return sent


@pytest.mark.parametrize("fill_at", ["open", "close"])
def test_an_order_whose_events_settle_its_fate_before_any_lookup_does_not_stall_the_symbol(
        fill_at: Literal["open", "close"]) -> None:
    # With fill_at="close" the venue's accepted and filled events arrive with the submit's
    # drain, so the order is done before the next bar: it must not stay "in doubt" for ever
    # (the symbol would never be decided on again).
    lost = sine_backtest(FirstAnswerLost(SimulatedBroker(cash=CASH, fill_at=fill_at)))
    clean = sine_backtest(SimulatedBroker(cash=CASH, fill_at=fill_at))
    assert len(clean.fills) > 2
    # the lost answer changed nothing the venue did: the same trades
    assert [(f.side, f.last_qty, f.last_px, f.ts_event) for f in lost.fills] == [
        (f.side, f.last_qty, f.last_px, f.ts_event) for f in clean.fills]
