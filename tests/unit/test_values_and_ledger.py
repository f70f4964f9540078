"""Values refuse bad numbers; positions and accounts book fills exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.market import Bar
from aitrader.domain.trading import Account, Fill, Position
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol, exact_decimal

T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
AAPL = Symbol("AAPL")


def fill(side: Side, qty: str | Decimal, px: str | Decimal, fee: str = "0", n: int = 1) -> Fill:
    return Fill(trade_id=f"t{n}", client_order_id=f"o{n}", symbol=AAPL, side=side,
                last_qty=Quantity(qty), last_px=Price(px), commission=Money(fee),
                ts_event=T0 + timedelta(minutes=n))


def test_money_built_from_a_float_is_refused() -> None:
    with pytest.raises(TypeError):
        Price(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "abc"])
def test_non_finite_or_non_numeric_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        exact_decimal(text)


def test_prices_must_be_positive_and_quantities_non_negative() -> None:
    with pytest.raises(ValueError, match="positive"):
        Price("0")
    with pytest.raises(ValueError, match="negative"):
        Quantity("-1")


def test_symbols_are_normalised_and_validated() -> None:
    assert Symbol.parse(" brk.b ") == Symbol("BRK.B")
    with pytest.raises(ValueError, match="symbol"):
        Symbol("aapl")


def test_a_bar_with_high_below_low_is_refused() -> None:
    with pytest.raises(ValueError, match="high"):
        Bar(AAPL, T0, T0 + timedelta(minutes=1), Price("10"), Price("9"), Price("9.5"),
            Price("9.8"), Decimal(1))


def test_a_bar_with_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC"):
        Bar(AAPL, T0.replace(tzinfo=None), T0 + timedelta(minutes=1), Price("10"), Price("11"),
            Price("9"), Price("10"), Decimal(1))


def test_a_position_flips_through_flat_and_realizes_the_closed_part() -> None:
    p = Position(AAPL).apply(fill(Side.BUY, "10", "100"))
    p = p.apply(fill(Side.SELL, "15", "110", n=2))
    assert p.signed_qty == Decimal(-5)
    assert p.realized_pnl == Decimal(100)
    assert p.avg_px == Decimal(110)


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
quantities = st.integers(min_value=1, max_value=10_000).map(Decimal)
fees = st.decimals(min_value=Decimal(0), max_value=Decimal("20"), places=2)


@given(entry=prices, exit_=prices, qty=quantities, fee_in=fees, fee_out=fees,
       side=st.sampled_from(Side))
def test_a_round_trip_realizes_exactly_the_price_difference_times_quantity(
    entry: Decimal, exit_: Decimal, qty: Decimal, fee_in: Decimal, fee_out: Decimal, side: Side,
) -> None:
    account = Account(Decimal(1_000_000))
    account = account.apply(fill(side, qty, entry, str(fee_in), 1))
    account = account.apply(fill(side.opposite, qty, exit_, str(fee_out), 2))
    expected = (exit_ - entry) * qty * side.sign
    assert account.position(AAPL).realized_pnl == expected
    assert account.position(AAPL).is_flat
    assert account.cash == Decimal(1_000_000) + expected - fee_in - fee_out


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(Side), quantities, prices), min_size=1, max_size=30),
       prices)
def test_signed_position_is_the_sum_of_signed_fills_and_equity_is_cash_plus_value(
    trades: list[tuple[Side, Decimal, Decimal]], mark: Decimal,
) -> None:
    account = Account(Decimal(100_000))
    fills = [fill(side, qty, px, "1", n) for n, (side, qty, px) in enumerate(trades, 1)]
    for f in fills:
        account = account.apply(f)
    position = account.position(AAPL)
    assert position.signed_qty == sum((f.signed_qty for f in fills), Decimal(0))
    assert account.cash == Decimal(100_000) + sum((f.cash_change for f in fills), Decimal(0))
    equity = account.equity({AAPL: mark})
    assert equity == account.cash + position.signed_qty * mark
    # realized + unrealized P&L minus commissions is exactly the change in equity
    pnl = position.realized_pnl + position.unrealized_pnl(mark) - position.commission
    assert equity - Decimal(100_000) == pnl
