"""The Clock port's contract, over SystemClock, SteppingClock and AcceleratedClock.

No test sleeps: SystemClock and AcceleratedClock get a fake sleep that only records what it was
asked to sleep. SystemClock reads the wall clock, so it is checked only where waiting does not
need time to pass.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.adapters.clocks import AcceleratedClock, SteppingClock, SystemClock
from aitrader.ports.clock import Clock

START = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


@attrs.define
class FakeSleep:
    """Records every delay it is asked to sleep, and sleeps for none of them."""

    delays: list[float] = attrs.field(factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@attrs.frozen
class Subject:
    """A clock under test and the fake sleep it was given (unused by SteppingClock)."""

    clock: Clock
    sleep: FakeSleep


def _system() -> Subject:
    sleep = FakeSleep()
    return Subject(SystemClock(sleep=sleep), sleep)


def _stepping() -> Subject:
    return Subject(SteppingClock(START), FakeSleep())


def _accelerated(speed: float) -> Callable[[], Subject]:
    def build() -> Subject:
        sleep = FakeSleep()
        return Subject(AcceleratedClock(speed, sleep=sleep, start=START), sleep)

    return build


CLOCKS: dict[str, Callable[[], Subject]] = {
    "system": _system,
    "stepping": _stepping,
    "accelerated_fastest": _accelerated(0),
    "accelerated_60x": _accelerated(60),
}
SIMULATED = [name for name in CLOCKS if name != "system"]


def is_aware_utc(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def later(clock: Clock, seconds: float) -> datetime:
    return clock.now() + timedelta(seconds=seconds)


@pytest.fixture(params=sorted(CLOCKS))
def subject(request: pytest.FixtureRequest) -> Subject:
    return CLOCKS[request.param]()


@pytest.fixture(params=SIMULATED)
def simulated(request: pytest.FixtureRequest) -> Subject:
    return CLOCKS[request.param]()


# -- every clock ------------------------------------------------------------------------------


def test_now_is_timezone_aware_utc(subject: Subject) -> None:
    assert is_aware_utc(subject.clock.now())


def test_waiting_for_a_moment_already_past_neither_sleeps_nor_moves_time_back(
    subject: Subject,
) -> None:
    before = subject.clock.now()
    subject.clock.wait_until(before - timedelta(hours=1))
    assert subject.sleep.delays == []
    assert subject.clock.now() >= before


def test_now_never_goes_backwards_whatever_moments_are_waited_for(subject: Subject) -> None:
    seen = [subject.clock.now()]
    for offset in (0.0, 5.0, -3.0, 60.0, 60.0, -3_600.0, 0.25):  # seconds from now
        subject.clock.wait_until(later(subject.clock, offset))
        seen.append(subject.clock.now())
    assert seen == sorted(seen)
    assert all(is_aware_utc(moment) for moment in seen)


def test_a_naive_moment_is_refused(subject: Subject) -> None:
    with pytest.raises((ValueError, TypeError)):
        subject.clock.wait_until(datetime(2024, 3, 4, 16, 0))


@pytest.mark.parametrize("zone", [NEW_YORK, timezone(timedelta(hours=5))], ids=["ny", "plus5"])
def test_a_moment_in_another_zone_is_refused_or_converted_and_now_stays_utc(
    request: pytest.FixtureRequest, subject: Subject, zone: timezone | ZoneInfo
) -> None:
    moment = later(subject.clock, 60).astimezone(zone)
    with contextlib.suppress(ValueError):  # refusing is fine; storing the zone is not
        subject.clock.wait_until(moment)
    assert is_aware_utc(subject.clock.now())


# -- simulated clocks -------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.integers(-86_400_000_000, 86_400_000_000), min_size=1, max_size=20))
def test_a_simulated_clock_is_at_or_after_every_moment_it_waited_for(steps: list[int]) -> None:
    for name in SIMULATED:
        subject = CLOCKS[name]()
        latest = subject.clock.now()
        for microseconds in steps:
            moment = START + timedelta(microseconds=microseconds)
            subject.clock.wait_until(moment)
            latest = max(latest, moment)
            assert subject.clock.now() >= moment, name
            assert subject.clock.now() == latest, name
            assert is_aware_utc(subject.clock.now()), name


def test_a_simulated_clock_waits_exactly_to_the_moment_not_beyond(simulated: Subject) -> None:
    moment = later(simulated.clock, 390 * 60)
    simulated.clock.wait_until(moment)
    assert simulated.clock.now() == moment


# -- SystemClock ------------------------------------------------------------------------------


def test_the_system_clock_sleeps_once_for_the_time_left_until_a_future_moment() -> None:
    sleep = FakeSleep()
    clock = SystemClock(sleep=sleep)
    before = clock.now()
    clock.wait_until(before + timedelta(hours=1))
    assert len(sleep.delays) == 1
    assert 3_500 < sleep.delays[0] <= 3_600


# -- SteppingClock ----------------------------------------------------------------------------


def test_a_stepping_clock_starts_at_the_unix_epoch_unless_told() -> None:
    assert SteppingClock().now() == datetime(1970, 1, 1, tzinfo=UTC)
    assert SteppingClock(START).now() == START


def test_a_stepping_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="UTC"):
        SteppingClock(datetime(2024, 3, 4, 9, 30))


# -- AcceleratedClock -------------------------------------------------------------------------


@pytest.mark.parametrize("speed", [0.5, 1.0, 60.0, 3_600.0])
def test_an_accelerated_clock_asks_to_sleep_the_gap_divided_by_its_speed(speed: float) -> None:
    sleep = FakeSleep()
    clock = AcceleratedClock(speed, sleep=sleep, start=START)
    gaps = [timedelta(minutes=1), timedelta(hours=6, minutes=30), timedelta(microseconds=1)]
    for gap in gaps:
        clock.wait_until(clock.now() + gap)
    assert sleep.delays == [gap.total_seconds() / speed for gap in gaps]
    assert clock.now() == START + sum(gaps, timedelta())


def test_an_accelerated_clock_at_speed_zero_never_sleeps() -> None:
    sleep = FakeSleep()
    clock = AcceleratedClock(0, sleep=sleep, start=START)
    for days in range(1, 30):
        clock.wait_until(START + timedelta(days=days))
    assert sleep.delays == []
    assert clock.now() == START + timedelta(days=29)


def test_an_unstarted_accelerated_clock_starts_at_the_first_moment_without_sleeping() -> None:
    sleep = FakeSleep()
    clock = AcceleratedClock(60, sleep=sleep)
    clock.wait_until(START)
    assert clock.now() == START
    assert sleep.delays == []
    clock.wait_until(START + timedelta(minutes=1))
    assert sleep.delays == [1.0]


@pytest.mark.parametrize("speed", [-1.0, -1e-9, -math.inf])
def test_an_accelerated_clock_refuses_a_negative_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        AcceleratedClock(speed, sleep=FakeSleep())


def test_an_accelerated_clock_refuses_a_speed_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="speed"):
        AcceleratedClock(math.nan, sleep=FakeSleep())


def test_an_accelerated_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="UTC"):
        AcceleratedClock(0, sleep=FakeSleep(), start=datetime(2024, 3, 4, 9, 30))


@attrs.define
class SystemLikeSleep:
    """Refuses a delay beyond the platform's time_t as time.sleep does, and ends the test's
    wait (by raising EnoughSleepsError) after `calls` sleeps, so an endless wait can be observed."""

    calls: int
    delays: list[float] = attrs.field(factory=list)

    def __call__(self, seconds: float) -> None:
        if seconds > threading.TIMEOUT_MAX:
            raise OverflowError("timestamp out of range for platform time_t")
        self.delays.append(seconds)
        if len(self.delays) >= self.calls:
            raise EnoughSleepsError


class EnoughSleepsError(Exception):
    """The test has seen enough sleeps."""


@pytest.mark.parametrize("speed", [1e-6, 1e-300, 5e-324])
def test_a_very_slow_replay_sleeps_in_pieces_the_system_accepts(speed: float) -> None:
    # --speed 1e-6 makes a day's gap 2,700 years of sleep; 5e-324 makes it infinite: the
    # clock must wait (for ever, if asked), not fail the run with OverflowError
    sleep = SystemLikeSleep(calls=3)
    clock = AcceleratedClock(speed, sleep=sleep, start=START)
    with pytest.raises(EnoughSleepsError):
        clock.wait_until(START + timedelta(days=1))
    assert len(sleep.delays) == 3


def test_a_slow_replay_sleeps_the_whole_gap_over_its_speed_in_pieces() -> None:
    sleep = SystemLikeSleep(calls=1_000)
    clock = AcceleratedClock(1e-6, sleep=sleep, start=START)
    clock.wait_until(START + timedelta(days=1))
    assert math.isclose(sum(sleep.delays), 86_400 / 1e-6)
    assert clock.now() == START + timedelta(days=1)


def test_the_system_clock_waits_for_a_moment_centuries_away_without_failing() -> None:
    sleep = SystemLikeSleep(calls=2)
    clock = SystemClock(sleep=sleep)
    with pytest.raises(EnoughSleepsError):
        clock.wait_until(datetime(9999, 12, 31, tzinfo=UTC))
