"""Sizing never exceeds its budget; every gate refuses and passes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from aitrader.domain.portfolio import FRACTIONAL_STEP, FixedFraction
from aitrader.domain.risk import BuyingPower, LongOnly, MaxPositionFraction, RiskContext, judge
from aitrader.domain.trading import CommissionModel, OrderIntent, SlippageModel
from aitrader.domain.values import Quantity, Side, Symbol

SYM = Symbol("KO")


def ctx(position: str = "0", price: str = "50", equity: str = "10000",
        cash: str = "10000", reserved: str = "0") -> RiskContext:
    return RiskContext(equity=Decimal(equity), cash=Decimal(cash), position_qty=Decimal(position),
                       pending_qty=Decimal(0), price=Decimal(price),
                       reserved_cash=Decimal(reserved), estimated_commission=Decimal(1))


def intent(side: Side, qty: str) -> OrderIntent:
    return OrderIntent(SYM, side, Quantity(qty))


@given(
    equity=st.decimals(min_value=Decimal(100), max_value=Decimal(10_000_000), places=2),
    price=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(5_000), places=2),
    exposure=st.floats(min_value=-1, max_value=1, allow_nan=False),
    per_share=st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=3),
    per_order=st.decimals(min_value=Decimal(0), max_value=Decimal(5), places=2),
    pct=st.decimals(min_value=Decimal(0), max_value=Decimal("0.5"), places=2),
    bps=st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=1),
    fractional=st.booleans(),
    slots=st.integers(min_value=1, max_value=5),
)
def test_sizing_never_exceeds_its_budget_including_commission(
    equity: Decimal, price: Decimal, exposure: float, per_share: Decimal, per_order: Decimal,
    pct: Decimal, bps: Decimal, fractional: bool, slots: int,
) -> None:
    commission = CommissionModel(per_share, per_order, pct)
    sizing = FixedFraction(Decimal(1), slots, commission, SlippageModel(bps),
                           step=FRACTIONAL_STEP if fractional else Decimal(1))
    result = sizing.size(exposure, equity, price)
    assert result.quantity >= 0
    if result.quantity:
        spent = result.quantity * result.unit_cost + commission.commission(result.quantity,
                                                                          result.unit_cost)
        assert spent <= result.budget
    if not fractional:
        assert result.quantity == result.quantity.to_integral_value()


def test_all_in_sizing_buys_as_many_whole_shares_as_cash_and_commission_allow() -> None:
    sizing = FixedFraction(Decimal(1), 1, CommissionModel(per_order=Decimal(1)), SlippageModel())
    assert sizing.size(1.0, Decimal(10_000), Decimal(33)).quantity == Decimal(303)


def test_long_only_refuses_an_intent_that_would_go_short_and_passes_a_sale_of_a_long() -> None:
    assert isinstance(LongOnly()(intent(Side.SELL, "5"), ctx(position="3")), Failure)
    assert isinstance(LongOnly()(intent(Side.SELL, "3"), ctx(position="3")), Success)


def test_max_position_fraction_refuses_oversized_and_passes_within_the_cap() -> None:
    gate = MaxPositionFraction(Decimal("0.5"))
    refused = gate(intent(Side.BUY, "101"), ctx())
    assert isinstance(refused, Failure)
    assert refused.failure().rule == "max_position_fraction"
    assert isinstance(gate(intent(Side.BUY, "100"), ctx()), Success)


def test_buying_power_refuses_beyond_unreserved_cash_and_passes_within_it() -> None:
    gate = BuyingPower()
    assert isinstance(gate(intent(Side.BUY, "199"), ctx(reserved="100")), Failure)
    assert isinstance(gate(intent(Side.BUY, "197"), ctx(reserved="100")), Success)
    assert isinstance(gate(intent(Side.SELL, "10"), ctx(position="10", cash="0")), Success)


def test_the_first_refusal_stops_the_intent_and_every_verdict_is_returned() -> None:
    result, verdicts = judge([LongOnly(), MaxPositionFraction(Decimal("0.1")), BuyingPower()],
                             intent(Side.BUY, "100"), ctx())
    assert isinstance(result, Failure)
    assert [(v.rule, v.passed) for v in verdicts] == [
        ("long_only", True), ("max_position_fraction", False)]
