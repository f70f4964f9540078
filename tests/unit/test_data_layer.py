"""The data layer's application services with fake vendors: the chain's retries, backoff and
breaker; the cache sparing the network; sessions and expected bars from the NYSE calendar;
gaps backfilled but never invented; cross-checks; a stream that backfills after a reconnect."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from returns.result import Failure, Result, Success

from aitrader.adapters.calendars import open_calendar
from aitrader.adapters.files import FileMarketData
from aitrader.adapters.parquet import ParquetBarCache
from aitrader.application.data.chain import RetryPolicy, VendorChain
from aitrader.application.data.compare import compare_frames
from aitrader.application.data.gaps import expected_for, fill_gaps
from aitrader.application.data.sessions import expected_closes, tag_sessions
from aitrader.application.data.source import GatedMarketData, SessionGatedMarketData
from aitrader.application.data.stream import BackfillingStream
from aitrader.domain.market import Bar, Session, Timeframe
from aitrader.domain.series import (
    SESSION_CODES,
    BarFrame,
    GateRules,
    RawBars,
    aggregate,
    from_ns,
    to_ns,
)
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError
from aitrader.ports.market_data import BarStream, MarketData
from aitrader.ports.vendor import BarVendor, VendorBars

EASTERN = ZoneInfo("America/New_York")
AAPL = Symbol.parse("AAPL")
MIN = 60 * 10**9
XNYS = open_calendar("XNYS")


def et(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=EASTERN).astimezone(UTC)


def minute_bars(first_close: datetime, n: int, skip: Sequence[int] = (),
                price: float = 100.0) -> RawBars:
    rows = [k for k in range(n) if k not in skip]
    ts_close = np.asarray([to_ns(first_close) + k * MIN for k in rows], dtype=np.int64)
    close = price + np.asarray(rows, dtype=np.float64) * 0.01
    return RawBars(AAPL, Timeframe.MINUTE_1, ts_close - MIN, ts_close, close.copy(), close + 0.05,
                   close - 0.05, close, np.asarray(rows, dtype=np.float64) + 100.0)


class FakeVendor(BarVendor):
    """Answers from a script of results (the last repeats), counting calls."""

    def __init__(self, name: str, *answers: Result[VendorBars, MarketDataError]) -> None:
        self._name = name
        self._answers = list(answers)
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    def fetch(self, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
              adjustment: str) -> Result[VendorBars, MarketDataError]:
        self.calls += 1
        answer = self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]
        if isinstance(answer, Success):
            raw = answer.unwrap().raw
            keep = (raw.ts_close >= to_ns(start)) & (raw.ts_close < to_ns(end))
            return Success(VendorBars(raw.take(keep)))
        return answer


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2024, 1, 2, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def wait_until(self, moment: datetime) -> None:
        self.moment = max(self.moment, moment)


def chain(*vendors: BarVendor, clock: FakeClock | None = None,
          sleeps: list[float] | None = None) -> VendorChain:
    waits = [] if sleeps is None else sleeps
    return VendorChain(vendors, clock or FakeClock(), waits.append, lambda: 0.5,
                       RetryPolicy(attempts=3, base_s=1.0, cap_s=3.0, threshold=2,
                                   cooldown_s=60.0))


LIMITED: Result[VendorBars, MarketDataError] = Failure(MarketDataError("rate_limited", "429"))
DOWN: Result[VendorBars, MarketDataError] = Failure(MarketDataError("unauthorized", "401"))
OPEN = et("2024-01-02 09:31")
DAYSPAN = (et("2024-01-02 09:31"), et("2024-01-02 10:01"))


def test_a_rate_limited_vendor_is_retried_with_capped_jittered_backoff_then_skipped() -> None:
    good = FakeVendor("good", Success(VendorBars(minute_bars(OPEN, 30))))
    bad = FakeVendor("bad", LIMITED)
    sleeps: list[float] = []
    served = chain(bad, good, sleeps=sleeps).fetch(AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw")
    assert served.unwrap()[0] == "good"
    assert bad.calls == 3  # bounded: three attempts in all
    assert sleeps == [0.75, 1.5]  # min(cap, base * 2**k) * (0.5 + jitter / 2)


def test_a_non_retryable_failure_moves_on_at_once() -> None:
    bad, good = FakeVendor("bad", DOWN), FakeVendor("good", Success(VendorBars(
        minute_bars(OPEN, 30))))
    sleeps: list[float] = []
    assert chain(bad, good, sleeps=sleeps).fetch(
        AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw").unwrap()[0] == "good"
    assert bad.calls == 1
    assert sleeps == []


def test_the_breaker_opens_after_repeated_failures_and_half_opens_after_the_cooldown() -> None:
    clock = FakeClock()
    bad = FakeVendor("bad", LIMITED)
    the_chain = chain(bad, clock=clock)
    for _ in range(2):
        assert isinstance(the_chain.fetch(AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw"), Failure)
    calls = bad.calls
    skipped = the_chain.fetch(AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw")
    assert bad.calls == calls
    assert "circuit open" in skipped.failure().message
    clock.moment += timedelta(seconds=61)
    the_chain.fetch(AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw")
    assert bad.calls > calls


def test_a_cached_range_makes_no_vendor_call_and_gives_the_same_digest(tmp_path: Path) -> None:
    vendor = FakeVendor("v", Success(VendorBars(minute_bars(OPEN, 30))))
    cache = ParquetBarCache(tmp_path)

    def source() -> GatedMarketData:
        return GatedMarketData(chain(vendor), XNYS, cache, None, Timeframe.MINUTE_1, "raw")

    first = source()
    fetched = first.bars(AAPL, None, *DAYSPAN).unwrap()
    assert vendor.calls == 1
    assert not first.used[0].cached
    again = source()
    cached = again.bars(AAPL, None, *DAYSPAN).unwrap()
    inner = again.bars(AAPL, None, et("2024-01-02 09:40"), et("2024-01-02 09:50")).unwrap()
    assert vendor.calls == 1  # no network for a range already fetched
    assert again.used[0].cached
    assert again.used[0].digest == first.used[0].digest
    assert cached.digest() == fetched.digest()
    assert len(inner) == 10
    again.bars(AAPL, None, et("2024-01-02 09:31"), et("2024-01-02 11:00"))
    assert vendor.calls == 2  # a wider range asks again


def test_the_cache_refuses_a_file_that_does_not_match_its_digest(tmp_path: Path) -> None:
    cache = ParquetBarCache(tmp_path)
    frame = minute_bars(OPEN, 5).to_frame()
    digest = cache.store("v", frame, *DAYSPAN).unwrap()
    target = next(tmp_path.rglob(f"{digest}.parquet"))
    other = ParquetBarCache(tmp_path / "x")
    other_digest = other.store("v", minute_bars(OPEN, 4).to_frame(), *DAYSPAN).unwrap()
    target.write_bytes(next((tmp_path / "x").rglob(f"{other_digest}.parquet")).read_bytes())
    loaded = cache.load("v", AAPL, Timeframe.MINUTE_1, *DAYSPAN)
    assert loaded.failure().code == "cache_corrupt"


@pytest.mark.parametrize("index", [
    "[]", '{"digest": "x", "ranges": 5}', '{"digest": "x", "ranges": [["a", "b"]]}',
    '{"digest": null, "ranges": []}', '{"digest": "../../../etc/passwd", "ranges": []}',
    '{"digest": "' + "0" * 64 + '", "ranges": [[1, 2, 3]]}', "7"])
def test_a_malformed_cache_index_is_a_failure_naming_it_not_an_exception(
    tmp_path: Path, index: str,
) -> None:
    cache = ParquetBarCache(tmp_path)
    frame = minute_bars(OPEN, 5).to_frame()
    cache.store("v", frame, *DAYSPAN).unwrap()
    written = next(tmp_path.rglob("index.json"))
    written.write_text(index, "utf-8")
    loaded = cache.load("v", AAPL, Timeframe.MINUTE_1, *DAYSPAN)
    assert loaded.failure().code == "cache_unreadable"
    assert "index.json" in loaded.failure().message
    stored = cache.store("v", frame, *DAYSPAN)
    assert stored.failure().code == "cache_unwritable"
    assert written.read_text("utf-8") == index  # left as it was, for the user to look at


CHRISTMAS_EVE = date(2025, 12, 24)  # an early close: the regular session ends at 13:00
EVE_SPAN = (et("2025-12-24 00:00"), et("2025-12-25 00:00"))


def daily_bar(close_ns: int) -> RawBars:
    open_ns = to_ns(et("2025-12-24 09:30"))
    one = np.ones(1)
    return RawBars(AAPL, Timeframe.DAY_1, np.asarray([open_ns]), np.asarray([close_ns]),
                   one * 272.34, one * 275.43, one * 272.2, one * 273.81, one * 17910600.0)


def test_a_cache_written_before_early_closes_were_kept_is_fetched_again_not_mixed(
    tmp_path: Path,
) -> None:
    # Format 1 (no "format" in index.json) stamped every daily bar at 16:00 New York.
    old = daily_bar(to_ns(et("2025-12-24 16:00"))).to_frame()
    ParquetBarCache(tmp_path).store("v", old, *EVE_SPAN).unwrap()
    index = next(tmp_path.rglob("index.json"))
    index.write_text(index.read_text("utf-8").replace('"format": 2, ', ""), "utf-8")
    assert '"format"' not in index.read_text("utf-8")
    new = daily_bar(to_ns(XNYS.daily_session(CHRISTMAS_EVE).end))
    vendor = FakeVendor("v", Success(VendorBars(new)))
    source = GatedMarketData(chain(vendor), XNYS, ParquetBarCache(tmp_path), None,
                             Timeframe.DAY_1, "raw")

    bars = source.bars(AAPL, None, *EVE_SPAN).unwrap()

    assert vendor.calls == 1  # the old folder was not served
    assert [from_ns(int(t)) for t in bars.ts_close] == [et("2025-12-24 13:00")]
    assert len(list(index.parent.glob("*.parquet"))) == 1  # the old file is gone
    assert '"format": 2' in index.read_text("utf-8")
    again = GatedMarketData(chain(vendor), XNYS, ParquetBarCache(tmp_path), None,
                            Timeframe.DAY_1, "raw").bars(AAPL, None, *EVE_SPAN).unwrap()
    assert vendor.calls == 1  # now served by the rebuilt cache: one bar, at 13:00
    assert again.ts_close.tolist() == bars.ts_close.tolist()


def test_daily_bars_of_an_early_close_agree_whoever_makes_them(tmp_path: Path) -> None:
    # Minute bars of 2025-12-24 aggregated into a daily bar, the same day read from a daily
    # file, and the bar the calendar expects for it all close at 13:00 New York (18:00 UTC).
    minutes = minute_bars(et("2025-12-24 09:31"), 210).to_frame()
    aggregated = aggregate(minutes, Timeframe.DAY_1, XNYS.windows(*EVE_SPAN))
    daily = tmp_path / "AAPL.csv"
    daily.write_text("date,open,high,low,close,volume\n"
                     "2025-12-23,270.84,272.5,269.56,272.36,29642000\n"
                     "2025-12-24,272.34,275.43,272.2,273.81,17910600\n")
    read = FileMarketData(daily, calendar=XNYS).bars(AAPL, None, *EVE_SPAN).unwrap()
    expected = expected_closes(XNYS, Timeframe.DAY_1, *EVE_SPAN)
    always = expected_closes(open_calendar("24/7"), Timeframe.DAY_1, *EVE_SPAN)

    thirteen = to_ns(et("2025-12-24 13:00"))
    assert aggregated.ts_close.tolist() == [thirteen]
    assert read.ts_close.tolist() == [thirteen]
    assert expected.tolist() == [thirteen]
    assert always.tolist() == [thirteen]  # daily stamps do not depend on the calendar
    assert read.ts_open.tolist() == aggregated.ts_open.tolist()


def test_vendor_bars_are_gated_before_anyone_sees_them() -> None:
    raw = minute_bars(OPEN, 30)
    raw.high[3] = raw.low[3] - 1.0
    source = GatedMarketData(chain(FakeVendor("v", Success(VendorBars(raw)))), XNYS, None, None,
                             Timeframe.MINUTE_1, "raw")
    frame = source.bars(AAPL, None, *DAYSPAN).unwrap()
    assert len(frame) == 29
    assert to_ns(OPEN) + 3 * MIN not in frame.ts_close.tolist()
    assert [q.reason for q in source.reports[0].quarantined] == ["high is below low"]


def test_bars_are_tagged_with_their_session_across_dst_and_holidays() -> None:
    opens = np.asarray([to_ns(t) for t in (
        et("2024-03-08 09:29"), et("2024-03-08 09:30"), et("2024-03-08 16:00"),
        et("2024-03-08 20:00"),  # a Friday night: no overnight session into Saturday
        et("2024-03-11 09:30"),  # the first day of daylight time
        et("2024-03-10 21:00"),  # Sunday night into Monday: overnight
        et("2024-07-04 10:00"),  # Independence Day
        et("2024-07-03 13:30"), et("2024-07-03 17:30"),  # an early close: post ends at 17:00
    )], dtype=np.int64)
    names = {code: s for s, code in SESSION_CODES.items()}
    tagged = [names[int(c)] for c in tag_sessions(XNYS, opens)]
    assert tagged == [Session.PRE, Session.REGULAR, Session.POST, Session.CLOSED,
                      Session.REGULAR, Session.OVERNIGHT, Session.CLOSED, Session.POST,
                      Session.CLOSED]
    assert et("2024-03-11 09:30").hour == 13
    assert et("2024-03-08 09:30").hour == 14


def test_expected_bars_follow_holidays_early_closes_and_dst() -> None:
    days = expected_closes(XNYS, Timeframe.DAY_1, et("2024-07-01 00:00"), et("2024-07-08 00:00"))
    assert [datetime.fromtimestamp(t / 1e9, UTC).astimezone(EASTERN).date() for t in days] == [
        date(2024, 7, 1), date(2024, 7, 2), date(2024, 7, 3), date(2024, 7, 5)]
    early = expected_closes(XNYS, Timeframe.HOUR_1, et("2024-07-03 00:00"), et("2024-07-04 00:00"))
    assert len(early) == 4
    assert int(early[-1]) == to_ns(et("2024-07-03 13:00"))
    full = expected_closes(XNYS, Timeframe.MINUTE_5, et("2024-03-11 00:00"), et("2024-03-12 00:00"))
    assert len(full) == 78
    assert int(full[0]) == to_ns(et("2024-03-11 09:35"))
    always = expected_for(open_calendar("24/7"), Timeframe.HOUR_1, datetime(2024, 7, 6, tzinfo=UTC),
                          datetime(2024, 7, 7, tzinfo=UTC), extended=False)
    assert len(always) == 24


def test_gaps_are_backfilled_from_the_next_vendor_and_the_rest_reported_not_invented() -> None:
    have = minute_bars(OPEN, 30, skip=(5, 6, 20)).to_frame()
    other = FakeVendor("other", Success(VendorBars(minute_bars(OPEN, 30, skip=(20,)))))
    first = FakeVendor("first", Success(VendorBars(minute_bars(OPEN, 30, skip=(5, 6, 20)))))
    expected = np.asarray([to_ns(OPEN) + k * MIN for k in range(30)], dtype=np.int64)
    report = fill_gaps(have, expected, chain(first, other), "raw", XNYS, GateRules())
    assert (report.expected, report.present, report.filled) == (30, 27, 2)
    assert report.filled_by == ("other",)
    assert [(g.first, g.bars) for g in report.missing] == [(OPEN + timedelta(minutes=20), 1)]
    assert len(report.frame) == 29


def test_compare_lists_disagreements_beyond_the_tolerance_and_one_sided_bars() -> None:
    left = minute_bars(OPEN, 5).to_frame()
    raw = minute_bars(OPEN, 5, skip=(4,))
    raw.close[1] *= 1.01
    raw.high[1] = max(raw.high[1], raw.close[1])
    result = compare_frames("a", left, "b", raw.to_frame(), 0.005, 0.5)
    assert result.compared == 4
    assert result.only_left == 1
    assert result.only_right == 0
    assert [(d.field, d.ts_close) for d in result.disagreements] == [
        ("high", OPEN + timedelta(minutes=1)), ("close", OPEN + timedelta(minutes=1)),
        ("missing_right", OPEN + timedelta(minutes=4))]
    assert compare_frames("a", left, "b", left, 0.0, 0.0).disagreements == ()


class ListStream(BarStream):
    def __init__(self, bars: Sequence[Bar]) -> None:
        self._bars = bars

    def __iter__(self) -> Iterator[Bar]:
        return iter(self._bars)


class History(MarketData):
    def __init__(self, frame: BarFrame) -> None:
        self._frame = frame
        self.asked: list[tuple[datetime | None, datetime | None]] = []

    def bars(self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
             end: datetime | None) -> Result[BarFrame, MarketDataError]:
        self.asked.append((start, end))
        return Success(self._frame.window(start, end))

    def symbols(self) -> Result[Sequence[Symbol], MarketDataError]:
        return Success([AAPL])

    def describe(self) -> str:
        return "history"


def test_a_stream_backfills_the_bars_missed_while_disconnected_before_resuming() -> None:
    whole = minute_bars(OPEN, 10).to_frame()
    live = [whole.bar(i) for i in (0, 1, 2, 2, 7, 8, 9)]  # dropped 3-6, replayed 2
    history = History(whole)
    stream = BackfillingStream(ListStream(live), history, Timeframe.MINUTE_1)
    got = [b.ts_close for b in stream]
    assert got == [whole.bar(i).ts_close for i in range(10)]
    assert stream.backfilled == 4
    assert [q.reason for q in stream.gate.quarantined] == ["duplicate timestamp"]
    assert len(history.asked) == 1


class NoHistory(History):
    def bars(self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
             end: datetime | None) -> Result[BarFrame, MarketDataError]:
        self.asked.append((start, end))
        return Failure(MarketDataError("rate_limited", "no vendor could serve AAPL: 429"))


def test_a_hole_the_history_cannot_fill_is_reported_and_never_invented() -> None:
    whole = minute_bars(OPEN, 10).to_frame()
    live = [whole.bar(i) for i in (0, 1, 7, 8)]
    stream = BackfillingStream(ListStream(live), NoHistory(whole), Timeframe.MINUTE_1)
    assert [b.ts_close for b in stream] == [whole.bar(i).ts_close for i in (0, 1, 7, 8)]
    assert stream.backfilled == 0
    assert stream.unfilled == ["no vendor could serve AAPL: 429"]


@pytest.mark.parametrize("adjustment", ["split", "all"])
def test_adjusted_bars_are_cached_apart_from_raw_ones(tmp_path: Path, adjustment: str) -> None:
    vendor = FakeVendor("v", Success(VendorBars(minute_bars(OPEN, 30))))
    cache = ParquetBarCache(tmp_path)
    GatedMarketData(chain(vendor), XNYS, cache, None, Timeframe.MINUTE_1, "raw").bars(
        AAPL, None, *DAYSPAN)
    GatedMarketData(chain(vendor), XNYS, cache, None, Timeframe.MINUTE_1, adjustment).bars(
        AAPL, None, *DAYSPAN)
    assert vendor.calls == 2
    assert {p.name for p in tmp_path.iterdir()} == {"v", f"v-{adjustment}"}


def test_a_symbol_no_vendor_knows_is_reported_as_unknown_not_as_an_outage() -> None:
    unknown: Result[VendorBars, MarketDataError] = Failure(
        MarketDataError("unknown_symbol", "no such symbol"))
    failed = chain(FakeVendor("a", unknown), FakeVendor("b", unknown)).fetch(
        AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw")
    assert failed.failure().code == "unknown_symbol"
    mixed = chain(FakeVendor("a", unknown), FakeVendor("b", DOWN)).fetch(
        AAPL, Timeframe.MINUTE_1, *DAYSPAN, "raw")
    assert mixed.failure().code == "unavailable"


def test_cached_bars_pass_this_runs_gate_whatever_calendar_cached_them(tmp_path: Path) -> None:
    saturday = minute_bars(et("2024-01-06 10:01"), 10)  # fine on 24/7, closed on XNYS
    vendor = FakeVendor("v", Success(VendorBars(saturday)))
    cache = ParquetBarCache(tmp_path)
    span = (et("2024-01-06 10:01"), et("2024-01-06 10:11"))
    always = GatedMarketData(chain(vendor), open_calendar("24/7"), cache, None,
                             Timeframe.MINUTE_1, "raw")
    assert len(always.bars(AAPL, None, *span).unwrap()) == 10
    nyse = GatedMarketData(chain(vendor), XNYS, cache, None, Timeframe.MINUTE_1, "raw")
    frame = nyse.bars(AAPL, None, *span).unwrap()
    assert vendor.calls == 1  # served by the cache, and still gated
    assert len(frame) == 0
    assert nyse.reports[0].counts == {"outside every session": 10}


def test_a_range_reaching_past_the_moment_of_validation_is_fetched_again(
    tmp_path: Path,
) -> None:
    vendor = FakeVendor("v", Success(VendorBars(minute_bars(OPEN, 30))))
    cache = ParquetBarCache(tmp_path)
    rules = GateRules(as_of_ns=to_ns(et("2024-01-02 09:45")))  # the bars after had not closed

    def source() -> GatedMarketData:
        return GatedMarketData(chain(vendor), XNYS, cache, None, Timeframe.MINUTE_1, "raw",
                               rules)

    assert len(source().bars(AAPL, None, *DAYSPAN).unwrap()) == 15
    source().bars(AAPL, None, *DAYSPAN)
    assert vendor.calls == 2  # the later bars were never fetched closed: ask again
    source().bars(AAPL, None, et("2024-01-02 09:31"), et("2024-01-02 09:45"))
    assert vendor.calls == 2  # what had closed is served from the cache


def test_a_local_source_loses_its_bars_outside_every_session_and_keeps_its_splits() -> None:
    friday = minute_bars(et("2024-01-05 15:51"), 10).to_frame()
    saturday = minute_bars(et("2024-01-06 10:01"), 5, price=50.0).to_frame()  # and a "split"
    both = BarFrame(AAPL, Timeframe.MINUTE_1,
                    *(np.concatenate((getattr(friday, name), getattr(saturday, name)))
                      for name in ("ts_open", "ts_close", "open", "high", "low", "close",
                                   "volume")))
    monday = minute_bars(et("2024-01-08 09:31"), 5, price=50.0).to_frame()
    history = History(BarFrame(AAPL, Timeframe.MINUTE_1,
                               *(np.concatenate((getattr(both, n), getattr(monday, n)))
                                 for n in ("ts_open", "ts_close", "open", "high", "low",
                                           "close", "volume"))))
    source = SessionGatedMarketData(history, XNYS)
    frame = source.bars(AAPL, None, None, None).unwrap()
    assert len(frame) == 15  # Friday's ten and Monday's five, at half the price: no jump check
    assert source.reports[0].counts == {"outside every session": 5}
    assert source.describe() == "history"
    always = SessionGatedMarketData(history, open_calendar("24/7"))
    assert len(always.bars(AAPL, None, None, None).unwrap()) == 20
