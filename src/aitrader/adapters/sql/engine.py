"""Engines for the journal: SQLite set up for safe transactions, PostgreSQL with timeouts."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from returns.result import Failure, Result, Success
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from aitrader.ports.errors import JournalError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
CONNECT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_MS = 10_000
# What a sqlite:/// URL may carry: SQLite's URI filename options, and the sqlite3 driver's own
_SQLITE_URI_OPTIONS = frozenset({"mode", "cache", "vfs", "psow", "nolock", "immutable", "modeof"})
_PYSQLITE_OPTIONS = frozenset({"uri", "timeout", "isolation_level", "detect_types",
                               "check_same_thread", "cached_statements"})
_USERINFO = re.compile(r"(://[^:/@]*):[^@]*@")  # a password may hold "/"
# libpq also takes secrets as query parameters (?password=..., ?sslpassword=...)
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|sslpassword|passfile|sslkey)=)[^&]*")


def mask_password(url: str) -> str:
    """url's text with the password hidden, in its user part or its query string (for a URL
    kept as written, as a run's manifest keeps it)."""
    return _QUERY_SECRET.sub(r"\1***", _USERINFO.sub(r"\1:***@", url))


def safe_url(url: str | URL) -> str:
    """Render a database URL with its password masked, fit for messages and logs."""
    if isinstance(url, URL):
        return _QUERY_SECRET.sub(r"\1***", url.render_as_string(hide_password=True))
    try:
        shown = sa.make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return mask_password(url) if "://" in url else "(an unparsable URL)"
    return _QUERY_SECRET.sub(r"\1***", shown)


def driver_message(exc: BaseException, url: str | URL) -> str:
    """The first line of the driver's message, without SQL, parameters or the password."""
    origin = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    lines = str(origin).strip().splitlines()
    text = lines[0] if lines else type(origin).__name__
    password = url.password if isinstance(url, URL) else _password_of(url)
    if password:
        text = text.replace(str(password), "***")
    return text


def create_journal_engine(url: str) -> Result[Engine, JournalError]:
    """Build an engine for url: SQLite files get their directory, WAL and foreign keys."""
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        return Failure(JournalError("invalid_url", f"not a database URL: {safe_url(url)}"))
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        return Failure(JournalError(
            "invalid_url", f"the journal runs on SQLite or PostgreSQL, not {safe_url(parsed)}"
        ))
    problem = _sqlite_options_problem(parsed) if parsed.get_backend_name() == "sqlite" else None
    if problem is not None:
        return Failure(JournalError("invalid_url", f"journal {safe_url(parsed)}: {problem}"))
    try:
        if parsed.get_backend_name() == "sqlite":
            return Success(_sqlite_engine(parsed))
        kwargs: dict[str, Any] = {"hide_parameters": True, "pool_pre_ping": True}
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        return Success(sa.create_engine(parsed, **kwargs))
    except (SQLAlchemyError, ImportError, OSError) as exc:
        return Failure(JournalError(
            "unavailable", f"cannot open journal {safe_url(parsed)}: {driver_message(exc, parsed)}"
        ))


def sqlite_options_problem(url: str) -> str | None:
    """Why a SQLite URL's query options are refused (an option SQLite and its driver do not
    take, or mode=memory), or None (also for a URL that is not SQLite or not a URL)."""
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        return None
    return _sqlite_options_problem(parsed) if parsed.get_backend_name() == "sqlite" else None


def url_problem(url: str) -> str | None:
    """Why url cannot even name a database the journal could open (unparsable, a port that
    is no number, a driver SQLAlchemy does not have), masked, or None."""
    try:
        parsed = sa.make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError:  # (an ArgumentError: caught first)
        return f"{safe_url(url)}: no such database driver"
    except (ArgumentError, ValueError):
        return f"not a database URL: {safe_url(url)}"
    return None


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite journal URL opens ('~' expanded, as the engine expands it), or None
    for another database or an in-memory one."""
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") \
            or "mode=memory" in database or parsed.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # a URI filename: its path, without its own query
        return Path(unquote(database.removeprefix("file:").split("?", 1)[0])).expanduser()
    return Path(database).expanduser()


def _sqlite_options_problem(url: URL) -> str | None:
    unknown = sorted(set(url.query) - _PYSQLITE_OPTIONS - _SQLITE_URI_OPTIONS)
    if unknown:
        return (f"SQLite takes no option {', '.join(map(repr, unknown))} (it takes "
                f"{', '.join(sorted(_SQLITE_URI_OPTIONS | _PYSQLITE_OPTIONS))})")
    if url.query.get("mode") == "memory":
        return "mode=memory keeps the journal in memory, where every run would vanish"
    return None


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    if not in_memory and not database.startswith("file:"):
        # sqlite3 takes '~' literally: expand it once, for the directory and the file alike
        path = Path(database).expanduser()
        if url.query.get("mode") != "ro":
            path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
        if _SQLITE_URI_OPTIONS & set(url.query):
            # sqlite3 reads ?mode=ro (and its other URI options) only in a file: URI filename
            # with uri=true; SQLAlchemy would warn and drop them, or make a file 'x.db?mode=ro'
            url = url.set(database=f"file:{quote(str(path))}").update_query_dict({"uri": "true"})
    engine = sa.create_engine(url, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and commits before DDL; turn it off
        # and emit BEGIN ourselves so a flush and a migration are truly all-or-nothing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                _set_wal(cursor)
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # IMMEDIATE takes the write lock at once, waiting busy_timeout for another writer: a
        # transaction that reads and then writes (a migration checking the revision first)
        # would otherwise fail at once with "database is locked" when another process wrote
        # since its read began (SQLite cannot upgrade a stale read to a write)
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


IMMEDIATE = "aitrader_sqlite_immediate"  # an execution option: begin SQLite writing at once


@contextmanager
def writing(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction (engine.begin() otherwise). On SQLite it takes the write lock at its
    BEGIN, waiting busy_timeout for another process's writer: a transaction that reads before
    it writes (the equity curve's last chunk, the quarantined bars already recorded) would
    otherwise fail at once with "database is locked" when another process committed between
    its read and its write (in WAL mode SQLite cannot bring a stale read up to date)."""
    with engine.connect() as connection:
        connection.execution_options(**{IMMEDIATE: True})
        with connection.begin():
            yield connection


def _set_wal(cursor: Any) -> None:
    """Put the database in WAL mode, retrying for as long as busy_timeout would wait.

    Switching a new file to WAL takes its exclusive lock, and when several processes switch it
    at once SQLite reports "database is locked" at once instead of calling the busy handler (it
    would deadlock: each holds the shared lock the others wait on). One of them wins; the rest
    find the file in WAL mode on a retry."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _password_of(url: str) -> str | None:
    try:
        password = sa.make_url(url).password
    except (ArgumentError, ValueError):
        return None
    return None if password is None else str(password)
