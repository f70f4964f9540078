"""Alembic migrations on SQLite and PostgreSQL: the stairway, and the schema matching tables.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from returns.pipeline import is_successful

from aitrader.adapters.sql import current_revision, downgrade, head_revision, upgrade
from aitrader.adapters.sql.migrate import migrations_dir
from aitrader.adapters.sql.tables import metadata


def revisions_oldest_first() -> list[tuple[str, str]]:
    """Each revision with the revision below it ('base' for the first)."""
    script = ScriptDirectory(str(migrations_dir()))
    steps = [(r.revision, r.down_revision) for r in script.walk_revisions("base", "heads")]
    return [(rev, str(down) if down else "base") for rev, down in reversed(steps)]


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_every_revision_upgrades_downgrades_and_upgrades_again(journal_url: str) -> None:
    for revision, below in revisions_oldest_first():
        assert upgrade(journal_url, revision).unwrap() == revision
        assert downgrade(journal_url, below).unwrap() == (None if below == "base" else below)
        assert upgrade(journal_url, revision).unwrap() == revision

    assert revisions_oldest_first()[-1][0] == head_revision()


def test_downgrading_to_base_leaves_only_alembics_version_table(journal_url: str) -> None:
    upgrade(journal_url).unwrap()

    downgrade(journal_url, "base").unwrap()

    assert current_revision(journal_url).unwrap() is None
    assert table_names(journal_url) == {"alembic_version"}


def test_the_migrated_schema_matches_the_tables_module(journal_url: str) -> None:
    upgrade(journal_url).unwrap()

    engine = sa.create_engine(journal_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
    assert table_names(journal_url) == {*metadata.tables, "alembic_version"}


def test_an_unknown_revision_is_an_error_not_a_crash(journal_url: str) -> None:
    result = upgrade(journal_url, "nonexistent")

    assert not is_successful(result)
    assert result.failure().code == "bad_revision"


def test_developers_can_migrate_with_the_alembic_command(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'journal.db'}"
    root = migrations_dir().parent
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(root / "alembic.ini"),
         "-x", f"url={sqlite_url}", "upgrade", "head"],
        cwd=root, capture_output=True, text=True, check=False, timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert current_revision(sqlite_url).unwrap() == head_revision()
