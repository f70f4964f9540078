"""Limits the domain enforces are refused up front; a run that fails is journaled as failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from aitrader.application import backtest as backtest_module
from tests.e2e.conftest import Cli


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--cash", "1e400"], "broker.cash: must be below"),
        (["--slippage-bps", "10000"], "broker.slippage_bps: must be below 10000"),
        (["--commission-pct", "100"], "broker.commission_pct: must be below 100"),
        (["--start", "2010-03-14T02:30"], "does not exist or is ambiguous"),
    ],
)
def test_values_the_domain_would_refuse_are_bad_input(cli: Cli, args: list[str],
                                                      problem: str) -> None:
    result = cli.backtest(*args)
    assert result.code == 2
    assert problem in result.error_line()
    assert cli.journaled_runs() == []


def test_an_output_path_that_is_a_file_is_refused_before_the_run(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    result = cli.backtest(out=blocker)
    assert result.code == 2
    assert "blocker" in result.error_line()
    assert cli.journaled_runs() == []


@pytest.mark.parametrize("journal", ["sqlite:///{tmp}/blocker/j.db",
                                     "postgresql+psycopg://u@127.0.0.1:1/db"])
@pytest.mark.parametrize("command", [("backtest",), ("paper", "--replay")])
def test_a_journal_that_cannot_open_leaves_no_output_directory_behind(
        cli: Cli, tmp_path: Path, journal: str, command: tuple[str, ...]) -> None:
    (tmp_path / "blocker").write_text("a file where the journal's directory would be")
    out = tmp_path / "fresh" / "out"
    result = cli(*command, "--quiet", "--journal", journal.format(tmp=tmp_path),
                 "--out", str(out))
    # a SQLite path under a file is bad input; an unreachable server is a failed run
    assert result.code == (2 if journal.startswith("sqlite") else 1)
    assert "journal" in result.error_line()
    assert not (tmp_path / "fresh").exists()  # the run never started: nothing was created


def test_a_nan_replay_speed_is_refused(cli: Cli) -> None:
    result = cli.paper("--replay", "--speed", "nan")
    assert result.code == 2
    assert "speed" in result.error_line()


def test_a_password_in_the_query_string_is_never_shown(cli: Cli) -> None:
    result = cli("runs", "list", "--journal",
                 "postgresql+psycopg://u@127.0.0.1:9/db?password=s3cr3t")
    assert result.code == 1
    assert "s3cr3t" not in result.stdout + result.stderr


def test_max_position_fraction_limits_the_size_instead_of_refusing_every_trade(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITRADER_RISK__MAX_POSITION_FRACTION", "0.05")
    document = cli.backtest_json("--symbols", "AAPL")
    assert document["metrics"]["trades"] > 0
    assert document["metrics"]["exposure"] > 0


def test_a_run_that_fails_after_it_started_is_journaled_as_failed_with_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(backtest_module, "mark_to_market", broken)
    result = cli.backtest("--symbols", "KO")
    assert result.code == 1
    assert "disk on fire" in result.error_line()
    runs = cli.journaled_runs()
    assert [r["status"] for r in runs] == ["failed"]


def test_a_run_interrupted_after_it_started_is_journaled_as_failed_not_left_running(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(backtest_module, "mark_to_market", interrupted)
    result = cli.backtest("--symbols", "KO")
    assert result.code == 130
    assert "Traceback" not in result.stderr
    runs = cli.journaled_runs()
    assert [(r["status"], r["metrics"]) for r in runs] == [("failed", {"error": "interrupted"})]
