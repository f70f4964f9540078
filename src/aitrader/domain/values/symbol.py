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

    # Members are singletons compared by identity, so identity hashing is exact (and C code).
    __hash__ = object.__hash__

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY
