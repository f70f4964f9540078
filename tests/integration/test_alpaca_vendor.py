"""Alpaca's historical bars through alpaca-py, against a fake server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import attrs
from returns.result import Failure

from aitrader.adapters.calendars import open_calendar
from aitrader.adapters.vendors import AlpacaVendor, VendorSettings
from aitrader.application.data.source import DEFAULT_RULES, gate
from aitrader.domain.market import Timeframe
from aitrader.domain.series import from_ns
from aitrader.domain.values import Symbol
from aitrader.ports.vendor import VendorBars
from tests.http_fake import FakeVendor, fake_vendor

PAYLOADS = Path(__file__).parents[1] / "contract" / "payloads"
AAPL = Symbol.parse("AAPL")


def payload(name: str) -> object:
    return json.loads((PAYLOADS / name).read_text())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def vendor(url: str, **overrides: object) -> AlpacaVendor:
    fields: dict[str, object] = {"base_url": url, "api_key": "AKTEST", "api_secret": "s3cr3t-value",
                                 "timeout_s": 5.0}
    fields.update(overrides)
    return AlpacaVendor(VendorSettings(**fields), calendar=open_calendar("XNYS"))  # type: ignore[arg-type]


def test_alpaca_pages_with_next_page_token_and_labels_bars_at_close() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 200, payload("alpaca_bars_page1.json"))
        fake.answer("/v2/stocks/bars", 200, payload("alpaca_bars_page2.json"))
        bars = vendor(fake.url).fetch(AAPL, Timeframe.MINUTE_1, utc("2024-01-02 14:30"),
                                      utc("2024-01-02 15:00"), "split").unwrap()
    assert [from_ns(int(t)) for t in bars.raw.ts_close] == [
        utc("2024-01-02 14:31"), utc("2024-01-02 14:32"), utc("2024-01-02 14:33")]
    assert bars.raw.close.tolist() == [187.2, 187.1, 186.9]
    (_path, first, headers), (_, second, _) = fake.requests
    assert first["symbols"] == ["AAPL"]
    assert first["timeframe"] == ["1Min"]
    assert first["adjustment"] == ["split"]
    assert second["page_token"] == ["QUFQTHxNfDIwMjQtMDEtMDJUMTQ6MzE6MDBa"]
    assert headers["APCA-API-KEY-ID"] == "AKTEST"


NO_ACTIONS = {"corporate_actions": {}, "next_page_token": None}


def test_alpaca_daily_bars_span_the_session_of_their_day() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 200, payload("alpaca_bars_daily.json"))
        fake.answer("/v1/corporate-actions", 200, NO_ACTIONS)
        bars = vendor(fake.url).fetch(AAPL, Timeframe.DAY_1, utc("2024-07-01 00:00"),
                                      utc("2024-07-05 00:00"), "raw").unwrap()
    # 2024-07-03 is an early close: the session, and the daily bar, end at 13:00 New York
    assert [from_ns(int(t)) for t in bars.raw.ts_close] == [utc("2024-07-03 17:00")]


def test_alpaca_rate_limit_is_reported_at_once_not_retried_by_the_sdk() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 429, {"message": "too many requests"})
        failed = vendor(fake.url).fetch(AAPL, Timeframe.DAY_1, utc("2024-07-01 00:00"),
                                        utc("2024-07-05 00:00"), "raw")
    assert isinstance(failed, Failure)
    assert failed.failure().code == "rate_limited"
    assert len(fake.requests) == 1


def test_alpaca_unreachable_and_unauthorized() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 403, {"message": "forbidden"})
        failed = vendor(fake.url).fetch(AAPL, Timeframe.DAY_1, utc("2024-07-01 00:00"),
                                        utc("2024-07-05 00:00"), "raw")
        assert failed.failure().code == "unauthorized"  # type: ignore[union-attr]
        url = fake.url
    gone = vendor(url).fetch(AAPL, Timeframe.DAY_1, utc("2024-07-01 00:00"),
                             utc("2024-07-05 00:00"), "raw")
    assert gone.failure().code == "unavailable"  # type: ignore[union-attr]
    keyless = vendor(url, api_secret=None).fetch(
        AAPL, Timeframe.DAY_1, utc("2024-07-01 00:00"), utc("2024-07-05 00:00"), "raw")
    assert keyless.failure().code == "unauthorized"  # type: ignore[union-attr]
    assert "AKTEST" not in keyless.failure().message  # type: ignore[union-attr]


def test_an_alpaca_error_echoing_the_key_or_secret_never_shows_them() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 422, {"message": "key AKTEST with secret s3cr3t-value "
                                                        "may not ask for this"})
        failed = vendor(fake.url).fetch(AAPL, Timeframe.DAY_1, utc("2024-07-01 00:00"),
                                        utc("2024-07-05 00:00"), "raw")
    message = failed.failure().message  # type: ignore[union-attr]
    assert "may not ask" in message
    assert "AKTEST" not in message
    assert "s3cr3t-value" not in message


def test_alpaca_empty_result_is_no_bars() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 200, payload("alpaca_bars_empty.json"))
        bars = vendor(fake.url).fetch(AAPL, Timeframe.DAY_1, utc("2024-07-06 00:00"),
                                      utc("2024-07-08 00:00"), "raw")
    assert len(bars.unwrap().raw) == 0


NVDA = Symbol.parse("NVDA")
JUNE_6_TO_10 = (utc("2024-06-06 00:00"), utc("2024-06-11 00:00"))


def nvda_around_its_split(fake: FakeVendor, bars: str, timeframe: Timeframe = Timeframe.DAY_1,
                          span: tuple[datetime, datetime] = JUNE_6_TO_10) -> VendorBars:
    """NVDA's raw bars around its 10-for-1 split of 2024-06-10, with the split reported."""
    fake.answer("/v2/stocks/bars", 200, payload(bars))
    fake.answer("/v1/corporate-actions", 200, payload("alpaca_corporate_actions_splits.json"))
    return vendor(fake.url).fetch(NVDA, timeframe, *span, "raw").unwrap()


