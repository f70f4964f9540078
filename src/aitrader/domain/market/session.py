"""Trading sessions: which part of the exchange day a moment (or a bar) belongs to."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from aitrader.domain.market.bar import require_utc


class Session(enum.Enum):
    """The session a moment falls in. US equities: pre 04:00-09:30 ET, regular 09:30-16:00,
    post 16:00-20:00 (17:00 on early-close days), overnight 20:00-04:00 on trading nights,
    closed otherwise (weekends, holidays). A continuous (24/7) market is always REGULAR."""

    PRE = "PRE"
    REGULAR = "REGULAR"
    POST = "POST"
    OVERNIGHT = "OVERNIGHT"
    CLOSED = "CLOSED"

    @property
    def extended(self) -> bool:
        """Pre-market, after-hours and overnight: limit, DAY, extended-hours orders only."""
        return self in (Session.PRE, Session.POST, Session.OVERNIGHT)


@attrs.frozen
class SessionWindow:
    """One session of one day, as a half-open UTC interval [start, end)."""

    session: Session
    start: datetime = attrs.field(validator=lambda _i, a, v: require_utc(v, a.name))
    end: datetime = attrs.field(validator=lambda _i, a, v: require_utc(v, a.name))

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"session window ends at {self.end}, not after its start {self.start}")

    def contains(self, moment: datetime) -> bool:
        """Whether moment falls inside [start, end)."""
        return self.start <= moment < self.end
