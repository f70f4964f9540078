"""SimulatedBroker: matching, costs, expiry, admission rules and exact accounting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.simulated.matching import SessionDates, session_date
from aitrader.domain.market import Bar, Session
from aitrader.domain.trading import (
    TRANSITIONS,
    CommissionModel,
    EventKind,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    SlippageModel,
    TimeInForce,
)
from aitrader.domain.values import Price, Quantity, Side, Symbol, to_cents

AAPL = Symbol("AAPL")
MSFT = Symbol("MSFT")
MONDAY = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)  # 09:30 New York (EST)
SESSION = timedelta(hours=6, minutes=30)


def bar(day: int, o: str, h: str, low: str, c: str, symbol: Symbol = AAPL) -> Bar:
    """A regular-session daily bar `day` days after Monday 2024-03-04."""
    ts_open = MONDAY + timedelta(days=day)
    return Bar(symbol, ts_open, ts_open + SESSION, Price(o), Price(h), Price(low), Price(c),
               Decimal(1000))


def flat(day: int, price: str, symbol: Symbol = AAPL) -> Bar:
    return bar(day, price, price, price, price, symbol)


def intraday(ts_open: datetime, o: str, h: str, low: str, c: str) -> Bar:
    return Bar(AAPL, ts_open, ts_open + timedelta(minutes=5), Price(o), Price(h), Price(low),
               Price(c), Decimal(100))


def order(
    client_order_id: str,
    side: Side = Side.BUY,
    qty: str = "10",
    order_type: OrderType = OrderType.MARKET,
    *,
    limit: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    at: datetime = MONDAY + SESSION,
    symbol: Symbol = AAPL,
) -> Order:
    intent = OrderIntent(
        symbol, side, Quantity(qty), order_type, tif,
        limit_price=Price(limit) if limit else None, stop_price=Price(stop) if stop else None,
    )
    return Order(client_order_id, intent, at)


def placed(broker: SimulatedBroker, new: Order) -> Order:
    """Submit an order that must be accepted; drop the events so far."""
    result = broker.submit(new)
    assert isinstance(result, Success), result
    broker.events()
    accepted: Order = result.unwrap()
    return accepted


def status(broker: SimulatedBroker, client_order_id: str) -> OrderStatus:
    return broker.order(client_order_id).unwrap().status


def only_fill_px(broker: SimulatedBroker) -> tuple[Decimal, datetime]:
    fills = [e.fill for e in broker.events() if e.fill is not None]
    assert len(fills) == 1
    return fills[0].last_px.value, fills[0].ts_event


def error_code(result: object) -> str:
    assert isinstance(result, Failure)
    return str(result.failure().code)


@pytest.fixture
def broker() -> SimulatedBroker:
    sim = SimulatedBroker(cash=Decimal(100_000))
    sim.observe(flat(0, "100"))
    return sim


# -- acceptance and market orders -----------------------------------------------------------


def test_accepted_order_rests_with_a_sequential_broker_id_and_an_accepted_event(
    broker: SimulatedBroker,
) -> None:
    first = broker.submit(order("a")).unwrap()
    second = broker.submit(order("b")).unwrap()
    events = broker.events()
    assert (first.status, first.broker_order_id) == (OrderStatus.ACCEPTED, "sim-1")
    assert second.broker_order_id == "sim-2"
    assert [(e.client_order_id, e.kind) for e in events] == [
        ("a", EventKind.ACCEPTED), ("b", EventKind.ACCEPTED)]
    assert [o.client_order_id for o in broker.open_orders().unwrap()] == ["a", "b"]


def test_market_order_fills_at_the_next_open_stamped_at_that_open(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("m"))
    nxt = bar(1, "101", "105", "99", "104")
    broker.observe(nxt)
    [event] = broker.events()
    assert event.kind is EventKind.FILLED
    assert event.fill is not None
    assert event.fill.trade_id == "m-1"
    assert event.broker_order_id == "sim-1"
    assert (event.fill.last_px.value, event.fill.ts_event) == (Decimal(101), nxt.ts_open)
    filled = broker.order("m").unwrap()
    assert (filled.status, filled.avg_px, filled.filled_qty) == (
        OrderStatus.FILLED, Decimal(101), Decimal(10))
    assert broker.open_orders().unwrap() == []


def test_slippage_moves_market_fills_against_the_trader_on_both_sides() -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), slippage=SlippageModel(Decimal(10)),
                          allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("buy"))
    placed(sim, order("sell", Side.SELL, "30"))
    sim.observe(flat(1, "100"))
    prices = {e.client_order_id: e.fill.last_px.value for e in sim.events() if e.fill}
    assert prices == {"buy": Decimal("100.1"), "sell": Decimal("99.9")}


def test_fill_at_close_fills_a_market_order_inside_submit_at_the_last_close() -> None:
    sim = SimulatedBroker(cash=Decimal(10_000), fill_at="close",
                          slippage=SlippageModel(Decimal(10)))
    seen = bar(0, "100", "102", "99", "101")
    sim.observe(seen)
    filled = sim.submit(order("m")).unwrap()
    kinds = [e.kind for e in sim.events()]
    assert filled.status is OrderStatus.FILLED
    assert filled.avg_px == Decimal("101.1010")
    assert kinds == [EventKind.ACCEPTED, EventKind.FILLED]
    assert filled.updated_at == seen.ts_close
    assert sim.account().unwrap().cash == Decimal(10_000) - Decimal("1011.010")


def test_fill_at_close_still_rests_a_limit_order() -> None:
    sim = SimulatedBroker(cash=Decimal(10_000), fill_at="close")
    sim.observe(flat(0, "100"))
    assert sim.submit(order("l", limit="95", order_type=OrderType.LIMIT)).unwrap().status is (
        OrderStatus.ACCEPTED)


def test_a_bar_shown_twice_never_fills_an_order_placed_after_it(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("l", order_type=OrderType.LIMIT, limit="100"))
    broker.observe(flat(0, "100"))
    assert broker.events() == []
    assert status(broker, "l") is OrderStatus.ACCEPTED


def test_an_order_placed_at_the_open_of_a_bar_already_matched_meets_that_bar_when_shown_again(
) -> None:
    sim = SimulatedBroker(cash=Decimal(100_000))
    day = bar(0, "100", "101", "94", "97")
    sim.observe(day)
    # placed at the bar's open (an exit leg placed when its entry filled there), after the
    # venue matched the bar: the whole bar traded after it, so its high of 101 takes the stop
    placed(sim, order("s", Side.BUY, order_type=OrderType.STOP, stop="100.5", at=day.ts_open))
    sim.observe(day)
    assert only_fill_px(sim) == (Decimal("100.5"), day.ts_close)


def test_an_order_placed_at_an_open_meets_that_bar_before_the_next_one_if_not_shown_again(
) -> None:
    sim = SimulatedBroker(cash=Decimal(100_000))
    day = bar(0, "100", "101", "99", "100")
    sim.observe(day)
    placed(sim, order("l", order_type=OrderType.LIMIT, limit="99.5", at=day.ts_open))
    sim.observe(bar(1, "90", "91", "89", "90"))
    # it met its own bar first: filled at its limit there, not at the next bar's better open
    assert only_fill_px(sim) == (Decimal("99.5"), day.ts_close)


def test_an_order_placed_inside_a_bar_already_matched_waits_for_the_next_bar() -> None:
    sim = SimulatedBroker(cash=Decimal(100_000))
    day = bar(0, "100", "101", "99", "100")
    sim.observe(day)
    placed(sim, order("l", order_type=OrderType.LIMIT, limit="99.5",
                      at=day.ts_open + timedelta(minutes=1)))
    sim.observe(day)
    assert sim.events() == []
    nxt = bar(1, "99", "99.6", "98", "98.5")
    sim.observe(nxt)
    assert only_fill_px(sim) == (Decimal("99"), nxt.ts_open)


def test_a_market_order_that_gaps_up_may_take_cash_below_zero() -> None:
    sim = SimulatedBroker(cash=Decimal(1000))
    sim.observe(flat(0, "100"))
    placed(sim, order("m", qty="9"))  # 900 + a cent of commission headroom: within budget
    sim.observe(flat(1, "112"))
    assert sim.account().unwrap().cash == Decimal(-8)


# -- limit, stop and stop-limit orders ---------------------------------------------------


@pytest.mark.parametrize(
    ("side", "limit", "bar_prices", "expected", "at_open"),
    [
        (Side.BUY, "99", ("98", "100", "97", "99"), "98", True),
        (Side.BUY, "99", ("100", "101", "98.5", "100"), "99", False),
        (Side.SELL, "101", ("102", "103", "100", "101"), "102", True),
        (Side.SELL, "101", ("100", "101.5", "99", "100"), "101", False),
    ],
    ids=["buy-open", "buy-intrabar", "sell-open", "sell-intrabar"],
)
def test_limit_orders_fill_at_the_open_or_at_the_limit_without_slippage(
    side: Side, limit: str, bar_prices: tuple[str, str, str, str], expected: str,
    at_open: bool,
) -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), slippage=SlippageModel(Decimal(50)),
                          allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("l", side, order_type=OrderType.LIMIT, limit=limit))
    nxt = bar(1, *bar_prices)
    sim.observe(nxt)
    assert only_fill_px(sim) == (Decimal(expected), nxt.ts_open if at_open else nxt.ts_close)


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_limit_orders_the_bar_does_not_reach_keep_resting(side: Side) -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), allow_short=True)
    sim.observe(flat(0, "100"))
    limit = "95" if side is Side.BUY else "105"
    placed(sim, order("l", side, order_type=OrderType.LIMIT, limit=limit, tif=TimeInForce.GTC))
    sim.observe(bar(1, "100", "104", "96", "100"))
    assert sim.events() == []
    assert status(sim, "l") is OrderStatus.ACCEPTED


@pytest.mark.parametrize(
    ("side", "stop", "bar_prices", "expected", "at_open"),
    [
        (Side.BUY, "102", ("103", "104", "102.5", "103"), "103.1030", True),
        (Side.BUY, "102", ("100", "103", "99", "101"), "102.1020", False),
        (Side.SELL, "98", ("97", "97.5", "96", "97"), "96.9030", True),
        (Side.SELL, "98", ("100", "101", "97", "99"), "97.9020", False),
    ],
    ids=["buy-gap", "buy-intrabar", "sell-gap", "sell-intrabar"],
)
def test_stop_orders_fill_at_the_gap_open_or_at_the_stop_with_slippage(
    side: Side, stop: str, bar_prices: tuple[str, str, str, str], expected: str,
    at_open: bool,
) -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), slippage=SlippageModel(Decimal(10)),
                          allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("s", side, order_type=OrderType.STOP, stop=stop))
    nxt = bar(1, *bar_prices)
    sim.observe(nxt)
    assert only_fill_px(sim) == (Decimal(expected), nxt.ts_open if at_open else nxt.ts_close)


def test_a_stop_the_bar_does_not_reach_keeps_resting(broker: SimulatedBroker) -> None:
    placed(broker, order("s", order_type=OrderType.STOP, stop="105"))
    broker.observe(bar(1, "100", "104.99", "99", "104"))
    assert broker.events() == []
    assert status(broker, "s") is OrderStatus.ACCEPTED


def stop_limit(side: Side = Side.BUY, *, stop: str, limit: str) -> Order:
    return order("sl", side, order_type=OrderType.STOP_LIMIT, stop=stop, limit=limit,
                 tif=TimeInForce.GTC)


def test_stop_limit_triggered_inside_the_bar_fills_at_the_stop_without_slippage() -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), slippage=SlippageModel(Decimal(10)))
    sim.observe(flat(0, "100"))
    placed(sim, stop_limit(stop="102", limit="103"))
    nxt = bar(1, "100", "104", "99", "103")
    sim.observe(nxt)
    assert only_fill_px(sim) == (Decimal(102), nxt.ts_close)


def test_stop_limit_gapping_through_the_stop_within_the_limit_fills_at_the_open(
    broker: SimulatedBroker,
) -> None:
    placed(broker, stop_limit(stop="102", limit="104"))
    nxt = bar(1, "103", "106", "102.5", "105")
    broker.observe(nxt)
    assert only_fill_px(broker) == (Decimal(103), nxt.ts_open)


def test_stop_limit_gapping_beyond_its_limit_fills_when_the_bar_comes_back_to_it(
    broker: SimulatedBroker,
) -> None:
    placed(broker, stop_limit(stop="102", limit="103"))
    nxt = bar(1, "105", "106", "102.5", "104")
    broker.observe(nxt)
    assert only_fill_px(broker) == (Decimal(103), nxt.ts_close)


def test_stop_limit_gapping_beyond_its_limit_stays_a_live_limit_for_later_bars(
    broker: SimulatedBroker,
) -> None:
    placed(broker, stop_limit(stop="102", limit="103"))
    broker.observe(bar(1, "105", "106", "104", "105"))
    assert broker.events() == []
    later = bar(2, "101", "101.5", "100", "101")  # below the stop: only a live limit fills here
    broker.observe(later)
    assert only_fill_px(broker) == (Decimal(101), later.ts_open)


def test_stop_limit_triggered_inside_the_bar_with_its_limit_below_waits_for_a_later_bar(
    broker: SimulatedBroker,
) -> None:
    placed(broker, stop_limit(stop="102", limit="101"))
    broker.observe(bar(1, "101", "102.5", "100.5", "101.5"))  # trigger, low reaches the limit
    assert broker.events() == []
    later = bar(2, "101.5", "102", "100.8", "101")
    broker.observe(later)
    assert only_fill_px(broker) == (Decimal(101), later.ts_close)


def test_sell_stop_limit_mirrors_the_buy_side() -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, stop_limit(Side.SELL, stop="98", limit="97"))
    nxt = bar(1, "95", "97.5", "94", "96")  # gaps below the limit, trades back up to it
    sim.observe(nxt)
    assert only_fill_px(sim) == (Decimal(97), nxt.ts_close)


# -- time in force ---------------------------------------------------------------------


def test_day_order_lives_through_its_first_session_and_expires_before_the_next_one_matches(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("day", order_type=OrderType.LIMIT, limit="90"))
    placed(broker, order("gtc", order_type=OrderType.LIMIT, limit="90", tif=TimeInForce.GTC))
    broker.observe(flat(1, "95"))
    assert broker.events() == []
    wednesday = bar(2, "89", "90", "88", "89")
    broker.observe(wednesday)
    events = broker.events()
    assert [(e.client_order_id, e.kind) for e in events] == [
        ("day", EventKind.EXPIRED), ("gtc", EventKind.FILLED)]
    assert events[0].ts_event == wednesday.ts_open
    assert status(broker, "day") is OrderStatus.EXPIRED


def test_day_order_survives_intraday_bars_of_its_date_even_past_utc_midnight() -> None:
    sim = SimulatedBroker(cash=Decimal(100_000))
    noon = datetime(2024, 3, 4, 17, 0, tzinfo=UTC)
    sim.observe(intraday(noon, "100", "100", "100", "100"))
    placed(sim, order("day", order_type=OrderType.LIMIT, limit="90", at=noon))
    for ts in (noon + timedelta(minutes=5), datetime(2024, 3, 5, 0, 30, tzinfo=UTC)):
        sim.observe(intraday(ts, "100", "101", "99", "100"))  # the second is 19:30 in New York
    assert sim.events() == []
    assert status(sim, "day") is OrderStatus.ACCEPTED
    sim.observe(intraday(datetime(2024, 3, 5, 9, 0, tzinfo=UTC), "100", "100", "100", "100"))
    assert [e.kind for e in sim.events()] == [EventKind.EXPIRED]


def test_day_order_placed_after_the_close_belongs_to_the_next_session(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("day", order_type=OrderType.LIMIT, limit="90"))
    broker.observe(bar(3, "95", "96", "94", "95"))  # Thursday, after skipped days
    assert broker.events() == []
    assert status(broker, "day") is OrderStatus.ACCEPTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3 * 366 * 24 * 60), min_size=1, max_size=40),
       st.sampled_from([1, 60, 3600, 6 * 3600 + 1]))
def test_session_dates_remembered_between_bars_are_the_dates_found_bar_by_bar(
    minutes: list[int], step: int,
) -> None:
    # closes on and around New York midnights, both DST changes and year ends included
    start = datetime(2023, 1, 1, 4, 59, tzinfo=UTC)
    dates = SessionDates()
    for m in minutes:
        for k in range(3):  # a few bars in a row, as a feed sends them
            ts_close = start + timedelta(minutes=m, seconds=k * step, microseconds=k % 2)
            closing = Bar(AAPL, ts_close - timedelta(minutes=1), ts_close, Price("1"),
                          Price("1"), Price("1"), Price("1"), Decimal(1))
            assert dates.of(closing) == session_date(closing)


def test_a_bar_closing_at_new_york_midnight_belongs_to_the_day_it_ends() -> None:
    dates = SessionDates()
    midnight = datetime(2024, 3, 5, 5, 0, tzinfo=UTC)  # 00:00 New York (EST)
    for ts_close, day in [(midnight - timedelta(minutes=1), 4), (midnight, 4),
                          (midnight + timedelta(microseconds=1), 5), (midnight, 4)]:
        closing = Bar(AAPL, ts_close - timedelta(minutes=1), ts_close, Price("1"), Price("1"),
                      Price("1"), Price("1"), Decimal(1))
        assert dates.of(closing) == date(2024, 3, day)


# -- costs ------------------------------------------------------------------------------


def test_commission_combines_per_share_per_order_and_percent() -> None:
    model = CommissionModel(Decimal("0.005"), Decimal(1), Decimal("0.1"))
    sim = SimulatedBroker(cash=Decimal(10_000), commission=model)
    sim.observe(flat(0, "50"))
    placed(sim, order("c", qty="100"))
    sim.observe(flat(1, "50"))
    [event] = sim.events()
    assert event.fill is not None
    assert event.fill.commission.amount == Decimal("6.50")
    assert sim.account().unwrap().cash == Decimal("4993.50")


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False),
       st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3),
       st.decimals(min_value=Decimal("0.0001"), max_value=10**5, places=4))
def test_a_flat_fee_per_order_costs_exactly_what_the_full_formula_gives(
    per_order: Decimal, qty: Decimal, price: Decimal,
) -> None:
    # the model takes a shortcut when the per-share and percent terms are zero
    model = CommissionModel(per_order=per_order)
    full = to_cents(model.per_share * qty + model.per_order + model.percent * qty * price
                    / Decimal(100))
    fee = model.commission(qty, price)
    assert (fee, str(fee)) == (full, str(full))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([Decimal(0), Decimal("0.005"), Decimal("0.00")]),
       st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False),
       st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.000")]),
       st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3),
       st.decimals(min_value=Decimal("0.0001"), max_value=10**5, places=4))
def test_a_flat_commission_is_what_every_fill_of_the_model_costs(
    per_share: Decimal, per_order: Decimal, percent: Decimal, qty: Decimal, price: Decimal,
) -> None:
    # the venue books flat() on each fill instead of asking commission(qty, price)
    model = CommissionModel(per_share, per_order, percent)
    fixed = model.flat()
    assert (fixed is None) == bool(per_share or percent)
    if fixed is not None:
        fee = model.commission(qty, price)
        assert (fixed, str(fixed)) == (fee, str(fee))
    sim = SimulatedBroker(cash=Decimal(10**12), commission=model)
    sim.observe(flat(0, "50"))
    placed(sim, order("c", qty=str(max(1, int(qty)))))
    sim.observe(flat(1, "50"))
    [event] = sim.events()
    assert event.fill is not None
    expected = model.commission(event.fill.last_qty.value, event.fill.last_px.value)
    assert (event.fill.commission.amount, str(event.fill.commission.amount)) == \
        (expected, str(expected))


# -- admission rules -------------------------------------------------------------------


def test_rejected_submit_emits_a_rejected_event_and_is_remembered(
    broker: SimulatedBroker,
) -> None:
    result = broker.submit(order("f", qty="1.5"))
    assert error_code(result) == "fractional_not_allowed"
    [event] = broker.events()
    assert event.kind is EventKind.REJECTED
    assert event.reason is not None
    assert event.reason.startswith("fractional_not_allowed")
    assert status(broker, "f") is OrderStatus.REJECTED
    assert broker.open_orders().unwrap() == []


def test_fractional_broker_fills_fractions_of_a_share() -> None:
    sim = SimulatedBroker(cash=Decimal(1000), fractional=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("f", qty="0.25"))
    sim.observe(flat(1, "100"))
    assert sim.account().unwrap().position(AAPL).signed_qty == Decimal("0.25")
    assert sim.account().unwrap().cash == Decimal(975)


def test_an_order_for_a_symbol_never_observed_is_rejected(broker: SimulatedBroker) -> None:
    assert error_code(broker.submit(order("x", symbol=Symbol("MSFT")))) == "no_market_data"


def test_duplicate_client_order_id_is_rejected_without_touching_the_original(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("a"))
    assert error_code(broker.submit(order("a", qty="5"))) == "duplicate_client_order_id"
    assert broker.events() == []
    assert broker.order("a").unwrap().intent.quantity == Quantity("10")


def test_selling_without_a_long_is_refused_when_shorting_is_not_allowed(
    broker: SimulatedBroker,
) -> None:
    assert error_code(broker.submit(order("s", Side.SELL))) == "shorting_not_allowed"


def test_selling_down_a_long_is_fine_but_not_beyond_it_net_of_open_sells(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("buy", qty="10"))
    broker.observe(flat(1, "100"))
    placed(broker, order("s1", Side.SELL, "6", OrderType.LIMIT, limit="200"))
    assert error_code(broker.submit(order("s2", Side.SELL, "5"))) == "shorting_not_allowed"
    assert broker.submit(order("s3", Side.SELL, "4")).unwrap().status is OrderStatus.ACCEPTED


def test_shorting_broker_opens_a_short_position() -> None:
    sim = SimulatedBroker(cash=Decimal(10_000), allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("s", Side.SELL, "20"))
    sim.observe(flat(1, "100"))
    account = sim.account().unwrap()
    assert account.position(AAPL).signed_qty == Decimal(-20)
    assert account.cash == Decimal(12_000)


def test_buying_beyond_buying_power_is_refused_with_the_amounts() -> None:
    sim = SimulatedBroker(cash=Decimal(1000), commission=CommissionModel(per_order=Decimal(1)))
    sim.observe(flat(0, "100"))
    result = sim.submit(order("big", qty="10"))
    assert error_code(result) == "insufficient_buying_power"
    assert isinstance(result, Failure)
    assert "needs 1001.00" in result.failure().message
    assert "buying power is 1000" in result.failure().message


def test_open_orders_reserve_buying_power_until_they_leave_the_book() -> None:
    sim = SimulatedBroker(cash=Decimal(1000))
    sim.observe(flat(0, "100"))
    placed(sim, order("first", qty="6", order_type=OrderType.LIMIT, limit="100"))
    assert error_code(sim.submit(order("second", qty="5"))) == "insufficient_buying_power"
    assert sim.cancel("first") == Success(None)
    assert sim.submit(order("third", qty="5")).unwrap().status is OrderStatus.ACCEPTED


def test_a_margin_multiplier_lends_buying_power() -> None:
    sim = SimulatedBroker(cash=Decimal(1000), margin_multiplier=Decimal(2))
    sim.observe(flat(0, "100"))
    assert sim.submit(order("m", qty="19")).unwrap().status is OrderStatus.ACCEPTED


def test_covering_a_short_needs_no_buying_power() -> None:
    sim = SimulatedBroker(cash=Decimal(1000), allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("short", Side.SELL, "9"))
    sim.observe(flat(1, "150"))  # loss: equity 550, gross 1350 -> no buying power left
    assert sim.buying_power() == 0
    assert sim.submit(order("cover", qty="9")).unwrap().status is OrderStatus.ACCEPTED
    assert error_code(sim.submit(order("more", qty="1"))) == "insufficient_buying_power"


# -- cancel and lookup -----------------------------------------------------------------


def test_cancel_moves_an_open_order_to_canceled_and_refuses_terminal_or_unknown_ones(
    broker: SimulatedBroker,
) -> None:
    placed(broker, order("c", order_type=OrderType.LIMIT, limit="90"))
    assert broker.cancel("c") == Success(None)
    [event] = broker.events()
    assert (event.kind, event.client_order_id) == (EventKind.CANCELED, "c")
    assert status(broker, "c") is OrderStatus.CANCELED
    assert error_code(broker.cancel("c")) == "not_cancelable"
    assert error_code(broker.cancel("nope")) == "unknown_order"
    assert error_code(broker.order("nope")) == "unknown_order"


def test_a_canceled_order_no_longer_matches(broker: SimulatedBroker) -> None:
    placed(broker, order("c"))
    broker.cancel("c")
    broker.events()
    broker.observe(flat(1, "100"))
    assert broker.events() == []
    assert broker.account().unwrap().cash == Decimal(100_000)


# -- properties ------------------------------------------------------------------------

prices = st.integers(min_value=1_00, max_value=400_00).map(lambda cents: Decimal(cents) / 100)
step_orders = st.lists(
    st.tuples(st.sampled_from([AAPL, MSFT]), st.sampled_from(Side),
              st.integers(min_value=1, max_value=400),
              st.sampled_from([OrderType.MARKET, OrderType.LIMIT]), prices,
              st.sampled_from(TimeInForce), st.booleans()),
    max_size=4,
)
steps = st.lists(st.tuples(st.lists(prices, min_size=8, max_size=8), step_orders), max_size=12)


def random_bar(day: int, symbol: Symbol, ohlc: list[Decimal]) -> Bar:
    """A daily bar opening at ohlc[0] and closing at ohlc[1], spanning all four prices."""
    o, c = ohlc[0], ohlc[1]
    ts_open = MONDAY + timedelta(days=day)
    return Bar(symbol, ts_open, ts_open + SESSION, Price(o), Price(max(ohlc)), Price(min(ohlc)),
               Price(c), Decimal(1))


@settings(max_examples=150, deadline=None)
@given(
    history=steps,
    fill_at=st.sampled_from(["open", "close"]),
    allow_short=st.booleans(),
    fractional=st.booleans(),
    bps=st.integers(min_value=0, max_value=50),
    per_share=st.sampled_from(["0", "0.005", "0.0035"]),
    percent=st.sampled_from(["0", "0.1"]),
)
def test_cash_and_positions_are_exactly_the_sum_of_fills_and_orders_follow_the_table(
    history: list[tuple[list[Decimal], list[tuple[Symbol, Side, int, OrderType, Decimal,
                                                   TimeInForce, bool]]]],
    fill_at: Literal["open", "close"], allow_short: bool, fractional: bool, bps: int,
    per_share: str, percent: str,
) -> None:
    cash = Decimal(50_000)
    sim = SimulatedBroker(
        cash=cash, fill_at=fill_at, allow_short=allow_short, fractional=fractional,
        slippage=SlippageModel(Decimal(bps)),
        commission=CommissionModel(Decimal(per_share), Decimal(1), Decimal(percent)),
        margin_multiplier=Decimal(2),
    )
    path: dict[str, OrderStatus] = {}
    fills: list[Fill] = []
    marks: dict[Symbol, Decimal] = {}

    def drain() -> None:
        for event in sim.events():
            before = path[event.client_order_id]
            assert event.kind.status in TRANSITIONS[before], (before, event.kind)
            path[event.client_order_id] = event.kind.status
            if event.fill is not None:
                fills.append(event.fill)

    for day, (ohlc, orders) in enumerate(history):
        for symbol, quad in ((AAPL, ohlc[:4]), (MSFT, ohlc[4:])):
            sim.observe(random_bar(day, symbol, quad))
            marks[symbol] = quad[1]
        drain()
        for n, (symbol, side, qty, kind, limit, tif, cancel_first) in enumerate(orders):
            if cancel_first and (resting := sim.open_orders().unwrap()):
                sim.cancel(resting[0].client_order_id)
            client_order_id = f"{day}-{n}"
            path[client_order_id] = OrderStatus.PENDING_NEW
            intent = OrderIntent(
                symbol, side, Quantity(Decimal(qty) / (4 if fractional else 1)), kind, tif,
                limit_price=Price(limit) if kind is OrderType.LIMIT else None,
            )
            sim.submit(Order(client_order_id, intent, MONDAY + timedelta(days=day) + SESSION))
            drain()

    account = sim.account().unwrap()
    assert account.cash == cash + sum((f.cash_change for f in fills), Decimal(0))
    for symbol in (AAPL, MSFT):
        signed = sum((f.signed_qty for f in fills if f.symbol == symbol), Decimal(0))
        assert account.position(symbol).signed_qty == signed
        if not allow_short:
            assert signed >= 0
    for client_order_id, last in path.items():
        assert status(sim, client_order_id) is last
    assert len({f.trade_id for f in fills}) == len(fills)
    for left in sim.open_orders().unwrap():  # frees every reservation
        sim.cancel(left.client_order_id)
    unreserved = account.equity(marks) * 2 - account.gross_exposure(marks)
    assert sim.buying_power() == max(Decimal(0), unreserved)


# -- exits: one-cancels-other legs and trailing stops --------------------------------------


def _held(broker: SimulatedBroker, qty: str = "10") -> None:
    broker.observe(flat(0, "100"))
    assert isinstance(broker.submit(order("entry", qty=qty)), Success)
    broker.observe(flat(1, "100"))
    broker.events()


def _leg(cid: str, order_type: OrderType, *, limit: str | None = None,
         stop: str | None = None, trail: str | None = None) -> Order:
    intent = OrderIntent(AAPL, Side.SELL, Quantity("10"), order_type=order_type,
                         time_in_force=TimeInForce.GTC,
                         limit_price=None if limit is None else Price(limit),
                         stop_price=None if stop is None else Price(stop),
                         trail_amount=None if trail is None else Price(trail),
                         oco_group="exit-1")
    return Order(cid, intent, created_at=MONDAY + timedelta(days=1, hours=7))


def test_only_one_leg_of_an_exit_pair_fills_and_a_touch_of_both_goes_to_the_stop() -> None:
    broker = SimulatedBroker(cash=Decimal(10_000))
    _held(broker)
    assert isinstance(broker.submit(_leg("sl", OrderType.STOP, stop="95")), Success)
    assert isinstance(broker.submit(_leg("tp", OrderType.LIMIT, limit="110")), Success)
    broker.observe(bar(2, "100", "111", "94", "100"))  # both levels traded inside one bar
    events = {e.client_order_id: e for e in broker.events()}
    assert events["sl"].kind is EventKind.FILLED
    assert events["sl"].fill is not None
    assert events["sl"].fill.last_px.value == Decimal("95")
    assert events["tp"].kind is EventKind.CANCELED
    assert broker.account().unwrap().position(AAPL).signed_qty == 0
    assert broker.open_orders().unwrap() == []


def test_a_gap_through_the_take_profit_fills_it_at_the_open_and_cancels_the_stop() -> None:
    broker = SimulatedBroker(cash=Decimal(10_000))
    _held(broker)
    broker.submit(_leg("sl", OrderType.STOP, stop="95"))
    broker.submit(_leg("tp", OrderType.LIMIT, limit="110"))
    broker.observe(bar(2, "112", "113", "90", "100"))  # gaps above the target, later below
    events = {e.client_order_id: e for e in broker.events()}
    assert events["tp"].fill is not None
    assert events["tp"].fill.last_px.value == Decimal("112")
    assert events["sl"].kind is EventKind.CANCELED


def test_a_gap_through_a_stop_fills_at_the_open() -> None:
    broker = SimulatedBroker(cash=Decimal(10_000))
    _held(broker)
    broker.submit(_leg("sl", OrderType.STOP, stop="95"))
    broker.submit(_leg("tp", OrderType.LIMIT, limit="110"))
    broker.observe(bar(2, "90", "92", "89", "91"))
    events = {e.client_order_id: e for e in broker.events()}
    assert events["sl"].fill is not None
    assert events["sl"].fill.last_px.value == Decimal("90")


def test_a_trailing_stop_follows_the_best_price_and_fills_where_it_trailed() -> None:
    broker = SimulatedBroker(cash=Decimal(10_000))
    _held(broker)
    assert isinstance(broker.submit(_leg("trail", OrderType.TRAILING_STOP, stop="95",
                                         trail="5")), Success)
    broker.events()
    broker.observe(bar(2, "101", "110", "100", "109"))  # the stop moves up to 105
    assert broker.events() == []
    broker.observe(bar(3, "108", "108", "104", "105"))  # trades through 105
    (event,) = broker.events()
    assert event.fill is not None
    assert event.fill.last_px.value == Decimal("105")


def test_orders_matched_by_one_bar_fill_in_the_order_they_execute_not_the_order_sent() -> None:
    # A buy limit sent first is reached only inside the bar (filled at its close stamp); a sell
    # sent after it fills at the open. The venue executes the sell first, and its fills must say
    # so in order: round_trips (and anything reading fills in turn) refuses a trip that exits
    # before it enters, which failed whole backtests mixing marketable and resting limits.
    sim = SimulatedBroker(cash=Decimal(100_000), allow_short=True)
    sim.observe(flat(0, "100"))
    placed(sim, order("buy", Side.BUY, order_type=OrderType.LIMIT, limit="98"))
    placed(sim, order("sell", Side.SELL))
    nxt = bar(1, "100", "101", "97", "99")
    sim.observe(nxt)
    fills = [e.fill for e in sim.events() if e.fill is not None]
    assert [(f.client_order_id, f.ts_event) for f in fills] == [
        ("sell", nxt.ts_open), ("buy", nxt.ts_close)]


# -- sessions: outside regular hours only extended-hours orders trade ------------------------

OPEN_ET = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)  # 09:30 New York
CLOSE_ET = datetime(2024, 3, 4, 21, 0, tzinfo=UTC)  # 16:00 New York


def by_the_clock(moment: datetime) -> Session:
    """Weekdays of March 2024 (EST): 09:30-16:00 New York regular, any other time after hours."""
    regular = OPEN_ET.time() <= moment.time() < CLOSE_ET.time()
    return Session.REGULAR if regular else Session.POST


def late_broker(*, holding: bool = False) -> SimulatedBroker:
    """A broker whose last bar is the regular session's last (15:55-16:00 New York), holding
    10 shares bought at its open of 100 when `holding`."""
    sim = SimulatedBroker(cash=Decimal(100_000), session_of=by_the_clock)
    sim.observe(intraday(CLOSE_ET - timedelta(minutes=10), "100", "100", "100", "100"))
    if holding:
        placed(sim, order("long", at=CLOSE_ET - timedelta(minutes=5)))
    sim.observe(intraday(CLOSE_ET - timedelta(minutes=5), "100", "100", "100", "100"))
    sim.events()
    return sim


@pytest.mark.parametrize(("kind", "limit", "stop"), [
    (OrderType.MARKET, None, None), (OrderType.LIMIT, "99", None),
    (OrderType.STOP, None, "100.5")])
def test_an_order_that_is_not_extended_hours_waits_out_the_after_hours_bars(
    kind: OrderType, limit: str | None, stop: str | None
) -> None:
    side = Side.SELL if kind is OrderType.STOP else Side.BUY
    sim = late_broker(holding=side is Side.SELL)  # a position for the stop to close
    placed(sim, order("o-1", side, "10", kind, limit=limit, stop=stop, tif=TimeInForce.GTC,
                      at=CLOSE_ET))
    # 16:00-16:05 and 16:05-16:10: after hours, through every level: nothing fills
    sim.observe(intraday(CLOSE_ET, "98", "102", "90", "95"))
    sim.observe(intraday(CLOSE_ET + timedelta(minutes=5), "95", "96", "94", "95"))
    assert status(sim, "o-1") is OrderStatus.ACCEPTED
    assert [e for e in sim.events() if e.fill is not None] == []
    # the next regular bar meets it
    sim.observe(intraday(OPEN_ET + timedelta(days=1), "97", "97", "96", "96"))
    assert status(sim, "o-1") is OrderStatus.FILLED


def test_an_extended_hours_limit_fills_after_hours() -> None:
    sim = late_broker()
    intent = OrderIntent(AAPL, Side.BUY, Quantity("10"), OrderType.LIMIT, TimeInForce.DAY,
                         limit_price=Price("99"), extended_hours=True)
    placed(sim, Order("ext-1", intent, CLOSE_ET))
    sim.observe(intraday(CLOSE_ET, "99.5", "100", "98", "99"))
    assert only_fill_px(sim) == (Decimal("99"), CLOSE_ET + timedelta(minutes=5))


def test_fill_at_close_does_not_fill_a_regular_market_order_on_an_after_hours_close() -> None:
    sim = SimulatedBroker(cash=Decimal(100_000), session_of=by_the_clock, fill_at="close")
    sim.observe(intraday(CLOSE_ET, "100", "100", "100", "100"))  # an after-hours bar
    placed(sim, order("o-1", at=CLOSE_ET + timedelta(minutes=5)))
    assert status(sim, "o-1") is OrderStatus.ACCEPTED  # resting, not filled at that close
    sim.observe(intraday(OPEN_ET + timedelta(days=1), "101", "101", "101", "101"))
    assert only_fill_px(sim) == (Decimal("101"), OPEN_ET + timedelta(days=1))
