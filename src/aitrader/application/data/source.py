"""GatedMarketData: the MarketData a strategy sees when bars come from vendors.

For each request: the cache of each vendor in chain order (no network when the range was
fetched before), else the chain; the vendor's bars are tagged with their sessions by the
calendar and gated; quarantined bars are recorded; passing bars are cached under the vendor
that served them. Every frame served is listed in `used`, with its cache digest, so a run can
say exactly which data it used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import attrs
from returns.result import Failure, Result, Success

from aitrader.application.data.chain import Attempt, VendorChain
from aitrader.application.data.sessions import tag_sessions
from aitrader.domain.market import Timeframe
from aitrader.domain.series import (
    BarFrame,
    GateReport,
    GateRules,
    RawBars,
    from_ns,
    gatekeep,
    to_ns,
)
from aitrader.domain.values import Symbol
from aitrader.ports.bar_cache import BarCache, BarStore
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.market_data import MarketData
from aitrader.ports.vendor import VendorBars


@attrs.frozen
class Used:
    """One frame served: from which vendor, whether from the cache, and the digest of the
    cached content (of the frame itself for local sources, which are not cached)."""

    vendor: str
    symbol: Symbol
    timeframe: Timeframe
    bars: int
    cached: bool
    digest: str | None


def gate(vendor: str, answer: VendorBars, calendar: Calendar | None,
         rules: GateRules) -> tuple[BarFrame, GateReport]:
    """Tag a vendor's bars with their sessions and run them through the gatekeeper."""
    raw = answer.raw
    sessions = None if calendar is None else tag_sessions(calendar, raw.ts_open)
    rules = attrs.evolve(rules, splits=tuple(answer.splits) + tuple(rules.splits))
    return gatekeep(raw, sessions, rules, vendor)


def record(store: BarStore | None, run_id: str | None,
           report: GateReport) -> Result[int, MarketDataError]:
    """Record the report's quarantined bars in the store, if there is one and they exist."""
    if store is None or not report.quarantined:
        return Success(0)
    return store.record_quarantine(run_id, [report])


DEFAULT_RULES = GateRules()


