"""Symbol and Side."""

from __future__ import annotations

import enum
import re

import attrs

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,14}$")


@attrs.frozen(order=True, cache_hash=True)
class Symbol:
    """A ticker as the exchange spells it (upper case, e.g. AAPL, BRK.B)."""

    value: str = attrs.field()

    @value.validator
    def _valid(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not _SYMBOL.match(value):
            raise ValueError(f"not a valid symbol: {value!r}")

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Normalise user input (strip, upper-case) into a Symbol."""
        return cls(text.strip().upper())

    def __str__(self) -> str:
        return self.value


class Side(enum.Enum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    sign: int  # +1 for BUY, -1 for SELL

    # Members are singletons compared by identity, so identity hashing is exact (and C code).
    __hash__ = object.__hash__

    def __init__(self, value: str) -> None:
        # sign is a plain attribute of each member, not a property: a property read measured
        # ~250 ns against ~20 ns, and every fill, position and order step reads it.
        self.sign = 1 if value == "buy" else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY
