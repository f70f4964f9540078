"""Local paper mode and the run's lifecycle as a demanding user drives them: the durable risk
commands, interruptions and what the journal then says."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli

# At this speed a daily bar of the bundled sample takes ~0.04 s (a weekend ~0.13 s): the run
# lasts ~15 s, long enough to be caught in the middle, short enough to be waited for.
SPEED = "2000000"


def _counted(db: Path, table: str) -> int:
    try:  # read-only: never create the journal the run is about to make
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy this instant
        return 0


@contextmanager
def paper_running(cli: Cli, tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A paper replay in a process of its own, handed over once it has sent two orders."""
    command = [sys.executable, "-m", "aitrader.entrypoints.cli", "paper", "--replay",
               "--speed", SPEED, "--quiet", "--journal", cli.journal_url,
               "--out", str(tmp_path / "out"), *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        deadline = time.monotonic() + 120
        while _counted(cli.db_path, "orders") < 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the paper run sent no order"
            time.sleep(0.05)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=120)


def _orphans(db: Path) -> list[tuple[str, str]]:
    """Decisions that name an order the journal does not hold."""
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT d.run_id, d.client_order_id FROM decisions d WHERE d.client_order_id IS "
            "NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.run_id = d.run_id AND "
            "o.client_order_id = d.client_order_id)").fetchall()


@pytest.mark.parametrize("command", ["halt", "reduce", "kill"])
@pytest.mark.parametrize("reason", ["broker\noutage", "\x1b[31mred\x1b[0m", "tab\there",
                                    "line\u2028separator"])
def test_a_reason_with_control_characters_is_bad_input_and_changes_nothing(
    cli: Cli, command: str, reason: str
) -> None:
    # `risk status` prints the reason as it was journaled: a newline would forge a line of its
    # own, a terminal escape would act on whoever reads the state
    outcome = cli("risk", command, "--reason", reason, "--journal", cli.journal_url)
    assert outcome.code == 2
    assert "--reason" in outcome.error_line()
    assert not cli.db_path.exists()


def test_a_paper_run_whose_journal_refuses_a_flush_mid_run_ends_failed_not_running(
    cli: Cli,
) -> None:
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    with sqlite3.connect(cli.db_path) as db:  # takes the orders sent, refuses the equity curve
        db.execute("CREATE TRIGGER refuse_equity BEFORE INSERT ON equity "
                   "BEGIN SELECT RAISE(ABORT, 'equity refused'); END")

    # the bundled sample has 2,016 bars: paper flushes the curve at the 1,000th
    result = cli.paper("--replay", "--quiet")

    assert result.code == 1
    assert "Traceback" not in result.stderr
    line = result.stderr.splitlines()[-1]  # (after the journal adapter's warning)
    assert line.startswith("error: ")
    run_id = cli.journaled_runs()[0]["run_id"]
    assert "equity refused" in line
    assert run_id in line
    run = cli.runs("show", run_id, "--json").json()
    assert run["status"] == "failed"
    assert "equity refused" in run["metrics"]["error"]


