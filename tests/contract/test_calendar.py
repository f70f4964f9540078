"""The Calendar port's contract over XNYS and 24/7, and XNYS against known NYSE days.

Known days: holidays (Thanksgiving, July 4th, Good Friday), early closes (the day after
Thanksgiving, July 3rd), both DST changes, the Sunday-night overnight session, and a day after a
holiday (no overnight session leads into it).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.adapters.calendars import ContinuousCalendar, XnysCalendar, open_calendar
from aitrader.domain.market import Session
from aitrader.ports.calendar import Calendar

XNYS = XnysCalendar()
CALENDARS: list[Calendar] = [XNYS, ContinuousCalendar()]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.name)
@settings(max_examples=60, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2027, 12, 31),
                           timezones=st.just(UTC)))
def test_session_at_agrees_with_the_windows_around_the_moment(calendar: Calendar,
                                                              moment: datetime) -> None:
    windows = calendar.windows(moment - timedelta(days=4), moment + timedelta(days=4))
    inside = [w.session for w in windows if w.contains(moment)]

    assert len(inside) <= 1
    assert calendar.session_at(moment) == (inside[0] if inside else Session.CLOSED)


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.name)
def test_windows_are_ordered_and_disjoint(calendar: Calendar) -> None:
    windows = calendar.windows(utc(2024, 1, 1), utc(2024, 12, 31))

    assert windows
    assert all(a.end <= b.start for a, b in itertools.pairwise(windows))


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.name)
def test_every_trading_day_has_a_regular_session(calendar: Calendar) -> None:
    days = calendar.trading_days(date(2024, 1, 1), date(2024, 1, 31))

    assert days == tuple(sorted(days))
    for day in days:
        assert Session.REGULAR in [w.session for w in calendar.sessions_on(day)]


def test_nyse_2024_has_252_trading_days_and_no_holiday_sessions() -> None:
    days = XNYS.trading_days(date(2024, 1, 1), date(2024, 12, 31))

    assert len(days) == 252
    for holiday in (date(2024, 3, 29), date(2024, 7, 4), date(2024, 11, 28), date(2024, 12, 25)):
        assert holiday not in days
        assert XNYS.sessions_on(holiday) == ()
        assert XNYS.session_at(utc(holiday.year, holiday.month, holiday.day, 15)) \
            == Session.CLOSED


def test_a_regular_day_in_winter_runs_4_to_20_eastern() -> None:
    sessions = {w.session: (w.start, w.end) for w in XNYS.sessions_on(date(2024, 1, 9))}

    assert sessions == {
        Session.OVERNIGHT: (utc(2024, 1, 9, 1), utc(2024, 1, 9, 9)),
        Session.PRE: (utc(2024, 1, 9, 9), utc(2024, 1, 9, 14, 30)),
        Session.REGULAR: (utc(2024, 1, 9, 14, 30), utc(2024, 1, 9, 21)),
        Session.POST: (utc(2024, 1, 9, 21), utc(2024, 1, 10, 1)),
    }


def test_the_day_after_thanksgiving_closes_early_and_after_hours_end_at_17() -> None:
    sessions = {w.session: (w.start, w.end) for w in XNYS.sessions_on(date(2024, 11, 29))}

    assert Session.OVERNIGHT not in sessions  # Thanksgiving evening leads into no session
    assert sessions[Session.REGULAR] == (utc(2024, 11, 29, 14, 30), utc(2024, 11, 29, 18))
    assert sessions[Session.POST] == (utc(2024, 11, 29, 18), utc(2024, 11, 29, 22))
    assert XNYS.session_at(utc(2024, 11, 29, 22, 30)) == Session.CLOSED


def test_july_3rd_closes_at_13_eastern() -> None:
    regular = [w for w in XNYS.sessions_on(date(2025, 7, 3)) if w.session is Session.REGULAR]

    assert [(w.start, w.end) for w in regular] == [(utc(2025, 7, 3, 13, 30), utc(2025, 7, 3, 17))]


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.name)
@pytest.mark.parametrize(("day", "close"), [
    (date(2026, 11, 27), utc(2026, 11, 27, 18)),  # the day after Thanksgiving: 13:00 EST
    (date(2025, 12, 24), utc(2025, 12, 24, 18)),  # Christmas Eve
    (date(2025, 7, 3), utc(2025, 7, 3, 17)),      # July 3rd: 13:00 EDT
    (date(2025, 7, 2), utc(2025, 7, 2, 20)),      # an ordinary day: 16:00 EDT
    (date(2025, 12, 25), utc(2025, 12, 25, 21)),  # a holiday: the nominal 16:00 (gated out)
    (date(2025, 12, 27), utc(2025, 12, 27, 21)),  # a Saturday, likewise
])
def test_a_daily_bar_closes_with_the_regular_session_on_every_calendar(
        calendar: Calendar, day: date, close: datetime) -> None:
    span = calendar.daily_session(day)

    assert span.session is Session.REGULAR
    assert span.end == close
    assert span.start == close.replace(hour=14 if close.hour in (18, 21) else 13, minute=30)
    regular = [w for w in XNYS.sessions_on(day) if w.session is Session.REGULAR]
    assert regular in ([], [span])


@pytest.mark.parametrize(("day", "missing"), [
    (date(2001, 9, 17), Session.PRE),    # reopening after 9/11 at 09:33, no pre-market
    (date(2002, 9, 11), Session.PRE),    # opened at noon
    (date(1990, 12, 24), Session.POST),  # closed at 14:00, no after-hours then
])
def test_a_day_the_schedule_gives_no_pre_or_post_session_has_none(
        day: date, missing: Session) -> None:
    sessions = [w.session for w in XNYS.sessions_on(day)]  # it was a ValueError

    assert Session.REGULAR in sessions
    assert missing not in sessions
    assert XNYS.trading_days(day, day) == (day,)


def test_years_pandas_cannot_lay_out_have_no_sessions_instead_of_an_overflow() -> None:
    calendar = XnysCalendar()  # 2262 ends pandas' nanosecond range: its schedule overflowed

    assert calendar.trading_days(date(2262, 1, 1), date(2262, 4, 10)) == ()
    assert calendar.sessions_on(date(2262, 4, 9)) == ()
    assert calendar.daily_session(date(2262, 4, 9)).end == utc(2262, 4, 9, 20)  # nominal 16:00
    assert calendar.trading_days(date(2261, 12, 1), date(2262, 1, 31)) == ()


def test_a_schedule_reaching_the_end_of_pandas_range_keeps_the_early_closes_of_other_years(
        ) -> None:
    # pandas-market-calendars loses every early close of a span that reaches 2261 (its
    # special closes cannot be laid out there), and the calendar keeps what it loaded
    calendar = XnysCalendar()
    calendar.trading_days(date(2024, 1, 1), date(2262, 1, 31))
    assert calendar.daily_session(date(2024, 11, 29)).end == utc(2024, 11, 29, 18)  # 13:00


def test_dst_moves_the_utc_open_by_an_hour_on_both_changes() -> None:
    def open_of(day: date) -> datetime:
        return next(w.start for w in XNYS.sessions_on(day) if w.session is Session.REGULAR)

    assert open_of(date(2024, 3, 8)) == utc(2024, 3, 8, 14, 30)   # EST
    assert open_of(date(2024, 3, 11)) == utc(2024, 3, 11, 13, 30)  # EDT from Sunday 10th
    assert open_of(date(2024, 11, 1)) == utc(2024, 11, 1, 13, 30)  # EDT
    assert open_of(date(2024, 11, 4)) == utc(2024, 11, 4, 14, 30)  # EST from Sunday 3rd


def test_sunday_night_is_overnight_and_saturday_is_closed() -> None:
    assert XNYS.session_at(utc(2024, 3, 11, 1)) == Session.OVERNIGHT  # Sunday 21:00 EDT
    assert XNYS.session_at(utc(2024, 3, 9, 15)) == Session.CLOSED     # Saturday
    assert XNYS.session_at(utc(2024, 3, 9, 2)) == Session.CLOSED      # Friday 21:00 EST


@pytest.mark.parametrize(("moment", "session"), [
    (utc(2024, 1, 9, 8, 59), Session.OVERNIGHT), (utc(2024, 1, 9, 9), Session.PRE),
    (utc(2024, 1, 9, 14, 29), Session.PRE), (utc(2024, 1, 9, 14, 30), Session.REGULAR),
    (utc(2024, 1, 9, 20, 59), Session.REGULAR), (utc(2024, 1, 9, 21), Session.POST),
    (utc(2024, 1, 10, 0, 59), Session.POST), (utc(2024, 1, 10, 1), Session.OVERNIGHT),
])
def test_session_boundaries_are_half_open(moment: datetime, session: Session) -> None:
    assert XNYS.session_at(moment) == session


def test_continuous_calendar_never_closes() -> None:
    calendar = ContinuousCalendar()

    assert calendar.session_at(utc(2024, 12, 25, 3)) == Session.REGULAR
    assert len(calendar.trading_days(date(2024, 1, 1), date(2024, 12, 31))) == 366


@pytest.mark.parametrize(("name", "kind"), [("XNYS", XnysCalendar), ("nyse", XnysCalendar),
                                            ("24/7", ContinuousCalendar)])
def test_open_calendar_accepts_names_and_aliases(name: str, kind: type) -> None:
    assert isinstance(open_calendar(name), kind)


def test_open_calendar_names_the_known_calendars_for_an_unknown_one() -> None:
    with pytest.raises(ValueError, match=r"unknown calendar 'LSE'; known: XNYS, 24/7"):
        open_calendar("LSE")


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware UTC"):
        XNYS.session_at(datetime(2024, 1, 9, 15))
