"""Bulk writes through the DBAPI's executemany, skipping SQLAlchemy's per-row parameter work.

SQLAlchemy builds and type-processes a parameter dict per row, which for the tens of thousands
of rows a backtest flushes costs more than the database itself: 50,000 decisions, orders, order
events and fills took 3.2 s through Core executemany and 1.6 s here (SQLite, same rows, same
machine). Converters are picked once per column from its type, columns are converted whole and
zipped into tuples. Values leave as the column types would send them: Decimal as text on
SQLite, datetimes as naive UTC in SQLAlchemy's SQLite format (so they read back the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from aitrader.adapters.sql.tables import ExactDecimal, UtcDateTime

Row = dict[str, Any]
_Convert = Callable[[Any], Any]
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_many(
    connection: Connection, table: sa.Table, rows: Sequence[Row],
    conflict: Sequence[str] = (),
) -> None:
    """Insert rows (dicts with the same keys); on a conflict over `conflict`, update the rest."""
    if not rows:
        return
    dialect = connection.dialect
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:
        raise NotImplementedError(f"{dialect.driver}: paramstyle {dialect.paramstyle} unsupported")
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) "
        f"VALUES ({', '.join(placeholder for _ in names)})"
    )
    if conflict:
        updated = [name for name in names if name not in conflict]
        sql += (
            f" ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO UPDATE SET "
            + ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in updated)
        )
    columns: list[list[Any]] = []
    for name in names:  # column at a time: the per-row work is then zip's, in C
        values = [row[name] for row in rows]
        convert = _converter(table.c[name].type, dialect)
        if convert is not None:
            values = [None if value is None else convert(value) for value in values]
        columns.append(values)
    params = list(zip(*columns, strict=True))
    connection.exec_driver_sql(sql, params)


def _converter(column_type: sa.types.TypeEngine[Any], dialect: Dialect) -> _Convert | None:
    sqlite = dialect.name == "sqlite"
    if isinstance(column_type, ExactDecimal):
        return _decimal_text if sqlite else _decimal
    if isinstance(column_type, UtcDateTime):
        return _sqlite_timestamp if sqlite else _utc
    return None


def _decimal(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__}")
    return value


def _decimal_text(value: Decimal) -> str:
    return str(_decimal(value))


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"refusing a naive datetime: {value!r}")
    return value.astimezone(UTC)


def _sqlite_timestamp(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime format, microseconds always present so text sorts as time.
    if value.tzinfo is not UTC:
        value = _utc(value)
    return value.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"
