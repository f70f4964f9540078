"""Rejections a venue reports by event count toward the circuit breaker, as returned ones do.

Real brokers (Alpaca) take an order, answer "pending", and reject it later by event. The
breaker must trip on those too, count every rejection of an order we sent exactly once, and
let an acceptance that arrives by event end the streak as a returned acceptance does.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pytest
from returns.result import Failure, Result, Success

from aitrader.adapters.simulated import SimulatedBroker
from aitrader.application.cycle import CycleSettings
from aitrader.application.risk_control import RiskSettings
from aitrader.application.run import RunResult, RunSpec
from aitrader.domain.market import Timeframe
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import BuyingPower, LongOnly, RejectionCircuitBreaker, TradingStateGate
from aitrader.domain.series import BarFrame
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import (
    CommissionModel,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
    SlippageModel,
)
from aitrader.domain.values import Symbol
from aitrader.ports.errors import BrokerError
from tests.fakes import DelegatingBroker, journaled_backtest

CASH = Decimal(10_000)
LIMIT = 3


class AsyncVenue(DelegatingBroker):
    """A venue that answers every submit at once and says what became of the order later.

    `verdicts[n]` decides the n-th submit (beyond the string: R):
    A  taken: the answer is "pending" (PENDING_NEW); the venue's ACCEPTED event, then its
       fill, follow as events
    R  rejected by event: the answer is "pending", a REJECTED event follows
    T  lost on the way: the caller hears "timeout" and the venue never heard of the order
       (a lookup says unknown_order)
    X  rejected in the answer, and the venue also reports the REJECTED event
    """

    def __init__(self, verdicts: str) -> None:
        super().__init__(SimulatedBroker(cash=CASH))
        self.verdicts = verdicts
        self.sent: list[str] = []
        self._queued: list[OrderEvent] = []

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        n = len(self.sent)
        self.sent.append(order.client_order_id)
        verdict = self.verdicts[n] if n < len(self.verdicts) else "R"
        cid, at = order.client_order_id, order.created_at
        if verdict == "A":
            taken = self.inner.submit(order)
            return Success(order.with_broker_id(taken.unwrap().broker_order_id))
        if verdict == "T":
            return Failure(BrokerError("timeout", "no answer within 10 s"))
        self._queued.append(OrderEvent(cid, EventKind.REJECTED, at, "venue: not today", None,
                                       f"venue-{n}"))
        if verdict == "X":
            return Failure(BrokerError("rejected", "venue: not today"))
        return Success(order.with_broker_id(f"venue-{n}"))

    def events(self) -> Sequence[OrderEvent]:
        queued, self._queued = self._queued, []
        return [*queued, *self.inner.events()]


def zigzag_backtest(broker: AsyncVenue) -> RunResult:
    """sma_cross 1/2 (long exactly while the close is above the previous one) over 24 daily
    bars alternating 100, 101, 100, ...: each rise asks for a buy of 99 shares (10,000 / 101),
    each fall for the sale of what is held. Each bar opens at the previous close."""
    n = 24
    close = 100.0 + (np.arange(n) % 2)
    opens = np.concatenate(([100.0], close[:-1]))
    ts_open = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 86_400_000_000_000
    frame = BarFrame(symbol=Symbol("AAA"), timeframe=Timeframe.DAY_1, ts_open=ts_open,
                     ts_close=ts_open + 23_400_000_000_000, open=opens,
                     high=np.maximum(opens, close), low=np.minimum(opens, close), close=close,
                     volume=np.full(n, 1000.0))
    spec = RunSpec(mode="backtest", strategy=SmaCross(1, 2), symbols=(frame.symbol,),
                   cash=CASH, sizing=FixedFraction(Decimal(1), 1, CommissionModel(),
                                                   SlippageModel()),
                   gates=(TradingStateGate(), RejectionCircuitBreaker(LIMIT), LongOnly(),
                          BuyingPower()),
                   config={}, code_version="test",
                   settings=CycleSettings(risk=RiskSettings(breaker_limit=LIMIT)))
    return journaled_backtest(spec, [frame], broker)


@pytest.mark.parametrize("verdicts", ["RRR", "TTT", "RTX", "XXX"])
def test_the_third_rejection_in_a_row_halts_however_the_venue_reports_it(verdicts: str) -> None:
    # 12 rises, so 12 buys without a breaker; each is rejected (by event, by a lookup finding
    # the venue never received it, or in the answer - counted once although its event comes
    # too), so the third halts: no fourth order is sent
    venue = AsyncVenue(verdicts)
    result = zigzag_backtest(venue)
    assert len(venue.sent) == LIMIT
    assert [o.status for o in result.orders] == [OrderStatus.REJECTED] * LIMIT
    assert result.fills == ()


def test_an_acceptance_reported_by_event_ends_the_streak() -> None:
    # buys 1 and 2 rejected (streak 2); buy 3 answered "pending" and accepted by event: the
    # streak ends (a reset on the "pending" answer would end every streak before its rejection
    # arrived, and the breaker would never trip). Its 99 shares fill at the next open, 101;
    # every later fall asks to sell them (a rise after a rejected sale holds: 99 shares are
    # what 10,000 buys at 101), and sells 4, 5, 6 are rejected: the sixth order halts
    venue = AsyncVenue("RRARRR")
    result = zigzag_backtest(venue)
    assert len(venue.sent) == 6
    assert [(o.side.value, o.status) for o in result.orders] == [
        ("buy", OrderStatus.REJECTED), ("buy", OrderStatus.REJECTED),
        ("buy", OrderStatus.FILLED), ("sell", OrderStatus.REJECTED),
        ("sell", OrderStatus.REJECTED), ("sell", OrderStatus.REJECTED)]
    assert [(f.last_qty.value, f.last_px.value) for f in result.fills] == [
        (Decimal(99), Decimal(101))]
