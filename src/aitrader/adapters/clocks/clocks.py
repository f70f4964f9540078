"""Clock adapters: the only place that reads the wall clock or sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from aitrader.domain.market import require_utc
from aitrader.ports.clock import Clock

# The longest single sleep asked of the system (about 31 years): time.sleep refuses a delay
# beyond the platform's time_t (OverflowError), which a slow replay (--speed 1e-6 over a
# weekend) or a far moment reaches; a longer wait is slept in pieces.
_LONGEST_SLEEP_S = 1e9


def _sleep_for(sleep: Callable[[float], None], seconds: float) -> None:
    """Sleep `seconds` (infinity: for ever) in pieces the system's sleep accepts."""
    while seconds > 0:
        piece = min(seconds, _LONGEST_SLEEP_S)
        sleep(piece)
        seconds -= piece


class SystemClock(Clock):
    """Wall-clock time; waiting sleeps for real."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait_until(self, moment: datetime) -> None:
        require_utc(moment, "moment")
        delay = (moment - self.now()).total_seconds()
        _sleep_for(self._sleep, delay)


class SteppingClock(Clock):
    """Simulated time moved by the bars; waiting jumps, never backwards."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start if start is not None else datetime(1970, 1, 1, tzinfo=UTC)
        require_utc(self._now, "start")

    def now(self) -> datetime:
        return self._now

    def wait_until(self, moment: datetime) -> None:
        require_utc(moment, "moment")
        self._now = max(self._now, moment)


class AcceleratedClock(Clock):
    """Simulated time that passes `speed` times faster than real time; speed 0 never sleeps."""

    def __init__(self, speed: float, sleep: Callable[[float], None] = time.sleep,
                 start: datetime | None = None) -> None:
        if not speed >= 0 or speed == float("inf"):
            raise ValueError(f"speed must be a finite number, 0 or positive, was {speed}")
        if start is not None:
            require_utc(start, "start")
        self._speed = speed
        self._sleep = sleep
        self._now = start

    def now(self) -> datetime:
        if self._now is None:
            raise RuntimeError("the accelerated clock has not been started by a first bar")
        return self._now

    def wait_until(self, moment: datetime) -> None:
        require_utc(moment, "moment")
        if self._now is not None and moment > self._now and self._speed > 0:
            _sleep_for(self._sleep, (moment - self._now).total_seconds() / self._speed)
        if self._now is None or moment > self._now:
            self._now = moment
