"""Several processes opening one new SQLite journal at once all get it, migrated once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from aitrader.adapters.sql.engine import _set_wal
from aitrader.adapters.sql.migrate import head_revision

_OPEN = """
import sys, time
from returns.pipeline import is_successful
from aitrader.adapters.sql import SqlJournal
while time.time() < float(sys.argv[2]):  # start together
    pass
opened = SqlJournal.open(sys.argv[1])
print("ok" if is_successful(opened) else opened.failure())
"""


def test_processes_opening_a_new_journal_at_once_take_turns_migrating_it(tmp_path: Path) -> None:
    # (two runs started together on a fresh journal: one failed with 'migration failed:
    # database is locked', exit 1, since SQLite cannot turn a read begun before another
    # process's migration committed into a write)
    for trial in range(3):
        path = tmp_path / f"journal{trial}.db"
        start = subprocess.run([sys.executable, "-c", "import time; print(time.time() + 3)"],
                               capture_output=True, text=True, check=True).stdout.strip()
        processes = [subprocess.Popen([sys.executable, "-c", _OPEN, f"sqlite:///{path}", start],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(6)]
        said = [p.communicate(timeout=120)[0].strip().splitlines()[-1] for p in processes]
        assert said == ["ok"] * 6, said
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        engine.dispose()
        assert versions == [(head_revision(),)]


class _LockedCursor:
    """A cursor whose first `locked` PRAGMA journal_mode=WAL calls fail as SQLite fails them
    when several processes switch a new file to WAL at once (no busy handler is called)."""

    def __init__(self, locked: int, message: str = "database is locked") -> None:
        self.locked, self.message, self.calls = locked, message, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode=WAL"
        self.calls += 1
        if self.calls <= self.locked:
            raise sqlite3.OperationalError(self.message)


def test_switching_to_wal_retries_a_lock_sqlite_reports_without_waiting() -> None:
    # (1 run in 10 of four processes opening one new journal failed 'cannot read the schema:
    # database is locked': the failure came from PRAGMA journal_mode=WAL on connect)
    cursor = _LockedCursor(locked=3)
    _set_wal(cursor)
    assert cursor.calls == 4


def test_switching_to_wal_does_not_retry_other_errors() -> None:
    cursor = _LockedCursor(locked=1, message="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _set_wal(cursor)
    assert cursor.calls == 1
