"""Position: a signed quantity with its cost basis and realized P&L, changed only by fills."""

from __future__ import annotations

from decimal import Decimal

import attrs

from aitrader.domain.slotted import slot_init
from aitrader.domain.trading.fills import Fill
from aitrader.domain.values import Symbol

_ZERO = Decimal(0)
_COST_STEP = Decimal("1e-10")


@slot_init
@attrs.frozen
class Position:
    """Signed quantity (negative is short); cost_basis is signed_qty times the average entry."""

    symbol: Symbol
    signed_qty: Decimal = _ZERO
    cost_basis: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    commission: Decimal = _ZERO

    @property
    def is_flat(self) -> bool:
        return self.signed_qty == 0

    @property
    def avg_px(self) -> Decimal:
        """Average entry price; zero when flat."""
        return _ZERO if self.signed_qty == 0 else self.cost_basis / self.signed_qty

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.signed_qty * mark - self.cost_basis

    def market_value(self, mark: Decimal) -> Decimal:
        return self.signed_qty * mark

    def apply(self, fill: Fill) -> Position:
        """Book a fill: extend, reduce, close or flip through flat; realize P&L on what closed."""
        symbol = self.symbol
        if fill.symbol is not symbol and fill.symbol != symbol:
            raise ValueError(f"fill for {fill.symbol} applied to position in {symbol}")
        qty, px = fill.last_qty.value * fill.side.sign, fill.last_px.value  # fill.signed_qty
        held = self.signed_qty
        commission = self.commission + fill.commission.amount
        if held == 0 or (held > 0) == (qty > 0):
            return Position(symbol, held + qty, self.cost_basis + qty * px, self.realized_pnl,
                            commission)
        closed = min(abs(qty), abs(held))
        # A partial close takes its share of the cost basis, rounded to a fixed 1e-10 so every
        # later sum stays exact: realized + remaining cost always equals the cost it came from.
        closed_cost = (
            self.cost_basis if closed == abs(held)
            else (self.cost_basis * closed / abs(held)).quantize(_COST_STEP)
        )
        direction = 1 if held > 0 else -1
        realized = direction * closed * px - closed_cost
        remaining = held + qty
        if remaining == 0 or (remaining > 0) == (held > 0):
            new_cost = self.cost_basis - closed_cost
        else:
            new_cost = remaining * px
        return Position(symbol, remaining, new_cost, self.realized_pnl + realized, commission)
