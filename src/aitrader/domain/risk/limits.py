"""Portfolio limits, halts and the circuit breaker: each a frozen gate with a stable rule code.

Limits on exposure, order size and cash judge only intents that grow exposure: an order that
shrinks a position is always allowed through them (a limit must never trap a position). The
trading-state gate, the halts and the rate limit judge every intent.
"""

from __future__ import annotations

from decimal import Decimal

import attrs
from returns.result import Failure, Result, Success

from aitrader.domain.risk.gates import RiskContext, RiskRejection
from aitrader.domain.risk.state import TradingState
from aitrader.domain.trading import OrderIntent

_ZERO = Decimal(0)
Verdict = Result[OrderIntent, RiskRejection]


def _refuse(rule: str, reason: str) -> Verdict:
    return Failure(RiskRejection(rule, reason))


@attrs.frozen
class TradingStateGate:
    """HALTED refuses every intent (only cancels go out); REDUCING refuses any that grows."""

    rule: str = "trading_state"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.state is TradingState.HALTED:
            return _refuse(self.rule, "trading is HALTED: only cancels until `aitrader risk "
                                      "resume`")
        if ctx.state is TradingState.REDUCING and not ctx.is_reducing(intent):
            return _refuse(self.rule, f"trading is REDUCING: {intent.side.value} "
                                      f"{intent.quantity.value} {intent.symbol} would not shrink "
                                      "the position")
        return Success(intent)


@attrs.frozen
class RejectionCircuitBreaker:
    """Refuse exposure-increasing intents once `limit` broker rejections came in a row (the
    engine halts then); an order that only shrinks a position (the kill switch flattening) is
    still allowed through this gate."""

    limit: int = 5
    rule: str = "circuit_breaker"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.rejection_streak >= self.limit and not ctx.is_reducing(intent):
            return _refuse(self.rule, f"{ctx.rejection_streak} broker rejections in a row "
                                      f"(limit {self.limit})")
        return Success(intent)


@attrs.frozen
class MaxDrawdownHalt:
    """Refuse exposure-increasing intents once equity is `limit` below its durable peak."""

    limit: Decimal
    rule: str = "max_drawdown"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.drawdown >= self.limit and not ctx.is_reducing(intent):
            return _refuse(self.rule, f"drawdown {ctx.drawdown:.4f} from the equity peak "
                                      f"reached the limit {self.limit}")
        return Success(intent)


@attrs.frozen
class DailyLossHalt:
    """Refuse exposure-increasing intents once the day's loss reaches `limit` of its start."""

    limit: Decimal
    rule: str = "daily_loss"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.daily_loss >= self.limit and not ctx.is_reducing(intent):
            return _refuse(self.rule, f"loss today {ctx.daily_loss:.4f} of the day's starting "
                                      f"equity reached the limit {self.limit}")
        return Success(intent)


@attrs.frozen
class MaxGrossExposure:
    """Refuse an intent that would take gross exposure above `limit` times equity."""

    limit: Decimal
    rule: str = "max_gross_exposure"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.is_reducing(intent):
            return Success(intent)
        gross = ctx.gross_exposure + ctx.added_value(intent)
        cap = self.limit * max(ctx.equity, _ZERO)
        if gross > cap:
            return _refuse(self.rule, f"gross exposure {gross:.2f} would exceed {self.limit} "
                                      f"of equity ({cap:.2f})")
        return Success(intent)


@attrs.frozen
class MaxNetExposure:
    """Refuse an intent that would take |net exposure| above `limit` times equity, unless it
    brings net exposure closer to zero."""

    limit: Decimal
    rule: str = "max_net_exposure"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        net_after = ctx.net_exposure + intent.signed_qty * ctx.price
        cap = self.limit * max(ctx.equity, _ZERO)
        if abs(net_after) > cap and abs(net_after) > abs(ctx.net_exposure):
            return _refuse(self.rule, f"net exposure {net_after:.2f} would exceed {self.limit} "
                                      f"of equity ({cap:.2f})")
        return Success(intent)


@attrs.frozen
class MaxOpenPositions:
    """Refuse opening a position in a new symbol when `limit` positions are open already."""

    limit: int
    rule: str = "max_open_positions"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        opening = ctx.position_qty + ctx.pending_qty == 0
        if opening and ctx.open_positions >= self.limit:
            return _refuse(self.rule, f"{ctx.open_positions} positions are open (limit "
                                      f"{self.limit}); not opening {intent.symbol}")
        return Success(intent)


@attrs.frozen
class CashReserve:
    """Refuse an exposure-increasing intent that would leave less than `fraction` of equity
    in unreserved cash."""

    fraction: Decimal
    rule: str = "cash_reserve"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.is_reducing(intent):
            return Success(intent)
        cost = ctx.added_value(intent) + ctx.estimated_commission
        left = ctx.cash - ctx.reserved_cash - cost
        keep = self.fraction * max(ctx.equity, _ZERO)
        if left < keep:
            return _refuse(self.rule, f"{intent.symbol} order would leave {left:.2f} in cash, "
                                      f"below the reserve {keep:.2f}")
        return Success(intent)


@attrs.frozen
class MaxOrderNotional:
    """Refuse an exposure-increasing intent worth more than `limit` dollars."""

    limit: Decimal
    rule: str = "max_order_notional"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        notional = intent.quantity.value * ctx.price
        if notional > self.limit and not ctx.is_reducing(intent):
            return _refuse(self.rule, f"{intent.symbol} order of {notional:.2f} exceeds "
                                      f"{self.limit}")
        return Success(intent)


@attrs.frozen
class PortfolioVar:
    """Refuse an intent after which the portfolio's one-period 95 % VaR (a fraction of equity,
    estimated before the order goes out) would exceed `limit`, unless it lowers the VaR."""

    limit: Decimal
    rule: str = "max_var"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.var_after > self.limit and ctx.var_after > ctx.var_before:
            return _refuse(self.rule, f"portfolio VaR would be {ctx.var_after:.4f} of equity "
                                      f"(limit {self.limit}, now {ctx.var_before:.4f})")
        return Success(intent)


@attrs.frozen
class MaxOrderRate:
    """Refuse any intent once `limit` orders went out in the last rolling minute."""

    limit: int
    rule: str = "max_order_rate"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        if ctx.orders_in_window >= self.limit:
            return _refuse(self.rule, f"{ctx.orders_in_window} orders in the last minute "
                                      f"(limit {self.limit})")
        return Success(intent)
