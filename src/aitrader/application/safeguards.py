"""The cycle's safeguards: risk-state bookkeeping, the kill switch, rebalancing and exits.

A mixin of TradingCycle (application/cycle.py), kept apart so each file holds one idea: the
cycle decides, sizes, judges, submits and books; these methods watch what only some
configurations need and act on the trading state. The attributes and methods declared first are
the cycle's own.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from returns.result import Success

from aitrader.application.allocation import Allocation
from aitrader.application.cycle_state import BarSource, CycleSettings
from aitrader.application.cycle_state import SymbolBook as _Book
from aitrader.application.digest import RunDigest
from aitrader.application.risk_control import RiskControl
from aitrader.application.var_window import VarWindow
from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.market import Session
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import ExitPlan, Gate, RiskContext, TradingState, judge
from aitrader.domain.series import from_ns, to_ns
from aitrader.domain.signals import Atr
from aitrader.domain.strategies import Target
from aitrader.domain.trading import Fill, Order, OrderIntent, OrderStatus, Position
from aitrader.domain.values import Price, Quantity, Side, decimal_from_float
from aitrader.ports.broker import Broker
from aitrader.ports.clock import IdSource
from aitrader.ports.journal import Journal

_ZERO = Decimal(0)


class Safeguards:
    """Risk-state bookkeeping, kill switch, rebalancing and exits of the trading cycle."""

    # -- what TradingCycle provides --------------------------------------------------------
    run_id: str
    books: list[_Book]
    active: list[_Book]
    cash: Decimal
    fills: list[Fill]
    risk: RiskControl
    _settings: CycleSettings
    _sizing: FixedFraction
    _gates: tuple[Gate, ...]
    _broker: Broker
    _journal: Journal
    _ids: IdSource
    _digest: RunDigest
    _alloc: Allocation | None
    _exits: ExitPlan | None
    _atr: Atr | None
    _var: VarWindow | None
    _track_vol: bool
    _rich_ctx: bool
    _count_working: bool
    _exits_unplaced: set[int]
    _exits_due: list[_Book]
    _exit_seq: int
    _flattening: set[str]
    _order_seq: int
    _decision_seq: int
    _ts_ns: int

    def _submit(self, book: _Book, order: Order, source: BarSource, i: int) -> None:
        raise NotImplementedError

    def _drain(self) -> None:
        raise NotImplementedError

    def _portfolio(self) -> tuple[Decimal, Decimal]:
        raise NotImplementedError

    def _reserved(self) -> Decimal:
        raise NotImplementedError

    def net_exposure(self) -> Decimal:
        raise NotImplementedError

    def equity_f(self) -> float:
        raise NotImplementedError

    def _context(self, held: Decimal, pending: Decimal, price: Decimal, reserved: Decimal,
                 fee: Decimal, equity: Decimal, gross: Decimal, session: Session, ts_ns: int,
                 state: TradingState | None = None,
                 change: tuple[int, Decimal] | None = None, emergency: bool = False
                 ) -> RiskContext:
        risk = self.risk
        rs = risk.state
        if not self._rich_ctx:
            return RiskContext(
                equity=equity, cash=self.cash, position_qty=held, pending_qty=pending,
                price=price, reserved_cash=reserved, estimated_commission=fee,
                gross_exposure=gross, open_positions=len(self.active), state=state or rs.state,
                rejection_streak=rs.rejection_streak, session=session, emergency=emergency)
        settings = self._settings.risk
        var_before = var_after = _ZERO
        if self._var is not None and change is not None:
            values = [(b.qty_f + _working_qty(b) if b.open_orders else b.qty_f) * b.close
                      for b in self.books]
            now = self._var.var(values, float(equity))
            k, delta = change
            values[k] += float(delta) * self.books[k].close
            var_before = Decimal(repr(round(now, 8)))
            var_after = Decimal(repr(round(self._var.var(values, float(equity)), 8)))
        return RiskContext(
            equity=equity, cash=self.cash, position_qty=held, pending_qty=pending,
            price=price, reserved_cash=reserved, estimated_commission=fee, gross_exposure=gross,
            net_exposure=self.net_exposure() if self.active else _ZERO,
            open_positions=self._open_positions() if self._count_working else len(self.active),
            state=state or rs.state,
            drawdown=rs.drawdown(equity), daily_loss=rs.daily_loss(equity),
            rejection_streak=rs.rejection_streak,
            orders_in_window=risk.orders_in_window(ts_ns) if settings.max_order_rate else 0,
            session=session,
            day_trades=risk.day_trades(ts_ns) if settings.track_day_trades else 0,
            var_before=var_before, var_after=var_after,
            open_day_trades=self._open_day_trades(change[0], risk.day_of(ts_ns))
            if settings.track_day_trades and change is not None else 0,
            emergency=emergency)

    def _judged(self, intent: OrderIntent, ctx: RiskContext, ts: datetime
                ) -> tuple[Order | None, tuple[GateVerdict, ...]]:
        """Judge intent by every gate; if all pass, it becomes the run's next order."""
        verdict, verdicts = judge(self._gates, intent, ctx)
        if not isinstance(verdict, Success):
            return None, verdicts
        self._order_seq += 1
        cid = self._ids.client_order_id(self._order_seq)
        self._digest.register_order(self._order_seq, cid)
        return Order(cid, intent, created_at=ts), verdicts

    def _open_day_trades(self, k: int, today: date) -> int:
        """Symbols other than k holding shares opened today, or working an order that opens
        some (exit legs aside): each a day trade if it closes today."""
        return sum(1 for b in self.books if b.k != k and (
            (b.qty and b.opened_day == today)
            or any(cid not in b.exit_ids and _opens(b.qty, o) for cid, o in b.open_orders.items())))

    def _open_positions(self) -> int:
        """Symbols held or with a working order that opens one (exit legs aside)."""
        return sum(1 for b in self.books
                   if b.qty or any(cid not in b.exit_ids for cid in b.open_orders))

    def _volatility(self, book: _Book) -> float:
        """Annualised volatility of the symbol's log returns (EWMA), NaN until warmed up."""
        if book.vol_n < self._settings.vol_lookback:
            return math.nan
        return math.sqrt(book.vol_var * (self._settings.periods_per_year or 252.0))

    def _watch(self, book: _Book, ts_ns: int) -> None:
        """Per-bar bookkeeping that only some configurations need."""
        previous_close, book.seen_close = book.seen_close, book.close
        if self._track_vol and previous_close > 0 and book.close > 0:
            r = math.log(book.close / previous_close)
            alpha = 2.0 / (self._settings.vol_lookback + 1)
            book.vol_n += 1
            book.vol_var = r * r if book.vol_n == 1 else (1 - alpha) * book.vol_var + alpha * r * r
            if book.vol_n == self._settings.vol_lookback and book.exposure and not book.qty:
                book.retry_after = -1  # a target sized nothing while unknown: pursue it now
        if self._alloc is not None:
            self._alloc.observe(book.k, book.close, self.risk.day_of(ts_ns), ts_ns)
        if self._atr is not None:
            self._update_atr(book)
        if self._var is not None:
            self._var.observe(book.k, book.close, ts_ns)
        risk = self.risk
        if self._settings.risk.durable:
            risk.poll(from_ns(ts_ns))
        if self._settings.risk.watches_equity:
            risk.on_equity(ts_ns, self.equity_f(), from_ns(ts_ns))
        if risk.changed:
            self._state_changed(ts_ns)
        if self._exits_unplaced and book.k in self._exits_unplaced:
            self._exits_at_open(book, ts_ns)

    def _state_changed(self, ts_ns: int) -> None:
        """A halt cancels every open order but the exit legs of held positions (HALTED sends
        only cancels): those only reduce exposure, and cancelled they would leave a position
        unprotected through its stop. The kill switch (_kill_step) cancels them too."""
        self.risk.changed = False
        if self.risk.state.state is TradingState.HALTED:
            self._cancel_all(keep={cid for book in self.active for cid in book.exit_ids})

    def _cancel_all(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        for book in self.books:
            for cid, order in list(book.open_orders.items()):
                if order.status is not OrderStatus.UNKNOWN and cid not in keep:
                    self._broker.cancel(cid)
        self._drain()

    def _kill_step(self, ts_ns: int) -> None:
        """The kill switch: cancel everything, flatten every position, and once nothing is open
        and nothing is held, record that the account is verified flat."""
        self._cancel_all(keep=self._flattening)
        # (every symbol's bar of this moment has met its orders already: TradingCycle.on_moment)
        for book in list(self.active):
            working = any(cid in self._flattening for cid in book.open_orders)
            if book.qty and book.source is not None and not working and not book.unknown:
                self._flatten(book, ts_ns)
        if not self.active and not any(b.open_orders for b in self.books):
            self._flattening.clear()
            self.risk.kill_verified(from_ns(ts_ns))

    def _flatten(self, book: _Book, ts_ns: int) -> None:
        """One exposure-reducing market order for the whole position, judged by every gate
        as an order under REDUCING (it only shrinks exposure) and journaled as a decision."""
        self._ts_ns = ts_ns
        ts = from_ns(ts_ns)
        price = decimal_from_float(book.close)
        equity, gross = self._portfolio()
        held = book.qty
        side = Side.SELL if held > 0 else Side.BUY
        intent = OrderIntent(book.symbol, side, Quantity(abs(held)), reference_price=Price(price))
        fee = self._sizing.commission.commission(abs(held), price)
        ctx = self._context(held, _ZERO, price, self._reserved(), fee, equity, gross,
                            Session.REGULAR, ts_ns, state=TradingState.REDUCING,
                            emergency=True)
        order, verdicts = self._judged(intent, ctx, ts)
        self._decision_seq += 1
        decision = Decision(
            seq=self._decision_seq, ts=ts, symbol=book.symbol, close=price, signals={},
            target_exposure=0.0, previous_exposure=book.exposure, current_qty=held,
            target_qty=_ZERO, sizing={"kill_switch": self.risk.state.reason},
            verdicts=verdicts, action="flatten" if order else "rejected",
            client_order_id=order.client_order_id if order else None)
        book.exposure = 0.0
        self._journal.record_decision(self.run_id, decision)
        self._digest.decision(decision)
        if order is not None:
            assert book.source is not None
            self._flattening.add(order.client_order_id)
            self._submit(book, order, book.source, book.i)

    def _rebalance_check(self, book: _Book, target: Target | None) -> Target | None:
        """On a rebalance, re-size a held target that drifted more than `drift` of equity."""
        assert self._alloc is not None
        self._alloc.due[book.k] = False
        if book.unknown or book.open_orders:
            return target
        held = target if target is not None else book.target
        if held is None or held.exposure != book.exposure or held.exposure == 0.0:
            return target
        equity = self.equity_f()
        if equity <= 0:
            return target
        wanted = (equity * float(self._sizing.fraction) * self._alloc.weights[book.k]
                  * abs(held.exposure))
        actual = abs(book.qty_f * book.close)
        if abs(actual - wanted) / equity > float(self._settings.allocation.drift):
            book.retry_after = -1  # pursue the target again now, at the new weight
            return held
        return target

    def _count_day_trade(self, book: _Book, before: Decimal, after: Decimal) -> None:
        """A fill that closes shares bought (or sold short) earlier the same exchange day is a
        day trade; a reversal both closes the old side and opens the new one. Shares opened
        are paired once: scaling out of one day's position in two fills is one day trade."""
        day = self.risk.day_of(self._ts_ns)
        flipped = before * after < 0
        if (flipped or abs(after) < abs(before)) and book.opened_day == day:
            self.risk.day_trade(self._ts_ns, from_ns(self._ts_ns))
            book.opened_day = None
        if after != 0 and (flipped or abs(after) > abs(before)):
            book.opened_day = day


    # -- exits: stop-loss, take-profit and ATR trailing stops attached to entries ------------

    def _after_event(self, book: _Book, order: Order, before: Decimal, filled: bool) -> None:
        cid = order.client_order_id
        if cid in book.exit_ids:
            if filled:  # the position was taken out: stay out until the target changes
                book.retry_after = None
            if order.status.is_terminal:
                book.exit_ids.pop(cid, None)
            return
        opened = book.qty != 0 and (abs(book.qty) > abs(before) or (before > 0) != (book.qty > 0))
        if filled and opened and order.status is OrderStatus.FILLED \
                and book not in self._exits_due:
            book.exits_at = order.updated_at
            self._exits_due.append(book)

    def _cancel_exits(self, book: _Book) -> None:
        for cid in list(book.exit_ids):
            order = book.open_orders.get(cid)
            if order is not None and order.status.is_open:
                self._broker.cancel(cid)
        self._drain()

    def _exits_at_open(self, book: _Book, ts_ns: int) -> None:
        """Place the exit legs the session refused (stops are not extended-hours orders) on
        the first regular bar, if the position is still held without them."""
        if self._session(from_ns(ts_ns)) is not Session.REGULAR:
            return
        self._exits_unplaced.discard(book.k)
        if book.qty and not book.exit_ids:
            self._ts_ns = ts_ns
            self._place_exits(book)

    def _place_exits(self, book: _Book, filled_at: datetime | None = None) -> None:
        """Attach the exit legs to the whole position, replacing the ones it had. Legs of an
        entry that filled at the open of the bar in hand (`filled_at`) stand from that moment,
        placed at the open's price with what was known then, and meet the rest of that bar;
        otherwise they are placed at the bar's close and meet the next one."""
        assert self._exits is not None
        if book.exit_ids:
            self._cancel_exits(book)
        if not book.qty or book.source is None:
            return
        bar = book.bar if book.bar is not None and filled_at == book.bar.ts_open else None
        if bar is not None:  # the entry filled at the open of the bar in hand
            ts_ns, ts, last = to_ns(bar.ts_open), bar.ts_open, bar.open.value
        else:
            ts_ns = self._ts_ns
            ts, last = from_ns(ts_ns), decimal_from_float(book.close)
        position = book.position or Position(book.symbol)
        self._exit_seq += 1
        legs = self._exits.legs(book.symbol, book.qty, position.avg_px, last, book.atr,
                                f"exit-{self._exit_seq}")
        equity, gross = self._portfolio()
        session = self._session(ts)
        for name, intent in legs:
            ctx = self._context(book.qty, _ZERO, last, self._reserved(), _ZERO, equity, gross,
                                session, ts_ns)
            order, verdicts = self._judged(intent, ctx, ts)
            if order is None and session is not Session.REGULAR:  # placed when the session opens
                self._exits_unplaced.add(book.k)
            self._decision_seq += 1
            level = intent.stop_price or intent.limit_price
            sizing = {"exit": name, "entry_px": str(position.avg_px), "level": str(level)}
            if intent.trail_amount is not None:
                sizing["trail"] = str(intent.trail_amount)
                sizing["atr"] = repr(book.atr)
            decision = Decision(
                seq=self._decision_seq, ts=ts, symbol=book.symbol, close=last, signals={},
                target_exposure=book.exposure, previous_exposure=book.exposure,
                current_qty=book.qty, target_qty=_ZERO, sizing=sizing, verdicts=verdicts,
                action="exit" if order else "rejected",
                client_order_id=order.client_order_id if order else None)
            self._journal.record_decision(self.run_id, decision)
            self._digest.decision(decision)
            if order is not None:
                book.exit_ids[order.client_order_id] = None
                self._submit(book, order, book.source, book.i)
        if bar is not None and book.exit_ids:  # the venue matches them on the rest of the bar
            self._broker.observe(bar)
            self._drain()

    def _session(self, ts: datetime) -> Session:
        session_of = self._settings.session_of
        return Session.REGULAR if session_of is None else session_of(ts)

    def _update_atr(self, book: _Book) -> None:
        assert self._atr is not None
        assert book.source is not None
        bar = book.source.bar(book.i)
        state = book.atr_state if book.atr_state is not None else self._atr.initial()
        book.atr_state, (book.atr,) = self._atr.step(
            state, float(bar.high.value), float(bar.low.value), float(bar.close.value))


def _opens(held: Decimal, order: Order) -> bool:
    """Whether the order's fill would open shares: from flat, adding, or through flat."""
    sign = order.side.sign
    return held == 0 or (held > 0) == (sign > 0) or order.leaves_qty > abs(held)


def _working_qty(book: _Book) -> float:
    """Signed quantity the book's working orders still add, exit legs aside."""
    return float(sum((o.leaves_qty * o.side.sign for cid, o in book.open_orders.items()
                      if cid not in book.exit_ids), _ZERO))
