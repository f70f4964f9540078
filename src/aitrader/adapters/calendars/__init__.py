"""Exchange calendars behind the Calendar port: XNYS (pandas-market-calendars) and 24/7."""

from aitrader.adapters.calendars.continuous import ContinuousCalendar
from aitrader.adapters.calendars.exchange import XnysCalendar, open_calendar

__all__ = ["ContinuousCalendar", "XnysCalendar", "open_calendar"]
