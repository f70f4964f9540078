"""`aitrader paper --replay`, `db upgrade`, `runs list/show`, `strategies`, as a user runs them."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pytest
from sqlalchemy.exc import SAWarning

from tests.e2e.conftest import Cli, read_csv

# -- paper replay: parity with the backtest ---------------------------------------------------


@pytest.mark.parametrize("strategy", ["sma_cross", "breakout"])
def test_paper_replay_decides_exactly_as_the_backtest_on_the_same_data(
    cli: Cli, tmp_path: Path, strategy: str
) -> None:
    backtest = cli.backtest_json("--strategy", strategy, out=tmp_path / "backtest")
    paper = cli.paper_json("--strategy", strategy, out=tmp_path / "paper")

    assert paper["mode"] == "paper"
    assert paper["strategy"] == strategy
    assert paper["bars"] == backtest["bars"]
    assert paper["decisions_digest"] == backtest["decisions_digest"]
    assert paper["metrics"]["trades"] == backtest["metrics"]["trades"]
    assert paper["metrics"]["final_equity"] == pytest.approx(backtest["metrics"]["final_equity"])


def test_paper_replay_at_speed_zero_with_costs_and_shorting_matches_the_backtest(
    cli: Cli, tmp_path: Path
) -> None:
    options = ("--symbols", "AAPL,JPM,XOM", "--allow-short", "--commission-per-order", "1",
               "--slippage-bps", "5", "--fill-at", "close")
    backtest = cli.backtest_json(*options, out=tmp_path / "backtest")
    paper = cli.paper_json("--speed", "0", *options, out=tmp_path / "paper")

    assert paper["decisions_digest"] == backtest["decisions_digest"]
    assert paper["metrics"]["commissions"] == backtest["metrics"]["commissions"]


def test_paper_replay_writes_the_same_reports_as_a_backtest(cli: Cli, tmp_path: Path) -> None:
    backtest = cli.backtest_json("--symbols", "AAPL,MSFT", out=tmp_path / "backtest")
    paper = cli.paper_json("--symbols", "AAPL,MSFT", out=tmp_path / "paper")

    for name in ("trades", "orders", "equity"):
        header_b, rows_b = read_csv(backtest["outputs"][name])
        header_p, rows_p = read_csv(paper["outputs"][name])
        assert header_p == header_b
        if name == "orders":  # ids carry the run id; everything else is the same
            for row in rows_b + rows_p:
                row["client_order_id"] = row["client_order_id"].rsplit("-", 1)[1]
        assert rows_p == rows_b, name


def test_paper_replay_prints_the_metrics_table_and_is_journaled_as_paper(cli: Cli) -> None:
    result = cli.paper("--replay", "--symbols", "AAPL", "--quiet")

    assert result.code == 0, result.stderr
    assert "  paper  sma_cross  AAPL  " in result.stdout
    assert "Total return" in result.stdout
    assert [r["mode"] for r in cli.journaled_runs()] == ["paper"]


def test_paper_without_replay_is_refused_with_one_line_and_journals_nothing(cli: Cli) -> None:
    result = cli.paper()

    assert result.code == 2
    line = result.error_line()
    assert "--replay" in line
    assert result.stdout == ""
    assert cli.journaled_runs() == []


# -- the journal ------------------------------------------------------------------------------


def test_db_upgrade_creates_and_migrates_an_empty_journal(cli: Cli) -> None:
    result = cli("db", "upgrade", "--journal", cli.journal_url)

    assert result.code == 0, result.stderr
    assert "revision" in result.stdout
    assert cli.db_path.exists()
    assert cli.journaled_runs() == []
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0  # idempotent


@pytest.mark.parametrize("command", [["backtest", "--quiet", "--out", "out"], ["db", "upgrade"]])
def test_a_journal_under_the_home_directory_is_opened_where_it_was_created(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))

    result = cli(*command, "--journal", "sqlite:///~/journals/x.db")

    assert result.code == 0, result.stderr
    assert (home / "journals" / "x.db").is_file()
    assert not (tmp_path / "~").exists()
    for reader in (["runs", "list"], ["risk", "status"]):  # and the readers find it there
        read = cli(*reader, "--journal", "sqlite:///~/journals/x.db")
        assert read.code == 0, read.stderr


def test_the_readers_find_a_journal_named_by_a_file_uri(cli: Cli) -> None:
    assert cli.backtest("--quiet").code == 0
    uri = f"sqlite:///file:{cli.db_path}?mode=ro&uri=true"

    listed = cli("runs", "list", "--json", "--journal", uri)

    assert listed.code == 0, listed.stderr
    assert len(listed.json()) == 1


@pytest.mark.parametrize("command", [["db", "upgrade"], ["runs", "list"],
                                     ["backtest", "--out", "out"]])
def test_a_journal_newer_than_this_aitrader_is_refused_alike_by_every_command(
    cli: Cli, command: list[str]
) -> None:
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    with sqlite3.connect(cli.db_path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_future'")

    result = cli(*command, "--journal", cli.journal_url)

    assert result.code == 1
    line = result.error_line()
    assert "9999_future, newer than this aitrader knows" in line
    assert "upgrade aitrader" in line
    with sqlite3.connect(cli.db_path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == \
            [("9999_future",)]


def test_a_read_only_journal_url_reads_without_a_warning_and_refuses_to_write(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli.backtest("--quiet").code == 0
    read_only = f"{cli.journal_url}?mode=ro"

    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)  # what SQLAlchemy would print on stderr
        listed = cli("runs", "list", "--json", "--journal", read_only)
        refused = cli("backtest", "--quiet", "--out", str(tmp_path / "again"),
                      "--journal", read_only)

    assert listed.code == 0, listed.stderr
    assert listed.stderr == ""
    assert len(listed.json()) == 1
    assert refused.code == 1
    assert "readonly database" in refused.error_line()
    assert len(cli.journaled_runs()) == 1
    assert sorted(p.name for p in tmp_path.glob("j.db*")) == ["j.db", "j.db-shm", "j.db-wal"]


@pytest.mark.parametrize(("option", "problem"), [("colour=red", "no option 'colour'"),
                                               ("mode=memory", "every run would vanish")])
@pytest.mark.parametrize("command", [["db", "upgrade"], ["backtest", "--out", "out"]])
def test_a_journal_url_option_sqlite_does_not_take_is_bad_input_on_one_line(
    cli: Cli, tmp_path: Path, option: str, problem: str, command: list[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        result = cli(*command, "--journal", f"{cli.journal_url}?{option}")

    assert result.code == 2
    assert problem in result.error_line()
    assert not cli.db_path.exists()
    assert not (tmp_path / "out").exists()  # refused before anything is created


def test_runs_list_says_so_when_the_journal_is_empty(cli: Cli) -> None:
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    result = cli.runs("list")

    assert result.code == 0, result.stderr
    assert "no runs yet" in result.stdout


def test_reading_a_journal_that_does_not_exist_creates_nothing(cli: Cli) -> None:
    result = cli.runs("list")

    assert result.code == 2
    assert "no journal at" in result.error_line()
    assert not cli.db_path.exists()


def test_runs_list_shows_runs_newest_first(cli: Cli, tmp_path: Path) -> None:
    ids = [cli.backtest_json("--symbols", symbol, out=tmp_path / symbol)["run_id"]
           for symbol in ("AAPL", "MSFT", "IBM")]

    listed = cli.runs("list")
    as_json = cli.journaled_runs()
    limited = cli.runs("list", "--limit", "1", "--json")

    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[0] == "run_id"
    assert [line.split()[0] for line in lines[1:]] == ids[::-1]
    assert [r["run_id"] for r in as_json] == ids[::-1]
    assert as_json[0]["symbols"] == ["IBM"]
    assert all(r["status"] == "finished" and r["mode"] == "backtest" for r in as_json)
    assert [r["run_id"] for r in limited.json()] == [ids[-1]]


def test_a_limit_beyond_what_the_database_counts_lists_every_run(cli: Cli) -> None:
    run_id = cli.backtest_json("--symbols", "KO")["run_id"]

    result = cli.runs("list", "--limit", "99999999999999999999", "--json")

    assert result.code == 0, result.stderr
    assert [r["run_id"] for r in result.json()] == [run_id]


def test_runs_list_keeps_its_columns_for_every_bundled_strategy_name(cli: Cli,
                                                                   tmp_path: Path) -> None:
    for strategy in ("sma_cross", "mean_reversion"):
        cli.backtest_json("--strategy", strategy, "--symbols", "KO", out=tmp_path / strategy)

    lines = cli.runs("list").stdout.splitlines()

    ends = {line.index(" 245 ") + 4 for line in lines[1:]}  # where each row's bars end
    assert ends == {lines[0].index("bars") + 4}, lines


def test_runs_show_reports_the_journaled_run(cli: Cli) -> None:
    document = cli.backtest_json("--symbols", "AAPL,MSFT")
    run_id = document["run_id"]

    text = cli.runs("show", run_id)
    shown = cli.runs("show", run_id, "--json")

    assert text.code == shown.code == 0
    assert run_id in text.stdout
    assert document["digest"] in text.stdout
    info = shown.json()
    assert info["run_id"] == run_id
    assert info["status"] == "finished"
    assert info["symbols"] == ["AAPL", "MSFT"]
    assert info["bars"] == document["bars"]
    assert info["digest"] == document["digest"]
    assert info["decisions_digest"] == document["decisions_digest"]
    assert info["metrics"]["final_equity"] == pytest.approx(
        document["metrics"]["final_equity"])
    orders = read_csv(document["outputs"]["orders"])[1]
    assert info["counts"]["orders"] == len(orders)
    assert info["counts"]["fills"] == sum(o["status"] == "filled" for o in orders)
    assert info["counts"]["decisions"] >= info["counts"]["orders"] > 0


def test_runs_show_of_an_unknown_run_exits_2_with_one_line(cli: Cli) -> None:
    cli.backtest_json("--symbols", "AAPL")

    result = cli.runs("show", "nope")

    assert result.code == 2
    assert "nope" in result.error_line()
    assert result.stdout == ""


def test_strategies_json_lists_every_strategy_with_its_defaults(cli: Cli) -> None:
    result = cli("strategies", "--json")

    assert result.code == 0, result.stderr
    described = result.json()
    assert set(described) == {"sma_cross", "breakout", "momentum", "mean_reversion", "ma_cross",
                              "multi_factor"}
    defaults = {name: {p: spec["default"] for p, spec in info["params"].items()}
                for name, info in described.items()}
    assert defaults["sma_cross"] == {"fast": 10, "slow": 50}
    assert defaults["breakout"] == {"entry": 20, "atr": 14, "atr_mult": 3.0,
                                    "turbulent_scale": 0.5}
    assert all(info["summary"] for info in described.values())


def test_strategies_lists_parameters_for_people(cli: Cli) -> None:
    result = cli("strategies")

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("sma_cross: ")
    assert "  atr_mult (float, default 3.0): " in result.stdout


# -- an unreachable journal -------------------------------------------------------------------


def test_an_unreachable_journal_fails_the_run_without_showing_its_password(cli: Cli) -> None:
    result = cli("backtest", "--symbols", "AAPL", "--out", str(cli.out_dir),
                 "--journal", "postgresql+psycopg://u:s3cret@127.0.0.1:9/db")

    assert result.code == 1
    line = result.error_line()
    assert "journal" in line
    assert "s3cret" not in result.stdout + result.stderr


def test_a_run_whose_records_the_journal_refuses_ends_failed_with_none_of_them(
    cli: Cli,
) -> None:
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    with sqlite3.connect(cli.db_path) as db:  # a journal that takes everything but fills
        db.execute("CREATE TRIGGER refuse_fills BEFORE INSERT ON fills "
                   "BEGIN SELECT RAISE(ABORT, 'fills refused'); END")

    result = cli.backtest("--symbols", "AAPL", "--quiet")

    assert result.code == 1
    assert "fills refused" in result.error_line()
    shown = cli.runs("show", cli.journaled_runs()[0]["run_id"], "--json")
    assert shown.code == 0, shown.stderr
    run = shown.json()
    assert run["status"] == "failed"
    assert "fills refused" in run["metrics"]["error"]
    with sqlite3.connect(cli.db_path) as db:  # not one of the run's records, not some
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_runs_list_on_an_unreachable_journal_fails_without_showing_its_password(
    cli: Cli,
) -> None:
    result = cli("runs", "list", "--journal", "postgresql+psycopg://u:s3cret@127.0.0.1:9/db")

    assert result.code == 1
    result.error_line()
    assert "s3cret" not in result.stdout + result.stderr
