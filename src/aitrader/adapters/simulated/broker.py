"""SimulatedBroker: orders matched against the bars it is shown, booked into an Account.

Time: the broker has no clock. Submit-time events are stamped with the order's `created_at`,
fills with the bar time (see matching.py), expiries with the open of the bar that revealed a new
session, and cancels with the latest time the broker has seen (a bar close or an order's
`created_at`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from returns.result import Failure, Result, Success

from aitrader.adapters.simulated.matching import SessionDates, match, slipped
from aitrader.adapters.simulated.rules import Exposure, exposure_increase, reference_price
from aitrader.domain.market import Bar, Session
from aitrader.domain.trading import (
    Account,
    CommissionModel,
    EventKind,
    Fill,
    InvalidTransition,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Position,
    SlippageModel,
    TimeInForce,
)
from aitrader.domain.values import Money, Price, Quantity, Side, exact_decimal
from aitrader.ports.broker import Broker
from aitrader.ports.errors import BrokerError

_ZERO = Decimal(0)
# Enum members as module names: Python 3.11 reads a member off its class through EnumType's
# __getattr__ hook (~130 ns a read, against ~15 ns here), and every order step reads several.
_MARKET, _TRAILING_STOP = OrderType.MARKET, OrderType.TRAILING_STOP
_DAY = TimeInForce.DAY
_PENDING_NEW, _ACCEPTED = OrderStatus.PENDING_NEW, OrderStatus.ACCEPTED
_FILLED = EventKind.FILLED
_SELL = Side.SELL
_REGULAR = Session.REGULAR
_NO_COMMISSION = CommissionModel()
_NO_SLIPPAGE = SlippageModel()
_EVENT_OF = {
    OrderStatus.ACCEPTED: EventKind.ACCEPTED,
    OrderStatus.REJECTED: EventKind.REJECTED,
    OrderStatus.CANCELED: EventKind.CANCELED,
    OrderStatus.EXPIRED: EventKind.EXPIRED,
}


class SimulatedBroker(Broker):
    """A bar-based venue: whole fills at the open or inside a bar, exact cash and positions.

    A fill is not re-checked for buying power: a market order that gaps up can take cash
    slightly negative, as a margin account would. Bars not newer than the last one seen for
    their symbol are ignored, so showing a bar twice never fills an order against a bar that was
    already known when the order was placed.
    """

    def __init__(
        self,
        *,
        cash: Decimal,
        commission: CommissionModel = _NO_COMMISSION,
        slippage: SlippageModel = _NO_SLIPPAGE,
        fill_at: Literal["open", "close"] = "open",
        allow_short: bool = False,
        fractional: bool = False,
        margin_multiplier: Decimal = Decimal(1),
        session_of: Callable[[datetime], Session] | None = None,
    ) -> None:
        if fill_at not in ("open", "close"):
            raise ValueError(f"fill_at must be 'open' or 'close', was {fill_at!r}")
        margin = exact_decimal(margin_multiplier)
        if margin <= 0:
            raise ValueError(f"margin_multiplier must be positive, was {margin}")
        self._commission = commission
        # Every fill of a fee-per-order-only model costs the same: its Money is built once
        # (the commission and the Money were ~2 µs of each fill).
        flat = commission.flat()
        self._flat_fee = None if flat is None else Money(flat)
        self._slippage = slippage
        self._fill_at = fill_at
        self._allow_short = allow_short
        self._fractional = fractional
        self._margin = margin
        # Which session a bar opened in (intraday bars on an exchange calendar): outside the
        # regular session only extended-hours orders trade, as at a real venue. None: every bar
        # is a regular-session bar (daily bars, or no calendar).
        self._session_of = session_of
        # The ledger as cash plus positions, booked in place; account() hands out an Account
        # of them. Building a new Account per fill (a dict copy and a record) was ~8 µs a fill.
        self._cash = exact_decimal(cash)
        self._positions: dict[str, Position] = {}
        self._orders: dict[str, Order] = {}
        self._open: dict[str, None] = {}  # open client ids, oldest first (dicts keep order)
        # Per-symbol books are keyed by the ticker string: equal Symbols have equal tickers,
        # and a str hashes in C while Symbol's hash is Python code (~130 ns a lookup, ~15 a
        # simulated order).
        self._open_by_symbol: dict[str, dict[str, None]] = {}
        self._last_bar: dict[str, Bar] = {}
        self._exposure = Exposure()
        self._day: dict[str, date] = {}
        self._dates = SessionDates()
        self._triggered: set[str] = set()
        self._trail: dict[str, Decimal] = {}  # trailing stops' current levels
        self._groups: dict[str, dict[str, None]] = {}  # open exit legs by oco_group
        self._reserved: dict[str, Decimal] = {}
        self._reserved_total = _ZERO
        # Orders placed at or before the open of their symbol's last bar after that bar was
        # matched (exit legs placed the moment an entry filled at the open): they still meet
        # that bar, when it is shown again or before the next one.
        self._late: dict[str, list[str]] = {}
        self._events: list[OrderEvent] = []
        self._sequence = 0
        self._now: datetime | None = None

    # -- the Broker port -------------------------------------------------------------------

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        """Validate a PENDING_NEW order and accept it; with fill_at="close" a market order fills
        at the last close now."""
        client_order_id = order.client_order_id
        if client_order_id in self._orders:
            # No event: it would be read as news about the order that owns this id.
            return Failure(BrokerError(
                "duplicate_client_order_id",
                f"client_order_id {client_order_id} was already submitted",
            ))
        if order.status is not _PENDING_NEW:
            raise ValueError(f"{client_order_id}: submit needs PENDING_NEW, was {order.status}")
        at = order.created_at
        if self._now is None or at > self._now:
            self._now = at
        admitted = self._admit(order)
        if isinstance(admitted, BrokerError):
            self._record(order, OrderStatus.REJECTED, at, f"{admitted.code}: {admitted.message}")
            return Failure(admitted)
        self._sequence += 1
        accepted = self._record(order, _ACCEPTED, at, None, f"sim-{self._sequence}")
        if self._fill_at == "close" and order.intent.order_type is _MARKET:
            bar = self._last_bar[order.intent.symbol.value]
            if order.intent.extended_hours or self._regular(bar):
                price = slipped(self._slippage, order.side, bar.close)
                return Success(self._fill(accepted, price, bar.ts_close))
        self._rest(accepted, admitted)
        symbol = order.intent.symbol.value
        last = self._last_bar[symbol]  # (admitted: a bar has been seen)
        if at <= last.ts_open:
            self._late.setdefault(symbol, []).append(client_order_id)
        return Success(accepted)

    def cancel(self, client_order_id: str) -> Result[None, BrokerError]:
        """Cancel an open order at once; the CANCELED event is queued."""
        order = self._orders.get(client_order_id)
        if order is None:
            return Failure(_unknown(client_order_id))
        if order.status.is_terminal:
            return Failure(BrokerError(
                "not_cancelable", f"{client_order_id} is {order.status.value}, not open"
            ))
        self._record(order, OrderStatus.CANCELED, self._now or order.created_at)
        return Success(None)

    def order(self, client_order_id: str) -> Result[Order, BrokerError]:
        """Look an order up by client_order_id, rejected ones included."""
        order = self._orders.get(client_order_id)
        return Failure(_unknown(client_order_id)) if order is None else Success(order)

    def open_orders(self) -> Result[Sequence[Order], BrokerError]:
        """Orders not yet terminal, oldest first."""
        return Success([self._orders[client_order_id] for client_order_id in self._open])

    def account(self) -> Result[Account, BrokerError]:
        """Cash and positions, booked from every fill so far."""
        positions = {position.symbol: position for position in self._positions.values()}
        return Success(Account(self._cash, positions))

    def observe(self, bar: Bar) -> None:
        """Expire DAY orders whose session has passed, then match the symbol's open orders.
        An order placed at or before the open of a bar already matched (an exit leg placed
        when its entry filled at that open) meets that bar when it is shown again, or before
        the next bar if it is not."""
        symbol = bar.symbol.value
        last = self._last_bar.get(symbol)
        if self._late and symbol in self._late:
            assert last is not None  # (an order is late only for a bar already seen)
            if bar.ts_close >= last.ts_close:
                self._catch_up(symbol, last)
        if last is not None and bar.ts_close <= last.ts_close:
            return
        self._last_bar[symbol] = bar
        if last is not None:
            held = self._positions.get(symbol)
            if held is not None and held.signed_qty:
                self._exposure.remarked(held.signed_qty, last.close.value, bar.close.value)
        if self._now is None or bar.ts_close > self._now:
            self._now = bar.ts_close
        waiting = self._open_by_symbol.get(symbol)
        if not waiting:
            return
        today = self._dates.of(bar)
        orders = self._orders
        waiting_ids = list(waiting)
        expired = False
        for client_order_id in waiting_ids:
            if orders[client_order_id].intent.time_in_force is _DAY:
                day = self._day.setdefault(client_order_id, today)
                if today > day:
                    self._record(orders[client_order_id], OrderStatus.EXPIRED, bar.ts_open)
                    expired = True
        if expired:  # (only an expiry changes the book)
            waiting_ids = list(self._open_by_symbol.get(symbol, ()))
        if not self._regular(bar):
            # outside regular hours only extended-hours orders meet the bar (and a trailing
            # stop that cannot trigger does not trail it either)
            waiting_ids = [cid for cid in waiting_ids if orders[cid].intent.extended_hours]
            if not waiting_ids:
                return
        self._match(waiting_ids, bar)

    def _catch_up(self, symbol: str, bar: Bar) -> None:
        """Match the orders placed at or before bar's open after bar was matched."""
        orders = self._orders
        late = [cid for cid in self._late.pop(symbol) if orders[cid].status.is_open]
        if not self._regular(bar):
            late = [cid for cid in late if orders[cid].intent.extended_hours]
        today = self._dates.of(bar)
        for client_order_id in late:  # a DAY order's day is the one it was placed in
            if orders[client_order_id].intent.time_in_force is _DAY:
                self._day.setdefault(client_order_id, today)
        if late:
            self._match(late, bar)

    def _match(self, waiting_ids: list[str], bar: Bar) -> None:
        """Match the symbol's waiting orders against bar."""
        orders = self._orders
        if self._groups:
            self._match_with_groups(waiting_ids, bar)
            return
        # Fills go out in the order they execute (an open before a touch inside the bar), oldest
        # order first on a tie: fills are read in turn, and a trip must not exit before it enters.
        found: list[tuple[datetime, int, str, Price]] = []
        triggered = self._triggered
        for n, client_order_id in enumerate(waiting_ids):
            execution, hit = match(orders[client_order_id].intent, bar, self._slippage,
                                   triggered=client_order_id in triggered)
            if hit:
                triggered.add(client_order_id)
            if execution is not None:
                found.append((execution[1], n, client_order_id, execution[0]))
        if len(found) > 1:
            found.sort(key=_execution_order)
        for at, _n, client_order_id, price in found:
            self._fill(orders[client_order_id], price, at)

    def _match_with_groups(self, waiting_ids: list[str], bar: Bar) -> None:
        """Match when exit legs rest: only one leg of a group can fill. When several would,
        the one that executes first wins (a gap through a level at the open beats a touch
        inside the bar); inside one bar the order of the extremes is unknown, so a tie goes to
        the leg submitted first (the stop-loss: the conservative reading). Trailing stops
        move with the bar's best price after it is matched."""
        orders = self._orders
        found: list[tuple[datetime, int, str, Price]] = []
        for n, client_order_id in enumerate(waiting_ids):
            order = orders[client_order_id]
            execution, hit = match(order.intent, bar, self._slippage,
                                   triggered=client_order_id in self._triggered,
                                   stop=self._trail.get(client_order_id))
            if hit:
                self._triggered.add(client_order_id)
            if execution is not None:
                found.append((execution[1], n, client_order_id, execution[0]))
        for at, _n, client_order_id, price in sorted(found, key=_execution_order):
            order = orders[client_order_id]
            if order.status.is_open:
                self._fill(order, price, at)
        for client_order_id, level in list(self._trail.items()):
            order = orders[client_order_id]
            if order.symbol != bar.symbol or not order.status.is_open \
                    or client_order_id not in waiting_ids:
                continue
            trail = order.intent.trail_amount
            assert trail is not None
            if order.side is Side.SELL:
                self._trail[client_order_id] = max(level, bar.high.value - trail.value)
            else:
                self._trail[client_order_id] = min(level, bar.low.value + trail.value)

    def _regular(self, bar: Bar) -> bool:
        """Whether bar opened in the regular session, where every order trades (outside it
        only extended-hours ones do)."""
        return self._session_of is None or self._session_of(bar.ts_open) is _REGULAR

    def events(self) -> Sequence[OrderEvent]:
        """Drain the queued events, oldest first."""
        drained, self._events = self._events, []
        return drained

    # -- validation ------------------------------------------------------------------------

    def _admit(self, order: Order) -> Decimal | BrokerError:
        """Check an order against the venue's rules: the cash it reserves, or why not."""
        intent = order.intent
        client_order_id, symbol, qty = order.client_order_id, intent.symbol, order.leaves_qty
        if not self._fractional and qty != qty.to_integral_value():
            return BrokerError(
                "fractional_not_allowed",
                f"{client_order_id}: {qty} {symbol} is not a whole number of shares",
            )
        bar = self._last_bar.get(symbol.value)
        if bar is None:
            return BrokerError(
                "no_market_data", f"{client_order_id}: no bar has been seen for {symbol}"
            )
        resting = self._open_by_symbol.get(symbol.value, ())
        others = [self._orders[other] for other in resting] if resting else ()
        group = intent.oco_group
        if group is not None and others:  # one leg of a group can fill: they share the room
            others = [o for o in others if o.intent.oco_group != group]
        position = self._positions.get(symbol.value)
        held = _ZERO if position is None else position.signed_qty
        increase = exposure_increase(intent.side, qty, held, others)
        if increase == 0:
            return _ZERO
        if intent.side is _SELL and not self._allow_short:
            return BrokerError(
                "shorting_not_allowed",
                f"{client_order_id}: selling {qty} {symbol} would go {increase} short "
                f"(long net of open sells is {qty - increase})",
            )
        reference = reference_price(intent, bar)
        # upper_bound is the flat fee when there is one (qty is an intent's: not zero)
        fee = self._flat_fee
        cost = increase * self._slippage.worst_price(reference) + (
            fee.amount if fee is not None else self._commission.upper_bound(qty, reference))
        power = self.buying_power()
        if cost > power:
            return BrokerError(
                "insufficient_buying_power",
                f"{client_order_id}: {intent.side.value} {qty} {symbol} needs {cost}, "
                f"buying power is {power}",
            )
        return cost

    def buying_power(self) -> Decimal:
        """max(0, equity * margin - gross position value) - cash reserved by open orders."""
        equity = self._cash + self._exposure.net
        return max(_ZERO, equity * self._margin - self._exposure.gross) - self._reserved_total

    # -- bookkeeping -----------------------------------------------------------------------

    def _record(
        self, order: Order, status: OrderStatus, at: datetime, reason: str | None = None,
        broker_order_id: str | None = None,
    ) -> Order:
        """Move order along the transition table (naming it broker_order_id when given), store
        it and queue the event."""
        moved = order.try_move_to(status, at, reason, broker_order_id)
        if isinstance(moved, InvalidTransition):
            raise _misstep(moved)
        self._store(moved)
        self._events.append(OrderEvent(moved.client_order_id, _EVENT_OF[status], at, reason, None,
                                       moved.broker_order_id))
        return moved

    def _fill(self, order: Order, price: Price, at: datetime) -> Order:
        """Fill what is left of order at price and book it into the account."""
        qty, px = order.leaves_qty, price.value
        intent = order.intent
        client_order_id, symbol = order.client_order_id, intent.symbol
        # a whole order fills at once here: its intent's Quantity is the fill's
        quantity = intent.quantity if qty == intent.quantity.value else Quantity(qty)
        fee = self._flat_fee or Money(self._commission.commission(qty, px))  # qty is not zero
        fill = Fill(f"{client_order_id}-1", client_order_id, symbol, intent.side, quantity,
                    price, fee, at)
        filled = order.try_fill(qty, px, at)
        if isinstance(filled, InvalidTransition):
            raise _misstep(filled)
        ticker = symbol.value
        position = self._positions.get(ticker) or Position(symbol)
        booked = self._positions[ticker] = position.apply(fill)
        self._cash += fill.cash_change
        self._exposure.traded(position.signed_qty, booked.signed_qty,
                              self._last_bar[ticker].close.value)
        self._store(filled)
        self._events.append(OrderEvent(client_order_id, _FILLED, at, None, fill,
                                       filled.broker_order_id))
        group = intent.oco_group
        if group is not None:  # the other legs of the group are canceled with this fill
            for sibling in list(self._groups.get(group, ())):
                if self._orders[sibling].status.is_open:
                    self._record(self._orders[sibling], OrderStatus.CANCELED, at,
                                 f"oco: another leg of {group} filled")
        return filled

    def _rest(self, order: Order, reservation: Decimal) -> None:
        client_order_id = order.client_order_id
        self._open[client_order_id] = None
        self._open_by_symbol.setdefault(order.intent.symbol.value, {})[client_order_id] = None
        if reservation:
            self._reserved[client_order_id] = reservation
            self._reserved_total += reservation
        intent = order.intent
        if intent.oco_group is not None:
            self._groups.setdefault(intent.oco_group, {})[client_order_id] = None
        if intent.order_type is _TRAILING_STOP and intent.trail_amount is not None:
            assert intent.stop_price is not None
            self._trail[client_order_id] = intent.stop_price.value

    def _store(self, order: Order) -> None:
        client_order_id = order.client_order_id
        self._orders[client_order_id] = order
        if order.status.is_terminal and client_order_id in self._open:
            del self._open[client_order_id]
            ticker = order.intent.symbol.value
            waiting = self._open_by_symbol[ticker]
            del waiting[client_order_id]
            if not waiting:
                del self._open_by_symbol[ticker]
            self._day.pop(client_order_id, None)
            self._triggered.discard(client_order_id)
            self._reserved_total -= self._reserved.pop(client_order_id, _ZERO)
            self._trail.pop(client_order_id, None)
            group = order.intent.oco_group
            if group is not None and group in self._groups:
                self._groups[group].pop(client_order_id, None)
                if not self._groups[group]:
                    del self._groups[group]


def _execution_order(found: tuple[datetime, int, str, Price]) -> tuple[datetime, int]:
    """Sort key of the fills one bar found: when they execute, then the order sent first."""
    return found[0], found[1]


def _misstep(step: InvalidTransition) -> AssertionError:
    """The error for a step of the broker's own the transition table refused: the broker only
    takes steps the table has, so this is a bug. (Checked inline where a step is taken: a call
    to unwrap each step was two calls more an order.)"""
    return AssertionError(f"{step.client_order_id}: the broker moved it from "
                          f"{step.current.value} to {step.requested.value}")


def _unknown(client_order_id: str) -> BrokerError:
    return BrokerError("unknown_order", f"no order with client_order_id {client_order_id}")
