"""The trading cycle: one code path from a closed bar to journaled decisions, orders and fills.

Backtests and paper trading differ only in where the signal rows come from (batch twins or
streaming kernels) and which adapters sit behind the ports; everything here is shared.

(Past house-style's 500 lines, for a reason: this is one order's whole path, decide -> size ->
gate -> submit -> book, read together when a number in the journal is questioned. What is
not on that path already lives beside it: the risk safeguards in safeguards.py, the per-symbol
state in cycle_state.py, the allocator in allocation.py.)
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs
import numpy as np
import numpy.typing as npt
import structlog
from returns.result import Failure, Success

from aitrader.application.allocation import Allocation
from aitrader.application.cycle_state import BarSource, CycleSettings
from aitrader.application.cycle_state import SymbolBook as _Book
from aitrader.application.digest import RunDigest
from aitrader.application.risk_control import RiskControl
from aitrader.application.safeguards import Safeguards
from aitrader.application.var_window import VarWindow
from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.market import Session
from aitrader.domain.portfolio import FixedFraction, Sizing
from aitrader.domain.risk import Gate, RiskContext
from aitrader.domain.series import from_ns
from aitrader.domain.signals import Atr
from aitrader.domain.strategies import Strategy, Target, TargetSeries, deciders_for
from aitrader.domain.trading import (
    Account,
    EventKind,
    Fill,
    InvalidTransition,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    Position,
)
from aitrader.domain.values import Price, Quantity, Side, Symbol, decimal_from_float
from aitrader.ports.broker import Broker
from aitrader.ports.clock import Clock, IdSource
from aitrader.ports.journal import Journal

__all__ = ["BarSource", "CycleSettings", "TradingCycle"]

log = structlog.get_logger(__name__)
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_AMBIGUOUS = frozenset({"timeout", "unavailable"})
# events that say the venue took an order (a fill too: some venues skip the acceptance)
_TAKEN = frozenset({EventKind.ACCEPTED, EventKind.PARTIALLY_FILLED, EventKind.FILLED})
_REJECTED = OrderStatus.REJECTED  # read per event: a module name, not the Enum class's lookup
_DEFAULTS = CycleSettings()
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class TradingCycle(Safeguards):
    """Runs decide -> size -> gate -> submit -> book for each closed bar of each symbol."""

    def __init__(
        self, *, run_id: str, strategy: Strategy, symbols: Sequence[Symbol], cash: Decimal,
        sizing: FixedFraction, gates: Sequence[Gate], broker: Broker, journal: Journal,
        clock: Clock, ids: IdSource, digest: RunDigest, signal_names: Sequence[str],
        settings: CycleSettings = _DEFAULTS,
    ) -> None:
        self.run_id = run_id
        self.books = [_Book(k, s, d) for k, (s, d)
                      in enumerate(zip(symbols, deciders_for(strategy, len(symbols)), strict=True))]
        self._index = {s: k for k, s in enumerate(symbols)}
        # cross-sectional deciders see every symbol's row of a moment before any decides
        self._observers: list[Callable[[Sequence[float]], None] | None] = [
            getattr(book.decider, "observe", None) for book in self.books]
        self._cross_sectional = any(o is not None for o in self._observers)
        self.cash = cash  # the cycle's own ledger: cash here, each position on its book
        self.cash_f = float(cash)
        self.active: list[_Book] = []
        self.fills: list[Fill] = []
        self.orders: dict[str, Order] = {}
        self.traded_notional = _ZERO
        self._sizing, self._gates, self._broker = sizing, tuple(gates), broker
        self._journal, self._clock, self._ids, self._digest = journal, clock, ids, digest
        self._signal_names = tuple(signal_names)[1:]  # row[0] is the close
        self._settings = settings
        self._order_seq = self._decision_seq = self._event_seq = 0
        self._trade_ids: set[str] = set()
        self._owner: dict[str, _Book] = {}
        self._ts_ns = 0
        # (ts_ns, symbol index, cash, signed qty) after each fill: the equity curve's change points
        self.changes: list[tuple[int, int, float, float]] = []
        self.risk = RiskControl(settings.risk, journal)
        self._alloc = None if settings.allocation.is_static else Allocation(
            settings.allocation, len(self.books), [str(b.symbol) for b in self.books])
        self._track_vol = settings.scaler.method == "volatility_target"
        self._scaled = not settings.scaler.is_identity
        self._track_days = settings.risk.track_day_trades
        self._rate = settings.risk.max_order_rate is not None
        # the context's risk figures cost a little per decision: only when a rule reads them
        self._var = None if settings.risk.max_var is None else VarWindow(
            len(self.books), settings.risk.var_window)
        # (max_open_positions counts symbols whose opening order still works: a walk of books)
        self._count_working = any(g.rule == "max_open_positions" for g in gates)
        self._rich_ctx = (settings.risk.watches_equity or self._rate or self._track_days
                          or self._var is not None or self._count_working
                          or any(g.rule == "max_net_exposure" for g in gates))
        self._exits = None if settings.exits.is_empty else settings.exits
        self._atr = Atr(settings.exits.atr_period) if settings.exits.trail_atr is not None \
            else None
        self._exits_due: list[_Book] = []
        self._flattening: set[str] = set()  # the kill switch's orders, until verified flat
        self._exit_seq = 0
        self._exits_unplaced: set[int] = set()  # books whose legs the session refused
        self._plain_orders = (settings.session_of is None
                              and settings.order_types.style == "market")
        # anything that must look at every bar before the strategy's target is judged
        # (a kill can only be requested through one of these: a stored state or an equity limit)
        self._watching = (self._track_vol or self._alloc is not None or settings.risk.durable
                          or settings.risk.watches_equity or self._atr is not None
                          or self._var is not None
                          or (self._exits is not None and settings.session_of is not None))

    @property
    def account(self) -> Account:
        """The cycle's ledger as an Account: cash and every position a fill has touched."""
        return Account(self.cash, {b.symbol: b.position for b in self.books
                                   if b.position is not None})

    def index_of(self, symbol: Symbol) -> int:
        return self._index[symbol]

    def bars_reached(self) -> int:
        """The bars given to the cycle so far (each book's last bar index, plus one), the one
        in hand included: what a run stopped part-way had got through."""
        return sum(book.i + 1 for book in self.books)

    def on_bar(self, k: int, row: Sequence[float], source: BarSource, i: int, ts_ns: int) -> None:
        """Process symbol k's closed bar i whose close and signals are `row`."""
        self._after_arrival(self._arrive(k, row, source, i, ts_ns), row, source, i, ts_ns)

    def on_moment(self, bars: Sequence[tuple[int, Sequence[float], BarSource, int]],
                  ts_ns: int) -> None:
        """Process the bars (symbol k, row, source, i) of several symbols that close at ts_ns:
        every symbol's open orders meet its bar, and a cross-sectional strategy sees every
        symbol's row, before any symbol decides at that moment, so a decision sees every fill
        made since the last moment and the whole cross-section, whatever order the symbols
        come in (a halt at one symbol's close never cancels another's order that filled at its
        bar's open, and buying power counts a sale made at that open)."""
        books = [self._arrive(k, row, source, i, ts_ns) for k, row, source, i in bars]
        if self._cross_sectional:  # (the strategy's Observer protocol)
            for k, row, _source, _i in bars:
                observe = self._observers[k]
                if observe is not None:
                    observe(row)
        for book, (_k, row, source, i) in zip(books, bars, strict=True):
            self._after_arrival(book, row, source, i, ts_ns)

    def _after_arrival(self, book: _Book, row: Sequence[float], source: BarSource, i: int,
                       ts_ns: int) -> None:
        """Watch, ask the strategy for symbol k's target at its bar's close, and decide."""
        k = book.k
        if self._watching:  # one flag test on the hot path when nothing extra is configured
            self._watch(book, ts_ns)
            if self.risk.state.kill_requested:
                self._kill_step(ts_ns)
            target = book.decider(row)
            if self._alloc is not None and self._alloc.due[k]:
                target = self._rebalance_check(book, target)
        else:
            target = book.decider(row)
        self._consider(book, target, row, source, i, ts_ns)

    def _arrive(self, k: int, row: Sequence[float], source: BarSource, i: int,
                ts_ns: int) -> _Book:
        """Make bar i symbol k's current bar and let its open orders meet it."""
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
        return book

    def _consider(self, book: _Book, target: Target | None, row: Sequence[float],
                  source: BarSource, i: int, ts_ns: int) -> None:
        """Decide on the bar's target unless it changes nothing."""
        if self.risk.changed:  # a rejection the venue reported as the bars met the orders
            # (acted on once every symbol of the moment has met its bar, as _watch does)
            self._state_changed(ts_ns)
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

    def idle(self, k: int) -> bool:
        """Nothing can happen to symbol k until its target moves: no order is out or in doubt
        and no target is being pursued. Only meaningful when nothing is watched."""
        book = self.books[k]
        return not (book.open_orders or book.unknown or (
            book.retry_after is not None and len(self.fills) != book.retry_after))

    @property
    def watching(self) -> bool:
        """Whether every bar must pass through the cycle (equity limits, trailing exits, ...)."""
        return self._watching

    def on_history(self, k: int, columns: Sequence[FloatArray], targets: TargetSeries,
                   source: BarSource, stamps: IntArray,
                   progress: Callable[[int, int], None] | None = None) -> None:
        """Symbol k's whole history when it is the only symbol and nothing is watched, with its
        targets from the strategy's batch twin. Only the bars where something can happen go
        through the cycle: those with an order out or a target pursued, and those where the
        target moves away from the book's. On every other bar on_bar would return at once
        (nothing is out, the target is the one already decided), so the run is the same; the
        million-bar benchmark spends ~55,000 steps instead of 1,000,000."""
        total = len(stamps)
        if not total:
            return
        book = self.books[k]
        codes = targets.codes
        starts = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
        run_exposure: list[float] = targets.exposures()[starts].tolist()
        run_start: list[int] = starts.tolist()
        runs = len(run_start)
        chunk = 1 << 16
        report = chunk
        i = 0
        try:
            while i < total:
                if self.idle(k):  # skip to the first bar whose target differs from the book's
                    r = bisect.bisect_right(run_start, i) - 1
                    while r < runs and (run_exposure[r] != run_exposure[r]  # NaN: no view
                                        or run_exposure[r] == book.exposure):
                        r += 1
                    if r == runs:
                        break
                    i = max(i, run_start[r])
                while progress is not None and report <= i:  # each chunk end passed, as on_bars
                    progress(report, total)
                    report += chunk
                row = [float(c[i]) for c in columns]
                ts_ns = int(stamps[i])
                self._arrive(k, row, source, i, ts_ns)
                self._consider(book, targets.target(i, row), row, source, i, ts_ns)
                i += 1
        except BaseException:  # stopped part-way: as far as it got is the book's last bar
            book.source, book.i = source, min(i, total - 1)
            raise
        last = total - 1  # the book as on_bar leaves it after the last bar
        book.close, book.bar, book.source, book.i = float(columns[0][last]), None, source, last
        if progress is not None:
            progress(total, total)

    def on_bars(self, k: int, rows: Iterable[Sequence[float]], source: BarSource, start: int,
                stamps: Iterable[int]) -> None:
        """on_bar for symbol k's consecutive bars start, start + 1, ... when no other symbol's
        bars come between them (a one-symbol run). A bar that can change nothing (nothing is
        watched, no order is out, the target is unchanged and not being pursued) is passed
        over right here: that is most bars, and the call and book updates showed per bar."""
        if self._watching:
            for i, (row, ts_ns) in enumerate(zip(rows, stamps, strict=True), start):
                self.on_bar(k, row, source, i, ts_ns)
            return
        book = self.books[k]
        decide, on_bar, fills = book.decider, self.on_bar, self.fills
        i = start - 1
        try:
            for i, (row, ts_ns) in enumerate(zip(rows, stamps, strict=True), start):
                if book.open_orders or book.unknown:
                    on_bar(k, row, source, i, ts_ns)
                    continue
                target = decide(row)
                if target is None or (target.exposure == book.exposure and (
                        book.retry_after is None or len(fills) == book.retry_after)):
                    continue
                book.close, book.bar, book.source, book.i = row[0], None, source, i
                self._decide(book, target, row, source, i, ts_ns)
        except BaseException:  # stopped part-way: as far as it got is the book's last bar
            if i >= start:
                book.source, book.i = source, i
            raise
        if i >= start:  # the book as on_bar leaves it after the last bar
            book.close, book.bar, book.source, book.i = row[0], None, source, i

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
            # what the lookup learned counts as an answer to the submit would have
            if updated.status is OrderStatus.REJECTED:
                self.risk.on_rejected(from_ns(self._ts_ns))
            elif updated.status is OrderStatus.ACCEPTED:
                self.risk.on_accepted(from_ns(self._ts_ns))

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

    def exposures_f(self) -> tuple[float, float, float]:
        """Gross and net position value and the positions' Herfindahl index, as float marks."""
        values = [book.qty_f * book.close for book in self.active]
        gross = sum(abs(v) for v in values)
        if not gross:
            return 0.0, 0.0, 0.0
        return gross, sum(values), sum(v * v for v in values) / (gross * gross)

    def _portfolio(self) -> tuple[Decimal, Decimal]:
        """Equity and gross position value at the last closes, in Decimal."""
        equity, gross = self.cash, _ZERO
        for book in self.active:
            value = book.qty * decimal_from_float(book.close)
            equity += value
            gross += abs(value)
        return equity, gross

    def net_exposure(self) -> Decimal:
        """Signed position value at the last closes, in Decimal."""
        return sum((b.qty * decimal_from_float(b.close) for b in self.active), _ZERO)

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
        exposure = target.exposure
        scaled: dict[str, str] = {}
        settings = self._settings
        if self._scaled:
            exposure, scaled = settings.scaler.scale(target, self._volatility(book))
        share = None if self._alloc is None else self._alloc.shares[book.k]
        session, size_at = Session.REGULAR, price
        if not self._plain_orders:  # a limit order is budgeted at its limit, not the last price
            if settings.session_of is not None:
                session = settings.session_of(ts)
            size_at = settings.order_types.budget_price(price, session)
        sizing = self._sizing.size(exposure, equity, size_at, cap=max(_ZERO, free), share=share)
        wanted = sizing.quantity if exposure >= 0 else -sizing.quantity
        if not book.open_orders:  # the usual case: nothing is on its way
            pending = _ZERO
        elif book.exit_ids:  # exit legs guard the position; they are not part of the target
            pending = sum((o.leaves_qty * o.side.sign for cid, o in book.open_orders.items()
                           if cid not in book.exit_ids), _ZERO)
        else:
            pending = sum((o.leaves_qty * o.side.sign for o in book.open_orders.values()),
                          _ZERO)
        delta = wanted - held - pending
        previous, book.exposure = book.exposure, target.exposure
        book.target = target
        verdicts: tuple[GateVerdict, ...] = ()
        order: Order | None = None
        action = "hold"
        short_of_target = False
        if delta != 0:
            side = Side.BUY if delta > 0 else Side.SELL
            size = abs(delta)
            intent = self._intent(book, side, size, price, session)
            # the sizer has costed the whole target quantity already (the usual order from flat)
            fee = sizing.commission if size == sizing.quantity else \
                self._sizing.commission.commission(size, sizing.unit_cost)
            if self._rich_ctx:
                ctx = self._context(held, pending, sizing.unit_cost, reserved, fee, equity,
                                    gross, session, ts_ns, change=(book.k, delta))
            else:  # the common case, built here: a call per decision shows in the benchmark
                rs = self.risk.state
                ctx = RiskContext(equity=equity, cash=self.cash, position_qty=held,
                                  pending_qty=pending, price=sizing.unit_cost,
                                  reserved_cash=reserved, estimated_commission=fee,
                                  gross_exposure=gross, open_positions=len(self.active),
                                  state=rs.state, rejection_streak=rs.rejection_streak,
                                  session=session)
            order, verdicts = self._judged(intent, ctx, ts)
            closing = held + pending
            if order is None and closing * wanted < 0:
                # A reversal a limit refused: its first |closing| shares only close the old
                # side, which a limit on growth must never trap. They go out alone (judged as
                # such) and the new side is pursued once they fill, as when it does not fit.
                order, more = self._judged_close(book, side, abs(closing), price, sizing,
                                                 session, ctx, ts)
                if order is not None:  # the refusal, then the verdicts of what went out
                    verdicts += more
                    short_of_target = True
            action = "rejected" if order is None else "order"
        short_of_target = short_of_target or sizing.capped or action == "rejected"
        book.retry_after = len(self.fills) if short_of_target else None
        self._decision_seq += 1
        decision = Decision(
            seq=self._decision_seq, ts=ts, symbol=book.symbol, close=price,
            signals=dict(zip(self._signal_names, row[1:], strict=True)),
            target_exposure=target.exposure, previous_exposure=previous, current_qty=held,
            target_qty=wanted, sizing=_shown(sizing.explain(), scaled, share)
            if scaled or share is not None else sizing.explain(), verdicts=verdicts,
            action=action,
            client_order_id=order.client_order_id if order else None)
        self._journal.record_decision(self.run_id, decision)
        self._digest.decision(decision)
        if order is not None:
            if book.exit_ids:  # a new order for the symbol replaces the exits it had
                self._cancel_exits(book)
            self._submit(book, order, source, i)

    def _judged_close(self, book: _Book, side: Side, size: Decimal, price: Decimal,
                      sizing: Sizing, session: Session, ctx: RiskContext, ts: datetime
                      ) -> tuple[Order | None, tuple[GateVerdict, ...]]:
        """Judge the order that only closes book's position (size shares of side)."""
        intent = self._intent(book, side, size, price, session)
        fee = self._sizing.commission.commission(size, sizing.unit_cost)
        return self._judged(intent, attrs.evolve(ctx, estimated_commission=fee), ts)

    def _intent(self, book: _Book, side: Side, size: Decimal, price: Decimal,
                session: Session) -> OrderIntent:
        """The intent to trade size shares of side at the last close price: a plain market
        order, or the order type the session calls for."""
        if self._plain_orders:
            return OrderIntent(book.symbol, side, Quantity(size), reference_price=Price(price))
        return self._settings.order_types.intent(book.symbol, side, size, price, session)

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
        if self._rate:
            self.risk.note_order(self._ts_ns)
        if isinstance(result, Success):
            answer = result.unwrap()
            sent = order.with_broker_id(answer.broker_order_id)
            book.open_orders[order.client_order_id] = sent
            # an answer of "pending" is no acceptance: the venue may still reject it by event
            if self.risk.state.rejection_streak and answer.status is not OrderStatus.PENDING_NEW:
                self.risk.on_accepted(order.created_at)
        else:
            error = result.failure()
            if error.code in _AMBIGUOUS:
                unknown = order.moved_to(OrderStatus.UNKNOWN, order.created_at, error.code)
                book.open_orders[order.client_order_id] = unknown.unwrap()
                book.unknown.add(order.client_order_id)
                self._record_order(unknown.unwrap())
            else:
                self._reject(order, f"{error.code}: {error.message}")
                self.risk.on_rejected(order.created_at)
                if error.code == "insufficient_buying_power":  # short of target: try again
                    book.retry_after = len(self.fills)
        self._drain()
        if self.risk.changed:
            self._state_changed(self._ts_ns)

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
        if self._exits_due:
            due, self._exits_due = self._exits_due, []
            for book in due:
                self._place_exits(book, book.exits_at)

    def _apply(self, book: _Book, event: OrderEvent) -> None:
        order = book.open_orders[event.client_order_id]
        fill = event.fill
        if fill is not None:
            if fill.trade_id in self._trade_ids:
                return
            updated = order.try_fill(fill.last_qty.value, fill.last_px.value, event.ts_event)
        else:
            updated = order.try_move_to(event.kind.status, event.ts_event, event.reason)
        if isinstance(updated, InvalidTransition):  # (two steps an order: no Result built)
            log.warning("order.invalid_event", client_order_id=order.client_order_id,
                        event=event.kind.value, status=order.status.value)
            return
        self._record_event(event)
        # A rejection of an order we sent, however the venue reports it, counts once toward
        # the breaker (one rejected in the submit's answer never reaches here: it is not open);
        # the venue taking one ends the streak, as an accepting answer does.
        if updated.status is _REJECTED:
            self.risk.on_rejected(event.ts_event)
        elif self.risk.state.rejection_streak and event.kind in _TAKEN:
            self.risk.on_accepted(event.ts_event)
        if book.unknown:  # the venue's own event settles a doubt: no lookup is needed (and
            # an order it ends is gone from open_orders, where _arrive looks for doubts)
            book.unknown.discard(event.client_order_id)
        before = book.qty
        if fill is not None:
            self._book_fill(book, fill)
        if updated.status.is_terminal:
            del book.open_orders[updated.client_order_id]
            if updated.status is OrderStatus.EXPIRED and updated.client_order_id not in \
                    book.exit_ids and updated.client_order_id not in self._flattening:
                book.retry_after = -1  # the target it was sent for is pursued again now
        else:
            book.open_orders[updated.client_order_id] = updated
        self._record_order(updated)
        if self._exits is not None:
            self._after_event(book, updated, before, fill is not None)

    def _book_fill(self, book: _Book, fill: Fill) -> None:
        self._trade_ids.add(fill.trade_id)
        self.fills.append(fill)
        self._digest.fill(fill)
        # booked on the book in place: one Position per fill, no Account rebuilt around it
        position = book.position = (book.position or Position(book.symbol)).apply(fill)
        self.cash += fill.cash_change
        self.traded_notional += fill.notional
        self.cash_f = float(self.cash)
        before = book.qty
        qty = book.qty = position.signed_qty
        book.qty_f = float(qty)
        if self._track_days:
            self._count_day_trade(book, before, qty)
        self.changes.append((self._ts_ns, book.k, self.cash_f, book.qty_f))
        if qty and book not in self.active:
            self.active.append(book)
        elif not qty and book in self.active:
            self.active.remove(book)


def _shown(explained: dict[str, str], scaled: dict[str, str],
           share: Decimal | None) -> dict[str, str]:
    """The sizing arithmetic as journaled: the sizer's, the scaler's, the allocator's weight."""
    if not scaled and share is None:
        return explained
    shown = dict(explained)
    shown.update(scaled)
    if share is not None:
        shown["weight"] = str(share)
    return shown
