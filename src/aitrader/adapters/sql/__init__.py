"""The SQL journal (SQLite | PostgreSQL) and its schema migrations."""

from aitrader.adapters.sql.bars import SqlBarStore
from aitrader.adapters.sql.engine import (
    mask_password,
    sqlite_file,
    sqlite_options_problem,
    url_problem,
)
from aitrader.adapters.sql.journal import SqlJournal
from aitrader.adapters.sql.migrate import current_revision, downgrade, head_revision, upgrade

__all__ = ["SqlBarStore", "SqlJournal", "current_revision", "downgrade", "head_revision",
           "mask_password", "sqlite_file", "sqlite_options_problem", "upgrade", "url_problem"]
