"""What the user types, read at the edge: the two errors an entry point maps to exit codes
(2 bad input, 1 a failed run) and the moments (dates, ISO datetimes) the flags take.

Light on purpose: every command imports it, and none should pay for the trading stack here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")


class UserError(Exception):
    """Bad input from the user: one line, exit code 2."""


class RunFailedError(Exception):
    """The run started but could not finish: exit code 1."""


def parse_moment(text: str | None, *, is_end: bool, what: str) -> datetime | None:
    """A date (US-Eastern trading day; an end date is inclusive) or an ISO datetime, as UTC."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    try:
        return _moment(value, is_end=is_end, what=what)
    except OverflowError:  # the first or last days of the calendar, shifted by a zone
        raise UserError(f"{what}: {value!r} is out of range") from None


def _moment(value: str, *, is_end: bool, what: str) -> datetime:
    day = as_day(value)
    if day is not None:
        if is_end:
            day += timedelta(days=1)
        return datetime.combine(day, time(0), EASTERN).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{what}: {value!r} is not a date (YYYY-MM-DD) or ISO datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=EASTERN)
        back = moment.astimezone(UTC).astimezone(EASTERN).replace(tzinfo=None)
        if back != moment.replace(tzinfo=None) or moment.replace(fold=1).utcoffset() != \
                moment.utcoffset():
            raise UserError(f"{what}: {value!r} does not exist or is ambiguous in US-Eastern "
                            "time (a clock change); give it a UTC offset")
    return moment.astimezone(UTC)


def as_day(text: str) -> date | None:
    """The day an ISO date names (2010-01-04, 20100104, 2010-W01-1), or None for anything
    else (a datetime)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
