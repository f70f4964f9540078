"""Error values returned by ports; vendor exceptions never cross a port."""

from __future__ import annotations

import attrs


@attrs.frozen
class PortError:
    """An infrastructure or business failure reported by an adapter, with a stable code."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@attrs.frozen
class MarketDataError(PortError):
    """Data could not be served: missing, malformed (code 'invalid_data') or unreachable."""


@attrs.frozen
class BrokerError(PortError):
    """The broker refused or failed: insufficient_buying_power, shorting_not_allowed, ..."""


@attrs.frozen
class JournalError(PortError):
    """The journal could not read or write (unreachable, not migrated, unknown run)."""
