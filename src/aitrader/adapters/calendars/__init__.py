"""Exchange calendars behind the Calendar port: XNYS (pandas-market-calendars) and 24/7."""

from aitrader.adapters.calendars.continuous import ContinuousCalendar
from aitrader.adapters.calendars.exchange import XnysCalendar
from aitrader.ports.calendar import Calendar

KNOWN = ("XNYS", "24/7")
_ALIASES = {"XNYS": "XNYS", "NYSE": "XNYS", "24/7": "24/7", "24X7": "24/7", "ALWAYS": "24/7"}


def open_calendar(name: str, exchange: XnysCalendar | None = None) -> Calendar:
    """The calendar called name (XNYS or NYSE; 24/7); ValueError naming the known ones.
    With exchange, XNYS is that instance and 24/7 takes its daily sessions from it (a
    schedule is computed once for everyone who shares it)."""
    canonical = _ALIASES.get(name.strip().upper())
    if canonical is None:
        raise ValueError(f"unknown calendar {name!r}; known: {', '.join(KNOWN)}")
    if canonical == "24/7":
        return ContinuousCalendar(exchange)
    return exchange or XnysCalendar()


__all__ = ["KNOWN", "ContinuousCalendar", "XnysCalendar", "open_calendar"]
