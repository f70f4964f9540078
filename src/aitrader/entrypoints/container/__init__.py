"""The composition root: the only package that knows concrete adapters.

This module holds what a command needs of the journal alone (open it, migrate it, name it
without its password) and imports the SQL adapter only when one of them is called, so that
`aitrader --help`, `runs list` or `risk status` never load the trading stack; the Container
and the adapters it selects for a run are in `container.wiring`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from returns.result import Failure, Result

if TYPE_CHECKING:
    from aitrader.adapters.sql import SqlJournal


class JournalUnavailableError(Exception):
    """The journal could not be opened; the message names the URL without its password."""


_T = TypeVar("_T")


def opened(result: Result[_T, Any]) -> _T:
    """What opening (or migrating) a journal or bar store gave, or JournalUnavailableError
    with the adapter's message (which masks the password)."""
    if isinstance(result, Failure):
        raise JournalUnavailableError(str(result.failure()))
    return result.unwrap()


def journal_url_problem(url: str) -> str | None:
    """Why the journal adapter would refuse url's options or its SQLite file's path (bad
    input), or None."""
    from aitrader.adapters.sql import sqlite_file, sqlite_options_problem, url_problem  # noqa: PLC0415 - lazy: start-up time

    unusable = url_problem(url)
    if unusable is not None:
        return unusable
    path = sqlite_file(url)
    if path is not None and path.is_dir():
        return f"{path} is a directory, not a SQLite journal file"
    if path is not None and any(p.exists() and not p.is_dir() for p in path.parents):
        return f"{path}: a part of the path is not a directory"
    if path is not None and path.is_file() and not _sqlite_or_empty(path):
        return f"{path} is not a SQLite database (an empty or new file would be made one)"
    return sqlite_options_problem(url)


_SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


def _sqlite_or_empty(path: Path) -> bool:
    """Whether path holds a SQLite database or nothing yet (SQLite makes an empty file one);
    an unreadable file passes here, for the driver to name its own error."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except OSError:
        return True
    return not head or head == _SQLITE_HEADER


def redact(url: str) -> str:
    """A database URL with its password hidden, in its user part or its query string: the
    journal adapter's masking, so messages, logs and manifests all hide the same."""
    from aitrader.adapters.sql import mask_password  # noqa: PLC0415 - lazy: start-up time

    return mask_password(url)


def journal_file(url: str) -> Path | None:
    """The file a SQLite journal URL opens ('~' expanded), or None for another database."""
    from aitrader.adapters.sql import sqlite_file  # noqa: PLC0415 - lazy: start-up time

    return sqlite_file(url)


def open_journal(url: str) -> SqlJournal:
    """Open (and on first use create) the journal at url."""
    from aitrader.adapters.sql import SqlJournal  # noqa: PLC0415 - lazy: start-up time

    return opened(SqlJournal.open(url))


def upgrade_journal(url: str) -> str:
    """Migrate the journal at url to the newest schema; returns the revision reached."""
    from aitrader.adapters.sql import upgrade as sql_upgrade  # noqa: PLC0415 - lazy: start-up time

    return str(opened(sql_upgrade(url)))
