"""The trading cycle: one code path from a closed bar to journaled decisions, orders and fills.

Backtests and paper trading differ only in where the signal rows come from (batch twins or
streaming kernels) and which adapters sit behind the ports; everything here is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import attrs
import structlog
from returns.result import Failure, Success

from aitrader.application.digest import RunDigest
from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.market import Bar
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import Gate, RiskContext, judge
from aitrader.domain.series import from_ns
from aitrader.domain.strategies import Decider, Strategy, Target, deciders_for
from aitrader.domain.trading import (
    Account,
    EventKind,
    Fill,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
)
from aitrader.domain.values import Price, Quantity, Side, Symbol, decimal_from_float
from aitrader.ports.broker import Broker
from aitrader.ports.clock import Clock, IdSource
from aitrader.ports.journal import Journal

log = structlog.get_logger(__name__)
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_AMBIGUOUS = frozenset({"timeout", "unavailable"})


class BarSource(Protocol):
    """Anything that can materialise bar i as a domain Bar (a BarFrame, a single streamed bar)."""

    def bar(self, i: int) -> Bar: ...


class _Book:
    """Per-symbol working state of the cycle."""

    __slots__ = ("bar", "close", "decider", "exposure", "i", "k", "open_orders", "qty", "qty_f",
                 "retry_after", "shown", "source", "symbol", "unknown")

    def __init__(self, k: int, symbol: Symbol, decider: Decider) -> None:
        self.k = k
        self.symbol = symbol
        self.decider = decider
        self.exposure = 0.0
        self.close = 0.0
        # The account's signed quantity in this symbol, kept here after every fill so the
        # per-order arithmetic does not look the position up by symbol again and again.
        self.qty = _ZERO
        self.qty_f = 0.0
        self.open_orders: dict[str, Order] = {}
        self.bar: Bar | None = None
        # The last bar processed and the last one shown to the broker, so held symbols can be
        # marked at the broker before another symbol's order is judged on buying power.
        self.source: BarSource | None = None
        self.i = -1
        self.shown: tuple[BarSource | None, int] = (None, -1)
        # Fills seen when a decision fell short of its target (capped or refused); the target
        # is pursued again once another fill has changed what the account can afford.
        self.retry_after: int | None = None
        self.unknown: set[str] = set()  # orders whose submit was ambiguous, until looked up


@attrs.frozen
class CycleSettings:
    """Knobs of the cycle that are not strategy or risk parameters."""

    flush_before_submit: bool = False
    margin_multiplier: Decimal = Decimal(1)


class TradingCycle:
    """Runs decide -> size -> gate -> submit -> book for each closed bar of each symbol."""

    def __init__(
        self, *, run_id: str, strategy: Strategy, symbols: Sequence[Symbol], cash: Decimal,
        sizing: FixedFraction, gates: Sequence[Gate], broker: Broker, journal: Journal,
        clock: Clock, ids: IdSource, digest: RunDigest, signal_names: Sequence[str],
        settings: CycleSettings = CycleSettings(),
    ) -> None:
        self.run_id = run_id
        self.books = [_Book(k, s, d) for k, (s, d)
                      in enumerate(zip(symbols, deciders_for(strategy, len(symbols)), strict=True))]
        self._index = {s: k for k, s in enumerate(symbols)}
        self.account = Account(cash)
        self.cash_f = float(cash)
        self.active: list[_Book] = []
        self.fills: list[Fill] = []
        self.orders: dict[str, Order] = {}
        self.traded_notional = _ZERO
        self._sizing, self._gates, self._broker = sizing, tuple(gates), broker
        self._journal, self._clock, self._ids, self._digest = journal, clock, ids, digest
        self._names = tuple(signal_names)
        self._settings = settings
        self._order_seq = self._decision_seq = self._event_seq = 0
        self._trade_ids: set[str] = set()
        self._owner: dict[str, _Book] = {}
        self._ts_ns = 0
        # (ts_ns, symbol index, cash, signed qty) after each fill: the equity curve's change points
        self.changes: list[tuple[int, int, float, float]] = []

    def index_of(self, symbol: Symbol) -> int:
        return self._index[symbol]

    def on_bar(self, k: int, row: Sequence[float], source: BarSource, i: int, ts_ns: int) -> None:
        """Process symbol k's closed bar i whose close and signals are `row`."""
        book = self.books[k]
        book.close = row[0]
        book.bar = None
        book.source, book.i = source, i
        if book.open_orders:
            self._ts_ns = ts_ns
            self._show(book)
            self._drain()
            if book.unknown:
                self._resolve(book)
        target = book.decider(row)
        if target is None:
            return
        if book.unknown:  # never decide on top of an order whose fate is not known
            book.retry_after = -1
            return
        if target.exposure == book.exposure and (
                book.retry_after is None or book.open_orders
                or len(self.fills) == book.retry_after):
            return
        self._decide(book, target, row, source, i, ts_ns)

    def _resolve(self, book: _Book) -> None:
        """Look up orders whose submit was ambiguous; never resend them."""
        for cid in list(book.unknown):
            order = book.open_orders.get(cid)
            if order is None or order.status is not OrderStatus.UNKNOWN:
                book.unknown.discard(cid)  # an event has told us already
                continue
            found = self._broker.order(cid)
            if isinstance(found, Success):
                status = found.unwrap().status
                if status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN):
                    continue
                # The broker has it: from here its events drive the order as usual.
                moved = order.moved_to(OrderStatus.ACCEPTED if status.is_open or
                                       status is OrderStatus.FILLED else status,
                                       order.created_at, "resolved by lookup")
            elif found.failure().code == "unknown_order":
                moved = order.moved_to(OrderStatus.REJECTED, order.created_at,
                                       "the broker never received it")
            else:
                continue  # still unreachable: ask again on the next bar
            updated = moved.unwrap()
            book.unknown.discard(cid)
            self._record_order(updated)
            if updated.status.is_terminal:
                del book.open_orders[cid]
            else:
                book.open_orders[cid] = updated

    def _show(self, book: _Book) -> None:
        """Show the broker this symbol's current bar (once)."""
        assert book.source is not None
        book.bar = book.source.bar(book.i)
        book.shown = (book.source, book.i)
        self._broker.observe(book.bar)

    def equity_f(self) -> float:
        """Cash plus positions marked at the last closes, as a float mark."""
        equity = self.cash_f
        for book in self.active:
            equity += book.qty_f * book.close
        return equity

    def gross_f(self) -> float:
        return sum(abs(book.qty_f * book.close) for book in self.active)

    def _portfolio(self) -> tuple[Decimal, Decimal]:
        """Equity and gross position value at the last closes, in Decimal."""
        equity, gross = self.account.cash, _ZERO
        for book in self.active:
            value = book.qty * decimal_from_float(book.close)
            equity += value
            gross += abs(value)
        return equity, gross

    def _reserved(self) -> Decimal:
        """Cash the open exposure-increasing orders may still spend, costed as the broker costs
        them: at the worst price their slippage allows, plus commission."""
        total = _ZERO
        sizing = self._sizing
        for book in self.books:
            if not book.open_orders:
                continue
            held = book.qty
            for o in book.open_orders.values():
                ref = o.intent.reference_price
                increases = held >= 0 if o.side is Side.BUY else held <= 0
                if increases and ref is not None:
                    unit = sizing.slippage.worst_price(ref.value)
                    total += o.leaves_qty * unit + sizing.commission.commission(o.leaves_qty,
                                                                                unit)
        return total

    def portfolio(self) -> tuple[Decimal, Decimal]:
        """Equity and gross position value at the last closes, in Decimal."""
        return self._portfolio()

    def _decide(self, book: _Book, target: Target, row: Sequence[float], source: BarSource,
                i: int, ts_ns: int) -> None:
        self._ts_ns = ts_ns
        ts = from_ns(ts_ns)
        self._clock.wait_until(ts)
        price = decimal_from_float(book.close)
        equity, gross = self._portfolio()
        held = book.qty
        reserved = self._reserved()
        # Never size beyond the buying power left: what this symbol already holds in the
        # target's direction, plus what is free after every position and open order.
        # A reversal is judged with the old position still on the books (as the broker judges
        # it), so its closing leg's commission comes out of what is free; the rest of the
        # target follows once the close has filled (see retry_after).
        free = max(_ZERO, equity * self._settings.margin_multiplier - gross) - reserved
        if (held > 0) == (target.exposure > 0):
            free += abs(held) * price
        elif held:
            closing = self._sizing.commission.commission(abs(held), self._sizing.slippage
                                                         .worst_price(price))
            free -= closing + _CENT
        sizing = self._sizing.size(target.exposure, equity, price, cap=max(_ZERO, free))
        wanted = sizing.quantity if target.exposure >= 0 else -sizing.quantity
        pending = sum((o.leaves_qty * o.side.sign for o in book.open_orders.values()), _ZERO)
        delta = wanted - held - pending
        previous, book.exposure = book.exposure, target.exposure
        verdicts: tuple[GateVerdict, ...] = ()
        order: Order | None = None
        action = "hold"
        if delta != 0:
            side = Side.BUY if delta > 0 else Side.SELL
            intent = OrderIntent(book.symbol, side, Quantity(abs(delta)),
                                 reference_price=Price(price))
            fee = self._sizing.commission.commission(abs(delta), sizing.unit_cost)
            ctx = RiskContext(equity=equity, cash=self.account.cash, position_qty=held,
                              pending_qty=pending, price=sizing.unit_cost, reserved_cash=reserved,
                              estimated_commission=fee, gross_exposure=gross)
            verdict, verdicts = judge(self._gates, intent, ctx)
            if isinstance(verdict, Success):
                self._order_seq += 1
                cid = self._ids.client_order_id(self._order_seq)
                self._digest.register_order(self._order_seq, cid)
                order = Order(cid, intent, created_at=ts)
                action = "order"
            else:
                action = "rejected"
        short_of_target = sizing.capped or action == "rejected"
        book.retry_after = len(self.fills) if short_of_target else None
        self._decision_seq += 1
        decision = Decision(
            seq=self._decision_seq, ts=ts, symbol=book.symbol, close=price,
            signals=dict(zip(self._names[1:], row[1:], strict=True)),
            target_exposure=target.exposure, previous_exposure=previous, current_qty=held,
            target_qty=wanted, sizing=sizing.explain(), verdicts=verdicts, action=action,
            client_order_id=order.client_order_id if order else None)
        self._journal.record_decision(self.run_id, decision)
        self._digest.decision(decision)
        if order is not None:
            self._submit(book, order, source, i)

    def _record_order(self, order: Order) -> None:
        self.orders[order.client_order_id] = order
        self._journal.record_order(self.run_id, order)
        self._digest.order(order)

    def _record_event(self, event: OrderEvent) -> None:
        self._event_seq += 1
        self._journal.record_event(self.run_id, self._event_seq, event)
        self._digest.event(self._event_seq, event)

    def _submit(self, book: _Book, order: Order, source: BarSource, i: int) -> None:
        self._record_order(order)
        if self._settings.flush_before_submit:
            flushed = self._journal.flush()
            if isinstance(flushed, Failure):
                log.error("order.not_sent", client_order_id=order.client_order_id,
                          reason=str(flushed.failure()))
                self._reject(order, "journal_unavailable")
                return
        if book.bar is None:
            self._show(book)
        for held in self.active:  # mark every position at the broker before it judges
            if held is not book and held.source is not None and \
                    held.shown != (held.source, held.i):
                self._show(held)
        result = self._broker.submit(order)
        self._owner[order.client_order_id] = book
        if isinstance(result, Success):
            sent = order.with_broker_id(result.unwrap().broker_order_id)
            book.open_orders[order.client_order_id] = sent
        else:
            error = result.failure()
            if error.code in _AMBIGUOUS:
                unknown = order.moved_to(OrderStatus.UNKNOWN, order.created_at, error.code)
                book.open_orders[order.client_order_id] = unknown.unwrap()
                book.unknown.add(order.client_order_id)
                self._record_order(unknown.unwrap())
            else:
                self._reject(order, f"{error.code}: {error.message}")
                if error.code == "insufficient_buying_power":  # short of target: try again
                    book.retry_after = len(self.fills)
        self._drain()

    def _reject(self, order: Order, reason: str) -> None:
        rejected = order.moved_to(OrderStatus.REJECTED, order.created_at, reason).unwrap()
        self._record_event(OrderEvent(order.client_order_id, EventKind.REJECTED,
                                      order.created_at, reason=reason))
        self._record_order(rejected)
        log.info("order.rejected", client_order_id=order.client_order_id, reason=reason)

    def _drain(self) -> None:
        for event in self._broker.events():
            book = self._owner.get(event.client_order_id)
            if book is not None and event.client_order_id in book.open_orders:
                self._apply(book, event)

    def _apply(self, book: _Book, event: OrderEvent) -> None:
        order = book.open_orders[event.client_order_id]
        fill = event.fill
        if fill is not None:
            if fill.trade_id in self._trade_ids:
                return
            moved = order.filled_by(fill.last_qty.value, fill.last_px.value, event.ts_event)
        else:
            moved = order.moved_to(event.kind.status, event.ts_event, event.reason)
        if isinstance(moved, Failure):
            log.warning("order.invalid_event", client_order_id=order.client_order_id,
                        event=event.kind.value, status=order.status.value)
            return
        updated = moved.unwrap()
        self._record_event(event)
        if fill is not None:
            self._book_fill(book, fill)
        if updated.status.is_terminal:
            del book.open_orders[updated.client_order_id]
        else:
            book.open_orders[updated.client_order_id] = updated
        self._record_order(updated)

    def _book_fill(self, book: _Book, fill: Fill) -> None:
        self._trade_ids.add(fill.trade_id)
        self.fills.append(fill)
        self._digest.fill(fill)
        self.account = self.account.apply(fill)
        self.traded_notional += fill.notional
        self.cash_f = float(self.account.cash)
        qty = book.qty = self.account.position(book.symbol).signed_qty
        book.qty_f = float(qty)
        self.changes.append((self._ts_ns, book.k, self.cash_f, book.qty_f))
        if qty and book not in self.active:
            self.active.append(book)
        elif not qty and book in self.active:
            self.active.remove(book)
