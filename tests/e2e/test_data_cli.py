"""`aitrader data ...` and `--vendor` as a user drives them; vendors are fake servers on
127.0.0.1 reached through AITRADER_<VENDOR>_BASE_URL."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import msgpack
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import DAILY_HEADER, Cli, daily_rows, write_csv
from tests.http_fake import fake_vendor
from tests.ws_fake import Script, fake_stream, message

PAYLOADS = Path(__file__).parents[1] / "contract" / "payloads"


def test_sessions_json_lists_the_day_in_utc(cli: Cli) -> None:
    early = cli("data", "sessions", "--date", "2024-11-29", "--json")
    assert early.code == 0
    assert early.json() == [  # after Thanksgiving: no overnight session, an early close
        {"session": "PRE", "start": "2024-11-29T09:00:00+00:00",
         "end": "2024-11-29T14:30:00+00:00"},
        {"session": "REGULAR", "start": "2024-11-29T14:30:00+00:00",
         "end": "2024-11-29T18:00:00+00:00"},
        {"session": "POST", "start": "2024-11-29T18:00:00+00:00",
         "end": "2024-11-29T22:00:00+00:00"}]
    summer = cli("data", "sessions", "--date", "2024-07-01", "--json").json()
    assert summer[0]["session"] == "OVERNIGHT"  # Sunday night into Monday
    assert summer[2] == {"session": "REGULAR", "start": "2024-07-01T13:30:00+00:00",
                         "end": "2024-07-01T20:00:00+00:00"}
    assert cli("data", "sessions", "--date", "2024-12-25", "--json").json() == []
    text = cli("data", "sessions", "--date", "2024-07-01")
    assert "REGULAR" in text.stdout
    assert "2024-07-01T09:30:00-04:00" in text.stdout
    always = cli("data", "sessions", "--date", "2024-12-25", "--calendar", "24/7", "--json")
    assert [w["session"] for w in always.json()] == ["REGULAR"]


@pytest.mark.parametrize("args", [("--date", "2024-13-01"), ("--date", "2024-07-01",
                                  "--calendar", "LSE")])
def test_sessions_refuse_bad_input_in_one_line(cli: Cli, args: tuple[str, ...]) -> None:
    outcome = cli("data", "sessions", *args)
    assert outcome.code == 2
    assert outcome.error_line().startswith("error: ")


def test_validate_quarantines_corrupt_rows_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    rows = daily_rows(30, start=date(2024, 7, 8))  # no holiday among these weekdays
    rows[5][2] = f"{float(rows[5][4]) - 0.01:.2f}"  # high below close
    rows[9][5] = "-3"  # negative volume
    rows[12][1:] = rows[11][1:]  # the previous bar again, under a new date
    rows.append(["2024-09-02", "50", "51", "49", "50.5", "1000"])  # Labor Day
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, rows)
    outcome = cli("data", "validate", str(path), "--journal", cli.journal_url, "--json")
    assert outcome.code == 1
    report = outcome.json()["reports"][0]
    assert report["received"] == 31
    assert report["passed"] == 27
    assert report["sessions"] == {"REGULAR": 27}
    assert report["reasons"] == {"high is below open or close": 1, "volume is negative": 1,
                                 "outside every session": 1,
                                 "repeats the previous bar exactly (stale feed)": 1}
    text = cli("data", "validate", str(path), "--journal", cli.journal_url)
    assert "quarantined 4 of 31 bars" in text.stdout
    with sqlite3.connect(cli.db_path) as db:  # validated twice, recorded once
        recorded = db.execute("SELECT count(*), count(DISTINCT ts_close) FROM quarantined_bars "
                              "WHERE run_id IS NULL").fetchone()
    assert recorded == (4, 4)


def test_validate_of_a_sound_file_makes_no_journal(cli: Cli, tmp_path: Path) -> None:
    # nothing was quarantined, so there is nothing to record: a new journal was made and
    # migrated only to hold no row
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, daily_rows(30, start=date(2024, 7, 8)))
    outcome = cli("data", "validate", str(path), "--journal", cli.journal_url, "--json")
    assert outcome.code == 0, outcome.stderr
    assert outcome.json()["quarantined"] == 0
    assert not cli.db_path.exists()

def test_validate_names_a_bad_bar_by_its_line_in_a_long_file_of_interleaved_symbols(
    cli: Cli, tmp_path: Path,
) -> None:
    first, second = daily_rows(6, start=date(2024, 7, 8)), daily_rows(6, start=date(2024, 7, 8))
    second[3][2] = f"{float(second[3][4]) - 0.01:.2f}"  # IBM's 4th bar: high below its close
    rows = [[*bar, symbol] for pair in zip(first, second, strict=True)
            for bar, symbol in zip(pair, ("AAPL", "IBM"), strict=True)]
    path = write_csv(tmp_path / "long.csv", (*DAILY_HEADER, "symbol"), rows)
    # line 1 the header; the bars alternate AAPL, IBM from line 2: IBM's 4th bar is on line 9
    assert path.read_text().splitlines()[8].endswith(",IBM")
    assert path.read_text().splitlines()[8].split(",")[0] == second[3][0]

    outcome = cli("data", "validate", str(path), "--journal", cli.journal_url, "--json")

    assert outcome.code == 1, outcome.stderr
    [bad] = [bar for report in outcome.json()["reports"] for bar in report["bars"]]
    assert bad["row"] == 9
    assert bad["file"] == str(path)
    assert bad["reason"] == "high is below open or close"
    text = cli("data", "validate", str(path), "--journal", cli.journal_url)
    assert f"{path} line 9" in text.stdout


def test_validate_names_bad_bars_by_line_in_one_file_per_symbol_and_row_in_parquet(
    cli: Cli, tmp_path: Path,
) -> None:
    rows = daily_rows(6, start=date(2024, 7, 8))
    rows[4][5] = "-1"  # the 5th bar: line 6 of the file, with the header on line 1
    write_csv(tmp_path / "bars" / "AAPL.csv", DAILY_HEADER, daily_rows(6, start=date(2024, 7, 8)))
    csv_path = write_csv(tmp_path / "bars" / "MSFT.csv", DAILY_HEADER, rows)
    outcome = cli("data", "validate", str(tmp_path / "bars"), "--journal", cli.journal_url,
                  "--json")
    assert outcome.code == 1, outcome.stderr
    [bad] = [bar for report in outcome.json()["reports"] for bar in report["bars"]]
    assert (bad["file"], bad["row"]) == (str(csv_path), 6)
    table = pa.table({name: [row[k] for row in rows] for k, name in enumerate(DAILY_HEADER)})
    pq.write_table(table, tmp_path / "MSFT.parquet")
    parquet = cli("data", "validate", str(tmp_path / "MSFT.parquet"), "--journal",
                  cli.journal_url, "--json")
    [bad] = [bar for report in parquet.json()["reports"] for bar in report["bars"]]
    assert bad["row"] == 5  # Parquet has no lines: the 5th data row is row 5
    text = cli("data", "validate", str(tmp_path / "MSFT.parquet"), "--journal", cli.journal_url)
    assert f"{tmp_path / 'MSFT.parquet'} row 5" in text.stdout


def test_validate_passes_a_sound_file(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "MSFT.csv", DAILY_HEADER, daily_rows(20, start=date(2024, 7, 8)))
    outcome = cli("data", "validate", str(path), "--journal", cli.journal_url)
    assert outcome.code == 0, outcome.stderr
    assert "quarantined 0 of 20 bars" in outcome.stdout


def test_validate_refuses_a_symbol_in_two_files_of_a_directory_as_backtest_does(
    cli: Cli, tmp_path: Path
) -> None:
    rows = daily_rows(20, start=date(2024, 7, 8))
    folder = tmp_path / "bars"
    write_csv(folder / "AAPL.csv", DAILY_HEADER, rows)
    write_csv(folder / "MSFT.csv", DAILY_HEADER, rows)
    write_csv(folder / "long.csv", ("date", "symbol", *DAILY_HEADER[1:]),
              [[r[0], "AAPL", *r[1:]] for r in rows])
    validated = cli("data", "validate", str(folder), "--journal", cli.journal_url)
    backtested = cli("backtest", "--data", str(folder), "--journal", cli.journal_url)
    assert validated.code == backtested.code == 2
    assert validated.error_line() == backtested.error_line() == (
        f"error: {folder}: symbol AAPL is in both {folder / 'AAPL.csv'} and "
        f"{folder / 'long.csv'}")


@pytest.mark.parametrize("target", ["nowhere.csv", "2024-01-05..2024-01-01", "2024-01-01..x"])
def test_validate_refuses_what_is_neither_a_file_nor_a_range(cli: Cli, target: str) -> None:
    outcome = cli("data", "validate", target, "--vendor", "sample", "--symbols", "AAPL",
                  "--journal", cli.journal_url)
    assert outcome.code == 2
    outcome.error_line()


def test_fetch_from_yahoo_caches_and_a_second_fetch_makes_no_call(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    body = json.loads((PAYLOADS / "yahoo_chart_daily.json").read_text())
    with fake_vendor() as fake:
        fake.answer("/v8/finance/chart/AAPL", 200, body)
        monkeypatch.setenv("AITRADER_YAHOO_BASE_URL", fake.url)
        args = ("data", "fetch", "--vendor", "yahoo", "--symbols", "AAPL", "--start",
                "2020-08-31", "--end", "2020-09-03", "--journal", cli.journal_url, "--json")
        first = cli(*args)
        assert first.code == 0, first.stderr
        second = cli(*args)
        assert len(fake.requests) == 1
    fetched, cached = first.json()["symbols"][0], second.json()["symbols"][0]
    assert fetched["vendor"] == "yahoo"
    assert not fetched["cached"]
    assert cached["cached"]
    assert fetched["bars"] == 3
    assert fetched["quarantined"] == 1
    assert fetched["reasons"] == {"open is not a finite number": 1}
    assert fetched["digest"] == cached["digest"]
    assert list((tmp_path / ".aitrader" / "cache" / "yahoo" / "AAPL" / "1D").glob("*.parquet"))
    with sqlite3.connect(cli.db_path) as db:  # and ingested into the journal's bars table
        stored = db.execute("SELECT source, symbol, timeframe, close FROM bars "
                            "ORDER BY ts_close_ns").fetchall()
    assert stored == [("yahoo", "AAPL", "1D", 129.04), ("yahoo", "AAPL", "1D", 134.18),
                      ("yahoo", "AAPL", "1D", 131.4)]


def test_a_rate_limited_vendor_falls_back_to_the_next(
    cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AITRADER_VENDORS__BACKOFF_S", "0.01")
    monkeypatch.setenv("AITRADER_ALPHAVANTAGE_API_KEY", "k-secret-1")
    note = json.loads((PAYLOADS / "alphavantage_note.json").read_text())
    with fake_vendor() as fake:
        fake.answer("/query", 200, note)
        monkeypatch.setenv("AITRADER_ALPHAVANTAGE_BASE_URL", fake.url)
        outcome = cli("data", "fetch", "--vendor", "alphavantage,sample", "--symbols", "IBM",
                      "--start", "2010-01-04", "--end", "2010-01-29", "--journal",
                      cli.journal_url, "--json")
        assert len(fake.requests) == 3  # bounded retries
    assert outcome.code == 0, outcome.stderr
    document = outcome.json()
    assert document["symbols"][0]["vendor"] == "sample"
    assert [a["outcome"] for a in document["attempts"]] == ["rate_limited", "ok"]
    alone = cli("data", "fetch", "--vendor", "alphavantage", "--symbols", "IBM", "--start",
                "2010-01-04", "--end", "2010-01-29", "--journal", cli.journal_url)
    assert alone.code == 1
    assert "k-secret-1" not in alone.stderr
    alone.error_line()


def test_compare_reports_where_two_sources_disagree(cli: Cli, tmp_path: Path,
                                                    sample_rows: list[dict[str, str]]) -> None:
    rows = [[r["date"], r["open"], r["high"], r["low"], r["close"], r["volume"]]
            for r in sample_rows if r["symbol"] == "KO" and "2010-01-01" <= r["date"]
            < "2010-02-01"]
    rows[3][4] = f"{float(rows[3][4]) * 1.02:.2f}"
    rows[3][2] = f"{max(float(rows[3][2]), float(rows[3][4])):.2f}"
    path = write_csv(tmp_path / "KO.csv", DAILY_HEADER, rows[:-1])
    outcome = cli("data", "compare", "--vendors", "sample,files", "--data", str(path),
                  "--symbol", "KO", "--start", "2010-01-01", "--end", "2010-01-31", "--json")
    assert outcome.code == 1, outcome.stderr
    document = outcome.json()
    assert document["compared"] == len(rows) - 1
    assert document["only_left"] == 1
    assert {d["field"] for d in document["disagreements"]} >= {"close", "missing_right"}
    same = cli("data", "compare", "--vendors", "sample,sample2", "--symbol", "KO", "--start",
               "2010-01-01", "--end", "2010-01-31")
    assert same.code == 2


def test_an_early_close_daily_bar_is_stamped_13_00_and_gaps_and_validate_agree(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    body = json.loads((PAYLOADS / "yahoo_chart_daily_christmas.json").read_text())
    with fake_vendor() as fake:
        fake.answer("/v8/finance/chart/AAPL", 200, body)
        monkeypatch.setenv("AITRADER_YAHOO_BASE_URL", fake.url)
        fetched = cli("data", "fetch", "--vendor", "yahoo", "--symbols", "AAPL", "--start",
                      "2025-12-22", "--end", "2025-12-26", "--journal", cli.journal_url)
        assert fetched.code == 0, fetched.stderr
        gaps = cli("data", "gaps", "--vendor", "yahoo", "--symbols", "AAPL", "--start",
                   "2025-12-22", "--end", "2025-12-26", "--no-backfill", "--json")
        checked = cli("data", "validate", "2025-12-22..2025-12-26", "--vendor", "yahoo",
                      "--symbols", "AAPL", "--journal", cli.journal_url, "--json")
    with sqlite3.connect(cli.db_path) as db:
        closes = [row[0] for row in db.execute("SELECT ts_close_ns FROM bars ORDER BY 1")]
    assert [datetime.fromtimestamp(ns / 1e9, UTC).isoformat() for ns in closes] == [
        "2025-12-22T21:00:00+00:00", "2025-12-23T21:00:00+00:00",
        "2025-12-24T18:00:00+00:00",  # Christmas Eve closes at 13:00 New York
        "2025-12-26T21:00:00+00:00"]
    assert gaps.code == 0, gaps.stdout
    assert gaps.json()[0] | {"gaps": []} == {"symbol": "AAPL", "expected": 4, "present": 4,
                                           "filled": 0, "filled_by": [], "missing": 0,
                                           "gaps": []}
    assert checked.code == 0, checked.stdout
    assert checked.json()["reports"][0]["sessions"] == {"REGULAR": 4}
    rows = [["2025-12-22", "272.86", "273.88", "270.51", "270.97", "36571800"],
            ["2025-12-23", "270.84", "272.5", "269.56", "272.36", "29642000"],
            ["2025-12-24", "272.34", "275.43", "272.2", "273.81", "17910600"],
            ["2025-12-26", "274.16", "275.37", "272.86", "273.4", "21521800"]]
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, rows)
    in_file = cli("data", "gaps", "--data", str(path), "--symbols", "AAPL", "--start",
                  "2025-12-22", "--end", "2025-12-26", "--no-backfill", "--json")
    assert in_file.code == 0, in_file.stdout
    assert in_file.json()[0]["present"] == 4


def test_data_over_a_day_without_pre_market_is_judged_not_a_traceback(
    cli: Cli, tmp_path: Path,
) -> None:
    # 2001-09-17 opened at 09:33 with no pre-market session: building its sessions raised
    path = write_csv(tmp_path / "XYZ.csv", DAILY_HEADER, daily_rows(20, start=date(2001, 9, 17)))
    checked = cli("data", "validate", str(path), "--journal", cli.journal_url, "--json")
    assert checked.code == 0, checked.stderr
    assert checked.json()["reports"][0]["passed"] == 20
    run = cli("backtest", "--data", str(path), "--journal", cli.journal_url, "--json")
    assert run.code == 0, run.stderr
    assert run.json()["bars"] == 20


def test_a_file_dated_where_no_calendar_reaches_is_quarantined_not_a_traceback(
    cli: Cli, tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "FAR.csv", DAILY_HEADER, [
        ["2262-04-09", "1", "2", "1", "1.5", "10"], ["2262-04-10", "1.5", "2", "1", "1.6", "10"]])
    checked = cli("data", "validate", str(path), "--journal", cli.journal_url, "--json")
    assert checked.code == 1, checked.stderr
    assert checked.json()["reports"][0]["reasons"] == {"outside every session": 2}


def test_gaps_reports_missing_trading_days(cli: Cli, tmp_path: Path) -> None:
    rows = daily_rows(23, start=date(2024, 6, 3))
    holes = [r for r in rows if r[0] not in ("2024-06-12", "2024-06-13")
             and r[0] != "2024-06-19"]  # Juneteenth is a holiday, so not a gap
    path = write_csv(tmp_path / "XYZ.csv", DAILY_HEADER, holes)
    outcome = cli("data", "gaps", "--data", str(path), "--symbols", "XYZ", "--start",
                  "2024-06-03", "--end", "2024-06-28", "--json")
    assert outcome.code == 1, outcome.stderr
    [report] = outcome.json()
    assert report["missing"] == 2
    assert report["gaps"][0]["first"].startswith("2024-06-12")
    assert report["expected"] == 19


def test_backtest_on_a_vendor_makes_the_same_decisions_as_on_the_files(cli: Cli) -> None:
    args = ("--symbols", "AAPL,MSFT", "--start", "2009-09-01", "--end", "2010-08-01")
    on_files = cli.backtest_json(*args)
    on_vendor = cli.backtest_json(*args, "--vendor", "sample")
    assert on_vendor["decisions_digest"] == on_files["decisions_digest"]
    assert on_vendor["metrics"] == on_files["metrics"]


@pytest.mark.parametrize("args", [("--vendor", "nasdaq"), ("--vendor", "yahoo", "--data", "x"),
                                  ("--vendor", "sample")])
def test_vendor_flags_refuse_bad_input_in_one_line(cli: Cli, args: tuple[str, ...]) -> None:
    outcome = cli.backtest(*args, "--symbols", "AAPL")
    assert outcome.code == 2
    outcome.error_line()
    assert not cli.db_path.exists()  # refused before anything was written


def test_stream_prints_live_bars_as_json_lines(cli: Cli,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script([message(0), message(1), message(2)])
    with fake_stream(script) as url:
        monkeypatch.setenv("AITRADER_ALPACA_STREAM_URL", url)
        monkeypatch.setenv("AITRADER_ALPACA_API_KEY", "AKTEST")
        monkeypatch.setenv("AITRADER_ALPACA_API_SECRET", "s3cr3t")
        outcome = cli("data", "stream", "--symbols", "AAPL", "--bars", "2", "--json")
    assert outcome.code == 0, outcome.stderr
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert [line["ts_close"] for line in lines[:-1]] == ["2024-01-02T14:31:00+00:00",
                                                         "2024-01-02T14:32:00+00:00"]
    assert lines[0]["close"] == "100.0"
    assert lines[-1] == {"summary": {"bars": 2, "backfilled": 0, "quarantined": 0,
                                     "reasons": {}, "unfilled": 0}}
    assert script.auth[0]["key"] == "AKTEST"


def stream_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AITRADER_ALPACA_STREAM_URL", url)
    monkeypatch.setenv("AITRADER_ALPACA_API_KEY", "AKTEST")
    monkeypatch.setenv("AITRADER_ALPACA_API_SECRET", "s3cr3t")


def test_stream_quarantines_bad_live_bars_counts_and_journals_them(
    cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:
    weekend = message(0, close=99.0)
    weekend["t"] = msgpack.Timestamp.from_datetime(datetime(2023, 12, 30, 15, 0, tzinfo=UTC))
    corrupt = message(1)
    corrupt["c"] = float("nan")
    script = Script([weekend, message(0), message(0), corrupt, message(1),
                     message(2, close=300.0), message(3)])
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    with fake_stream(script) as url:
        stream_env(monkeypatch, url)
        outcome = cli("data", "stream", "--symbols", "AAPL", "--bars", "3", "--vendor",
                      "sample", "--journal", cli.journal_url, "--json")
    assert outcome.code == 0, outcome.stderr
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert [line["ts_close"][11:16] for line in lines[:-1]] == ["14:31", "14:32", "14:34"]
    jump = "jumps from the previous close by more than the limit, and no split explains it"
    assert lines[-1]["summary"] == {
        "bars": 3, "backfilled": 0, "quarantined": 4, "unfilled": 1,
        "reasons": {"close is not a finite number": 1, "duplicate timestamp": 1,
                    "outside every session": 1, jump: 1}}
    with sqlite3.connect(cli.db_path) as db:
        found = db.execute("select ts_close, reason, source from quarantined_bars "
                           "order by ts_close").fetchall()
    assert [(ts[:16], reason) for ts, reason, _ in found] == [
        ("2023-12-30 15:01", "outside every session"),
        ("2024-01-02 14:31", "duplicate timestamp"),
        ("2024-01-02 14:32", "close is not a finite number"),
        ("2024-01-02 14:33", jump)]
    assert {source for _, _, source in found} == {"alpaca stream"}


@pytest.mark.parametrize("journal", [False, True], ids=["no_journal", "journal"])
def test_stream_with_a_refused_key_stops_with_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, journal: bool,
) -> None:
    script = Script([message(0)], refuse=True)
    with fake_stream(script) as url:
        stream_env(monkeypatch, url)
        outcome = cli("data", "stream", "--symbols", "AAPL", "--bars", "1",
                      *(("--journal", cli.journal_url) if journal else ()))
    assert outcome.code == 1
    assert "Alpaca refused the stream login: auth failed" in outcome.error_line()
    assert len(script.auth) == 1
    assert not cli.db_path.exists()  # nothing was quarantined: no journal made


def test_validate_a_range_fetched_from_a_vendor(cli: Cli) -> None:
    outcome = cli("data", "validate", "2010-01-04..2010-01-29", "--vendor", "sample",
                  "--symbols", "KO,IBM", "--journal", cli.journal_url, "--json")
    assert outcome.code == 0, outcome.stderr
    reports = outcome.json()["reports"]
    assert [r["symbol"] for r in reports] == ["KO", "IBM"]
    assert all(r["received"] == r["passed"] > 0 for r in reports)
    assert not cli.db_path.exists()  # nothing quarantined, nothing to record


def test_validate_on_a_vendor_numbers_bars_by_their_place_in_the_feed(
    cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = json.loads((PAYLOADS / "yahoo_chart_daily.json").read_text())  # 4th open is null
    with fake_vendor() as fake:
        fake.answer("/v8/finance/chart/AAPL", 200, body)
        monkeypatch.setenv("AITRADER_YAHOO_BASE_URL", fake.url)
        args = ("data", "validate", "2020-08-31..2020-09-03", "--vendor", "yahoo", "--symbols",
                "AAPL", "--journal", cli.journal_url)
        outcome = cli(*args, "--json")
        text = cli(*args)
    [bad] = outcome.json()["reports"][0]["bars"]
    assert bad["row"] == 4  # the 4th bar the vendor delivered, oldest first
    assert "file" not in bad
    assert "  row 4  2020-09-03T20:00:00+00:00  open is not a finite number" in text.stdout


def test_paper_replay_on_a_vendor_makes_the_backtests_decisions(cli: Cli) -> None:
    args = ("--symbols", "JNJ", "--start", "2009-09-01", "--end", "2010-08-01")
    backtest = cli.backtest_json(*args)
    paper = cli.paper_json(*args, "--vendor", "sample")
    assert paper["decisions_digest"] == backtest["decisions_digest"]


def test_local_files_are_read_afresh_never_from_the_cache(cli: Cli, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a" / "XYZ.csv", DAILY_HEADER,
                      daily_rows(10, start=date(2024, 7, 8)))
    second = write_csv(tmp_path / "b" / "XYZ.csv", DAILY_HEADER,
                       daily_rows(10, start=date(2024, 7, 8), base=80.0))
    args = ("data", "fetch", "--vendor", "files", "--symbols", "XYZ", "--start", "2024-07-08",
            "--end", "2024-07-19", "--journal", cli.journal_url, "--json", "--data")
    one, two = cli(*args, str(first)).json(), cli(*args, str(second)).json()
    assert one["symbols"][0]["digest"] != two["symbols"][0]["digest"]
    assert not two["symbols"][0]["cached"]
    assert not (tmp_path / ".aitrader" / "cache").exists()


@pytest.mark.parametrize("args", [
    ("sessions", "--date", "2300-01-02"),
    ("gaps", "--vendor", "sample", "--symbols", "KO", "--start", "2300-01-04", "--end",
     "2300-01-29"),
    ("fetch", "--vendor", "sample", "--symbols", "KO", "--start", "1850-01-04", "--end",
     "1850-01-29"),
    ("validate", "2300-01-01..2300-02-01", "--vendor", "sample", "--symbols", "KO"),
    ("stream", "--symbols", "AAPL", "--bars", "1"),  # no Alpaca key: refused, not retried
])
def test_data_commands_refuse_what_they_cannot_serve_in_one_line(
    cli: Cli, args: tuple[str, ...],
) -> None:
    outcome = cli("data", *args, "--journal", cli.journal_url) if args[0] in (
        "fetch", "validate") else cli("data", *args)
    assert outcome.code == 2
    outcome.error_line()
    assert not cli.db_path.exists()


def test_validate_refuses_an_unknown_timeframe_before_reading(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "MSFT.csv", DAILY_HEADER, daily_rows(5, start=date(2024, 7, 8)))
    outcome = cli("data", "validate", str(path), "--timeframe", "7m", "--journal",
                  cli.journal_url)
    assert outcome.code == 2
    assert "--timeframe" in outcome.error_line()


def test_a_feed_older_than_max_age_is_reported_stale(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "MSFT.csv", DAILY_HEADER, daily_rows(20, start=date(2024, 7, 8)))
    args = ("data", "validate", str(path), "--journal", cli.journal_url, "--json")
    stale = cli(*args, "--max-age", "3600")
    assert stale.code == 1
    assert stale.json()["reports"][0]["stale"] is True
    assert stale.json()["quarantined"] == 0
    fresh = cli(*args, "--max-age", "1e11")  # three thousand years
    assert fresh.code == 0, fresh.stderr
    assert fresh.json()["reports"][0]["stale"] is False
    fetched = cli("data", "fetch", "--vendor", "sample", "--symbols", "KO", "--start",
                  "2010-01-04", "--end", "2010-01-29", "--journal", cli.journal_url, "--json",
                  "--max-age", "86400")
    assert fetched.code == 1
    assert fetched.json()["symbols"][0]["stale"] is True
    refused = cli(*args, "--max-age", "-5")
    assert refused.code == 2
    refused.error_line()


def test_a_backtest_on_a_file_quarantines_a_weekend_bar_under_its_run_and_says_so(cli: Cli,
                                                                    tmp_path: Path) -> None:
    from tests.e2e.conftest import DAILY_HEADER, daily_rows, write_csv

    rows = daily_rows(10)  # weekdays from Monday 2010-01-04, no holiday among them
    saturday = ["2010-01-09", *rows[4][1:]]  # a copy of Friday's bar, stamped on Saturday
    path = write_csv(tmp_path / "data" / "ABC.csv", DAILY_HEADER, [*rows[:5], saturday, *rows[5:]])

    outcome = cli.backtest("--data", str(path), "--json")

    assert outcome.code == 0, outcome.stderr
    assert outcome.json()["bars"] == 10
    assert "data.quarantined" in outcome.stderr
    assert "outside every session" in outcome.stderr
    import sqlite3

    with sqlite3.connect(cli.db_path) as db:
        found = db.execute("select run_id, symbol, ts_close, reason from quarantined_bars"
                           ).fetchall()
    assert [(run, symbol, ts[:10], reason) for run, symbol, ts, reason in found] \
        == [(outcome.json()["run_id"], "ABC", "2010-01-09", "outside every session")]


def test_a_max_age_beyond_any_clock_is_never_stale_not_a_crash(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "MSFT.csv", DAILY_HEADER, daily_rows(5, start=date(2024, 7, 8)))
    outcome = cli("data", "validate", str(path), "--journal", cli.journal_url, "--json",
                  "--max-age", "1e300")  # finite seconds, but beyond a float in nanoseconds
    assert outcome.code == 0, outcome.stderr
    assert outcome.json()["reports"][0]["stale"] is False


@pytest.mark.parametrize("command", ["gaps", "compare", "fetch"])
@pytest.mark.parametrize("problem", ["corrupt", "timeframe", "symbol"])
def test_bad_local_data_is_bad_input_exit_2_as_in_a_backtest(cli: Cli, tmp_path: Path,
                                                             command: str, problem: str) -> None:
    rows = daily_rows(10, start=date(2024, 7, 8))
    if problem == "corrupt":
        rows[3][2] = "abc"  # a high that is no number, on line 5
    path = write_csv(tmp_path / "XYZ.csv", DAILY_HEADER, rows)
    symbol = "ABC" if problem == "symbol" else "XYZ"
    extra = ("--timeframe", "5m") if problem == "timeframe" else ()
    span = ("--start", "2024-07-08", "--end", "2024-07-19", "--data", str(path), *extra)
    if command == "gaps":
        outcome = cli("data", "gaps", "--symbols", symbol, *span)
    elif command == "compare":
        outcome = cli("data", "compare", "--vendors", "files,sample", "--symbol", symbol, *span)
    else:
        outcome = cli("data", "fetch", "--vendor", "files", "--symbols", symbol, *span,
                      "--journal", cli.journal_url)
    assert outcome.code == 2, outcome.stderr
    line = outcome.error_line()
    assert ("XYZ.csv line 5" in line) if problem == "corrupt" else (symbol in line)
    backtest = cli.backtest("--symbols", symbol, *span)  # the same data, the same verdict
    assert backtest.code == 2, backtest.stderr


def test_validate_refuses_a_file_that_is_neither_csv_nor_parquet_as_a_backtest_does(
    cli: Cli, tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "KO.txt", DAILY_HEADER, daily_rows(5, start=date(2024, 7, 8)))
    for outcome in (cli("data", "validate", str(path), "--journal", cli.journal_url),
                    cli.backtest("--data", str(path))):
        assert outcome.code == 2
        assert "not a CSV (.csv) or Parquet (.parquet, .pq) file" in outcome.error_line()


@pytest.mark.parametrize("command", ["fetch", "gaps", "stream"])
def test_a_symbols_flag_naming_no_symbol_is_refused_not_an_empty_success(cli: Cli,
                                                                         command: str) -> None:
    args = ("--vendor", "sample", "--start", "2010-01-04", "--end", "2010-01-08") \
        if command != "stream" else ("--bars", "1")
    outcome = cli("data", command, "--symbols", ",", *args)
    assert outcome.code == 2
    assert "--symbols" in outcome.error_line()
    assert outcome.stdout == ""


def test_compare_refuses_a_symbol_flag_naming_no_symbol_in_one_line(cli: Cli) -> None:
    outcome = cli("data", "compare", "--vendors", "sample,files", "--symbol", ",", "--start",
                  "2010-01-04", "--end", "2010-01-08", "--data", "x.csv")
    assert outcome.code == 2  # it was an IndexError traceback
    assert "--symbol" in outcome.error_line()


def test_compare_refuses_one_vendor_named_twice_in_another_case(cli: Cli) -> None:
    outcome = cli("data", "compare", "--vendors", "SAMPLE,sample", "--symbol", "KO", "--start",
                  "2010-01-04", "--end", "2010-01-08")
    assert outcome.code == 2  # it compared the sample with itself and found them equal
    assert "two different vendors" in outcome.error_line()


def test_gaps_in_a_file_are_backfilled_from_the_vendor_chain_not_replaced_by_it(
    cli: Cli, tmp_path: Path, sample_rows: list[dict[str, str]],
) -> None:
    rows = [[r["date"], r["open"], r["high"], r["low"], r["close"], r["volume"]]
            for r in sample_rows if r["symbol"] == "KO" and "2010-01-04" <= r["date"]
            <= "2010-01-15" and r["date"] not in ("2010-01-06", "2010-01-07")]
    path = write_csv(tmp_path / "KO.csv", DAILY_HEADER, rows)
    args = ("data", "gaps", "--data", str(path), "--symbols", "KO", "--start", "2010-01-04",
            "--end", "2010-01-15", "--json")
    alone = cli(*args, "--no-backfill")
    assert alone.code == 1
    assert alone.json()[0]["missing"] == 2
    backfilled = cli(*args, "--vendor", "sample")
    assert backfilled.code == 0, backfilled.stderr
    [report] = backfilled.json()
    assert (report["present"], report["filled"], report["missing"]) == (8, 2, 0)
    assert report["filled_by"] == ["sample"]


def test_stream_refuses_a_url_that_is_no_websocket_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AITRADER_ALPACA_API_KEY", "AKTEST")
    monkeypatch.setenv("AITRADER_ALPACA_API_SECRET", "s3cr3t")
    monkeypatch.setenv("AITRADER_ALPACA_STREAM_URL", "http://127.0.0.1:1/v2/iex")
    outcome = cli("data", "stream", "--symbols", "AAPL", "--bars", "1")
    assert outcome.code == 2
    assert "AITRADER_ALPACA_STREAM_URL" in outcome.error_line()


@pytest.mark.parametrize("command", ["fetch", "compare"])
def test_a_data_file_no_vendor_reads_is_refused_as_in_a_backtest(cli: Cli, tmp_path: Path,
                                                                 command: str) -> None:
    path = write_csv(tmp_path / "KO.csv", DAILY_HEADER, daily_rows(5, start=date(2010, 1, 4)))
    span = ("--start", "2010-01-04", "--end", "2010-01-08", "--data", str(path))
    if command == "fetch":
        outcome = cli("data", "fetch", "--vendor", "sample", "--symbols", "KO", *span,
                      "--journal", cli.journal_url)
    else:
        outcome = cli("data", "compare", "--vendors", "sample,yahoo", "--symbol", "KO", *span)
    assert outcome.code == 2  # the file was silently ignored and the sample fetched instead
    assert "files" in outcome.error_line()
    assert not cli.db_path.exists()


def test_fetch_stores_no_symbols_bars_when_another_symbol_is_refused(cli: Cli) -> None:
    outcome = cli("data", "fetch", "--vendor", "sample", "--symbols", "KO,ZZZZ", "--start",
                  "2010-01-04", "--end", "2010-01-08", "--journal", cli.journal_url)
    assert outcome.code == 2
    assert "ZZZZ" in outcome.error_line()
    if cli.db_path.exists():
        with sqlite3.connect(cli.db_path) as db:
            assert db.execute("SELECT count(*) FROM bars").fetchone() == (0,)


@pytest.mark.parametrize(("vendor", "path", "status", "body"), [
    ("finnhub", "/stock/candle", 401, {"error": "Invalid API key"}),
    ("twelvedata", "/time_series", 200, {"code": 401, "message": "apikey bad-key is incorrect",
                                         "status": "error"}),
    ("alphavantage", "/query", 200,
     json.loads((PAYLOADS / "alphavantage_error.json").read_text())),
], ids=["finnhub_401", "twelvedata", "alphavantage"])
def test_fetch_with_a_key_the_vendor_rejects_writes_no_journal(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, vendor: str, path: str,
    status: int, body: object,
) -> None:
    monkeypatch.setenv(f"AITRADER_{vendor.upper()}_API_KEY", "bad-key")
    with fake_vendor() as fake:
        fake.answer(path, status, body)
        monkeypatch.setenv(f"AITRADER_{vendor.upper()}_BASE_URL", fake.url)
        outcome = cli("data", "fetch", "--vendor", vendor, "--symbols", "IBM", "--start",
                      "2010-01-04", "--end", "2010-01-29", "--adjustment", "split",
                      "--journal", cli.journal_url)
        assert fake.requests  # the vendor was asked, and said no
    assert outcome.code == 2, outcome.stderr
    assert "bad-key" not in outcome.error_line()
    assert not cli.db_path.exists()  # no journal made for a fetch refused on bad input
    assert not list(tmp_path.rglob("*.parquet"))


def test_stream_makes_the_journal_only_for_its_first_quarantined_bar(
    cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fake_stream(Script([message(0), message(1)])) as url:
        stream_env(monkeypatch, url)
        sound = cli("data", "stream", "--symbols", "AAPL", "--bars", "2", "--journal",
                    cli.journal_url, "--json")
    assert sound.code == 0, sound.stderr
    assert not cli.db_path.exists()
    with fake_stream(Script([message(0), message(0), message(1)])) as url:
        stream_env(monkeypatch, url)
        duplicate = cli("data", "stream", "--symbols", "AAPL", "--bars", "2", "--journal",
                        cli.journal_url, "--json")
    assert duplicate.code == 0, duplicate.stderr
    with sqlite3.connect(cli.db_path) as db:
        assert db.execute("select reason from quarantined_bars").fetchall() == [
            ("duplicate timestamp",)]


def test_stream_stops_in_one_line_when_the_journal_cannot_be_opened_for_a_quarantined_bar(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    journal = "postgresql://trader:hunter2@127.0.0.1:1/aitrader"  # a server that is down
    with fake_stream(Script([message(0), message(0), message(1)])) as url:
        stream_env(monkeypatch, url)
        outcome = cli("data", "stream", "--symbols", "AAPL", "--bars", "2", "--journal",
                      journal, "--json")
    assert outcome.code == 1, outcome.stderr
    line = outcome.error_line()
    assert "journal" in line
    assert "hunter2" not in line
    assert [json.loads(line)["ts_close"][11:16] for line in outcome.stdout.splitlines()] == [
        "14:31"]  # the bar before the quarantined one was printed
