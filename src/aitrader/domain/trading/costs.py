"""Commission and slippage models: what a fill costs beyond its price."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from aitrader.domain.values import PRICE_TICK, Side, exact_decimal, to_cents

_ZERO = Decimal(0)
_ONE = Decimal(1)
_BPS = Decimal(10_000)
_PERCENT = Decimal(100)
_BUY = Side.BUY  # Python 3.11 reads enum members through a __getattr__ hook: ~130 ns a read


def _non_negative(_instance: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, was {value}")


@attrs.frozen
class CommissionModel:
    """Per share + per order + percent of notional (0.2 means 0.2 %), combinable; in cents."""

    per_share: Decimal = attrs.field(default=_ZERO, converter=exact_decimal,
                                     validator=_non_negative)
    per_order: Decimal = attrs.field(default=_ZERO, converter=exact_decimal,
                                     validator=_non_negative)
    percent: Decimal = attrs.field(default=_ZERO, converter=exact_decimal,
                                   validator=_non_negative)

    def commission(self, qty: Decimal, price: Decimal) -> Decimal:
        """Commission for one fill of qty at price, rounded to cents (zero for zero qty)."""
        if qty == 0:
            return _ZERO
        if not self.per_share and not self.percent:
            # A fee per order only: the terms below add zeros to it, which change no value, so
            # the cents are the same Decimal (~3.5 commissions an order, 4 operations less each).
            return to_cents(self.per_order)
        raw = self.per_share * qty + self.per_order + self.percent * qty * price / _PERCENT
        return to_cents(raw)

    def flat(self) -> Decimal | None:
        """The commission of every fill when it depends on neither size nor price (a fee per
        order only): commission(qty, price) for any qty other than zero. None otherwise."""
        return None if self.per_share or self.percent else self.commission(_ONE, _ONE)

    def upper_bound(self, qty: Decimal, price: Decimal) -> Decimal:
        """Commission a budget must leave room for: exact, since it is computed at the worst
        price the order is budgeted at and rises with price."""
        return self.commission(qty, price)


@attrs.frozen
class SlippageModel:
    """Fills move against the trader by `bps` basis points, rounded to the price tick against
    the trader too."""

    bps: Decimal = attrs.field(default=_ZERO, converter=exact_decimal, validator=_non_negative)

    @bps.validator
    def _below_whole(self, _attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if value >= _BPS:
            raise ValueError(f"slippage must be below 10000 bps, was {value}")

    def fill_price(self, side: Side, price: Decimal) -> Decimal:
        """The price a market or stop order of side gets when the market is at price."""
        if self.bps == 0:
            return price
        moved = price * (1 + side.sign * self.bps / _BPS)
        rounding = ROUND_CEILING if side is _BUY else ROUND_FLOOR
        return moved.quantize(PRICE_TICK, rounding=rounding)

    def worst_price(self, price: Decimal) -> Decimal:
        """The dearest price a buy at price can fill at (for budgets)."""
        return self.fill_price(_BUY, price)
