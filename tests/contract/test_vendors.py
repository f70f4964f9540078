"""Every vendor adapter on recorded payloads (written from the vendors' documented formats),
served through httpx.MockTransport: bars, pagination, empty results, rate limits and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from returns.result import Failure, Success

from aitrader.adapters.calendars import XnysCalendar
from aitrader.adapters.vendors import (
    AlphaVantageVendor,
    FinnhubVendor,
    TwelveDataVendor,
    VendorSettings,
    YahooVendor,
)
from aitrader.domain.market import Timeframe
from aitrader.domain.series import from_ns
from aitrader.domain.values import Symbol
from aitrader.ports.vendor import VendorBars

XNYS = XnysCalendar()  # daily bars span its sessions

PAYLOADS = Path(__file__).parent / "payloads"
EASTERN = ZoneInfo("America/New_York")
SECRET = "sk-test-never-shown"


def payload(name: str) -> object:
    return json.loads((PAYLOADS / name).read_text())


Handler = Callable[[httpx.Request], httpx.Response]


def serve(*responses: tuple[int, object]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering requests in turn with the given (status, body) pairs."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle), seen


def settings(url: str = "https://vendor.test") -> VendorSettings:
    return VendorSettings(base_url=url, api_key=SECRET)


def et(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=EASTERN).astimezone(UTC)


def closes(bars: VendorBars) -> list[datetime]:
    return [from_ns(int(t)) for t in bars.raw.ts_close]


DAY = (et("2020-08-28 00:00"), et("2020-09-04 00:00"))


def test_yahoo_daily_bars_close_at_four_and_are_raw_unless_asked() -> None:
    transport, seen = serve((200, payload("yahoo_chart_daily.json")))
    vendor = YahooVendor(settings(), transport, calendar=XNYS)
    raw = vendor.fetch(Symbol.parse("AAPL"), Timeframe.DAY_1, *DAY, "raw").unwrap()
    assert closes(raw)[0] == et("2020-08-31 16:00")
    assert raw.raw.ts_open[0] == int(et("2020-08-31 09:30").timestamp()) * 10**9
    assert len(raw.raw) == 4
    assert np.isnan(raw.raw.open[3])
    assert [s.ratio for s in raw.splits] == [4.0]
    request = seen[0]
    assert request.url.path == "/v8/finance/chart/AAPL"
    assert request.url.params["interval"] == "1d"
    assert request.url.params["events"] == "div,split"
    split = vendor.fetch(Symbol.parse("AAPL"), Timeframe.DAY_1, *DAY, "split").unwrap()
    assert split.raw.close[0] == pytest.approx(129.04)
    assert split.splits == ()
    every = vendor.fetch(Symbol.parse("AAPL"), Timeframe.DAY_1, *DAY, "all").unwrap()
    assert every.raw.close[0] == pytest.approx(126.8)


def test_yahoo_intraday_is_labelled_at_close_with_the_last_duplicate_kept() -> None:
    transport, _ = serve((200, payload("yahoo_chart_5m.json")))
    bars = YahooVendor(settings(), transport, calendar=XNYS).fetch(
        Symbol.parse("MSFT"), Timeframe.MINUTE_5, et("2024-01-02 09:00"), et("2024-01-02 10:00"),
        "raw").unwrap()
    assert closes(bars) == [et("2024-01-02 09:35"), et("2024-01-02 09:40"),
                            et("2024-01-02 09:45")]
    assert bars.raw.close.tolist() == [371.25, 371.1, 371.3]


def test_yahoo_unknown_symbol_and_rate_limit() -> None:
    transport, _ = serve((404, payload("yahoo_chart_not_found.json")))
    failed = YahooVendor(settings(), transport, calendar=XNYS).fetch(
        Symbol.parse("NOPE"), Timeframe.DAY_1, *DAY, "raw")
    assert isinstance(failed, Failure)
    assert failed.failure().code == "unknown_symbol"
    transport, _ = serve((200, payload("yahoo_chart_not_found.json")))
    failed = YahooVendor(settings(), transport, calendar=XNYS).fetch(
        Symbol.parse("NOPE"), Timeframe.DAY_1, *DAY, "raw")
    assert failed.failure().code == "unknown_symbol"  # type: ignore[union-attr]
    transport, _ = serve((429, "Too Many Requests"))
    failed = YahooVendor(settings(), transport, calendar=XNYS).fetch(
        Symbol.parse("AAPL"), Timeframe.DAY_1, *DAY, "raw")
    assert failed.failure().code == "rate_limited"  # type: ignore[union-attr]


IBM = Symbol.parse("IBM")


def test_alphavantage_daily_adjusts_from_its_split_and_dividend_columns() -> None:
    transport, seen = serve((200, payload("alphavantage_daily_adjusted.json")))
    vendor = AlphaVantageVendor(settings(), transport, calendar=XNYS)
    span = (et("2024-01-01 00:00"), et("2024-01-06 00:00"))
    raw = vendor.fetch(IBM, Timeframe.DAY_1, *span, "raw").unwrap()
    assert closes(raw) == [et("2024-01-03 16:00"), et("2024-01-04 16:00"),
                           et("2024-01-05 16:00")]
    assert raw.raw.close.tolist() == [162.0, 160.2, 80.5]
    assert [(from_ns(s.ts_ns), s.ratio) for s in raw.splits] == [(et("2024-01-05 09:30"), 2.0)]
    assert seen[0].url.params["function"] == "TIME_SERIES_DAILY_ADJUSTED"
    split = vendor.fetch(IBM, Timeframe.DAY_1, *span, "split").unwrap()
    assert split.raw.close.tolist() == [81.0, 80.1, 80.5]
    assert split.raw.volume.tolist() == [4_200_000.0, 4_000_000.0, 4_000_000.0]
    every = vendor.fetch(IBM, Timeframe.DAY_1, *span, "all").unwrap()
    assert every.raw.close[0] == pytest.approx(81.0 * (1 - 1.66 / 162.0))


def test_alphavantage_intraday_pages_by_month() -> None:
    transport, seen = serve((200, payload("alphavantage_intraday_2024-01.json")),
                            (200, payload("alphavantage_intraday_2024-02.json")))
    bars = AlphaVantageVendor(settings(), transport, calendar=XNYS).fetch(
        IBM, Timeframe.MINUTE_5, et("2024-01-31 09:00"), et("2024-02-01 10:00"), "raw").unwrap()
    assert [r.url.params["month"] for r in seen] == ["2024-01", "2024-02"]
    assert closes(bars) == [et("2024-01-31 09:35"), et("2024-01-31 09:40"),
                            et("2024-02-01 09:35")]


@pytest.mark.parametrize("name", ["alphavantage_note.json", "alphavantage_information.json"])
def test_alphavantage_rate_limit_comes_as_a_200_body(name: str) -> None:
    transport, _ = serve((200, payload(name)))
    failed = AlphaVantageVendor(settings(), transport, calendar=XNYS).fetch(
        IBM, Timeframe.DAY_1, *DAY, "raw")
    assert isinstance(failed, Failure)
    assert failed.failure().code == "rate_limited"
    assert SECRET not in failed.failure().message


def test_alphavantage_error_message_and_missing_key() -> None:
    transport, _ = serve((200, payload("alphavantage_error.json")))
    failed = AlphaVantageVendor(settings(), transport, calendar=XNYS).fetch(
        IBM, Timeframe.DAY_1, *DAY, "raw")
    assert failed.failure().code == "unknown_symbol"  # type: ignore[union-attr]
    keyless = AlphaVantageVendor(VendorSettings("https://vendor.test"), transport, calendar=XNYS)
    failed = keyless.fetch(IBM, Timeframe.DAY_1, *DAY, "raw")
    assert failed.failure().code == "unauthorized"  # type: ignore[union-attr]
    assert "AITRADER_ALPHAVANTAGE_API_KEY" in failed.failure().message  # type: ignore[union-attr]


AAPL = Symbol.parse("AAPL")
JAN2 = (et("2024-01-02 00:00"), et("2024-01-05 00:00"))


def test_finnhub_daily_candles_are_stamped_on_their_day() -> None:
    transport, seen = serve((200, payload("finnhub_candle_daily.json")))
    bars = FinnhubVendor(settings(), transport, calendar=XNYS).fetch(AAPL, Timeframe.DAY_1, *JAN2,
                                                      "split").unwrap()
    assert closes(bars) == [et("2024-01-02 16:00"), et("2024-01-03 16:00"),
                            et("2024-01-04 16:00")]
    assert seen[0].url.params["resolution"] == "D"
    assert seen[0].url.params["token"] == SECRET


def test_finnhub_intraday_empty_limit_and_unsupported_adjustment() -> None:
    transport, _ = serve((200, payload("finnhub_candle_1m.json")))
    bars = FinnhubVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.MINUTE_1, et("2024-01-02 09:00"), et("2024-01-02 10:00"), "raw").unwrap()
    assert closes(bars) == [et("2024-01-02 09:31"), et("2024-01-02 09:32")]
    transport, _ = serve((200, payload("finnhub_no_data.json")))
    empty = FinnhubVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "split")
    assert isinstance(empty, Success)
    assert len(empty.unwrap().raw) == 0
    transport, _ = serve((429, payload("finnhub_limit.json")))
    limited = FinnhubVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "split")
    assert limited.failure().code == "rate_limited"  # type: ignore[union-attr]
    unsupported = FinnhubVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "raw")
    assert unsupported.failure().code == "unsupported"  # type: ignore[union-attr]


def test_twelvedata_pages_backwards_until_a_short_page(monkeypatch: pytest.MonkeyPatch) -> None:
    import aitrader.adapters.vendors.twelvedata as td

    monkeypatch.setattr(td, "PAGE_SIZE", 2)
    transport, seen = serve((200, payload("twelvedata_page1.json")),
                            (200, payload("twelvedata_page2.json")))
    bars = TwelveDataVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.HOUR_1, et("2024-01-02 09:00"), et("2024-01-02 13:00"), "raw").unwrap()
    assert len(seen) == 2
    assert seen[1].url.params["end_date"] == "2024-01-02 15:29:59"
    assert seen[0].url.params["adjust"] == "none"
    assert seen[0].url.params["timezone"] == "UTC"
    assert closes(bars) == [et("2024-01-02 10:30"), et("2024-01-02 11:30"),
                            et("2024-01-02 12:30")]


def test_twelvedata_daily_rate_limit_and_no_data() -> None:
    transport, _ = serve((200, payload("twelvedata_daily.json")))
    bars = TwelveDataVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "split").unwrap()
    assert closes(bars) == [et("2024-01-02 16:00"), et("2024-01-03 16:00")]
    transport, _ = serve((200, payload("twelvedata_rate_limit.json")))
    limited = TwelveDataVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "raw")
    assert limited.failure().code == "rate_limited"  # type: ignore[union-attr]
    transport, _ = serve((200, payload("twelvedata_no_data.json")))
    empty = TwelveDataVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "raw")
    assert len(empty.unwrap().raw) == 0


@pytest.mark.parametrize("vendor", [YahooVendor, FinnhubVendor, TwelveDataVendor,
                                    AlphaVantageVendor])
def test_timeouts_outages_and_server_errors_are_retryable_and_never_show_the_key(
    vendor: type,
) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adjustment = "split" if vendor is FinnhubVendor else "raw"
    for handler, code in ((timeout, "timeout"), (refused, "unavailable")):
        failed = vendor(settings(), httpx.MockTransport(handler), calendar=XNYS).fetch(
            AAPL, Timeframe.DAY_1, *JAN2, adjustment)
        assert failed.failure().code == code
        assert SECRET not in failed.failure().message
    transport, _ = serve((503, "down"))
    failed = vendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, adjustment)
    assert failed.failure().code == "unavailable"
    transport, _ = serve((401, {"message": "bad key"}))
    failed = vendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, adjustment)
    assert failed.failure().code == "unauthorized"
    assert SECRET not in repr(settings())


def test_yahoo_empty_result_is_no_bars() -> None:
    transport, _ = serve((200, payload("yahoo_chart_empty.json")))
    bars = YahooVendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, "raw")
    assert len(bars.unwrap().raw) == 0


@pytest.mark.parametrize(("vendor", "body"), [
    (YahooVendor, {"chart": {"result": [{"timestamp": ["x"], "indicators": {"quote": [{}]}}]}}),
    (YahooVendor, {"chart": {"result": [{"timestamp": [1], "events": {"splits": {"1": 4}}}]}}),
    (FinnhubVendor, {"s": "ok", "t": ["x"], "o": [1], "h": [1], "l": [1], "c": [1], "v": [1]}),
    (TwelveDataVendor, {"status": "ok", "values": [{"datetime": "not a date"}]}),
    (TwelveDataVendor, {"status": "ok", "values": [{"open": "1"}]}),
    (AlphaVantageVendor, {"Time Series (Daily)": {"yesterday": {"4. close": "1"}}}),
])
def test_a_body_of_the_wrong_shape_is_invalid_data_not_a_crash(vendor: type,
                                                                body: object) -> None:
    adjustment = "split" if vendor is FinnhubVendor else "raw"
    transport, _ = serve((200, body))
    failed = vendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, adjustment)
    assert isinstance(failed, Failure)
    assert failed.failure().code == "invalid_data"
    assert "malformed response" in failed.failure().message
    assert SECRET not in failed.failure().message


@pytest.mark.parametrize("vendor", [YahooVendor, FinnhubVendor, TwelveDataVendor,
                                    AlphaVantageVendor])
@pytest.mark.parametrize(("status", "body"), [
    (400, {"Error Message": f"bad request ?function=X&apikey={SECRET}"}),
    (200, {"Error Message": f"Invalid API call: apikey={SECRET}"}),
    (200, {"error": f"Invalid token {SECRET}", "s": "error"}),
    (200, {"code": 401, "message": f"apikey {SECRET} is incorrect", "status": "error"}),
    (200, {"code": 400, "message": f"no such symbol (apikey {SECRET})", "status": "error"}),
    (200, {"chart": {"error": {"code": "Bad", "description": f"token {SECRET}"}}}),
])
def test_a_vendor_echoing_the_key_in_its_error_never_gets_it_shown(
    vendor: type, status: int, body: object,
) -> None:
    adjustment = "split" if vendor is FinnhubVendor else "raw"
    transport, _ = serve((status, body))
    failed = vendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, adjustment)
    assert isinstance(failed, Failure)
    assert SECRET not in failed.failure().message


@pytest.mark.parametrize("vendor", [YahooVendor, FinnhubVendor, TwelveDataVendor,
                                    AlphaVantageVendor])
def test_a_base_url_httpx_cannot_parse_is_a_failure_naming_the_setting(vendor: type) -> None:
    adjustment = "split" if vendor is FinnhubVendor else "raw"
    transport, seen = serve((200, {}))
    failed = vendor(settings("http://[::1"), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *JAN2, adjustment)
    assert isinstance(failed, Failure)  # it was an httpx.InvalidURL traceback
    assert failed.failure().code == "invalid_request"
    assert f"AITRADER_{vendor.vendor.upper()}_BASE_URL" in failed.failure().message
    assert not seen


CHRISTMAS = (et("2025-12-22 00:00"), et("2025-12-27 00:00"))


@pytest.mark.parametrize(("vendor", "recorded"), [
    (YahooVendor, "yahoo_chart_daily_christmas.json"),
    (TwelveDataVendor, "twelvedata_daily_christmas.json")])
def test_a_daily_bar_on_an_early_close_day_closes_at_one_in_the_afternoon(
        vendor: type, recorded: str) -> None:
    # 2025-12-24 closes at 13:00 New York (18:00 UTC in winter), as its regular session does
    transport, _ = serve((200, payload(recorded)))
    bars = vendor(settings(), transport, calendar=XNYS).fetch(
        AAPL, Timeframe.DAY_1, *CHRISTMAS, "raw").unwrap()
    by_day = {from_ns(int(t)).astimezone(EASTERN).date().isoformat(): from_ns(int(c))
              for t, c in zip(bars.raw.ts_open, bars.raw.ts_close, strict=True)}
    assert by_day["2025-12-24"] == datetime(2025, 12, 24, 18, 0, tzinfo=UTC)
    assert by_day["2025-12-23"] == datetime(2025, 12, 23, 21, 0, tzinfo=UTC)
    assert by_day["2025-12-26"] == datetime(2025, 12, 26, 21, 0, tzinfo=UTC)
    assert by_day["2025-12-24"] == XNYS.daily_session(date(2025, 12, 24)).end
