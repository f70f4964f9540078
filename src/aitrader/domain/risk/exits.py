"""Bracket-style exits attached to an entry: stop-loss, take-profit and an ATR trailing stop.

The legs of one position form a one-cancels-other group (the venue fills at most one); they
are GTC, reduce the position only, and are priced from the position's average entry price
(the trailing stop from the last close, `trail_atr` ATRs behind it).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from aitrader.domain.trading import OrderIntent, OrderType, TimeInForce
from aitrader.domain.values import Price, Quantity, Side, Symbol

_CENT = Decimal("0.01")


@attrs.frozen
class ExitPlan:
    """Which exits to attach: fractions of the entry price, and a multiple of the ATR."""

    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trail_atr: Decimal | None = None
    atr_period: int = 14

    @property
    def is_empty(self) -> bool:
        return self.stop_loss is None and self.take_profit is None and self.trail_atr is None

    def legs(self, symbol: Symbol, held: Decimal, entry_px: Decimal, last: Decimal,
             atr: float, group: str) -> list[tuple[str, OrderIntent]]:
        """(name, intent) of each exit for a position of `held` (signed) shares."""
        if held == 0:
            return []
        long = held > 0
        side = Side.SELL if long else Side.BUY
        qty = Quantity(abs(held))
        away, toward = (ROUND_FLOOR, ROUND_CEILING) if long else (ROUND_CEILING, ROUND_FLOOR)
        legs: list[tuple[str, OrderIntent]] = []
        if self.stop_loss is not None:
            level = entry_px * (1 - self.stop_loss if long else 1 + self.stop_loss)
            legs.append(("stop_loss", OrderIntent(
                symbol, side, qty, order_type=OrderType.STOP, time_in_force=TimeInForce.GTC,
                stop_price=Price(max(_CENT, level.quantize(_CENT, rounding=away))),
                reference_price=Price(last), oco_group=group)))
        if self.take_profit is not None:
            level = entry_px * (1 + self.take_profit if long else 1 - self.take_profit)
            legs.append(("take_profit", OrderIntent(
                symbol, side, qty, order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                limit_price=Price(max(_CENT, level.quantize(_CENT, rounding=toward))),
                reference_price=Price(last), oco_group=group)))
        if self.trail_atr is not None and math.isfinite(atr) and atr > 0:
            trail = (self.trail_atr * Decimal(repr(atr))).quantize(_CENT, rounding=ROUND_CEILING)
            trail = max(trail, _CENT)
            start = last - trail if long else last + trail
            legs.append(("trailing_stop", OrderIntent(
                symbol, side, qty, order_type=OrderType.TRAILING_STOP,
                time_in_force=TimeInForce.GTC, stop_price=Price(max(_CENT, start)),
                trail_amount=Price(trail), reference_price=Price(last), oco_group=group)))
        return legs
