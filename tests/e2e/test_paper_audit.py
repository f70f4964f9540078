"""Local paper mode and the run's lifecycle as a demanding user drives them: the durable risk
commands, interruptions and what the journal then says."""

from __future__ import annotations

import sqlite3

import pytest

from tests.e2e.conftest import Cli


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
