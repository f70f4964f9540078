"""Risk gates: each a frozen callable returning Result[OrderIntent, RiskRejection]."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import attrs
from returns.result import Failure, Result, Success

from aitrader.domain.audit import GateVerdict
from aitrader.domain.market import Session
from aitrader.domain.risk.state import TradingState
from aitrader.domain.trading import OrderIntent

_ZERO = Decimal(0)


@attrs.frozen
class RiskRejection:
    """A gate's refusal: a stable rule code and a reason with the numbers."""

    rule: str
    reason: str


@attrs.frozen
class RiskContext:
    """What the gates know when they judge an intent: one symbol's position and price, the
    portfolio's equity, cash, gross and net position value and cash reserved by open orders;
    the durable risk state's figures; the session and the order rate. Fields after
    `gross_exposure` default to the values of a fresh ACTIVE account in the regular session."""

    equity: Decimal
    cash: Decimal
    position_qty: Decimal
    pending_qty: Decimal
    price: Decimal
    reserved_cash: Decimal
    estimated_commission: Decimal
    gross_exposure: Decimal = Decimal(0)
    net_exposure: Decimal = Decimal(0)
    open_positions: int = 0
    state: TradingState = TradingState.ACTIVE
    drawdown: Decimal = Decimal(0)
    daily_loss: Decimal = Decimal(0)
    rejection_streak: int = 0
    orders_in_window: int = 0
    session: Session = Session.REGULAR
    day_trades: int = 0
    var_before: Decimal = Decimal(0)
    var_after: Decimal = Decimal(0)

    def after(self, intent: OrderIntent) -> Decimal:
        """The signed position once this intent and the pending orders have filled."""
        return self.position_qty + self.pending_qty + intent.signed_qty

    def is_reducing(self, intent: OrderIntent) -> bool:
        """True when the intent only shrinks the absolute position."""
        before = self.position_qty + self.pending_qty
        after = before + intent.signed_qty  # the same sum as after(), in the same order
        return abs(after) < abs(before) and (after * before) >= 0

    def added_value(self, intent: OrderIntent) -> Decimal:
        """How much the intent grows the symbol's absolute position, in dollars at price."""
        before = abs(self.position_qty + self.pending_qty)
        return max(_ZERO, abs(self.after(intent)) - before) * self.price


class Gate(Protocol):
    """One risk rule."""

    @property
    def rule(self) -> str:
        """The stable code of this rule, journaled with every verdict."""
        ...

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Result[OrderIntent, RiskRejection]:
        """Pass the intent on, or refuse it with this gate's rule code."""
        ...


@attrs.frozen
class LongOnly:
    """Refuse any intent that would leave the position short."""

    rule: str = "long_only"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Result[OrderIntent, RiskRejection]:
        after = ctx.after(intent)
        if after < 0:
            return Failure(RiskRejection(self.rule, f"would leave {intent.symbol} short {-after}"
                                                    " and shorting is not enabled"))
        return Success(intent)


@attrs.frozen
class MaxPositionFraction:
    """Refuse an intent whose resulting position is worth more than `limit` of equity."""

    limit: Decimal
    rule: str = "max_position_fraction"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Result[OrderIntent, RiskRejection]:
        value = abs(ctx.after(intent)) * ctx.price
        cap = self.limit * max(ctx.equity, _ZERO)
        if value > cap and not ctx.is_reducing(intent):
            return Failure(RiskRejection(
                self.rule, f"{intent.symbol} position {value:.2f} would exceed "
                           f"{self.limit} of equity ({cap:.2f})"))
        return Success(intent)


@attrs.frozen
class BuyingPower:
    """Refuse an exposure-increasing intent that costs more than unreserved cash times margin."""

    margin_multiplier: Decimal = Decimal(1)
    rule: str = "buying_power"

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Result[OrderIntent, RiskRejection]:
        if ctx.is_reducing(intent):
            return Success(intent)
        before = abs(ctx.position_qty + ctx.pending_qty)
        added = max(_ZERO, abs(ctx.after(intent)) - before)
        cost = added * ctx.price + ctx.estimated_commission
        gross = max(ctx.gross_exposure, abs(ctx.position_qty) * ctx.price)
        available = max(_ZERO, ctx.equity * self.margin_multiplier - gross) - ctx.reserved_cash
        if cost > available:
            return Failure(RiskRejection(
                self.rule, f"{intent.symbol} order needs {cost:.2f} but buying power is "
                           f"{available:.2f}"))
        return Success(intent)


def judge(
    gates: Sequence[Gate], intent: OrderIntent, ctx: RiskContext
) -> tuple[Result[OrderIntent, RiskRejection], tuple[GateVerdict, ...]]:
    """Run the gates in order; the first refusal stops the intent. Returns every verdict given."""
    verdicts: list[GateVerdict] = []
    result: Result[OrderIntent, RiskRejection] | None = None
    for gate in gates:
        result = gate(intent, ctx)
        # `type(...) is Success` first: isinstance against returns' ABCs is the slow check
        if type(result) is not Success and isinstance(result, Failure):
            rejection = result.failure()
            verdicts.append(GateVerdict(rejection.rule, False, rejection.reason))
            return result, tuple(verdicts)
        rule = gate.rule
        passed = _PASSED.get(rule)
        if passed is None:
            passed = _PASSED[rule] = GateVerdict(rule, True)
        verdicts.append(passed)
    if result is None or result.unwrap() is not intent:  # no gate, or one passed on another
        result = Success(intent)
    return result, tuple(verdicts)


# A passed verdict is the same frozen record every time for a rule, so it is built once.
_PASSED: dict[str, GateVerdict] = {}
