"""Column names of bar files: aliases matched case-insensitively, anything else refused."""

from __future__ import annotations

import re
from collections.abc import Sequence

REQUIRED = ("timestamp", "open", "high", "low", "close", "volume")
"""Columns every bar file must have (under one of their aliases)."""

_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date", "time", "ts"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
    "symbol": ("symbol", "ticker"),
}
_IGNORED = ("adj close", "vwap", "trade_count", "dividends", "stock splits")
# pandas writes a non-default index into Parquet under this name.
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def _key(name: str) -> str:
    """Fold case, spaces, underscores and hyphens: 'Adj Close' == 'adj_close' == 'adjclose'."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


_BY_KEY = {_key(alias): canonical for canonical, names in _ALIASES.items() for alias in names}
_IGNORED_KEYS = frozenset(_key(name) for name in _IGNORED)

ACCEPTED = "accepted: " + ", ".join("|".join(names) for names in _ALIASES.values()) + (
    "; ignored: " + ", ".join(_IGNORED)
)
"""One line listing the accepted column names, for error messages."""


class ColumnsError(Exception):
    """The header of a bar file is unusable; the message is one line without the file name."""


def resolve_columns(names: Sequence[str]) -> dict[str, int]:
    """Map each canonical column present ('timestamp', ..., 'symbol') to its position."""
    found: dict[str, int] = {}
    unknown: list[str] = []
    for position, name in enumerate(names):
        canonical = _BY_KEY.get(_key(name))
        if canonical is None:
            if _key(name) not in _IGNORED_KEYS and not _PANDAS_INDEX.match(name):
                unknown.append(name)
            continue
        if canonical in found:
            first = names[found[canonical]]
            raise ColumnsError(f"columns {first!r} and {name!r} both mean {canonical}")
        found[canonical] = position
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ColumnsError(f"unknown columns {listed}; {ACCEPTED}")
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise ColumnsError(f"missing required columns {listed}; {ACCEPTED}")
    return found
