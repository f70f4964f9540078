"""Account: cash and positions, booked from fills."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from aitrader.domain.trading.fills import Fill
from aitrader.domain.trading.position import Position
from aitrader.domain.values import Symbol


@attrs.frozen
class Account:
    """Cash plus positions; equity needs marks because the domain does not know prices."""

    cash: Decimal
    positions: Mapping[Symbol, Position] = attrs.field(factory=dict)

    def position(self, symbol: Symbol) -> Position:
        return self.positions.get(symbol) or Position(symbol)

    def apply(self, fill: Fill) -> Account:
        """Book a fill into cash and its position."""
        symbol = fill.symbol
        positions = dict(self.positions)
        positions[symbol] = (positions.get(symbol) or Position(symbol)).apply(fill)
        return Account(self.cash + fill.cash_change, positions)

    def equity(self, marks: Mapping[Symbol, Decimal]) -> Decimal:
        """Cash plus every position marked at marks[symbol]."""
        total = self.cash
        for symbol, position in self.positions.items():
            if position.signed_qty:
                total += position.market_value(marks[symbol])
        return total

    def gross_exposure(self, marks: Mapping[Symbol, Decimal]) -> Decimal:
        return sum(
            (abs(p.market_value(marks[s])) for s, p in self.positions.items() if p.signed_qty),
            Decimal(0),
        )
