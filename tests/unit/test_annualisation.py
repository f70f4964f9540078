"""periods_per_year: the bars a year of the run's data holds, from the data and the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aitrader.domain.metrics import periods_per_year

NS = 1_000_000_000


def closes(first: datetime, count: int, step: timedelta, days: list[datetime]) -> np.ndarray:
    """`count` bar closes `step` apart from `first`'s time of day, on each of `days`."""
    out = []
    for day in days:
        start = day.replace(hour=first.hour, minute=first.minute)
        out += [int((start + step * (n + 1)).timestamp()) * NS for n in range(count)]
    return np.array(out, dtype=np.int64)


WINTER = [datetime(2024, 1, d, tzinfo=UTC) for d in (8, 9, 10, 11, 12)]  # EST: UTC-5
SUMMER = [datetime(2024, 7, d, tzinfo=UTC) for d in (8, 9, 10, 11, 12)]  # EDT: UTC-4


@pytest.mark.parametrize(("days", "open_utc"), [(WINTER, 14), (SUMMER, 13)])
def test_regular_minute_bars_hold_390_a_day(days: list[datetime], open_utc: int) -> None:
    stamps = closes(datetime(2024, 1, 1, open_utc, 30, tzinfo=UTC), 390, timedelta(minutes=1),
                    days)
    assert periods_per_year(stamps, intraday=True, every_day=False) == 252 * 390


@pytest.mark.parametrize(("days", "pre_utc"), [(WINTER, 9), (SUMMER, 8)])
def test_extended_hours_minute_bars_hold_960_a_day(days: list[datetime], pre_utc: int) -> None:
    # 04:00 to 20:00 New York: the after-hours closes fall after UTC midnight in winter
    stamps = closes(datetime(2024, 1, 1, pre_utc, 0, tzinfo=UTC), 960, timedelta(minutes=1),
                    days)
    assert periods_per_year(stamps, intraday=True, every_day=False) == 252 * 960


def test_hourly_bars_on_an_exchange_come_seven_a_session() -> None:
    # 10:30, 11:30, ..., 15:30 and the half-hour bar closing at 16:00 (EST: UTC-5)
    stamps = np.array([int(datetime(2024, 1, d, h, 30, tzinfo=UTC).timestamp()) * NS
                       for d in (8, 9, 10) for h in range(15, 21)]
                      + [int(datetime(2024, 1, d, 21, 0, tzinfo=UTC).timestamp()) * NS
                         for d in (8, 9, 10)], dtype=np.int64)
    assert periods_per_year(stamps, intraday=True, every_day=False) == 252 * 7


def test_daily_bars_are_a_trading_year_on_an_exchange_and_a_calendar_year_every_day() -> None:
    stamps = np.array([int(datetime(2024, 3, d, 21, 0, tzinfo=UTC).timestamp()) * NS
                       for d in range(1, 15)], dtype=np.int64)  # 14 consecutive days
    assert periods_per_year(stamps, intraday=False, every_day=False) == 252
    assert periods_per_year(stamps, intraday=False, every_day=True) == 365.25
    weekdays = stamps[[d.weekday() < 5 for d in (datetime(2024, 3, n) for n in range(1, 15))]]
    # on 24/7, data that trades 10 of 14 days is 10/14 of a calendar year
    assert periods_per_year(weekdays, intraday=False, every_day=True) == pytest.approx(
        365.25 * 10 / 14)


def test_round_the_clock_minute_bars_hold_1440_a_day() -> None:
    stamps = closes(datetime(2024, 1, 1, 0, 0, tzinfo=UTC), 1440, timedelta(minutes=1),
                    [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3, 4)])
    assert periods_per_year(stamps, intraday=True, every_day=True) == 365.25 * 1440


def test_symbols_closing_together_count_once_and_no_bars_count_a_trading_year() -> None:
    one = closes(datetime(2024, 1, 1, 14, 30, tzinfo=UTC), 390, timedelta(minutes=1), WINTER)
    assert periods_per_year(np.concatenate([one, one]), intraday=True,
                            every_day=False) == 252 * 390
    assert periods_per_year(np.array([], dtype=np.int64), intraday=True,
                            every_day=False) == 252