def test_raw_alpaca_bars_carry_the_splits_of_their_span_from_corporate_actions() -> None:
    with fake_vendor() as fake:
        bars = nvda_around_its_split(fake, "alpaca_bars_nvda_split.json")
    # NVDA's 10-for-1 split acted from the start of its ex-date's trading day: its overnight
    # session, from 2024-06-09 20:00 New York
    assert [(from_ns(s.ts_ns), s.ratio) for s in bars.splits] == [(utc("2024-06-10 00:00"), 10.0)]
    assert bars.raw.close.tolist() == [1209.98, 1208.88, 121.79]  # as traded: not adjusted here
    _path, query, headers = fake.requests[-1]
    assert _path == "/v1/corporate-actions"
    assert query["symbols"] == ["NVDA"]
    assert set(query["types"][0].split(",")) == {"forward_split", "reverse_split"}
    assert (query["start"], query["end"]) == (["2024-06-06"], ["2024-06-11"])
    assert headers["APCA-API-KEY-ID"] == "AKTEST"


def test_adjusted_alpaca_bars_ask_for_no_corporate_actions() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 200, payload("alpaca_bars_nvda_split.json"))
        bars = vendor(fake.url).fetch(NVDA, Timeframe.DAY_1, *JUNE_6_TO_10, "split").unwrap()
    assert bars.splits == ()
    assert [p for p, _, _ in fake.requests] == ["/v2/stocks/bars"]


def test_a_failing_corporate_actions_call_fails_the_fetch_naming_the_endpoint() -> None:
    with fake_vendor() as fake:
        fake.answer("/v2/stocks/bars", 200, payload("alpaca_bars_nvda_split.json"))
        fake.answer("/v1/corporate-actions", 429, {"message": "too many requests"})
        failed = vendor(fake.url).fetch(NVDA, Timeframe.DAY_1, *JUNE_6_TO_10, "raw")
    assert isinstance(failed, Failure)
    assert failed.failure().code == "rate_limited"
    assert "/v1/corporate-actions" in failed.failure().message


def test_a_split_explains_the_jump_at_the_first_pre_market_bar_of_its_ex_date() -> None:
    # pre-market already trades at the new price: the split must act before 04:00, or the gate
    # takes the first pre-market bar for a bad tick and the regular open for a second split
    with fake_vendor() as fake:
        bars = nvda_around_its_split(fake, "alpaca_bars_nvda_split_5m.json", Timeframe.MINUTE_5,
                                     (utc("2024-06-07 19:00"), utc("2024-06-10 14:00")))
    frame, report = gate("alpaca", bars, open_calendar("XNYS"), DEFAULT_RULES)
    assert report.quarantined == ()
    assert len(frame) == 6
    unexplained = gate("alpaca", attrs.evolve(bars, splits=()), open_calendar("XNYS"),
                       DEFAULT_RULES)[1]
    assert len(unexplained.quarantined) == 1  # without the split, the first 121.4 is refused
