"""Day-trading policies and session rules for order types.

FINRA replaced the pattern-day-trader rule in 2026 and Alpaca removed its PDT account fields on
2026-07-06, so no policy here reads a broker's PDT flag: `none` is the default, `legacy_pdt`
is a self-imposed limit counted from our own fills, and `intraday_margin` estimates intraday
buying power from our own ledger.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, Protocol

import attrs

from aitrader.domain.market import Session
from aitrader.domain.risk.gates import RiskContext, RuleGate
from aitrader.domain.trading import OrderIntent, OrderType, TimeInForce
from aitrader.domain.values import Price, Quantity, Side, Symbol

_ZERO = Decimal(0)
_BPS = Decimal(10_000)
_CENT = Decimal("0.01")
DAY_TRADING_POLICIES = ("none", "legacy_pdt", "intraday_margin")


class DayTradingPolicy(Protocol):
    """Whether an intent may go out under the account's day-trading regime."""

    @property
    def name(self) -> str:
        """The policy's configured name."""
        ...

    def allows(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        """None when allowed, else why not (one line with the numbers)."""
        ...


@attrs.frozen
class NoDayTradingLimit:
    """No day-trading limit (the default since FINRA retired the PDT rule)."""

    name: str = "none"

    def allows(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        return None


@attrs.frozen
class LegacyPdt:
    """Self-imposed: below `equity_threshold`, at most `max_day_trades` day trades in the last
    `window_days` business days. Only openings are refused (never an exit), so a position can
    always be closed; the count comes from our own fills (`RiskContext.day_trades`), with the
    day trades that closing other symbols' positions opened today would make
    (`open_day_trades`): since their exits always go out, an opening must leave room for them."""

    max_day_trades: int = 3
    window_days: int = 5
    equity_threshold: Decimal = Decimal(25_000)
    name: str = "legacy_pdt"

    def allows(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.is_reducing(intent) or ctx.equity >= self.equity_threshold:
            return None
        if ctx.day_trades + ctx.open_day_trades >= self.max_day_trades:
            pending = (f" and {ctx.open_day_trades} more if today's open positions close"
                       if ctx.open_day_trades else "")
            return (f"{ctx.day_trades} day trades in {self.window_days} business days{pending} "
                    f"with equity {ctx.equity:.2f} below {self.equity_threshold}; not opening "
                    f"{intent.symbol}")
        return None


@attrs.frozen
class IntradayMargin:
    """Intraday buying power estimated as equity x `multiplier` less gross positions and open
    orders; an exposure-increasing intent must fit in it."""

    multiplier: Decimal = Decimal(4)
    name: str = "intraday_margin"

    def allows(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        if ctx.is_reducing(intent):
            return None
        cost = ctx.added_value(intent) + ctx.estimated_commission
        power = max(_ZERO, ctx.equity * self.multiplier - ctx.gross_exposure) - ctx.reserved_cash
        if cost > power:
            return f"{intent.symbol} order needs {cost:.2f}, intraday buying power is {power:.2f}"
        return None


def day_trading_policy(name: str, *, max_day_trades: int = 3, equity_threshold: Decimal =
                       Decimal(25_000), intraday_multiplier: Decimal = Decimal(4)
                       ) -> DayTradingPolicy:
    """The policy by its configured name (one of DAY_TRADING_POLICIES)."""
    if name == "none":
        return NoDayTradingLimit()
    if name == "legacy_pdt":
        return LegacyPdt(max_day_trades=max_day_trades, equity_threshold=equity_threshold)
    if name == "intraday_margin":
        return IntradayMargin(multiplier=intraday_multiplier)
    raise ValueError(f"unknown day-trading policy {name!r}; expected one of "
                     f"{', '.join(DAY_TRADING_POLICIES)}")


@attrs.frozen
class DayTradingGate(RuleGate):
    """Refuse what the configured day-trading policy does not allow."""

    policy: DayTradingPolicy
    rule: str = "day_trading"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        why = self.policy.allows(intent, ctx)
        return None if why is None else f"{self.policy.name}: {why}"


@attrs.frozen
class SessionRules(RuleGate):
    """Order types by session: pre- and after-hours (and overnight) take only limit, DAY,
    extended-hours orders, never stops (so no bracket or trailing legs); the regular session
    takes market or limit orders that are not flagged extended-hours; nothing when closed."""

    rule: str = "session_rules"

    def breach(self, intent: OrderIntent, ctx: RiskContext) -> str | None:
        session = ctx.session
        if session is Session.REGULAR:
            return "an extended-hours order in the regular session" if intent.extended_hours \
                else None
        if session is Session.CLOSED:
            return f"the market is closed; not sending {intent.symbol}"
        if intent.order_type is not OrderType.LIMIT:
            return (f"{session.value} session takes limit orders only, not "
                    f"{intent.order_type.value}")
        if intent.time_in_force is not TimeInForce.DAY or not intent.extended_hours:
            return f"{session.value} session takes DAY extended-hours orders only"
        return None


OrderStyle = Literal["market", "marketable_limit"]


@attrs.frozen
class OrderTypes:
    """How an intent's order type follows the session: in the regular session a market order
    or a marketable limit (the last price moved `limit_offset_bps` toward the other side);
    outside it always a limit, DAY, extended-hours, at the same offset."""

    style: OrderStyle = "market"
    limit_offset_bps: Decimal = Decimal(10)

    def budget_price(self, price: Decimal, session: Session) -> Decimal:
        """The price a buy is budgeted at: its limit when it will be a limit order."""
        if session is Session.REGULAR and self.style == "market":
            return price
        move = price * self.limit_offset_bps / _BPS
        return (price + move).quantize(_CENT, rounding=ROUND_CEILING)

    def intent(self, symbol: Symbol, side: Side, qty: Decimal, price: Decimal,
               session: Session) -> OrderIntent:
        """The intent to trade qty (unsigned) of symbol at the last price in this session."""
        if session is Session.REGULAR and self.style == "market":
            return OrderIntent(symbol, side, Quantity(qty), reference_price=Price(price))
        move = price * self.limit_offset_bps / _BPS
        limit = price + move if side is Side.BUY else price - move
        # round toward the far side of the market (a buy's limit up, a sell's down) to a cent
        limit = limit.quantize(_CENT, rounding=ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)
        return OrderIntent(symbol, side, Quantity(qty), order_type=OrderType.LIMIT,
                           limit_price=Price(max(limit, _CENT)),
                           extended_hours=session.extended, reference_price=Price(price))
