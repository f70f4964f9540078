"""Portfolio limits, halts and the circuit breaker: each a frozen gate with a stable rule code.

Limits on exposure, order size and cash judge only intents that grow exposure: an order that
shrinks a position is always allowed through them (a limit must never trap a position). The
trading-state gate, the halts and the rate limit judge every intent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import attrs

from aitrader.domain.risk.gates import RiskContext, RuleGate
from aitrader.domain.risk.state import TradingState
from aitrader.domain.trading import OrderIntent

_ZERO = Decimal(0)


@attrs.frozen
class TradingStateGate(RuleGate):
    """HALTED refuses every intent (only cancels go out); REDUCING refuses any that grows."""

    rule: str = "trading_state"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.state is TradingState.HALTED:
            return "trading is HALTED: only cancels until `aitrader risk resume`"
        if ctx.state is TradingState.REDUCING and not ctx.is_reducing(intent):
            return (f"trading is REDUCING: {intent.side.value} {intent.quantity.value} "
                    f"{intent.symbol} would not shrink the position")
        return None


@attrs.frozen
class RejectionCircuitBreaker(RuleGate):
    """Refuse exposure-increasing intents once `limit` broker rejections came in a row (the
    engine halts then); an order that only shrinks a position (the kill switch flattening) is
    still allowed through this gate."""

    limit: int = 5
    rule: str = "circuit_breaker"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.rejection_streak >= self.limit:
            return f"{ctx.rejection_streak} broker rejections in a row (limit {self.limit})"
        return None


@attrs.frozen
class MaxDrawdownHalt(RuleGate):
    """Refuse exposure-increasing intents once equity is `limit` below its durable peak."""

    limit: Decimal
    rule: str = "max_drawdown"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.drawdown >= self.limit:
            return (f"drawdown {ctx.drawdown:.4f} from the equity peak reached the limit "
                    f"{self.limit}")
        return None


@attrs.frozen
class DailyLossHalt(RuleGate):
    """Refuse exposure-increasing intents once the day's loss reaches `limit` of its start."""

    limit: Decimal
    rule: str = "daily_loss"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.daily_loss >= self.limit:
            return (f"loss today {ctx.daily_loss:.4f} of the day's starting equity reached the "
                    f"limit {self.limit}")
        return None


@attrs.frozen
class MaxGrossExposure(RuleGate):
    """Refuse an intent that would take gross exposure above `limit` times equity. Working
    orders count as exposure taken: the cash they reserve (every symbol's exposure-increasing
    orders, at their worst price) is added to the positions' value, or several symbols
    deciding on one bar would each see the room the others are about to fill."""

    limit: Decimal
    rule: str = "max_gross_exposure"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        gross = ctx.gross_exposure + ctx.reserved_cash + ctx.added_value(intent)
        cap = self.limit * max(ctx.equity, _ZERO)
        if gross > cap:
            return f"gross exposure {gross:.2f} would exceed {self.limit} of equity ({cap:.2f})"
        return None


@attrs.frozen
class MaxNetExposure(RuleGate):
    """Refuse an intent that would take |net exposure| above `limit` times equity, unless it
    brings net exposure closer to zero. Working exposure-increasing orders (their reserved
    cash) count at their worst, as if they all pushed net exposure further from zero."""

    limit: Decimal
    rule: str = "max_net_exposure"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        net_after = ctx.net_exposure + intent.signed_qty * ctx.price
        if abs(net_after) <= abs(ctx.net_exposure):
            return None
        worst = abs(net_after) + ctx.reserved_cash
        cap = self.limit * max(ctx.equity, _ZERO)
        if worst > cap:
            return (f"net exposure {net_after:.2f} (with {ctx.reserved_cash:.2f} in working "
                    f"orders) would exceed {self.limit} of equity ({cap:.2f})")
        return None


@attrs.frozen
class MaxOpenPositions(RuleGate):
    """Refuse opening a position in a new symbol when `limit` positions are open already."""

    limit: int
    rule: str = "max_open_positions"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        opening = ctx.position_qty + ctx.pending_qty == 0
        if opening and ctx.open_positions >= self.limit:
            return (f"{ctx.open_positions} positions are open (limit {self.limit}); not opening "
                    f"{intent.symbol}")
        return None


@attrs.frozen
class CashReserve(RuleGate):
    """Refuse an exposure-increasing intent that would leave less than `fraction` of equity
    in unreserved cash."""

    fraction: Decimal
    rule: str = "cash_reserve"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        cost = ctx.added_value(intent) + ctx.estimated_commission
        left = ctx.cash - ctx.reserved_cash - cost
        keep = self.fraction * max(ctx.equity, _ZERO)
        if left < keep:
            return (f"{intent.symbol} order would leave {left:.2f} in cash, below the reserve "
                    f"{keep:.2f}")
        return None


@attrs.frozen
class MaxOrderNotional(RuleGate):
    """Refuse an exposure-increasing intent worth more than `limit` dollars."""

    limit: Decimal
    rule: str = "max_order_notional"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        notional = intent.quantity.value * ctx.price
        if notional > self.limit:
            return f"{intent.symbol} order of {notional:.2f} exceeds {self.limit}"
        return None


@attrs.frozen
class PortfolioVar(RuleGate):
    """Refuse an intent after which the portfolio's one-period 95 % VaR (a fraction of equity,
    estimated before the order goes out) would exceed `limit`, unless it lowers the VaR."""

    limit: Decimal
    rule: str = "max_var"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.var_after > self.limit and ctx.var_after > ctx.var_before:
            return (f"portfolio VaR would be {ctx.var_after:.4f} of equity (limit {self.limit}, "
                    f"now {ctx.var_before:.4f})")
        return None


@attrs.frozen
class MaxOrderRate(RuleGate):
    """Refuse any intent once `limit` orders went out in the last rolling minute, except the
    kill switch's flatten (an emergency exit, one order a held symbol: throttled, a position
    would stay open a bar longer for each symbol beyond the limit). Its orders still count."""

    limit: int
    rule: str = "max_order_rate"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.orders_in_window >= self.limit and not ctx.emergency:
            return f"{ctx.orders_in_window} orders in the last minute (limit {self.limit})"
        return None
