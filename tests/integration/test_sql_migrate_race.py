"""Several processes opening one new SQLite journal at once all get it, migrated once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aitrader.adapters.sql.engine import _set_wal, create_journal_engine
from aitrader.adapters.sql.migrate import head_revision, migrate_engine

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


_UPGRADE = """
import sys
from aitrader.adapters.sql import upgrade
print(upgrade(sys.argv[1]))
"""


@pytest.mark.postgres
def test_processes_migrating_a_new_postgres_journal_at_once_take_turns(
    postgres_url: str,
) -> None:
    # (four runs started together on a new PostgreSQL journal: one failed 'migration failed:
    # duplicate key value violates unique constraint "pg_type_typname_nsp_index"', both
    # creating the tables). The other process starts while this one is inside its migration,
    # and this one goes on only once the server shows the other waiting for a lock (or the
    # other has finished: it did not wait, and this one then fails).
    watcher = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with watcher.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE migrate_race TEMPLATE template0")
    journal_url = postgres_url.rsplit("/", 1)[0] + "/migrate_race"
    engine = create_journal_engine(journal_url).unwrap()
    other: list[subprocess.Popen[str]] = []

    def meanwhile(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if other or not sql.lstrip().upper().startswith("CREATE TABLE"):
            return
        other.append(subprocess.Popen([sys.executable, "-c", _UPGRADE, journal_url],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
        deadline = time.monotonic() + 60
        # (it waits for this migration, or it did not and has finished already)
        while other[0].poll() is None and not _waiting_for_a_lock(watcher):
            assert time.monotonic() < deadline, "the other process neither waited nor ended"
            time.sleep(0.02)

    sa.event.listen(engine, "before_cursor_execute", meanwhile)
    try:
        assert migrate_engine(engine, "head", up=True).unwrap() == head_revision()
    finally:
        engine.dispose()
    out, err = other[0].communicate(timeout=120)
    watcher.dispose()
    assert out.strip() == f"<Success: {head_revision()}>", err


def _waiting_for_a_lock(engine: sa.Engine) -> bool:
    """Whether some backend of the server waits for a lock (only the two migrations run)."""
    with engine.connect() as connection:
        waiting = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE NOT granted").scalar()
    return bool(waiting)