def test_a_paper_run_killed_outright_keeps_whole_writes_and_the_next_run_starts_cleanly(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    with paper_running(cli, tmp_path) as process:
        process.send_signal(signal.SIGKILL)  # kill -9: nothing can record how it ended
        process.wait(timeout=120)

    killed = cli.journaled_runs()
    assert [r["status"] for r in killed] == ["running"]  # as the README says it stays
    counts = cli.runs("show", killed[0]["run_id"], "--json").json()["counts"]
    shown = dict(line.split(maxsplit=1) for line in cli.runs(
        "show", killed[0]["run_id"]).stdout.splitlines() if line[:1].strip())
    # a run still 'running' has no end, bar count or digest yet: shown as '-', not 'None'
    assert [shown[key] for key in ("status", "finished_at", "bars", "digest")] == [
        "running", "-", "-", "-"]
    assert counts["orders"] >= 2  # each order was written before the broker heard of it
    assert _orphans(cli.db_path) == []  # and never a decision without its order
    after = cli.paper_json("--symbols", "KO")
    assert [r["status"] for r in cli.journaled_runs()] == ["finished", "running"]
    # nothing of the killed run leaks into the next: it decides as a backtest does
    assert after["decisions_digest"] == cli.backtest_json("--symbols", "KO")["decisions_digest"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["ctrl_c", "sigterm", "sighup"])
def test_a_paper_run_interrupted_is_journaled_failed_with_what_it_decided(
    cli: Cli, tmp_path: Path, stop: signal.Signals
) -> None:
    # SIGTERM is what a service manager or `docker stop` sends; SIGHUP what a dropped ssh
    # session or closed terminal sends (it killed the run outright, left 'running')
    with paper_running(cli, tmp_path) as process:
        process.send_signal(stop)
        _out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    runs = cli.journaled_runs()
    assert [(r["status"], r["metrics"]) for r in runs] == [("failed", {"error": "interrupted"})]
    assert _orphans(cli.db_path) == []
    assert not (tmp_path / "out").exists()  # no report of a run that did not finish


def _commanded_mid_run(cli: Cli, tmp_path: Path, *command: str) -> tuple[str, list[Any]]:
    """Give `aitrader risk COMMAND` while a paper replay runs; the run's stderr and its
    decisions as `runs explain --json` shows them, once it has finished."""
    with paper_running(cli, tmp_path) as process:
        given = cli("risk", *command, "--journal", cli.journal_url)
        assert given.code == 0, given.stderr
        _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    run_id = cli.journaled_runs()[0]["run_id"]
    explained: list[Any] = cli.runs("explain", run_id, "--json").json()
    return err, explained


def test_a_halt_given_while_a_paper_run_goes_is_adopted_and_outlives_the_run(
    cli: Cli, tmp_path: Path
) -> None:
    err, explained = _commanded_mid_run(cli, tmp_path, "halt", "--reason", "desk call")
    assert "risk.command_adopted" in err  # the engine said it took the command over
    refused = [v["reason"] for d in explained for v in d["verdicts"]
               if v["rule"] == "trading_state" and not v["passed"]]
    assert refused  # what it decided after the poll was refused by the halt
    status = cli("risk", "status", "--journal", cli.journal_url, "--json").json()
    assert (status["state"], status["reason"]) == ("HALTED", "manual: desk call")


# A byte that is not UTF-8 on the command line ($'\xff' in bash) reaches Python as a lone
# surrogate, which no database can store or look up.
NOT_UTF8 = "bad\udcffbyte"


@pytest.mark.parametrize("command", ["halt", "reduce", "kill"])
def test_a_reason_that_is_not_utf8_text_is_bad_input_and_changes_nothing(
    cli: Cli, command: str
) -> None:
    outcome = cli("risk", command, "--reason", NOT_UTF8, "--journal", cli.journal_url)
    assert outcome.code == 2
    assert "--reason" in outcome.error_line()
    assert not cli.db_path.exists()


@pytest.mark.parametrize("args", [["show", NOT_UTF8], ["explain", NOT_UTF8], ["show", "ab\x00"],
                                  ["explain", "{run_id}", "--order", NOT_UTF8]],
                         ids=["show", "explain", "show_nul", "explain_order"])
def test_a_run_id_or_order_id_that_is_not_text_is_not_found_in_one_line(
    cli: Cli, args: list[str]
) -> None:
    run_id = cli.backtest_json("--symbols", "KO")["run_id"]
    outcome = cli.runs(*[a.format(run_id=run_id) for a in args])
    assert outcome.code == 2
    line = outcome.error_line()
    assert "no run" in line or "--order" in line


@pytest.mark.usefixtures("slow_clock")
def test_a_paced_replay_shows_its_progress_bar_by_bar_to_the_end(cli: Cli) -> None:
    # at --speed 60 a one-minute bar takes a second: a line per 1,000 bars would be one every
    # quarter of an hour, and one at 100 % never came unless the bars were a multiple of 1,000
    shown = cli.paper("--replay", "--symbols", "KO")
    assert shown.code == 0, shown.stderr
    lines = [line for line in shown.stderr.splitlines() if line.startswith("paper: ")]
    assert lines[0] == "paper: 1/245 bars (0 %)"
    assert lines[-1] == "paper: 245/245 bars (100 %)"
    assert len(lines) == 245


def test_a_kill_given_while_a_paper_run_goes_flattens_it_and_is_verified(
    cli: Cli, tmp_path: Path
) -> None:
    err, explained = _commanded_mid_run(cli, tmp_path, "kill", "--reason", "fat finger")
    assert "risk.kill_verified" in err
    assert [d for d in explained if d["action"] == "flatten"]  # what it held went out
    with sqlite3.connect(cli.db_path) as db:  # and it ended holding nothing
        held = db.execute("SELECT symbol, sum(CASE side WHEN 'buy' THEN last_qty ELSE "
                          "-last_qty END) FROM fills GROUP BY symbol").fetchall()
    assert all(float(qty) == 0 for _symbol, qty in held), held
    status = cli("risk", "status", "--journal", cli.journal_url, "--json").json()
    assert (status["state"], status["kill_requested"]) == ("HALTED", False)
    assert status["reason"] == "kill switch: fat finger"
