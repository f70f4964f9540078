"""Exchange calendars behind the Calendar port: XNYS (pandas-market-calendars) and 24/7."""

from aitrader.adapters.calendars.continuous import ContinuousCalendar
from aitrader.adapters.calendars.exchange import XnysCalendar
from aitrader.ports.calendar import Calendar

KNOWN = ("XNYS", "24/7")
_ALIASES = {"XNYS": "XNYS", "NYSE": "XNYS", "24/7": "24/7", "24X7": "24/7", "ALWAYS": "24/7"}


def open_calendar(name: str) -> Calendar:
    """The calendar called name (XNYS or NYSE; 24/7); ValueError naming the known ones."""
    canonical = _ALIASES.get(name.strip().upper())
    if canonical is None:
        raise ValueError(f"unknown calendar {name!r}; known: {', '.join(KNOWN)}")
    if canonical == "24/7":
        return ContinuousCalendar()
    return XnysCalendar()


__all__ = ["KNOWN", "ContinuousCalendar", "XnysCalendar", "open_calendar"]
