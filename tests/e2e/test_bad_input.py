"""Bad input is refused up front: exit 2, one line on stderr saying what and where, no journal.

Each case builds its input in tmp_path and returns the arguments to add to `aitrader backtest`
and the fragments the error line must contain (the problem, and the file and line or the
configuration key where it is).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from aitrader.entrypoints import cli as cli_module
from aitrader.entrypoints.container import JournalUnavailableError
from tests.e2e.conftest import DAILY_HEADER, Cli, daily_rows, write_csv

Case = Callable[[Path, pytest.MonkeyPatch], tuple[list[str], list[str]]]
BAD = 5  # the data row spoiled in file cases: line 7 of the CSV (header is line 1)


def _spoiled(tmp_path: Path, column: str, value: str) -> tuple[list[str], list[str]]:
    """AAPL.csv with one value of data row BAD replaced."""
    rows = daily_rows(12)
    rows[BAD][DAILY_HEADER.index(column)] = value
    path = write_csv(tmp_path / "data" / "AAPL.csv", DAILY_HEADER, rows)
    return ["--data", str(path)], ["AAPL.csv", f"line {BAD + 2}", column]


def missing_data_file(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--data", str(tmp_path / "nowhere" / "AAPL.csv")], ["AAPL.csv", "no such file"]


def unknown_column(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    rows = [[*row, "x"] for row in daily_rows(12)]
    path = write_csv(tmp_path / "AAPL.csv", [*DAILY_HEADER, "colour"], rows)
    return ["--data", str(path)], ["AAPL.csv", "unknown column", "'colour'"]


def missing_column(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    rows = [row[:-1] for row in daily_rows(12)]
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER[:-1], rows)
    return ["--data", str(path)], ["AAPL.csv", "missing required column", "'volume'"]


def nan_price(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    args, expected = _spoiled(tmp_path, "close", "NaN")
    return args, [*expected, "finite"]


def non_positive_price(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    args, expected = _spoiled(tmp_path, "open", "0")
    return args, [*expected, "positive"]


def high_below_low(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    rows = daily_rows(12)
    rows[BAD][2], rows[BAD][3] = rows[BAD][3], rows[BAD][2]  # swap high and low
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, rows)
    return ["--data", str(path)], ["AAPL.csv", f"line {BAD + 2}", "high", "low"]


def negative_volume(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    args, expected = _spoiled(tmp_path, "volume", "-5")
    return args, [*expected, "negative"]


def unsorted_timestamps(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    args, expected = _spoiled(tmp_path, "date", "2010-01-01")  # before the first row
    return args, [*expected[:2], "order"]


def duplicate_timestamps(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    rows = daily_rows(12)
    rows[BAD][0] = rows[BAD - 1][0]
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, rows)
    return ["--data", str(path)], ["AAPL.csv", f"line {BAD + 2}", "duplicate"]


def bad_row_of_one_symbol_in_a_long_file(
    tmp_path: Path, _: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    aapl, msft = daily_rows(10), daily_rows(10, base=25.0, phase=1.0)
    rows = [[row[0], symbol, *row[1:]] for pair in zip(aapl, msft, strict=True)
            for symbol, row in zip(("AAPL", "MSFT"), pair, strict=True)]
    rows[13][3] = "-1"  # MSFT's 7th bar, line 15: a negative high
    path = write_csv(tmp_path / "bars.csv", ("date", "symbol", *DAILY_HEADER[1:]), rows)
    return ["--data", str(path)], ["bars.csv", "line 15", "high"]


def bad_row_in_parquet(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    frame = pd.DataFrame(daily_rows(10), columns=list(DAILY_HEADER))
    frame = frame.astype(dict.fromkeys(DAILY_HEADER[1:], float))
    frame.loc[3, "low"] = 0.0
    path = tmp_path / "AAPL.parquet"
    frame.to_parquet(path, index=False)
    return ["--data", str(path)], ["AAPL.parquet", "row 4", "low"]


def price_not_a_number(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    args, expected = _spoiled(tmp_path, "high", "12x5")
    return args, [*expected, "not a number"]


def wrong_field_count(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    rows = daily_rows(12)
    rows[BAD] = rows[BAD][:-1]
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, rows)
    return ["--data", str(path)], ["AAPL.csv", f"line {BAD + 2}", "fields"]


def line_numbers_count_blank_lines(
    tmp_path: Path, _: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    rows = daily_rows(12)
    rows[BAD][DAILY_HEADER.index("close")] = "-3"
    path = write_csv(tmp_path / "AAPL.csv", DAILY_HEADER, rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n", encoding="utf-8")
    return ["--data", str(path)], ["AAPL.csv", f"line {BAD + 3}", "close"]


def symbol_in_two_files(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    data = tmp_path / "data"
    write_csv(data / "AAPL.csv", DAILY_HEADER, daily_rows(12))
    write_csv(data / "long.csv", ("date", "symbol", *DAILY_HEADER[1:]),
              [[row[0], "AAPL", *row[1:]] for row in daily_rows(12)])
    return ["--data", str(data)], ["AAPL", "AAPL.csv", "long.csv"]


def timeframe_mismatch(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--timeframe", "5m"], ["sample_daily.csv", "1D", "5m"]


def unknown_strategy(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--strategy", "moonshot"], ["moonshot"]


def unknown_param(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--param", "fastest=3"], ["fastest"]


def bad_param_value(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--param", "fast=abc"], ["fast", "abc"]


def param_without_equals(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--param", "fast"], ["--param", "fast", "name=value"]


def start_after_end(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--start", "2010-03-01", "--end", "2010-02-01"], ["--start", "2010-03-01",
                                                             "2010-02-01"]


def not_a_date(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--start", "2010-13-45"], ["--start", "2010-13-45"]


def unknown_symbol(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--symbols", "AAPL,ZZZZ"], ["ZZZZ"]


def symbol_listed_twice(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--symbols", "AAPL,MSFT,AAPL"], ["--symbols", "twice"]


def symbols_flag_without_a_symbol(_: Path, __: pytest.MonkeyPatch
                                  ) -> tuple[list[str], list[str]]:
    return ["--symbols", " , "], ["--symbols", "no symbol"]


def bad_fill_at(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--fill-at", "noon"], ["fill_at", "open", "close"]


def negative_cash(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--cash", "-5"], ["cash", "positive"]


def unknown_timeframe(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--timeframe", "7m"], ["timeframe", "7m"]


def bad_key_in_config_file(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    path = tmp_path / "settings.yaml"
    path.write_text("broker:\n  cash: 1000\n  kash: 5\n", encoding="utf-8")
    return ["--config", str(path)], ["settings.yaml", "broker", "kash"]


def malformed_config_file(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    path = tmp_path / "settings.yaml"
    path.write_text("strategy:\n  name: sma_cross\nbroker:\n  cash: 1000\n slippage_bps: 2\n",
                    encoding="utf-8")
    return ["--config", str(path)], ["settings.yaml", "line 5", "YAML"]


def missing_config_file(tmp_path: Path, _: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--config", str(tmp_path / "absent.yaml")], ["absent.yaml"]


def bad_value_in_environment(_: Path, monkeypatch: pytest.MonkeyPatch
                             ) -> tuple[list[str], list[str]]:
    monkeypatch.setenv("AITRADER_BROKER__CASH", "abc")
    return [], ["broker.cash", "abc", "environment"]


def unknown_key_in_environment(_: Path, monkeypatch: pytest.MonkeyPatch
                               ) -> tuple[list[str], list[str]]:
    monkeypatch.setenv("AITRADER_BROKER__KASH", "1")
    return [], ["kash", "environment"]


CASES: list[Case] = [
    missing_data_file, unknown_column, missing_column, nan_price, non_positive_price,
    high_below_low, negative_volume, unsorted_timestamps, duplicate_timestamps,
    price_not_a_number, wrong_field_count, line_numbers_count_blank_lines,
    bad_row_of_one_symbol_in_a_long_file, bad_row_in_parquet, symbol_in_two_files,
    unknown_strategy, unknown_param, bad_param_value, param_without_equals, start_after_end,
    not_a_date, unknown_symbol, symbol_listed_twice, symbols_flag_without_a_symbol, bad_fill_at,
    negative_cash, unknown_timeframe, timeframe_mismatch, bad_key_in_config_file,
    malformed_config_file, missing_config_file, bad_value_in_environment,
    unknown_key_in_environment,
]


def assert_refused(cli: Cli, monkeypatch: pytest.MonkeyPatch, command: str, args: list[str],
                   expected: list[str]) -> None:
    result = cli(command, *([] if command == "backtest" else ["--replay"]), *args,
                 "--journal", cli.journal_url, "--out", str(cli.out_dir))

    assert result.code == 2, result.stderr
    line = result.error_line()
    for fragment in expected:
        assert fragment.lower() in line.lower(), (fragment, line)
    assert result.stdout == ""
    assert not cli.out_dir.exists()
    for name in ("AITRADER_BROKER__CASH", "AITRADER_BROKER__KASH"):  # so runs list can read
        monkeypatch.delenv(name, raising=False)
    assert cli.journaled_runs() == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_bad_input_to_backtest_exits_2_with_one_line_and_journals_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    args, expected = case(tmp_path, monkeypatch)

    assert_refused(cli, monkeypatch, "backtest", args, expected)


def negative_speed(_: Path, __: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    return ["--speed", "-1"], ["speed", "-1"]


@pytest.mark.parametrize("case", [nan_price, unknown_strategy, bad_value_in_environment,
                                  negative_speed],
                         ids=lambda case: case.__name__)
def test_bad_input_to_paper_replay_is_refused_the_same_way(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    args, expected = case(tmp_path, monkeypatch)

    assert_refused(cli, monkeypatch, "paper", args, expected)


BAD_FLAGS = pytest.mark.parametrize(
    ("args", "problem"),
    [(["backtest", "--bogus"], "--bogus"), (["runs", "show"], "run_id"),
     (["runs", "list", "--limit", "0"], "--limit"),
     (["backtest", "--calendar", "LSE"], "data.calendar: 'LSE' is unknown"),
     # an empty path read as "." (--out "" wrote the CSVs into the working directory)
     (["backtest", "--out", ""], "'--out': empty"), (["paper", "--replay", "--data", " "],
                                                     "'--data': empty"),
     (["backtest", "--config", ""], "'--config': empty"),
     (["data", "fetch", "--data", "", "--symbols", "KO"], "'--data': empty")],
    ids=["unknown_option", "missing_argument", "out_of_range_option", "unknown_calendar",
         "empty_out", "empty_data", "empty_config", "empty_data_of_data_fetch"])


@BAD_FLAGS
def test_a_bad_flag_exits_2_naming_it_without_a_traceback(
    cli: Cli, args: list[str], problem: str
) -> None:
    result = cli(*args, "--journal", cli.journal_url)

    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert problem in result.stderr.strip().splitlines()[-1]
    assert not cli.db_path.exists()


@BAD_FLAGS
def test_a_bad_flag_is_reported_on_one_line(cli: Cli, args: list[str], problem: str) -> None:
    result = cli(*args, "--journal", cli.journal_url)

    assert result.code == 2
    assert problem in result.error_line()


@pytest.mark.parametrize("command", ["backtest", "paper"])
def test_an_out_directory_with_a_directory_where_a_report_goes_is_refused_before_the_run(
    cli: Cli, command: str
) -> None:
    (cli.out_dir / "equity.csv").mkdir(parents=True)

    result = cli(command, *([] if command == "backtest" else ["--replay"]), "--symbols", "AAPL",
                 "--journal", cli.journal_url, "--out", str(cli.out_dir))

    assert result.code == 2, result.stderr
    line = result.error_line()
    assert line.startswith(f"error: --out {cli.out_dir}: "), line
    assert line.endswith("equity.csv is a directory, not a file"), line
    assert [p.name for p in cli.out_dir.iterdir()] == ["equity.csv"]
    assert cli.journaled_runs() == []


def test_a_run_refused_says_only_why_not_what_its_data_would_have_quarantined(
    cli: Cli, tmp_path: Path
) -> None:
    rows = daily_rows(12)
    rows.insert(5, ["2010-01-09", *rows[5][1:]])  # a Saturday: quarantined, not refused
    data = write_csv(tmp_path / "data" / "AAPL.csv", DAILY_HEADER, rows)
    (tmp_path / "taken").write_text("a file where --out wants a directory")

    result = cli("backtest", "--data", str(data), "--journal", cli.journal_url,
                 "--out", str(tmp_path / "taken"))

    assert result.code == 2
    assert "--out" in result.error_line()
    assert cli.journaled_runs() == []


@pytest.mark.parametrize(("yaml", "where"), [
    ("data:\n  start: 2010-03-01\n  end: 2010-02-01\n", "data.start"),
    ("data:\n  end: 2010-02-30\n", "data.end"),
    ("data:\n  symbols: [AAPL, AAPL]\n", "data.symbols"),
    ("data:\n  timeframe: 7m\n", "data.timeframe"),
])
def test_a_bad_data_value_from_the_config_file_names_its_key_not_only_a_flag(
    cli: Cli, tmp_path: Path, yaml: str, where: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml, encoding="utf-8")

    result = cli.backtest("--config", str(path))

    assert result.code == 2
    assert where in result.error_line()


def test_an_error_naming_a_path_with_a_newline_stays_one_line(cli: Cli, tmp_path: Path) -> None:
    odd = tmp_path / "two\nlines"
    odd.mkdir()

    result = cli.backtest("--data", str(odd / "AAPL.csv"))

    assert result.code == 2
    line = result.error_line()
    assert "two\\nlines" in line
    assert "no such file" in line


def test_a_failure_naming_a_path_with_control_characters_stays_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(url: str) -> str:
        raise JournalUnavailableError(f"cannot open journal at /srv/a\rb\x1b[2J\nc: {url}")

    monkeypatch.setattr(cli_module, "upgrade_journal", down)

    result = cli("db", "upgrade", "--journal", cli.journal_url)

    assert result.code == 1
    line = result.error_line()
    assert "/srv/a\\rb\\x1b[2J\\nc" in line
    assert "\x1b" not in line


@pytest.mark.parametrize("command", ["backtest", "paper"])
def test_a_run_whose_every_bar_was_quarantined_says_so_and_how_to_list_them(
    cli: Cli, tmp_path: Path, command: str
) -> None:
    rows = [["2010-01-01", "10", "11", "9", "10", "100"],   # New Year's Day
            ["2010-12-25", "10", "11", "9", "10", "100"],   # a Saturday, and Christmas
            ["2011-01-17", "10", "11", "9", "10", "100"]]   # Martin Luther King Jr. Day
    data = write_csv(tmp_path / "FAR.csv", DAILY_HEADER, rows)

    result = cli(command, *([] if command == "backtest" else ["--replay"]), "--data", str(data),
                 "--journal", cli.journal_url, "--out", str(cli.out_dir))

    assert result.code == 2
    assert result.error_line() == (
        f"error: no bars for FAR in files:{data}: all 3 were quarantined by the data gate, the "
        "first (closing 2010-01-01T21:00:00+00:00) as outside every session; "
        f"`aitrader data validate {data}` lists them")
    assert cli.journaled_runs() == []
    assert not cli.out_dir.exists()
