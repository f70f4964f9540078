"""Bar timeframes: one vocabulary for every source."""

from __future__ import annotations

import enum
from datetime import timedelta


class Timeframe(enum.Enum):
    """The length of a bar; daily bars span one regular session."""

    MINUTE_1 = "1m"
    MINUTE_5 = "5m"
    MINUTE_15 = "15m"
    HOUR_1 = "1h"
    DAY_1 = "1D"

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse '1m', '5m', '15m', '1h' or '1D' (also '1d')."""
        for member in cls:
            if member.value == text or (member is cls.DAY_1 and text in ("1d", "D", "day")):
                return member
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown timeframe {text!r} (choose from {choices})")

    @property
    def length(self) -> timedelta:
        """Nominal length; a daily bar's real span is its regular session
        (09:30-16:00 ET, to 13:00 on an early close)."""
        return _LENGTHS[self]

    @property
    def is_intraday(self) -> bool:
        return self is not Timeframe.DAY_1

    @property
    def periods_per_year(self) -> float:
        """Regular-session bars in a trading year (252 days of 6.5 hours)."""
        if self is Timeframe.DAY_1:
            return 252.0
        return 252.0 * 390.0 * 60.0 / self.length.total_seconds()


_LENGTHS = {
    Timeframe.MINUTE_1: timedelta(minutes=1),
    Timeframe.MINUTE_5: timedelta(minutes=5),
    Timeframe.MINUTE_15: timedelta(minutes=15),
    Timeframe.HOUR_1: timedelta(hours=1),
    Timeframe.DAY_1: timedelta(days=1),
}
