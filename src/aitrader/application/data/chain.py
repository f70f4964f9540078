"""An ordered chain of vendors with bounded retries, backoff with jitter and circuit breakers.

A request goes to each vendor in order until one answers. A retryable failure (rate limited,
timed out, unavailable) is retried up to `attempts` times in all, waiting
`min(cap, base * 2**k)` seconds scaled by a jitter in [0.5, 1); any other failure moves on at
once. A vendor that fails `threshold` requests in a row is skipped (its breaker open) for
`cooldown_s` seconds, then tried once more (half-open): a success closes it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs
from returns.result import Failure, Result, Success

from aitrader.domain.market import Timeframe
from aitrader.domain.values import Symbol
from aitrader.ports.clock import Clock
from aitrader.ports.errors import MarketDataError
from aitrader.ports.vendor import RETRYABLE, BarVendor, VendorBars


@attrs.frozen
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter, and the breaker's settings."""

    attempts: int = 3
    base_s: float = 0.5
    cap_s: float = 8.0
    threshold: int = 3
    cooldown_s: float = 60.0

    def delay(self, retry: int, jitter: float) -> float:
        """Seconds to wait before retry number `retry` (0-based), jitter drawn in [0, 1)."""
        return min(self.cap_s, self.base_s * 2.0 ** retry) * (0.5 + jitter / 2.0)


@attrs.define
class _Breaker:
    failures: int = 0
    open_until: datetime | None = None


@attrs.frozen
class Attempt:
    """One vendor's part in a request, for reports: its name and how it ended."""

    vendor: str
    outcome: str


class VendorChain:
    """Vendors tried in order for each request."""

    def __init__(self, vendors: Sequence[BarVendor], clock: Clock,
                 sleep: Callable[[float], None], jitter: Callable[[], float],
                 policy: RetryPolicy = RetryPolicy()) -> None:
        if not vendors:
            raise ValueError("a vendor chain needs at least one vendor")
        self._vendors = tuple(vendors)
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._policy = policy
        self._breakers = {v.name: _Breaker() for v in self._vendors}
        self.attempts: list[Attempt] = []

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self._vendors)

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
        adjustment: str, only: str | None = None,
    ) -> Result[tuple[str, VendorBars], MarketDataError]:
        """The first vendor's answer (and its name); or every vendor's failure in one error."""
        failures: list[str] = []
        codes: set[str] = set()
        for vendor in self._vendors:
            if only is not None and vendor.name != only:
                continue
            breaker = self._breakers[vendor.name]
            now = self._clock.now()
            if breaker.open_until is not None and now < breaker.open_until:
                failures.append(f"{vendor.name}: skipped, circuit open after repeated failures")
                self.attempts.append(Attempt(vendor.name, "circuit_open"))
                codes.add("unavailable")
                continue
            answer = self._try(vendor, symbol, timeframe, start, end, adjustment)
            if isinstance(answer, Success):
                breaker.failures, breaker.open_until = 0, None
                self.attempts.append(Attempt(vendor.name, "ok"))
                return Success((vendor.name, answer.unwrap()))
            error = answer.failure()
            self.attempts.append(Attempt(vendor.name, error.code))
            if error.code in RETRYABLE:
                breaker.failures += 1
                if breaker.failures >= self._policy.threshold:
                    breaker.open_until = self._clock.now() + timedelta(
                        seconds=self._policy.cooldown_s)
            failures.append(error.message)
            codes.add(error.code)
        # One shared reason (every vendor said unknown_symbol, say) is kept; mixed ones mean
        # the data could not be had.
        code = codes.pop() if len(codes) == 1 else "unavailable" if failures else "unknown_vendor"
        message = "; ".join(failures) if failures else f"no vendor named {only!r} in the chain"
        return Failure(MarketDataError(code, f"no vendor could serve {symbol}: {message}"))

    def _try(self, vendor: BarVendor, symbol: Symbol, timeframe: Timeframe, start: datetime,
             end: datetime, adjustment: str) -> Result[VendorBars, MarketDataError]:
        answer = vendor.fetch(symbol, timeframe, start, end, adjustment)
        for retry in range(self._policy.attempts - 1):
            if isinstance(answer, Success) or answer.failure().code not in RETRYABLE:
                break
            self._sleep(self._policy.delay(retry, self._jitter()))
            answer = vendor.fetch(symbol, timeframe, start, end, adjustment)
        return answer
