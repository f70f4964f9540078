"""Round trips: each symbol's trades from flat back to flat, matched from fills in Decimal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import attrs

from aitrader.domain.market import require_utc
from aitrader.domain.trading.fills import Fill
from aitrader.domain.trading.position import Position
from aitrader.domain.values import Money, Quantity, Symbol

Direction = Literal["long", "short"]

_ZERO = Decimal(0)
_CENT_EXPONENT = -2


@attrs.frozen
class RoundTrip:
    """A closed trade: opened from flat, through scale-ins and partial exits, back to flat.

    quantity is everything bought (long) or sold short, which equals everything closed; the
    prices are quantity-weighted averages; gross_pnl is exit notional minus entry notional
    (signed by direction), exact; commission is every fill's share in the trip; net_return is
    net_pnl over entry notional, a plain fraction (0.0123 for 1.23 %).
    """

    symbol: Symbol
    direction: Direction
    entry_ts: datetime
    exit_ts: datetime
    quantity: Decimal
    entry_px: Decimal
    exit_px: Decimal
    gross_pnl: Decimal
    commission: Decimal
    net_pnl: Decimal
    net_return: float

    def __attrs_post_init__(self) -> None:
        if self.entry_ts.tzinfo is not UTC:  # the common case, checked without a call
            require_utc(self.entry_ts, "entry_ts")
        if self.exit_ts.tzinfo is not UTC:
            require_utc(self.exit_ts, "exit_ts")
        if self.exit_ts < self.entry_ts:
            raise ValueError(f"{self.symbol}: round trip exits before it enters")


@attrs.frozen
class OpenTrip:
    """A trade not yet back to flat: the open quantity at its average cost, and what partial
    exits realized so far (average cost, as Position books it) with the commissions paid."""

    symbol: Symbol
    direction: Direction
    entry_ts: datetime
    quantity: Decimal
    avg_px: Decimal
    realized_pnl: Decimal
    commission: Decimal


@attrs.define
class _Trip:
    """One trip in progress, booked in place: the signed quantity held and the commission paid
    (summed exactly as Position sums them), the entry and exit totals the round trip reports,
    and its fills, replayed through Position only if the trip is still open at the end.

    A frozen trip holding a Position, rebuilt per fill, was ~15 µs a fill in a backtest's
    round_trips; only an open trip needs Position's cost basis and realized P&L."""

    sign: int
    entry_ts: datetime
    exit_ts: datetime
    held: Decimal  # signed
    commission: Decimal
    entered: Decimal
    entry_notional: Decimal
    exited: Decimal
    exit_notional: Decimal
    fills: list[Fill]

    @classmethod
    def opened(cls, fill: Fill) -> _Trip:
        qty = fill.last_qty.value
        return cls(sign=fill.side.sign, entry_ts=fill.ts_event, exit_ts=fill.ts_event,
                   held=_ZERO + qty * fill.side.sign, commission=_ZERO + fill.commission.amount,
                   entered=qty, entry_notional=qty * fill.last_px.value, exited=_ZERO,
                   exit_notional=_ZERO, fills=[fill])

    def add(self, fill: Fill) -> None:
        """Book a fill that adds to the trip or closes no more than it holds."""
        qty = fill.last_qty.value
        sign = fill.side.sign
        self.held += qty * sign
        self.commission += fill.commission.amount
        self.fills.append(fill)
        if sign == self.sign:
            self.entered += qty
            self.entry_notional += qty * fill.last_px.value
        else:
            self.exit_ts = fill.ts_event
            self.exited += qty
            self.exit_notional += qty * fill.last_px.value

    @property
    def direction(self) -> Direction:
        return "long" if self.sign > 0 else "short"

    def closed(self) -> RoundTrip:
        gross = self.sign * (self.exit_notional - self.entry_notional)
        commission = self.commission
        net = gross - commission
        return RoundTrip(symbol=self.fills[0].symbol, direction=self.direction,
                         entry_ts=self.entry_ts, exit_ts=self.exit_ts, quantity=self.entered,
                         entry_px=self.entry_notional / self.entered,
                         exit_px=self.exit_notional / self.exited, gross_pnl=gross,
                         commission=commission, net_pnl=net,
                         net_return=float(net / self.entry_notional))

    def still_open(self) -> OpenTrip:
        position = Position(self.fills[0].symbol)
        for fill in self.fills:
            position = position.apply(fill)
        return OpenTrip(symbol=position.symbol, direction=self.direction, entry_ts=self.entry_ts,
                        quantity=abs(position.signed_qty), avg_px=position.avg_px,
                        realized_pnl=position.realized_pnl, commission=position.commission)


def split_commission(commission: Decimal, part: Decimal, whole: Decimal) -> tuple[Decimal, Decimal]:
    """Split commission pro rata: (share of part out of whole, the rest), summing exactly.

    The share is rounded half-even to cents, or to the commission's own precision if finer,
    and the rest is the exact difference.
    """
    if part == whole:
        return commission, _ZERO
    exponent = commission.as_tuple().exponent
    places = min(_CENT_EXPONENT, exponent if isinstance(exponent, int) else _CENT_EXPONENT)
    share = (commission * part / whole).quantize(Decimal(1).scaleb(places), ROUND_HALF_EVEN)
    return share, commission - share


def _match(fills: Iterable[Fill]) -> tuple[list[RoundTrip], dict[Symbol, _Trip]]:
    closed: list[RoundTrip] = []
    trips: dict[Symbol, _Trip] = {}
    seen: set[str] = set()
    for fill in fills:
        if fill.trade_id in seen:
            raise ValueError(f"fill {fill.trade_id} appears twice; deduplicate by trade_id")
        seen.add(fill.trade_id)
        symbol = fill.symbol
        trip = trips.get(symbol)
        if trip is None:
            trips[symbol] = _Trip.opened(fill)
            continue
        held = abs(trip.held)
        qty = fill.last_qty.value
        if fill.side.sign == trip.sign or qty <= held:
            trip.add(fill)
            if trip.held == 0:
                del trips[symbol]
                closed.append(trip.closed())
            continue
        # the fill flips through flat: its first `held` units close this trip, the rest open
        # the next one, and its commission is split between them by quantity
        fee_closing, fee_rest = split_commission(fill.commission.amount, held, qty)
        closing = attrs.evolve(fill, last_qty=Quantity(held), commission=Money(fee_closing))
        rest = attrs.evolve(fill, last_qty=Quantity(qty - held), commission=Money(fee_rest))
        trip.add(closing)
        closed.append(trip.closed())
        trips[symbol] = _Trip.opened(rest)
    return closed, trips


def round_trips(fills: Iterable[Fill]) -> list[RoundTrip]:
    """The closed round trips of fills taken in the order given, in the order they closed.

    Per symbol, a trip opens from flat, takes in scale-ins and partial exits, and closes when
    the position is flat again; a fill that flips the position closes the trip and opens the
    next with its remainder, its commission split pro rata by quantity. Open trips are left
    out (see open_trips). Raises ValueError on a repeated trade_id.
    """
    return _match(fills)[0]


def open_trips(fills: Iterable[Fill]) -> list[OpenTrip]:
    """The trips still open after fills, one per symbol with a position, in symbol order."""
    trips = _match(fills)[1]
    return [trips[symbol].still_open() for symbol in sorted(trips)]