class GatedMarketData(MarketData):
    """Bars from a vendor chain, through the cache and the gate."""

    def __init__(self, chain: VendorChain, calendar: Calendar | None, cache: BarCache | None,
                 store: BarStore | None, timeframe: Timeframe, adjustment: str,
                 rules: GateRules = DEFAULT_RULES, run_id: str | None = None,
                 local: frozenset[str] = frozenset()) -> None:
        self._chain = chain
        self._calendar = calendar
        self._cache = cache
        self._store = store
        self._timeframe = timeframe
        self._adjustment = adjustment
        self._rules = rules
        self._run_id = run_id
        self._local = local  # vendors that are files already: never cached (a path is no key)
        self.reports: list[GateReport] = []
        self.used: list[Used] = []

    def bars(
        self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
        end: datetime | None,
    ) -> Result[BarFrame, MarketDataError]:
        """Validated closed bars with start <= ts_close < end, oldest first (bounds needed)."""
        if start is None or end is None:
            return Failure(MarketDataError("unbounded", "a vendor needs a date range: give "
                                           "--start and --end"))
        tf = timeframe or self._timeframe
        hit = self.cached(symbol, tf, start, end)
        if not isinstance(hit, Success):
            return Failure(hit.failure())
        if hit.unwrap() is not None:
            return Success(hit.unwrap())
        fetched = self._chain.fetch(symbol, tf, start, end, self._adjustment)
        if not isinstance(fetched, Success):
            return Failure(fetched.failure())
        vendor, answer = fetched.unwrap()
        frame, report = gate(vendor, answer, self._calendar, self._rules)
        self.reports.append(report)
        recorded = record(self._store, self._run_id, report)
        if not isinstance(recorded, Success):
            return Failure(recorded.failure())
        digest = frame.digest()
        if self._cache is not None and vendor not in self._local:
            # Bars that had not closed when they were fetched must be fetched again later:
            # the range recorded as fetched ends at the moment of validation.
            upto = end if self._rules.as_of_ns is None else min(end, from_ns(
                max(self._rules.as_of_ns, to_ns(start))))
            stored = self._cache.store(self._source(vendor), frame, start, upto)
            if not isinstance(stored, Success):
                return Failure(stored.failure())
            digest = stored.unwrap()
        self.used.append(Used(vendor, symbol, tf, len(frame), False, digest))
        return Success(frame)

    @property
    def attempts(self) -> list[Attempt]:
        """Every vendor call of the chain so far and how it ended."""
        return list(self._chain.attempts)

    def cached(self, symbol: Symbol, timeframe: Timeframe, start: datetime,
               end: datetime) -> Result[BarFrame | None, MarketDataError]:
        """The bars from the first vendor whose cache covers the range, or None."""
        if self._cache is None:
            return Success(None)
        for vendor in self._chain.names:
            if vendor in self._local:
                continue
            loaded = self._cache.load(self._source(vendor), symbol, timeframe, start, end)
            if not isinstance(loaded, Success):
                return Failure(loaded.failure())
            found = loaded.unwrap()
            if found is not None:
                cached, digest = found
                frame, report = self._regate(vendor, cached)
                if report.quarantined or report.stale:
                    self.reports.append(report)
                recorded = record(self._store, self._run_id, report)
                if not isinstance(recorded, Success):
                    return Failure(recorded.failure())
                self.used.append(Used(vendor, symbol, timeframe, len(frame), True, digest))
                return Success(frame)
        return Success(None)

    def _regate(self, vendor: str, cached: BarFrame) -> tuple[BarFrame, GateReport]:
        """Cached bars passed the gate of the run that fetched them, whose calendar may have
        been another (24/7 lets weekend bars through): they pass this run's gate again. Jumps
        are not judged twice (the splits that explained them are not cached)."""
        rules = attrs.evolve(self._rules, max_jump=math.inf, splits=())
        return gate(vendor, VendorBars(RawBars.from_frame(cached)), self._calendar, rules)

    def _source(self, vendor: str) -> str:
        """The cache key of a vendor's bars: adjusted bars are kept apart from raw ones."""
        return vendor if self._adjustment == "raw" else f"{vendor}-{self._adjustment}"

    def symbols(self) -> Result[Sequence[Symbol], MarketDataError]:
        """Vendors list no symbols: the run names them."""
        return Failure(MarketDataError("unsupported", f"{self.describe()} lists no symbols: "
                                       "give --symbols"))

    def describe(self) -> str:
        """A short label naming the source (for manifests and messages), never a secret."""
        return "vendors:" + ",".join(self._chain.names)


class SessionGatedMarketData(MarketData):
    """A local source (files, the sample) whose bars must also lie in the calendar's sessions.

    The files adapter refuses corrupt files outright, but a sound file can still hold a bar on
    a holiday or a weekend; those are quarantined (and recorded) like a vendor's. Jumps are not
    judged: a file reports no splits, so a raw split would be taken for a bad tick.
    """

    def __init__(self, source: MarketData, calendar: Calendar, rules: GateRules = DEFAULT_RULES,
                 store: BarStore | None = None, run_id: str | None = None) -> None:
        self._source = source
        self._calendar = calendar
        self._rules = attrs.evolve(rules, max_jump=math.inf, splits=())
        self._store = store
        self._run_id = run_id
        self.reports: list[GateReport] = []

    def bars(
        self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
        end: datetime | None,
    ) -> Result[BarFrame, MarketDataError]:
        """The source's bars with start <= ts_close < end that lie in a session, oldest first."""
        loaded = self._source.bars(symbol, timeframe, start, end)
        if not isinstance(loaded, Success):
            return loaded
        frame, report = gate(self._source.describe(),
                             VendorBars(RawBars.from_frame(loaded.unwrap())), self._calendar,
                             self._rules)
        if report.quarantined:
            self.reports.append(report)
        recorded = record(self._store, self._run_id, report)
        if not isinstance(recorded, Success):
            return Failure(recorded.failure())
        return Success(frame)

    def symbols(self) -> Result[Sequence[Symbol], MarketDataError]:
        """The source's symbols."""
        return self._source.symbols()

    def describe(self) -> str:
        """The source's label."""
        return self._source.describe()
