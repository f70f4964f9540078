"""Round trips matched from fills, in exact Decimal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.domain.trading import Fill, Position
from aitrader.domain.trading.round_trips import (
    RoundTrip,
    open_trips,
    round_trips,
    split_commission,
)
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol

AAA, BBB = Symbol("AAA"), Symbol("BBB")
T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
D = Decimal


def _fill(n: int, side: Side, qty: str, px: str, fee: str = "0", symbol: Symbol = AAA) -> Fill:
    return Fill(trade_id=f"t{n}", client_order_id=f"o{n}", symbol=symbol, side=side,
                last_qty=Quantity(qty), last_px=Price(px), commission=Money(fee),
                ts_event=T0 + timedelta(minutes=n))


def _fills(*specs: tuple[Side, str, str, str]) -> list[Fill]:
    return [_fill(n, *spec) for n, spec in enumerate(specs)]


BUY, SELL = Side.BUY, Side.SELL


def test_a_single_entry_and_exit_realize_the_price_move_less_commissions() -> None:
    (trip,) = round_trips(_fills((BUY, "100", "10.25", "1.00"), (SELL, "100", "11.50", "1.25")))
    assert trip == RoundTrip(
        symbol=AAA, direction="long", entry_ts=T0, exit_ts=T0 + timedelta(minutes=1),
        quantity=D(100), entry_px=D("10.25"), exit_px=D("11.50"), gross_pnl=D("125.00"),
        commission=D("2.25"), net_pnl=D("122.75"), net_return=float(D("122.75") / D("1025")),
    )


def test_a_short_trip_gains_when_the_price_falls() -> None:
    (trip,) = round_trips(_fills((SELL, "10", "50", "0"), (BUY, "10", "45", "0")))
    assert (trip.direction, trip.gross_pnl, trip.net_pnl) == ("short", D(50), D(50))


def test_scale_ins_and_partial_exits_make_one_trip_at_weighted_average_prices() -> None:
    (trip,) = round_trips(_fills(
        (BUY, "100", "10", "1"), (BUY, "100", "12", "1"),
        (SELL, "50", "13", "0.5"), (SELL, "150", "11", "1.5"),
    ))
    assert (trip.quantity, trip.entry_px, trip.exit_px) == (D(200), D(11), D("11.5"))
    assert (trip.gross_pnl, trip.commission, trip.net_pnl) == (D(100), D(4), D(96))
    assert trip.net_return == pytest.approx(96 / 2200)
    assert (trip.entry_ts, trip.exit_ts) == (T0, T0 + timedelta(minutes=3))


def test_a_flip_closes_the_trip_and_opens_the_next_with_the_remainder() -> None:
    first, second = round_trips(_fills(
        (BUY, "100", "10", "1.00"), (SELL, "150", "12", "1.50"), (BUY, "50", "11", "0.50"),
    ))
    assert (first.direction, first.quantity, first.gross_pnl, first.commission) == (
        "long", D(100), D(200), D("2.00"))
    assert (second.direction, second.quantity, second.gross_pnl, second.commission) == (
        "short", D(50), D(50), D("1.00"))
    assert second.entry_ts == first.exit_ts == T0 + timedelta(minutes=1)


def test_a_flip_splits_its_commission_in_cents_that_sum_exactly() -> None:
    fills = _fills((BUY, "1", "10", "0"), (SELL, "3", "10", "0.10"))
    (trip,) = round_trips(fills)
    (still_open,) = open_trips(fills)
    assert (trip.commission, still_open.commission) == (D("0.03"), D("0.07"))


def test_split_commission_keeps_finer_precision_and_never_loses_a_digit() -> None:
    assert split_commission(D("0.005"), D(1), D(2)) == (D("0.002"), D("0.003"))
    assert split_commission(D("1"), D(1), D(3)) == (D("0.33"), D("0.67"))
    assert split_commission(D("1.50"), D(2), D(2)) == (D("1.50"), D(0))


def test_an_open_trip_is_not_a_round_trip_but_is_reported_as_open() -> None:
    fills = _fills((BUY, "100", "10", "1"), (SELL, "40", "12", "1"), (BUY, "20", "13", "1"))
    assert round_trips(fills) == []
    (trip,) = open_trips(fills)
    assert (trip.symbol, trip.direction, trip.quantity, trip.entry_ts) == (AAA, "long", D(80), T0)
    assert trip.realized_pnl == D(80)  # 40 closed at 12 against an average of 10
    assert trip.avg_px == (D(600) + D(260)) / D(80)
    assert trip.commission == D(3)


def test_symbols_are_matched_independently() -> None:
    fills = [
        _fill(0, BUY, "10", "10", symbol=AAA), _fill(1, SELL, "5", "20", symbol=BBB),
        _fill(2, SELL, "10", "11", symbol=AAA), _fill(3, BUY, "5", "18", symbol=BBB),
    ]
    trips = round_trips(fills)
    assert [(t.symbol, t.direction, t.gross_pnl) for t in trips] == [
        (AAA, "long", D(10)), (BBB, "short", D(10))]
    assert open_trips(fills) == []


def test_a_repeated_trade_id_is_refused() -> None:
    fill = _fill(0, BUY, "1", "10")
    with pytest.raises(ValueError, match="twice"):
        round_trips([fill, fill])


def test_round_trip_timestamps_must_be_utc() -> None:
    with pytest.raises(ValueError, match="UTC"):
        RoundTrip(AAA, "long", datetime(2024, 1, 1), T0, D(1), D(1), D(1),
                  D(0), D(0), D(0), 0.0)


# -- properties ---------------------------------------------------------------------------

fill_specs = st.tuples(
    st.sampled_from([AAA, BBB]),
    st.sampled_from([BUY, SELL]),
    st.integers(min_value=1, max_value=300),  # quantity
    st.integers(min_value=100, max_value=50_000),  # price in cents
    st.integers(min_value=0, max_value=250),  # commission in cents
)


def _build(specs: list[tuple[Symbol, Side, int, int, int]]) -> list[Fill]:
    return [
        Fill(trade_id=f"t{n}", client_order_id=f"o{n}", symbol=symbol, side=side,
             last_qty=Quantity(qty), last_px=Price(D(cents).scaleb(-2)),
             commission=Money(D(fee).scaleb(-2)), ts_event=T0 + timedelta(seconds=n))
        for n, (symbol, side, qty, cents, fee) in enumerate(specs)
    ]


def _positions(fills: list[Fill]) -> dict[Symbol, Position]:
    positions: dict[Symbol, Position] = {}
    for fill in fills:
        positions[fill.symbol] = positions.get(fill.symbol, Position(fill.symbol)).apply(fill)
    return positions


@settings(max_examples=200, deadline=None)
@given(st.lists(fill_specs, max_size=40))
def test_trips_realize_what_positions_realize_less_commissions(
    specs: list[tuple[Symbol, Side, int, int, int]],
) -> None:
    fills = _build(specs)
    closed, still_open = round_trips(fills), open_trips(fills)
    positions = _positions(fills)
    booked = sum((p.realized_pnl - p.commission for p in positions.values()), D(0))
    matched = sum((t.net_pnl for t in closed), D(0)) + sum(
        (t.realized_pnl - t.commission for t in still_open), D(0))
    assert matched == booked
    if all(p.is_flat for p in positions.values()):
        assert still_open == []
        assert sum((t.net_pnl for t in closed), D(0)) == booked
    open_qty = {t.symbol: t.quantity * (1 if t.direction == "long" else -1) for t in still_open}
    assert open_qty == {s: p.signed_qty for s, p in positions.items() if not p.is_flat}


@settings(max_examples=200, deadline=None)
@given(st.lists(fill_specs, max_size=40))
def test_commissions_allocated_to_trips_sum_exactly_to_the_fills(
    specs: list[tuple[Symbol, Side, int, int, int]],
) -> None:
    fills = _build(specs)
    allocated = sum((t.commission for t in round_trips(fills)), D(0)) + sum(
        (t.commission for t in open_trips(fills)), D(0))
    assert allocated == sum((f.commission.amount for f in fills), D(0))


@settings(max_examples=100, deadline=None)
@given(
    side=st.sampled_from([BUY, SELL]),
    qty=st.integers(min_value=1, max_value=10_000),
    entry=st.integers(min_value=1, max_value=10**7),
    exit_=st.integers(min_value=1, max_value=10**7),
    fees=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
)
def test_a_single_entry_and_exit_realize_exactly_the_price_move_times_quantity(
    side: Side, qty: int, entry: int, exit_: int, fees: tuple[int, int]
) -> None:
    entry_px, exit_px = D(entry).scaleb(-4), D(exit_).scaleb(-4)
    fee_in, fee_out = D(fees[0]).scaleb(-2), D(fees[1]).scaleb(-2)
    (trip,) = round_trips(_fills(
        (side, str(qty), str(entry_px), str(fee_in)),
        (side.opposite, str(qty), str(exit_px), str(fee_out)),
    ))
    assert trip.gross_pnl == (exit_px - entry_px) * qty * side.sign
    assert trip.net_pnl == trip.gross_pnl - fee_in - fee_out
    assert (trip.entry_px, trip.exit_px, trip.quantity) == (entry_px, exit_px, D(qty))


@settings(max_examples=100, deadline=None)
@given(
    fee=st.integers(min_value=0, max_value=10**6),
    exponent=st.integers(min_value=-4, max_value=0),
    whole=st.integers(min_value=1, max_value=10**6),
    data=st.data(),
)
def test_a_split_commission_sums_exactly_and_stays_within_a_quantum_of_pro_rata(
    fee: int, exponent: int, whole: int, data: st.DataObject
) -> None:
    commission = D(fee).scaleb(exponent)
    part = data.draw(st.integers(min_value=1, max_value=whole))
    share, rest = split_commission(commission, D(part), D(whole))
    assert share + rest == commission
    assert share >= 0
    assert rest >= 0
    assert abs(share - commission * part / whole) <= D("0.005")


def _trips_booked_through_positions(fills: list[Fill]) -> list[RoundTrip]:
    """Closed trips found by booking every fill into a Position per trip (round_trips books
    quantities and commissions itself and must give the very same Decimals)."""
    closed: list[RoundTrip] = []
    trips: dict[Symbol, tuple[Position, list[Fill]]] = {}
    for fill in fills:
        position, booked = trips.pop(fill.symbol, (Position(fill.symbol), []))
        held, qty = abs(position.signed_qty), fill.last_qty.value
        if held and fill.side.sign * position.signed_qty < 0 and qty > held:  # a flip
            fee, rest_fee = split_commission(fill.commission.amount, held, qty)
            closing = attrs.evolve(fill, last_qty=Quantity(held), commission=Money(fee))
            rest = attrs.evolve(fill, last_qty=Quantity(qty - held), commission=Money(rest_fee))
            closed.append(_trip_of(position.apply(closing), [*booked, closing]))
            trips[fill.symbol] = (Position(fill.symbol).apply(rest), [rest])
            continue
        position, booked = position.apply(fill), [*booked, fill]
        if position.is_flat:
            closed.append(_trip_of(position, booked))
        else:
            trips[fill.symbol] = (position, booked)
    return closed


def _trip_of(position: Position, fills: list[Fill]) -> RoundTrip:
    sign = fills[0].side.sign
    entries = [f for f in fills if f.side.sign == sign]
    exits = [f for f in fills if f.side.sign != sign]
    entered, exited = sum(f.last_qty.value for f in entries), sum(f.last_qty.value for f in exits)
    entry_notional = sum(f.notional for f in entries)
    exit_notional = sum(f.notional for f in exits)
    gross = sign * (exit_notional - entry_notional)
    net = gross - position.commission
    return RoundTrip(symbol=position.symbol, direction="long" if sign > 0 else "short",
                     entry_ts=fills[0].ts_event, exit_ts=exits[-1].ts_event, quantity=entered,
                     entry_px=entry_notional / entered, exit_px=exit_notional / exited,
                     gross_pnl=gross, commission=position.commission, net_pnl=net,
                     net_return=float(net / entry_notional))


@settings(max_examples=200, deadline=None)
@given(st.lists(fill_specs, max_size=40))
def test_trips_carry_the_decimals_a_position_per_trip_would_book(
    specs: list[tuple[Symbol, Side, int, int, int]],
) -> None:
    fills = _build(specs)
    expected = _trips_booked_through_positions(fills)
    got = round_trips(fills)
    assert got == expected
    assert [str(t) for t in got] == [str(t) for t in expected]  # exponents too
