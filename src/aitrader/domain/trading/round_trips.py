"""Round trips: each symbol's trades from flat back to flat, matched from fills in Decimal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
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
    (signed by direction), exact; commission is every fill's share in the trip; return_pct is
    net_pnl over entry notional.
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
    return_pct: float

    def __attrs_post_init__(self) -> None:
        require_utc(self.entry_ts, "entry_ts")
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


@attrs.frozen
class _Trip:
    """One trip in progress: its own Position (so realized P&L is booked exactly as Position
    books it) plus the entry and exit totals the round trip reports."""

    sign: int
    position: Position
    entry_ts: datetime
    exit_ts: datetime
    entered: Decimal
    entry_notional: Decimal
    exited: Decimal = _ZERO
    exit_notional: Decimal = _ZERO

    @classmethod
    def opened(cls, fill: Fill) -> _Trip:
        return cls(sign=fill.side.sign, position=Position(fill.symbol).apply(fill),
                   entry_ts=fill.ts_event, exit_ts=fill.ts_event, entered=fill.last_qty.value,
                   entry_notional=fill.notional)

    def with_fill(self, fill: Fill) -> _Trip:
        """Book a fill that adds to the trip or closes no more than it holds."""
        position = self.position.apply(fill)
        # direct constructors: attrs.evolve re-reads every field by name (_Trip has no checks)
        if fill.side.sign == self.sign:
            return _Trip(self.sign, position, self.entry_ts, self.exit_ts,
                         self.entered + fill.last_qty.value, self.entry_notional + fill.notional,
                         self.exited, self.exit_notional)
        return _Trip(self.sign, position, self.entry_ts, fill.ts_event, self.entered,
                     self.entry_notional, self.exited + fill.last_qty.value,
                     self.exit_notional + fill.notional)

    @property
    def direction(self) -> Direction:
        return "long" if self.sign > 0 else "short"

    def closed(self) -> RoundTrip:
        gross = self.sign * (self.exit_notional - self.entry_notional)
        commission = self.position.commission
        net = gross - commission
        return RoundTrip(symbol=self.position.symbol, direction=self.direction,
                         entry_ts=self.entry_ts, exit_ts=self.exit_ts, quantity=self.entered,
                         entry_px=self.entry_notional / self.entered,
                         exit_px=self.exit_notional / self.exited, gross_pnl=gross,
                         commission=commission, net_pnl=net,
                         return_pct=float(net / self.entry_notional))

    def still_open(self) -> OpenTrip:
        position = self.position
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
        trip = trips.pop(fill.symbol, None)
        if trip is None:
            trips[fill.symbol] = _Trip.opened(fill)
            continue
        held = abs(trip.position.signed_qty)
        qty = fill.last_qty.value
        if fill.side.sign == trip.sign or qty <= held:
            trip = trip.with_fill(fill)
            if trip.position.is_flat:
                closed.append(trip.closed())
            else:
                trips[fill.symbol] = trip
            continue
        # the fill flips through flat: its first `held` units close this trip, the rest open
        # the next one, and its commission is split between them by quantity
        fee_closing, fee_rest = split_commission(fill.commission.amount, held, qty)
        closing = attrs.evolve(fill, last_qty=Quantity(held), commission=Money(fee_closing))
        rest = attrs.evolve(fill, last_qty=Quantity(qty - held), commission=Money(fee_rest))
        closed.append(trip.with_fill(closing).closed())
        trips[fill.symbol] = _Trip.opened(rest)
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
