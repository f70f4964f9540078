"""Writes that read first (the equity curve's last chunk, the quarantined bars already
recorded) while another process writes to the same SQLite journal.

In WAL mode a transaction begun with a plain BEGIN that reads, and then writes after another
connection committed, fails at once with 'database is locked' (SQLite cannot upgrade a stale
read snapshot; the busy timeout is not consulted). Two runs on one journal, or `data validate`
during a run, hit it. The other writer here commits exactly between the read and the write,
through a hook on the statement, so the order is fixed and nothing races a clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from aitrader.adapters.sql import SqlBarStore, SqlJournal
from aitrader.domain.audit import RunManifest, RunSummary
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, GateRules, RawBars, gatekeep
from aitrader.domain.values import Symbol

T0 = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)
AAPL = Symbol("AAPL")
MIN = 60 * 10**9


def _another_process_writes_before(engine: sa.Engine, path: Path, statement: str) -> list[str]:
    """Just before `engine` runs `statement` (its first time), another connection commits a
    write to the file, or is refused at once if the journal already holds the write lock.
    What that writer met."""
    met: list[str] = []

    def poke(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if met or not sql.lstrip().upper().startswith(statement):
            return
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("INSERT INTO poke VALUES (1)")
            met.append("committed")
        except sqlite3.OperationalError as error:
            met.append(str(error))
        finally:
            other.close()

    event.listen(engine, "before_cursor_execute", poke)
    return met


def _prepared(tmp_path: Path, opened: Callable[[str], Any]) -> tuple[Any, Path]:
    path = tmp_path / "journal.db"
    adapter = opened(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE poke (x INTEGER)")
    return adapter, path


def _frame(n: int) -> BarFrame:
    ts = np.arange(1, n + 1, dtype=np.int64) * MIN + 1_700_000_000 * 10**9
    close = np.full(n, 100.0)
    return BarFrame(AAPL, Timeframe.MINUTE_1, ts - MIN, ts, close, close + 0.1, close - 0.1,
                    close, np.full(n, 100.0))


def test_recording_quarantined_bars_while_another_process_writes_waits_its_turn(
    tmp_path: Path,
) -> None:
    store, path = _prepared(tmp_path, lambda url: SqlBarStore.open(url).unwrap())
    raw = RawBars.from_frame(_frame(5))
    high = raw.high.copy()
    high[2] = 1.0  # below its low: quarantined
    raw = RawBars(AAPL, raw.timeframe, raw.ts_open, raw.ts_close, raw.open, high, raw.low,
                  raw.close, raw.volume)
    report = gatekeep(raw, None, GateRules(), "yahoo")[1]
    met = _another_process_writes_before(store._engine, path, "INSERT INTO QUARANTINED_BARS")

    recorded = store.record_quarantine(None, [report])

    assert recorded.unwrap() == len(report.quarantined) > 0, recorded
    assert met == ["database is locked"]  # the other writer waits (here: gives up at once)


@pytest.mark.parametrize("ending", ["flush", "finish"])
def test_a_journal_writing_only_equity_while_another_process_writes_waits_its_turn(
    tmp_path: Path, ending: str,
) -> None:
    # a paper run's flush of 1,000 bars without a decision writes only the equity curve, which
    # reads its last chunk first; a run that never decided ends the same way
    journal, path = _prepared(tmp_path, lambda url: SqlJournal.open(url).unwrap())
    manifest = RunManifest(run_id="run-1", mode="paper", strategy="sma_cross",
                           symbols=(AAPL,), config={}, data_digest="d", code_version="0",
                           started_at=T0)
    journal.start_run(manifest).unwrap()
    journal.record_equity("run-1", np.arange(3, dtype=np.int64), np.ones(3), np.ones(3))
    met = _another_process_writes_before(journal._engine, path, "INSERT INTO EQUITY")

    if ending == "flush":
        written = journal.flush()
    else:
        written = journal.finish_run(RunSummary(
            run_id="run-1", status="finished", bars=3, digest="x", decisions_digest="y",
            finished_at=T0, metrics={}))

    assert written.unwrap() is None, written
    assert met == ["database is locked"]
    assert journal.equity("run-1").unwrap()[0].tolist() == [0, 1, 2]
    journal.close()
