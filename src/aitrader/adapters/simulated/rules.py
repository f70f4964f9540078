"""Admission rules of the simulated venue, as pure functions of the order and the book."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from aitrader.domain.market import Bar
from aitrader.domain.trading import Order, OrderIntent, OrderType
from aitrader.domain.values import Side

_ZERO = Decimal(0)
# enum members as module names: Python 3.11 reads a member off its class through EnumType's
# __getattr__ hook (~130 ns, against ~15 ns), and every submit runs these rules
_BUY = Side.BUY
_STOPS = frozenset({OrderType.STOP, OrderType.TRAILING_STOP})


def exposure_increase(
    side: Side, qty: Decimal, held: Decimal, others: Iterable[Order]
) -> Decimal:
    """Shares of qty that open or grow a position in a symbol holding `held` (signed), after the
    other open orders in it have used their share of the room to reduce it."""
    buys = sells = _ZERO
    for other in others:
        if other.side is _BUY:
            buys += other.leaves_qty
        else:
            sells += other.leaves_qty
    room = -held - buys if side is _BUY else held - sells
    return max(_ZERO, qty - max(_ZERO, room))


def reference_price(intent: OrderIntent, bar: Bar) -> Decimal:
    """The price a budget assumes: the limit, else the last close (a buy stop: at least the
    stop, since it cannot fill below it)."""
    if intent.limit_price is not None:
        return intent.limit_price.value
    close = bar.close.value
    if intent.order_type in _STOPS and intent.side is _BUY:
        assert intent.stop_price is not None
        return max(close, intent.stop_price.value)
    return close


class Exposure:
    """Net and gross value of the positions at the last observed closes, kept incrementally so a
    buying-power check does not walk every position."""

    def __init__(self) -> None:
        self.net = _ZERO
        self.gross = _ZERO

    def remarked(self, qty: Decimal, old_mark: Decimal, new_mark: Decimal) -> None:
        """A position of qty (signed) moved from old_mark to new_mark."""
        change = new_mark - old_mark
        self.net += qty * change
        self.gross += abs(qty) * change

    def traded(self, before: Decimal, after: Decimal, mark: Decimal) -> None:
        """A position went from before to after (signed quantities) while marked at mark."""
        self.net += (after - before) * mark
        self.gross += (abs(after) - abs(before)) * mark
