"""Schema migrations through Alembic's Python API, with the scripts in the top-level migrations/.

Revisions are Alembic's: a string id, or None for an empty (base) database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from returns.result import Failure, Result, Success
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from aitrader.adapters.sql.engine import create_journal_engine, driver_message, safe_url, writing
from aitrader.adapters.sql.tables import metadata
from aitrader.ports.errors import JournalError

log = structlog.get_logger(__name__)

UPGRADE_HINT = "run `aitrader db upgrade`"
_Action = Callable[[Engine], Result[str | None, JournalError]]


class MigrationsNotFoundError(RuntimeError):
    """The Alembic scripts are not where an editable install of aitrader keeps them."""


def migrations_dir() -> Path:
    """The repository's migrations/ directory (src/aitrader/adapters/sql -> four levels up)."""
    candidate = Path(__file__).resolve().parents[4] / "migrations"
    if not (candidate / "env.py").is_file():
        raise MigrationsNotFoundError(
            f"Alembic migrations not found at {candidate}: aitrader must be installed editable "
            "from its repository (pip install -e .) so that migrations/ sits beside src/"
        )
    return candidate


def head_revision() -> str:
    """The newest revision the code knows."""
    head = _script().get_current_head()
    if head is None:
        raise MigrationsNotFoundError(f"no revisions under {migrations_dir()}")
    return head


def current_revision(url: str) -> Result[str | None, JournalError]:
    """The database's revision (None if it was never migrated)."""
    return _with_engine(url, _current)


def upgrade(url: str, revision: str = "head") -> Result[str | None, JournalError]:
    """Migrate up to revision (default: head); return the revision now current."""
    return _with_engine(url, lambda engine: migrate_engine(engine, revision, up=True))


def downgrade(url: str, revision: str) -> Result[str | None, JournalError]:
    """Migrate down to revision ('base' empties the schema); return the revision now current."""
    return _with_engine(url, lambda engine: migrate_engine(engine, revision, up=False))


def migrate_engine(engine: Engine, revision: str, *, up: bool) -> Result[str | None, JournalError]:
    """Run the migrations on engine in one transaction (PostgreSQL and SQLite DDL is atomic).
    Migrations of one database at once take turns: the transaction holds SQLite's write lock,
    or a PostgreSQL advisory lock, from its start (a later one waits for it, then finds the
    revision already done), and in one process a lock keeps Alembic's module-level context to
    one migration at a time."""
    try:
        with _ALEMBIC, writing(engine) as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATING})")
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and not _is_known(current):
                return Failure(_newer_than_code(engine, current))
            config = _config()
            config.attributes["connection"] = connection
            if up:
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    except CommandError as exc:
        return Failure(JournalError("bad_revision", f"{safe_url(engine.url)}: {exc}"))
    except SQLAlchemyError as exc:
        return Failure(_db_error(exc, engine, "migration failed"))
    return _current(engine)


_ALEMBIC = threading.Lock()  # Alembic's `context` and `op` are module-level proxies
# PostgreSQL's transaction-level advisory lock key for migrating a database: processes that
# migrated one new database at once both created the tables, and one failed ('duplicate key
# value violates unique constraint "pg_type_typname_nsp_index"', or 'relation already exists')
_MIGRATING = 0x61697472  # "aitr"


def ensure_schema(engine: Engine) -> Result[str, JournalError]:
    """Upgrade an empty database to head; refuse one at another revision.

    Empty means none of the journal's tables and no Alembic version table: a database that was
    migrated and then downgraded to base is respected, not silently upgraded again.
    """
    head = head_revision()
    where = safe_url(engine.url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            current = context.get_current_revision()
            names = set(sa.inspect(connection).get_table_names())
    except SQLAlchemyError as exc:
        return Failure(_db_error(exc, engine, "cannot read the schema"))
    if current == head:
        return Success(head)
    if current is None and not names & {*metadata.tables, context.version_table}:
        log.info("journal.schema_created", url=where, revision=head)
        return migrate_engine(engine, "head", up=True).map(lambda _: head)
    if current is None and context.version_table not in names:
        return Failure(JournalError(
            "schema_outdated",
            f"journal {where} has journal tables but no schema revision; check it is an "
            f"aitrader journal, then {UPGRADE_HINT}",
        ))
    if current is not None and not _is_known(current):
        return Failure(_newer_than_code(engine, current))
    return Failure(JournalError(
        "schema_outdated",
        f"journal {where} is at schema revision {current or 'base'}, this aitrader needs "
        f"{head}: {UPGRADE_HINT}",
    ))


def _newer_than_code(engine: Engine, current: str) -> JournalError:
    """A revision the scripts do not know: a newer aitrader migrated this journal."""
    return JournalError(
        "schema_unknown",
        f"journal {safe_url(engine.url)} is at schema revision {current}, newer than this "
        f"aitrader knows (head {head_revision()}); upgrade aitrader",
    )


def _current(engine: Engine) -> Result[str | None, JournalError]:
    try:
        with engine.connect() as connection:
            return Success(MigrationContext.configure(connection).get_current_revision())
    except SQLAlchemyError as exc:
        return Failure(_db_error(exc, engine, "cannot read the schema revision"))


def _with_engine(url: str, action: _Action) -> Result[str | None, JournalError]:
    created = create_journal_engine(url)
    if not isinstance(created, Success):
        return Failure(created.failure())
    engine = created.unwrap()
    try:
        return action(engine)
    finally:
        engine.dispose()


def _db_error(exc: SQLAlchemyError, engine: Engine, doing: str) -> JournalError:
    unreachable = isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    return JournalError(
        "unavailable" if unreachable else "migration_failed",
        f"journal {safe_url(engine.url)}: {doing}: {driver_message(exc, engine.url)}",
    )


def _is_known(revision: str) -> bool:
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    return config
