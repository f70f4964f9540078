"""Decimal value objects: the vocabulary of money and quantities."""

from aitrader.domain.values.money import Money, Price, Quantity
from aitrader.domain.values.numbers import (
    CENT,
    PRICE_TICK,
    decimal_from_float,
    exact_decimal,
    round_down,
    to_cents,
)
from aitrader.domain.values.symbol import Side, Symbol

__all__ = [
    "CENT",
    "PRICE_TICK",
    "Money",
    "Price",
    "Quantity",
    "Side",
    "Symbol",
    "decimal_from_float",
    "exact_decimal",
    "round_down",
    "to_cents",
]
