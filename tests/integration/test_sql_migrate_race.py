"""Several processes opening one new SQLite journal at once all get it, migrated once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

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
                     for _ in range(4)]
        said = [p.communicate(timeout=120)[0].strip().splitlines()[-1] for p in processes]
        assert said == ["ok"] * 4, said
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        engine.dispose()
        assert versions == [(head_revision(),)]
