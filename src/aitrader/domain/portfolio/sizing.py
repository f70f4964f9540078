"""Fixed-fraction sizing: a float exposure becomes a Decimal quantity that fits its budget."""

from __future__ import annotations

from decimal import Decimal

import attrs

from aitrader.domain.trading import CommissionModel, SlippageModel
from aitrader.domain.values import round_down

WHOLE = Decimal(1)
FRACTIONAL_STEP = Decimal("0.0001")
_ZERO = Decimal(0)
# |exposure| as the Decimal its repr spells; strategies emit a handful of distinct exposures.
_WEIGHTS: dict[float, Decimal] = {}


@attrs.frozen
class Sizing:
    """The target quantity and the arithmetic that produced it (journaled as strings)."""

    quantity: Decimal
    budget: Decimal
    unit_cost: Decimal
    commission: Decimal
    capped: bool = False

    def explain(self) -> dict[str, str]:
        shown = {"budget": str(self.budget), "unit_cost": str(self.unit_cost),
                 "commission": str(self.commission), "quantity": str(self.quantity)}
        if self.capped:
            shown["capped_by"] = "buying_power"
        return shown


@attrs.frozen
class FixedFraction:
    """Invest `fraction` of equity, split equally over `slots` symbols, scaled by |exposure|."""

    fraction: Decimal
    slots: int
    commission: CommissionModel
    slippage: SlippageModel
    step: Decimal = WHOLE
    max_position_fraction: Decimal | None = None

    def __attrs_post_init__(self) -> None:
        if not Decimal(0) < self.fraction:
            raise ValueError(f"fraction must be positive, was {self.fraction}")
        if self.slots < 1:
            raise ValueError("sizing needs at least one symbol")

    def size(self, exposure: float, equity: Decimal, price: Decimal,
             cap: Decimal | None = None, share: Decimal | None = None) -> Sizing:
        """Unsigned quantity for |exposure| of the symbol's budget at price, with commission;
        the budget is held to `cap` (the buying power it may use) when one is given. The
        symbol's budget is `share` of the invested fraction (an allocator's weight), or an
        equal split over the slots without one."""
        weight = _WEIGHTS.get(abs(exposure)) if type(exposure) is float else None
        if weight is None:
            weight = Decimal(repr(abs(exposure)))
            if type(exposure) is float and weight.is_finite() and len(_WEIGHTS) < 1024:
                _WEIGHTS[abs(exposure)] = weight
        if share is None:
            budget = max(_ZERO, equity * self.fraction * weight / self.slots)
        else:
            budget = max(_ZERO, equity * self.fraction * weight * share)
        if self.max_position_fraction is not None:  # the risk cap bounds the size, not just vets it
            budget = min(budget, max(_ZERO, equity) * self.max_position_fraction)
        capped = cap is not None and cap < budget
        if cap is not None:
            budget = min(budget, cap)
        unit = self.slippage.worst_price(price)
        if budget == 0:
            return Sizing(_ZERO, budget, unit, _ZERO, capped)
        per_unit = unit * (1 + self.commission.percent / 100) + self.commission.per_share
        qty = round_down(max(_ZERO, budget - self.commission.per_order) / per_unit, self.step)
        while qty > 0 and qty * unit + self.commission.upper_bound(qty, unit) > budget:
            qty -= self.step
        fee = self.commission.commission(qty, unit)
        return Sizing(max(qty, _ZERO), budget, unit, fee, capped)
