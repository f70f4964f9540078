"""Trading states and the durable risk state: peaks, the day's start, rejection streaks, halts."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import attrs

_ZERO = Decimal(0)


class TradingState(enum.Enum):
    """ACTIVE trades freely; REDUCING sends only exposure-reducing orders; HALTED only cancels."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    __hash__ = object.__hash__  # members are singletons (see OrderStatus)


@attrs.frozen
class RiskState:
    """What must survive a restart: the trading state, why, and the figures the halts watch.

    `equity_peak` is the highest equity seen (the drawdown halt measures from it);
    `day`/`day_start_equity` the exchange day and its first equity (the daily loss halt);
    `rejection_streak` the broker rejections in a row (the circuit breaker); `kill_requested`
    asks the engine to cancel, flatten and verify flat; `day_trades` the days of recent day
    trades (the self-imposed `legacy_pdt` policy).
    """

    state: TradingState = TradingState.ACTIVE
    reason: str = ""
    equity_peak: Decimal | None = None
    day: date | None = None
    day_start_equity: Decimal | None = None
    rejection_streak: int = 0
    kill_requested: bool = False
    day_trades: tuple[date, ...] = ()

    @property
    def is_active(self) -> bool:
        return self.state is TradingState.ACTIVE

    def halted(self, reason: str) -> RiskState:
        """HALTED: only cancels until an explicit resume."""
        return attrs.evolve(self, state=TradingState.HALTED, reason=reason)

    def reducing(self, reason: str) -> RiskState:
        """REDUCING: only orders that shrink exposure (a halt is not softened by it)."""
        if self.state is TradingState.HALTED:
            return self
        return attrs.evolve(self, state=TradingState.REDUCING, reason=reason)

    def resumed(self) -> RiskState:
        """ACTIVE again: a fresh rejection streak, no kill pending, and the equity peak forgotten
        (the next mark restarts it), so the drawdown halt measures losses from here on."""
        return attrs.evolve(self, state=TradingState.ACTIVE, reason="", rejection_streak=0,
                            kill_requested=False, equity_peak=None)

    def killed(self, reason: str) -> RiskState:
        """HALTED with a kill pending: cancel everything, flatten, verify flat."""
        return attrs.evolve(self, state=TradingState.HALTED, reason=reason, kill_requested=True)

    def kill_done(self) -> RiskState:
        return attrs.evolve(self, kill_requested=False)

    def rejected(self) -> RiskState:
        return attrs.evolve(self, rejection_streak=self.rejection_streak + 1)

    def accepted(self) -> RiskState:
        return self if self.rejection_streak == 0 else attrs.evolve(self, rejection_streak=0)

    def marked(self, equity: Decimal, day: date, before: Decimal | None = None) -> RiskState:
        """Raise the peak to equity; a new day starts from `before`, the last equity marked
        before it (the previous close's: what the day's loss is measured from), or from this
        equity when there was none."""
        peak = self.equity_peak
        new_peak = equity if peak is None or equity > peak else peak
        if day != self.day:
            start = equity if before is None else before
            return attrs.evolve(self, equity_peak=new_peak, day=day, day_start_equity=start)
        if new_peak is peak:
            return self
        return attrs.evolve(self, equity_peak=new_peak)

    def drawdown(self, equity: Decimal) -> Decimal:
        """Fall from the peak as a fraction of the peak (0 without a positive peak)."""
        peak = self.equity_peak
        if peak is None or peak <= 0:
            return _ZERO
        return max(_ZERO, (peak - equity) / peak)

    def daily_loss(self, equity: Decimal) -> Decimal:
        """Loss since the day's start as a fraction of the day's starting equity."""
        start = self.day_start_equity
        if start is None or start <= 0:
            return _ZERO
        return max(_ZERO, (start - equity) / start)

    def on_new_account(self) -> RiskState:
        """The state carried onto an account that has just been opened (a local paper run's
        simulated account): the trading state, its reason and a pending kill are the
        operator's and hold; the equity peak, the day's start, the rejection streak and the day
        trades were measured on the old account and do not apply to it."""
        return attrs.evolve(self, equity_peak=None, day=None, day_start_equity=None,
                            rejection_streak=0, day_trades=())

    def with_day_trade(self, day: date) -> RiskState:
        return attrs.evolve(self, day_trades=(*self.day_trades, day))
