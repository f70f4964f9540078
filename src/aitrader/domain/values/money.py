"""Price, Quantity and Money: Decimal value objects with their invariants."""

from __future__ import annotations

from decimal import Decimal

import attrs

from aitrader.domain.values.numbers import exact_decimal


@attrs.frozen(order=True)
class Price:
    """A strictly positive price per unit."""

    value: Decimal = attrs.field(converter=exact_decimal)

    @value.validator
    def _positive(self, _attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if value <= 0:
            raise ValueError(f"price must be positive, was {value}")

    def __str__(self) -> str:
        return str(self.value)


@attrs.frozen(order=True)
class Quantity:
    """An unsigned amount of units (shares); direction lives in Side."""

    value: Decimal = attrs.field(converter=exact_decimal)

    @value.validator
    def _non_negative(self, _attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if value < 0:
            raise ValueError(f"quantity must not be negative, was {value}")

    @classmethod
    def zero(cls) -> Quantity:
        return cls(Decimal(0))

    def is_zero(self) -> bool:
        return self.value == 0

    def __str__(self) -> str:
        return str(self.value)


@attrs.frozen(order=True)
class Money:
    """A signed amount of US dollars."""

    amount: Decimal = attrs.field(converter=exact_decimal)

    @classmethod
    def zero(cls) -> Money:
        return cls(Decimal(0))

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - other.amount)

    def __neg__(self) -> Money:
        return Money(-self.amount)

    def __str__(self) -> str:
        return str(self.amount)
