"""Exact decimals: the only way money and quantities enter the domain."""

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")


def exact_decimal(value: Decimal | int | str) -> Decimal:
    """Convert to a finite Decimal; refuse floats, which cannot carry money exactly."""
    if type(value) is Decimal and value.is_finite():  # the common case, checked first
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, float):
        raise TypeError(f"build exact values from str, int or Decimal, not float ({value!r})")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except ArithmeticError:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"cannot make a Decimal from {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"number must be finite, was {value!r}")
    return result


# Prices repeat (a few thousand distinct cents over a million bars) and repr + parse is most
# of a conversion, so positive floats are remembered; -0.0 == 0.0 is why only positives are.
_FROM_FLOAT: dict[float, Decimal] = {}
_FROM_FLOAT_SIZE = 1 << 16


def decimal_from_float(value: float) -> Decimal:
    """Convert a float mark (a price read from a float column) to the Decimal it was written as."""
    if type(value) is float and value > 0:
        known = _FROM_FLOAT.get(value)
        if known is not None:
            return known
    if not math.isfinite(value):
        raise ValueError(f"number must be finite, was {value!r}")
    result = Decimal(repr(value))
    if type(value) is float and value > 0:
        if len(_FROM_FLOAT) >= _FROM_FLOAT_SIZE:
            _FROM_FLOAT.clear()
        _FROM_FLOAT[value] = result
    return result


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """Round toward zero to a multiple of step, so a budget is never exceeded."""
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def to_cents(value: Decimal) -> Decimal:
    """Round a cash amount to cents, half to even."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)
