"""Runs that stop part-way (an exception, Ctrl-C) as the journal then tells them: failed, with
the bars they had reached."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from returns.result import Failure

from aitrader.adapters.sql import SqlJournal, bulk
from aitrader.application.cycle import TradingCycle
from aitrader.ports.errors import JournalError
from tests.e2e.conftest import DAILY_HEADER, Cli, daily_rows, read_csv, write_csv

STOPS = [(RuntimeError("disk on fire"), 1, "RuntimeError: disk on fire"),
         (KeyboardInterrupt(), 130, "interrupted")]


def _stopped_at_the_third_decision(monkeypatch: pytest.MonkeyPatch,
                                   stop: BaseException) -> list[datetime]:
    """Make the run's third decision raise `stop`; the moments of the decisions."""
    decide = TradingCycle._decide
    seen: list[datetime] = []

    def failing(self: TradingCycle, book: Any, target: Any, row: Any, source: Any, i: int,
                ts_ns: int) -> None:
        seen.append(datetime.fromtimestamp(ts_ns / 1e9, UTC))
        if len(seen) == 3:
            raise stop
        decide(self, book, target, row, source, i, ts_ns)

    monkeypatch.setattr(TradingCycle, "_decide", failing)
    return seen


def _data(tmp_path: Path, symbols: tuple[str, ...]) -> Path:
    for k, symbol in enumerate(symbols):  # the same days for each: bar i closes together
        write_csv(tmp_path / "data" / f"{symbol}.csv", DAILY_HEADER,
                  daily_rows(150, phase=float(k)))
    return tmp_path / "data"


@pytest.mark.parametrize(("stop", "code", "reason"), STOPS, ids=["exception", "ctrl_c"])
@pytest.mark.parametrize("symbols", [("KO",), ("KO", "IBM")], ids=["one_symbol", "two"])
@pytest.mark.parametrize("mode", ["backtest", "paper"])
def test_a_run_stopped_part_way_journals_the_bars_it_had_reached(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str,
    symbols: tuple[str, ...], stop: BaseException, code: int, reason: str,
) -> None:
    data = _data(tmp_path, symbols)
    args = ("--data", str(data), "--symbols", ",".join(symbols), "--quiet")
    whole = cli.backtest(*args, out=tmp_path / "whole")
    assert whole.code == 0, whole.stderr
    moments = [datetime.fromisoformat(row["ts"])
               for row in read_csv(tmp_path / "whole" / "equity.csv")[1]]
    seen = _stopped_at_the_third_decision(monkeypatch, stop)
    outcome = cli.backtest(*args) if mode == "backtest" else cli.paper("--replay", *args)
    assert outcome.code == code, outcome.stderr
    assert len(seen) == 3
    # every symbol's bar of that moment had been taken in, and no later one
    reached = sum(moment <= seen[-1] for moment in moments) * len(symbols)
    assert 0 < reached < len(moments) * len(symbols)
    listed = cli.journaled_runs()[:1]
    assert [(r["status"], r["bars"]) for r in listed] == [("failed", reached)]
    shown = cli.runs("show", listed[0]["run_id"], "--json").json()
    assert (shown["bars"], shown["metrics"]) == (reached, {"error": reason})


@pytest.mark.parametrize("mode", ["backtest", "paper"])
def test_a_run_that_fails_after_its_last_bar_journals_every_bar(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    data = _data(tmp_path, ("KO", "IBM"))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("ledger on fire")

    args = ("--data", str(data), "--quiet")
    bars = cli.backtest_json(*args, out=tmp_path / "whole")["bars"]
    monkeypatch.setattr("aitrader.application.run.risk_figures", broken)
    outcome = cli.backtest(*args) if mode == "backtest" else cli.paper("--replay", *args)
    assert outcome.code == 1, outcome.stderr
    assert [(r["status"], r["bars"]) for r in cli.journaled_runs()] == [
        ("failed", bars), ("finished", bars)]


_KILLED_MID_FLUSH = """
import os, signal, sys
from aitrader.adapters.sql import bulk
from aitrader.entrypoints.cli import main
insert = bulk.BulkWriter.insert
calls = []
def insert_then_die(self, table, *args, **kwargs):
    insert(self, table, *args, **kwargs)
    calls.append(table.name)
    if len(calls) == 2:  # some of the run's rows are written, in the open transaction
        os.kill(os.getpid(), signal.SIGKILL)
bulk.BulkWriter.insert = insert_then_die
sys.argv = ["aitrader", *sys.argv[1:]]
main()
"""


def test_a_backtest_killed_in_the_middle_of_its_flush_leaves_a_sound_journal(
    cli: Cli, tmp_path: Path
) -> None:
    args = ["backtest", "--symbols", "KO,IBM", "--quiet", "--journal", cli.journal_url,
            "--out", str(tmp_path / "out")]
    killed = subprocess.run([sys.executable, "-c", _KILLED_MID_FLUSH, *args],
                            capture_output=True, text=True, check=False, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with sqlite3.connect(cli.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        # the flush was one transaction: none of its rows, not some
        assert [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("decisions", "orders", "fills", "equity")] == [0, 0, 0, 0]
    runs = cli.journaled_runs()
    assert [r["status"] for r in runs] == ["running"]  # nothing was left to say otherwise
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0
    after = cli.backtest_json("--symbols", "KO,IBM", "--quiet", out=tmp_path / "again")
    assert [r["status"] for r in cli.journaled_runs()] == ["finished", "running"]
    assert after["metrics"]["trades"] > 0


def test_a_run_that_cannot_read_the_risk_state_journals_no_run(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the manifest was written first, then the risk state read: a run refused there stayed
    # 'running' for ever, though it never started
    assert cli("db", "upgrade", "--journal", cli.journal_url).code == 0

    def unreadable(_self: object) -> Failure[JournalError]:
        return Failure(JournalError("unavailable", "risk state unreadable"))

    monkeypatch.setattr(SqlJournal, "risk_state", unreadable)
    outcome = cli.paper("--replay", "--symbols", "KO", "--quiet")
    assert outcome.code == 1
    assert "risk state unreadable" in outcome.error_line()
    assert cli.journaled_runs() == []


def test_the_journal_can_be_read_while_a_run_holds_it_for_its_flush(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a run's flush holds the journal's write lock from its BEGIN: readers (runs list, show,
    # explain in another process) still read, seeing the run as it was before the flush
    insert = bulk.BulkWriter.insert
    seen: list[tuple[object, int]] = []

    def read_meanwhile(self: Any, table: Any, *args: Any, **kwargs: Any) -> None:
        insert(self, table, *args, **kwargs)
        if not seen:
            reader = SqlJournal.open(cli.journal_url).unwrap()
            try:
                run = reader.runs(10).unwrap()[0]
                seen.append((run.summary, len(reader.decisions(run.manifest.run_id).unwrap())))
            finally:
                reader.close()

    monkeypatch.setattr(bulk.BulkWriter, "insert", read_meanwhile)
    document = cli.backtest_json("--symbols", "KO", "--quiet")
    assert seen == [(None, 0)]  # running, with no record yet
    shown = cli.runs("show", document["run_id"], "--json").json()
    assert shown["status"] == "finished"
    assert shown["counts"]["decisions"] > 0
