"""The cycle's risk state: restored from the journal, moved by equity, rejections and commands.

Backtests keep the state in memory (a backtest replays history; it neither reads nor changes the
account's halt). Paper (and later live) runs restore it from the journal at start, write every
change of trading state at once, and re-read it every `poll_every` bars so a command given
while the engine runs (`aitrader risk halt|reduce|resume|kill`) takes effect.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import structlog
from returns.result import Failure, Result, Success

from aitrader.domain.risk import RiskState, TradingState
from aitrader.domain.values import decimal_from_float
from aitrader.ports.journal import Journal

log = structlog.get_logger(__name__)
# the fields `aitrader risk halt|reduce|resume|kill` set
_COMMANDED = ("state", "reason", "kill_requested", "rejection_streak", "equity_peak")
_NEW_YORK = ZoneInfo("America/New_York")
_MINUTE_NS = 60 * 1_000_000_000
_NS = 1_000_000_000


@attrs.frozen
class RiskSettings:
    """Which limits the cycle watches; None disables one."""

    durable: bool = False
    breaker_limit: int | None = None
    max_drawdown: Decimal | None = None
    daily_loss: Decimal | None = None
    flatten_drawdown: Decimal | None = None
    max_order_rate: int | None = None
    max_var: Decimal | None = None
    var_window: int = 60
    track_day_trades: bool = False
    day_trade_window: int = 5
    poll_every: int = 64
    # The broker's account is opened afresh for each run (the local simulated broker, from
    # --cash): the stored equity marks, streak and day trades belong to an earlier account.
    new_account: bool = False
    # The exchange calendar's trading days between two dates, both inclusive (the Calendar
    # port's trading_days): the day-trade window counts these. Without one, weekdays count.
    trading_days: Callable[[date, date], Sequence[date]] | None = attrs.field(
        default=None, eq=False)

    @property
    def watches_equity(self) -> bool:
        return (self.max_drawdown is not None or self.daily_loss is not None
                or self.flatten_drawdown is not None)


class ExchangeDays:
    """The US-Eastern day of a UTC epoch-ns moment (its last instant), cached per day."""

    def __init__(self) -> None:
        self._start = self._end = 0
        self._day = date.min

    def day_of(self, ts_ns: int) -> date:
        if self._start < ts_ns <= self._end:
            return self._day
        moment = datetime.fromtimestamp((ts_ns - 1) / _NS, UTC).astimezone(_NEW_YORK)
        day = moment.date()
        start = datetime.combine(day, time(0), _NEW_YORK).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), _NEW_YORK).astimezone(UTC)
        self._start = int(start.timestamp()) * _NS
        self._end = int(end.timestamp()) * _NS
        self._day = day
        return day


class RiskControl:
    """Holds the RiskState for one run and applies the rules that move it."""

    def __init__(self, settings: RiskSettings, journal: Journal | None) -> None:
        self.settings = settings
        self.state = RiskState()
        self._journal = journal if settings.durable else None
        self._saved = self.state
        self._orders: deque[int] = deque()
        self._days = ExchangeDays()
        self._window: tuple[date, date] = (date.max, date.max)  # (today, its window's first day)
        self._bars = 0
        self._flattened_peak: Decimal | None = None  # the peak the emergency flatten fired at
        self._last_mark: Decimal | None = None  # the equity the last bar was marked at
        self.changed = False  # set when a rule or a command moved the trading state

    # -- durability ------------------------------------------------------------------------

    def restore(self) -> Result[None, str]:
        """Adopt the stored state (paper and live runs)."""
        if self._journal is None:
            return Success(None)
        found = self._journal.risk_state()
        if isinstance(found, Failure):
            return Failure(str(found.failure()))
        stored = found.unwrap()
        if stored is not None:
            # (kept as saved: the first save writes the new account's figures over the old)
            self._saved = stored
            self.state = stored.on_new_account() if self.settings.new_account else stored
            if not stored.is_active:
                log.warning("risk.restored", state=stored.state.value, reason=stored.reason)
        return Success(None)

    def save(self, at: datetime) -> None:
        """Write the state if it moved, after adopting a command given since the last write
        (written over, a `risk halt` between two polls would be lost)."""
        if self._journal is None or self.state == self._saved:
            return
        self._adopt_command()
        self._write(at)

    def _write(self, at: datetime) -> None:
        if self._journal is None or self.state == self._saved:
            return
        saved = self._journal.save_risk_state(self.state, at)
        if isinstance(saved, Failure):
            log.error("risk.not_saved", reason=str(saved.failure()))
            return
        self._saved = self.state

    def _adopt_command(self) -> None:
        """Take over what a command stored since this run last wrote (someone else wrote)."""
        assert self._journal is not None
        found = self._journal.risk_state()
        stored = found.value_or(None) if isinstance(found, Success) else None
        if stored is not None and stored != self._saved:
            # what the command changed wins; what it left as this run wrote it keeps this
            # run's newer value (a rejection counted since, say)
            changed = {name: getattr(stored, name) for name in _COMMANDED
                       if getattr(stored, name) != getattr(self._saved, name)}
            self.state = attrs.evolve(self.state, **changed)
            self._saved = stored
            self.changed = True
            log.warning("risk.command_adopted", state=stored.state.value, reason=stored.reason)

    def poll(self, at: datetime) -> None:
        """Every poll_every bars: adopt a command given meanwhile, then save what moved."""
        if self._journal is None:
            return
        self._bars += 1
        if self._bars % self.settings.poll_every:
            return
        self._adopt_command()
        self._write(at)

    # -- rules -----------------------------------------------------------------------------

    def _move(self, state: RiskState, at: datetime, event: str) -> None:
        self.state = state
        self.changed = True
        log.warning(event, state=state.state.value, reason=state.reason)
        self.save(at)

    def on_equity(self, ts_ns: int, equity: float, at: datetime) -> None:
        """Raise the peak, start a new day, and halt or flatten when a limit is crossed.

        The emergency flatten fires in any state, a HALTED one included: `max_drawdown` (always
        the softer limit) halts first and a halt keeps its positions, so the harder drawdown is
        mostly reached while HALTED. It fires once per equity peak (a flat account stays below
        its peak until `resume` forgets it)."""
        s = self.settings
        value = decimal_from_float(round(equity, 2))
        # A new day starts from the equity last marked before it: on daily bars the day's only
        # mark is its close (measured from itself, the limit could never fire), and on intraday
        # bars the overnight gap belongs to the day it opens.
        marked = self.state.marked(value, self._days.day_of(ts_ns), self._last_mark)
        self._last_mark = value
        self.state = marked
        drawdown = marked.drawdown(value)
        if s.flatten_drawdown is not None and drawdown >= s.flatten_drawdown \
                and not marked.kill_requested and self._flattened_peak != marked.equity_peak:
            self._flattened_peak = marked.equity_peak
            self._move(marked.killed(f"emergency flatten: drawdown {drawdown:.4f} reached "
                                     f"{s.flatten_drawdown}"), at, "risk.flatten")
        elif marked.state is TradingState.HALTED:
            return
        elif s.max_drawdown is not None and drawdown >= s.max_drawdown:
            self._move(marked.halted(f"max_drawdown: drawdown {drawdown:.4f} reached "
                                     f"{s.max_drawdown}"), at, "risk.halted")
        elif s.daily_loss is not None and marked.daily_loss(value) >= s.daily_loss:
            self._move(marked.halted(f"daily_loss: loss {marked.daily_loss(value):.4f} of the "
                                     f"day's start reached {s.daily_loss}"), at, "risk.halted")

    def on_rejected(self, at: datetime) -> None:
        """A broker rejection: the N-th in a row halts trading."""
        state = self.state.rejected()
        limit = self.settings.breaker_limit
        if limit is not None and state.rejection_streak >= limit and \
                state.state is not TradingState.HALTED:
            self._move(state.halted(f"circuit_breaker: {state.rejection_streak} broker "
                                    "rejections in a row"), at, "risk.halted")
        else:
            self.state = state
            self.save(at)

    def on_accepted(self, at: datetime) -> None:
        if self.state.rejection_streak:
            self.state = self.state.accepted()
            self.save(at)

    def kill_verified(self, at: datetime) -> None:
        self._move(self.state.kill_done(), at, "risk.kill_verified")

    def note_order(self, ts_ns: int) -> None:
        if self.settings.max_order_rate is not None:
            self._orders.append(ts_ns)

    def orders_in_window(self, ts_ns: int) -> int:
        """Orders sent in the rolling minute before ts_ns."""
        window = self._orders
        while window and window[0] <= ts_ns - _MINUTE_NS:
            window.popleft()
        return len(window)

    def day_of(self, ts_ns: int) -> date:
        return self._days.day_of(ts_ns)

    def day_trades(self, ts_ns: int) -> int:
        """Day trades in the last `day_trade_window` business days, today included: exchange
        trading days when the run has a calendar (a holiday is not a business day), weekdays
        without one. Today counts as one of them even when the exchange is closed."""
        today = self._days.day_of(ts_ns)
        oldest = self._window_start(today)
        return sum(1 for d in self.state.day_trades if oldest <= d <= today)

    def _window_start(self, today: date) -> date:
        """The first day of the business-day window that ends today (remembered per day)."""
        if self._window[0] == today:
            return self._window[1]
        wanted = self.settings.day_trade_window - 1  # business days before today
        trading_days = self.settings.trading_days
        oldest = today
        if trading_days is None:
            while wanted > 0:
                oldest -= timedelta(days=1)
                if oldest.weekday() < 5:
                    wanted -= 1
        elif wanted > 0:
            # a week of calendar days holds at least three trading days, even around holidays
            before = [d for d in trading_days(today - timedelta(days=7 * wanted), today)
                      if d < today]
            oldest = before[-wanted] if len(before) >= wanted else today - timedelta(
                days=7 * wanted)
        self._window = (today, oldest)
        return oldest

    def day_trade(self, ts_ns: int, at: datetime) -> None:
        today = self._days.day_of(ts_ns)
        oldest = self._window_start(today)
        kept = tuple(d for d in self.state.day_trades if d >= oldest)
        self.state = attrs.evolve(self.state, day_trades=(*kept, today))
        self.save(at)

