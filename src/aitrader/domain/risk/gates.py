"""Risk gates: each a frozen callable returning Result[OrderIntent, RiskRejection]."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar, Protocol

import attrs
from returns.result import Failure, Result, Success

from aitrader.domain.audit import GateVerdict
from aitrader.domain.market import Session
from aitrader.domain.risk.state import TradingState
from aitrader.domain.slotted import slot_init
from aitrader.domain.trading import OrderIntent

_ZERO = Decimal(0)


@attrs.frozen
class RiskRejection:
    """A gate's refusal: a stable rule code and a reason with the numbers."""

    rule: str
    reason: str


@slot_init
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
    # other symbols holding (or working an order for) shares opened today: the day trades
    # closing them would make, which no exit may be refused
    open_day_trades: int = 0
    # the kill switch's flatten: an emergency exit the order-rate limit must not hold back
    emergency: bool = False

    # intent.signed_qty spelt out below: a property call less, and each of the three gates of a
    # usual run asks one of these (3-4 an order)

    def after(self, intent: OrderIntent) -> Decimal:
        """The signed position once this intent and the pending orders have filled."""
        return self.position_qty + self.pending_qty + intent.quantity.value * intent.side.sign

    def is_reducing(self, intent: OrderIntent) -> bool:
        """True when the intent only shrinks the absolute position."""
        before = self.position_qty + self.pending_qty
        after = before + intent.quantity.value * intent.side.sign  # after(), the same order
        return abs(after) < abs(before) and (after * before) >= 0

    def added_value(self, intent: OrderIntent) -> Decimal:
        """How much the intent grows the symbol's absolute position, in dollars at price."""
        before = abs(self.position_qty + self.pending_qty)
        return max(_ZERO, abs(self.after(intent)) - before) * self.price


Verdict = Result[OrderIntent, RiskRejection]


class Gate(Protocol):
    """One risk rule."""

    @property
    def rule(self) -> str:
        """The stable code of this rule, journaled with every verdict."""
        ...

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Result[OrderIntent, RiskRejection]:
        """Pass the intent on, or refuse it with this gate's rule code."""
        ...


class RuleGate:
    """A gate refusing with its `rule` code whenever `breach` says why.

    With `spares_reductions` an intent that only shrinks its position passes before `breach`
    is asked: a limit on growth must never trap a position. Subclasses are frozen attrs
    classes declaring `rule` with its stable code as default. `judge` asks `refusal` directly:
    a reason or None, with no Result built for each gate an intent passes (~0.9 µs each).
    """

    __slots__ = ()
    rule: str
    spares_reductions: ClassVar[bool] = False

    def __call__(self, intent: OrderIntent, ctx: RiskContext) -> Verdict:
        why = self.refusal(intent, ctx)
        return Success(intent) if why is None else Failure(RiskRejection(self.rule, why))

    def refusal(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        """Why this gate refuses the intent, or None when it passes."""
        if self.spares_reductions and ctx.is_reducing(intent):
            return None
        return self.breach(intent, ctx)

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        """Why this intent is refused (one line with the numbers), or None."""
        raise NotImplementedError


@attrs.frozen
class LongOnly(RuleGate):
    """Refuse any intent that would leave the position short."""

    rule: str = "long_only"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        after = ctx.after(intent)
        if after < 0:
            return f"would leave {intent.symbol} short {-after} and shorting is not enabled"
        return None


@attrs.frozen
class MaxPositionFraction(RuleGate):
    """Refuse an intent whose resulting position is worth more than `limit` of equity."""

    limit: Decimal
    rule: str = "max_position_fraction"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        value = abs(ctx.after(intent)) * ctx.price
        cap = self.limit * max(ctx.equity, _ZERO)
        if value > cap and not ctx.is_reducing(intent):
            return (f"{intent.symbol} position {value:.2f} would exceed {self.limit} of equity "
                    f"({cap:.2f})")
        return None


@attrs.frozen
class BuyingPower(RuleGate):
    """Refuse an exposure-increasing intent that costs more than unreserved cash times margin."""

    margin_multiplier: Decimal = Decimal(1)
    rule: str = "buying_power"
    spares_reductions: ClassVar[bool] = True

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        before = abs(ctx.position_qty + ctx.pending_qty)
        added = max(_ZERO, abs(ctx.after(intent)) - before)
        cost = added * ctx.price + ctx.estimated_commission
        gross = max(ctx.gross_exposure, abs(ctx.position_qty) * ctx.price)
        available = max(_ZERO, ctx.equity * self.margin_multiplier - gross) - ctx.reserved_cash
        if cost > available:
            return f"{intent.symbol} order needs {cost:.2f} but buying power is {available:.2f}"
        return None


def judge(gates: Sequence[Gate], intent: OrderIntent, ctx: RiskContext
          ) -> tuple[Verdict, tuple[GateVerdict, ...]]:
    """Run the gates in order; the first refusal stops the intent. Returns every verdict given
    (a gate passes the intent on as it is: judge never lets one swap it for another)."""
    verdicts: list[GateVerdict] = []
    for gate in gates:
        if isinstance(gate, RuleGate):
            why = gate.refusal(intent, ctx)
            if why is not None:
                verdicts.append(GateVerdict(gate.rule, False, why))
                return Failure(RiskRejection(gate.rule, why)), tuple(verdicts)
        else:
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
    return Success(intent), tuple(verdicts)


# A passed verdict is the same frozen record every time for a rule, so it is built once.
_PASSED: dict[str, GateVerdict] = {}
