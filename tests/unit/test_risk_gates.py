"""Every gate of the risk layer refuses what it must and passes what it may."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from returns.result import Failure, Success

from aitrader.domain.market import Session
from aitrader.domain.risk import (
    CashReserve,
    DailyLossHalt,
    DayTradingGate,
    Gate,
    IntradayMargin,
    LegacyPdt,
    MaxDrawdownHalt,
    MaxGrossExposure,
    MaxNetExposure,
    MaxOpenPositions,
    MaxOrderNotional,
    MaxOrderRate,
    NoDayTradingLimit,
    OrderTypes,
    PortfolioVar,
    RejectionCircuitBreaker,
    RiskContext,
    SessionRules,
    TradingState,
    TradingStateGate,
    day_trading_policy,
)
from aitrader.domain.trading import OrderIntent, OrderType, TimeInForce
from aitrader.domain.values import Price, Quantity, Side, Symbol

SYM = Symbol("KO")
D = Decimal


def ctx(**changes: Any) -> RiskContext:
    """An account with $10,000 equity and cash, flat in KO at $50, nothing else held."""
    base = RiskContext(equity=D(10_000), cash=D(10_000), position_qty=D(0), pending_qty=D(0),
                       price=D(50), reserved_cash=D(0), estimated_commission=D(1))
    values: dict[str, Any] = {k: D(v) if isinstance(v, str) else v for k, v in changes.items()}
    return attrs.evolve(base, **values)


def buy(qty: str = "10") -> OrderIntent:
    return OrderIntent(SYM, Side.BUY, Quantity(qty))


def sell(qty: str = "10") -> OrderIntent:
    return OrderIntent(SYM, Side.SELL, Quantity(qty))


def limit(side: Side, *, extended: bool, tif: TimeInForce = TimeInForce.DAY) -> OrderIntent:
    return OrderIntent(SYM, side, Quantity("10"), order_type=OrderType.LIMIT, time_in_force=tif,
                       limit_price=Price("50"), extended_hours=extended)


# (gate, intent, context) that must be refused, then (gate, intent, context) that must pass
CASES: list[tuple[str, Gate, OrderIntent, RiskContext, OrderIntent, RiskContext]] = [
    ("trading_state", TradingStateGate(), sell(), ctx(position_qty="10", state=TradingState.HALTED),
     buy(), ctx()),
    ("trading_state", TradingStateGate(), buy(), ctx(state=TradingState.REDUCING),
     sell(), ctx(position_qty="10", state=TradingState.REDUCING)),
    ("circuit_breaker", RejectionCircuitBreaker(5), buy(), ctx(rejection_streak=5),
     buy(), ctx(rejection_streak=4)),
    ("max_drawdown", MaxDrawdownHalt(D("0.2")), buy(), ctx(drawdown="0.2"),
     sell(), ctx(position_qty="10", drawdown="0.5")),
    ("daily_loss", DailyLossHalt(D("0.03")), buy(), ctx(daily_loss="0.031"),
     buy(), ctx(daily_loss="0.029")),
    ("max_gross_exposure", MaxGrossExposure(D("1")), buy("30"), ctx(gross_exposure="9000"),
     buy("20"), ctx(gross_exposure="9000")),
    ("max_net_exposure", MaxNetExposure(D("0.5")), buy("101"), ctx(),
     sell("10"), ctx(position_qty="200", net_exposure="10000")),
    ("max_gross_exposure", MaxGrossExposure(D("1")), buy("20"),
     ctx(gross_exposure="8000", reserved_cash="1500"),  # working orders count as exposure
     buy("10"), ctx(gross_exposure="8000", reserved_cash="1500")),
    ("max_net_exposure", MaxNetExposure(D("0.5")), buy("60"), ctx(reserved_cash="2500"),
     buy("40"), ctx(reserved_cash="2500")),
    ("max_open_positions", MaxOpenPositions(2), buy(), ctx(open_positions=2),
     buy(), ctx(position_qty="5", open_positions=2)),
    ("cash_reserve", CashReserve(D("0.1")), buy("181"), ctx(),
     buy("179"), ctx()),
    ("max_order_notional", MaxOrderNotional(D("1000")), buy("21"), ctx(),
     sell("100"), ctx(position_qty="100")),
    ("max_var", PortfolioVar(D("0.02")), buy(), ctx(var_before="0.01", var_after="0.021"),
     sell(), ctx(position_qty="10", var_before="0.05", var_after="0.04")),
    ("max_order_rate", MaxOrderRate(10), sell(), ctx(position_qty="10", orders_in_window=10),
     buy(), ctx(orders_in_window=9)),
    ("max_order_rate", MaxOrderRate(10), sell(), ctx(position_qty="10", orders_in_window=10),
     sell(), ctx(position_qty="10", orders_in_window=10, emergency=True)),  # the kill switch
    ("day_trading", DayTradingGate(LegacyPdt()), buy(), ctx(day_trades=3),
     sell(), ctx(position_qty="10", day_trades=3)),
    ("day_trading", DayTradingGate(LegacyPdt()), buy(), ctx(day_trades=3),
     buy(), ctx(day_trades=3, equity="30000")),
    ("day_trading", DayTradingGate(LegacyPdt()), buy(), ctx(day_trades=2, open_day_trades=1),
     buy(), ctx(day_trades=2)),  # another symbol opened today would make the third
    ("day_trading", DayTradingGate(IntradayMargin(D(4))), buy("801"), ctx(),
     buy("799"), ctx()),
    ("session_rules", SessionRules(), buy(), ctx(session=Session.PRE),
     limit(Side.BUY, extended=True), ctx(session=Session.POST)),
    ("session_rules", SessionRules(), limit(Side.BUY, extended=True, tif=TimeInForce.GTC),
     ctx(session=Session.POST), buy(), ctx(session=Session.REGULAR)),
    ("session_rules", SessionRules(), limit(Side.SELL, extended=True), ctx(),
     limit(Side.SELL, extended=False), ctx()),
    ("session_rules", SessionRules(), buy(), ctx(session=Session.CLOSED),
     limit(Side.BUY, extended=True), ctx(session=Session.OVERNIGHT)),
]


@pytest.mark.parametrize(("rule", "gate", "bad", "bad_ctx", "good", "good_ctx"), CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_each_gate_refuses_with_its_rule_code_and_passes_what_it_allows(
    rule: str, gate: Gate, bad: OrderIntent, bad_ctx: RiskContext, good: OrderIntent,
    good_ctx: RiskContext,
) -> None:
    refused = gate(bad, bad_ctx)
    assert isinstance(refused, Failure)
    assert refused.failure().rule == rule == gate.rule
    assert refused.failure().reason
    assert gate(good, good_ctx) == Success(good)


def test_no_day_trading_limit_is_the_default_and_never_refuses() -> None:
    policy = day_trading_policy("none")
    assert isinstance(policy, NoDayTradingLimit)
    assert DayTradingGate(policy)(buy(), ctx(day_trades=99, equity="1")) == Success(buy())
    with pytest.raises(ValueError, match="unknown day-trading policy"):
        day_trading_policy("pdt")


def test_regular_hours_orders_are_market_or_marketable_limits_and_extended_are_limits() -> None:
    assert OrderTypes().intent(SYM, Side.BUY, D(5), D("100"), Session.REGULAR).order_type is \
        OrderType.MARKET
    marketable = OrderTypes("marketable_limit", D(10)).intent(SYM, Side.BUY, D(5), D("100.01"),
                                                              Session.REGULAR)
    assert marketable.order_type is OrderType.LIMIT
    assert marketable.limit_price == Price("100.12")  # 100.01 + 10 bps, rounded up to a cent
    assert not marketable.extended_hours
    after = OrderTypes().intent(SYM, Side.SELL, D(5), D("100.01"), Session.POST)
    assert (after.order_type, after.time_in_force, after.extended_hours) == (
        OrderType.LIMIT, TimeInForce.DAY, True)
    assert after.limit_price == Price("99.90")  # 100.01 - 10 bps, rounded down to a cent
    assert SessionRules()(after, ctx(session=Session.POST)) == Success(after)
