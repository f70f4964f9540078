"""The Broker port's contract: what every broker adapter must do, whatever the venue.

Each implementation joins `FACTORIES` with a function building a fresh broker funded with the
given cash. Venues that do not simulate ignore `observe`; their factory must make the venue
fill a market order once the next bar is shown (a fake server does this for Alpaca).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from returns.result import Failure, Success

from aitrader.adapters.simulated import SimulatedBroker
from aitrader.domain.market import Bar
from aitrader.domain.trading import (
    EventKind,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from aitrader.domain.values import Price, Quantity, Side, Symbol
from aitrader.ports.broker import Broker

BrokerFactory = Callable[[Decimal], Broker]

FACTORIES: dict[str, BrokerFactory] = {
    "simulated": lambda cash: SimulatedBroker(cash=cash),
}

SPY = Symbol("SPY")
MONDAY = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
SESSION = timedelta(hours=6, minutes=30)
CASH = Decimal(100_000)


@pytest.fixture(params=sorted(FACTORIES))
def broker_factory(request: pytest.FixtureRequest) -> BrokerFactory:
    """Build brokers of one implementation (a venue needing teardown may yield instead)."""
    return FACTORIES[request.param]


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> Broker:
    """A funded broker that has seen Monday's SPY bar."""
    venue = broker_factory(CASH)
    venue.observe(daily_bar(0, "500"))
    return venue


def daily_bar(day: int, price: str) -> Bar:
    ts_open = MONDAY + timedelta(days=day)
    p = Price(price)
    return Bar(SPY, ts_open, ts_open + SESSION, p, p, p, p, Decimal(1_000_000))


def market(client_order_id: str, side: Side = Side.BUY, qty: str = "10") -> Order:
    return Order(client_order_id, OrderIntent(SPY, side, Quantity(qty)), MONDAY + SESSION)


def resting(client_order_id: str) -> Order:
    """A buy limit far below the market: it rests until canceled."""
    intent = OrderIntent(SPY, Side.BUY, Quantity("1"), OrderType.LIMIT, TimeInForce.GTC,
                         limit_price=Price("1"))
    return Order(client_order_id, intent, MONDAY + SESSION)


def kinds_for(events: list[OrderEvent], client_order_id: str) -> list[EventKind]:
    return [e.kind for e in events if e.client_order_id == client_order_id]


def code_of(result: object) -> str:
    assert isinstance(result, Failure)
    return str(result.failure().code)


def test_an_accepted_submit_returns_the_order_and_reports_an_accepted_event(
    broker: Broker,
) -> None:
    result = broker.submit(resting("c-1"))
    assert isinstance(result, Success)
    assert result.unwrap().status is OrderStatus.ACCEPTED
    assert result.unwrap().broker_order_id
    assert kinds_for(list(broker.events()), "c-1") == [EventKind.ACCEPTED]
    assert [o.client_order_id for o in broker.open_orders().unwrap()] == ["c-1"]


def test_a_duplicate_client_order_id_is_rejected_and_the_original_is_untouched(
    broker: Broker,
) -> None:
    broker.submit(resting("dup"))
    broker.events()
    assert code_of(broker.submit(resting("dup"))) == "duplicate_client_order_id"
    assert broker.order("dup").unwrap().status is OrderStatus.ACCEPTED


def test_cancel_closes_an_open_order_and_reports_it(broker: Broker) -> None:
    broker.submit(resting("c-2"))
    assert broker.cancel("c-2") == Success(None)
    assert kinds_for(list(broker.events()), "c-2") == [EventKind.ACCEPTED, EventKind.CANCELED]
    assert broker.order("c-2").unwrap().status is OrderStatus.CANCELED
    assert broker.open_orders().unwrap() == []


def test_an_unknown_order_is_reported_as_unknown(broker: Broker) -> None:
    assert code_of(broker.order("never-sent")) == "unknown_order"
    assert code_of(broker.cancel("never-sent")) == "unknown_order"


def test_events_are_drained_once_in_order(broker: Broker) -> None:
    broker.submit(resting("e-1"))
    broker.submit(resting("e-2"))
    assert [e.client_order_id for e in broker.events()] == ["e-1", "e-2"]
    assert list(broker.events()) == []


def test_account_cash_and_positions_reconcile_with_the_fills(broker: Broker) -> None:
    start = broker.account().unwrap().cash
    broker.submit(market("buy", qty="30"))
    broker.observe(daily_bar(1, "505"))
    broker.submit(market("sell", Side.SELL, qty="10"))
    broker.observe(daily_bar(2, "498.25"))
    events = list(broker.events())
    fills = [e.fill for e in events if e.fill is not None]
    assert sorted(f.client_order_id for f in fills) == ["buy", "sell"]
    assert len({f.trade_id for f in fills}) == len(fills)
    account = broker.account().unwrap()
    assert account.cash == start + sum((f.cash_change for f in fills), Decimal(0))
    assert account.position(SPY).signed_qty == Decimal(20)
    assert broker.order("sell").unwrap().status is OrderStatus.FILLED
