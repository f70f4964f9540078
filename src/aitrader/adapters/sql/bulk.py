"""Bulk writes through the DBAPI (multi-row INSERT, executemany, COPY), not SQLAlchemy per row.

SQLAlchemy builds and type-processes a parameter dict per row, which for the tens of thousands
of rows a backtest flushes costs more than the database itself: 50,000 decisions, orders, order
events and fills took 3.2 s through Core executemany and 1.6 s here (SQLite, same rows, same
machine). Rows arrive as tuples in a fixed column order and are laid end to end in one flat
list, where column k is the extended slice values[k::width]: only the Decimal and datetime
columns are read out, converted and written back, all slicing done in C. Values leave
as the column types would send them: Decimal as text on SQLite, datetimes as naive UTC in
SQLAlchemy's SQLite format (so they read back the same way).

On SQLite, rows go many to a statement (multi-row VALUES, within the connection's variable
limit) instead of executemany's bind-and-step per row: the 50,000 rows above flushed 0.1-0.4 s
faster (bench_journal.py, noisy 2-core machine). Writing them on a background thread during the
run was measured too and lost: the row building holds the GIL, and sqlite3 releasing and
retaking it per statement slowed the trading loop by more (1.5-2 s) than the flush saved (0.8 s).

Measured again with only the SQL on the thread, and lost again. Rows were converted on the
trading thread 2,048 records at a time as they were recorded, and ONE writer thread, owning its
connection, inserted the flat lists 512 rows a statement. The part that overlaps is small:
sqlite3 binds parameters with the GIL held, 1.3 ms per 512 rows of 14 values (~190 ns a value),
more than SQLite then spends stepping the statement into a table without indexes (~0.9 ms);
only the stepping runs beside the trading loop. Nor could the rows go into the journal's tables:
a transaction left open across the run holds the database's write lock for the whole run, and a
paper run's flush, its risk-state saves or `aitrader risk halt` on the same journal would wait
out the 10 s busy timeout and fail. So they went into TEMP tables private to the writer's
connection (no lock), copied in at finish_run by INSERT ... SELECT in the one transaction (a
failed copy rolled back and left the stage for a retry). The copy costs about what the inserts'
stepping did (0.6 s of a 1.0 s flush at load 4-5). In bench_backtest (three alternating pairs
at load ~4) the flush phase went from 1.7-2.0 s to 0.64-0.68 s and the cycle from 7.2-7.6 s to
8.4-9.2 s: the whole run took 9.8-10.7 s either way, the conversions and the binding having
only moved into the cycle (at load 4.5-5 the run lost in each of three pairs, by 0.4-10 s).

Building rows a column at a time instead (list(map(attrgetter(name), records)) per column,
laid out by slice assignment) was slower on Python 3.11, whose specialised attribute loads make
the per-record tuple functions cheap: orders 19-23 ms -> 62-77 ms, decisions 126-136 ms ->
160-174 ms for 27,468 records; nor did a JSON column built by one str.format per mapping beat
rows._flat_json. A timestamp memo built from set(values) lost too (hashing an aware datetime,
twice a value, costs more than the Python loop it replaced).

Where a backtest's flush goes (bench_journal.py's bench_backtest-shaped buffer: 137k rows and
1M equity points, 1.0-1.4 s on the loaded 2-core machine): SQLite ~0.45 s executing and ~0.1 s
committing, rows.py ~0.25 s building row tuples, the conversions here ~0.2 s, equity ~0.05 s.
Sampled by py-spy this round (the collector paused, as in a backtest): the driver's execute 46 %
(binding, ~190 ns a value, then SQLite), rows.py 13 % (the decisions' JSON 10 %), timestamps
8.5 %, laying rows flat and slicing 8 %, commit 5 %, equity 4.5 %, Decimal to text 4 %.
Tried on the SQLite part and not kept: cache_size 16 or 64 MiB, page_size 8 or 16 KiB, 32 to
256 rows a statement (no difference above the noise); WITHOUT ROWID tables (-10 %, a schema
change); foreign keys off (-10 %, not an option).

Measured this round by instruction counts (callgrind, the flush of bench_backtest's own buffer,
pickled at finish_run: rows built, four tables inserted, committed; equity aside): 5.32 G.
Two things kept. A column the same str or int in every row of a statement (the run id, symbol,
order type, time in force, status, the verdicts...) is bound once (_insert_statement), and the
columns are compared by early-exit list equality instead of list.count: 4.91 G. Timestamps
are written by numpy from the bytes a datetime pickles as, not by isoformat
(_sqlite_timestamps): 4.62 G, -13 % in all. Found and not kept: numbering every parameter
(?NNN) so that any repeated value could be reused costs SQLite a linear search per parameter
when it compiles the statement (+0.34 G); list(map(str, decimals)) for a column without NULLs
(131 -> 172 M for five decimal columns: the comprehension's str() is specialised to call
PyObject_Str, map goes through str's constructor). What is left is the driver (sqlite3_bind_text
0.67 G, sqlite3_step 1.0 G), float repr in the decisions' signals JSON (~0.4 G: 55k floats
of 17 digits, ~7,000 instructions each, the same through json's C encoder), Decimal to text
(0.12 G) and the row tuples.

On PostgreSQL, tables without an upsert are COPYed in where the driver can (psycopg 3), and the
rest go by executemany: the same 137k rows took 2.1-2.9 s of client CPU (3.3-5.6 s wall) all by
executemany, 1.4-1.7 s (2.3-3.3 s) with COPY. Multi-row VALUES lost badly there (psycopg
re-parses statements over 4 KiB on every execute: 11 s; 6-7 s at 400-800 parameters each).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from aitrader.adapters.sql.tables import ExactDecimal, UtcDateTime

_ROWS_PER_STATEMENT = 512  # at most, in a multi-row INSERT on SQLite
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_SHAREABLE = (str, int)  # types whose equal values bind alike


class BulkWriter:
    """Inserts tables of rows over one connection (one flush). Timestamps recur across the
    tables (an order's decision, states, events and fill share two), so each distinct instant
    is formatted once per flush."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect
        self._sqlite = self._dialect.name == "sqlite"
        self._texts: dict[datetime | None, str | None] = {None: None}
        self._max_variables: int | None = None

    def insert(self, table: sa.Table, names: Sequence[str], rows: Sequence[tuple[Any, ...]],
               conflict: Sequence[str] = ()) -> None:
        """Insert rows (tuples of values for `names`, in that order); on a conflict over
        `conflict`, update the rest."""
        if not rows:
            return
        width = len(names)
        if set(map(len, rows)) != {width}:
            raise ValueError(f"{table.name}: rows must have {width} values, one per column")
        # Row-major and flat: values[k::width] is column k, read and replaced by extended
        # slicing in C, with no transposing to columns and back (two zips of every value:
        # ~0.03 s of a bench_backtest flush of 137k rows, 0.05-0.15 s replaying it alone).
        values = list(itertools.chain.from_iterable(rows))
        for at, name in enumerate(names):
            column_type = table.c[name].type
            if isinstance(column_type, ExactDecimal):
                convert = _decimal_texts if self._sqlite else _decimals
                values[at::width] = convert(values[at::width])
            elif isinstance(column_type, UtcDateTime):
                values[at::width] = self._timestamps(values[at::width]) if self._sqlite else (
                    _utcs(values[at::width]))
            elif isinstance(column_type, sa.Boolean) and self._sqlite:
                # stored as 0 or 1 either way; a bool binds through the adaptation lookup
                # (~365 ns), an int directly (~25 ns)
                values[at::width] = [int(v) if type(v) is bool else v for v in values[at::width]]
        if not self._sqlite:
            columns = [values[at::width] for at in range(width)]
            records = list(zip(*columns, strict=True))
            if conflict or not self._copy(table, names, records):
                sql = _insert_sql(self._dialect, table, names, conflict, 1)
                self._connection.exec_driver_sql(sql, records)
            return
        # SQLite: many rows a statement (executemany binds and steps once a row).
        step = max(1, min(_ROWS_PER_STATEMENT, self._variables() // width)) * width
        for start in range(0, len(values), step):
            self._insert_statement(table, names, values[start:start + step], conflict)

    def _insert_statement(self, table: sa.Table, names: Sequence[str], chunk: list[Any],
                          conflict: Sequence[str]) -> None:
        """One multi-row INSERT of the rows laid flat in chunk, on SQLite.

        A column NULL in every row is left out: it is NULL all the same (no column has a
        default), and an upsert still sets it, from `excluded`. sqlite3 binds a None through its
        adaptation lookup, ~410 ns a value against ~100 for a str and ~25 for an int: of the
        1.59M values of bench_journal's backtest-shaped buffer, 220k are such NULLs (the orders'
        limit and stop prices and reasons, the events' reasons...), ~0.09 s of binding left out.
        With the bools below, inserting that buffer takes 13 % fewer instructions (callgrind,
        the rows given: 4.24 -> 3.69 G).

        A column holding the same str or int in every row (the run id, the symbol, an order's
        type and time in force, the verdicts of a run that passes every gate...) is bound once:
        such columns come first in the statement, as numbered parameters ?1, ?2... that every
        row repeats, and the rest take plain ?s, numbered on from there. (Numbering every
        parameter instead cost SQLite a linear search per ?NNN when it compiles the statement,
        over the ones before it: 0.34 G instructions for a backtest's flush.)
        """
        width = len(names)  # of the rows in chunk, as columns are taken out of it
        rows = len(chunk) // width
        own = list(names)  # the columns bound in every row
        shared: dict[str, Any] = {}  # the columns bound once, and their value
        # Columns are compared with lists of a value, which stops at the first row that
        # differs (list.count(None) went through every row: 0.23 G instructions a flush).
        nulls = [None] * rows
        for at in reversed(range(width)):  # from the last, so earlier columns stay put
            column = chunk[at::width]
            first = column[0]
            if column != nulls:
                # equal values of one exact type (str, int: never a float, 0.0 == -0.0) bind
                # alike, so binding one is binding them all
                if not (type(first) in _SHAREABLE and column == [first] * rows
                        and list(map(type, column)) == [type(first)] * rows):
                    continue
                shared[names[at]] = first
            del chunk[at::width]
            del own[at]
            width -= 1
        sql = _insert_sql(self._dialect, table, [*shared, *own], (), rows, len(shared))
        sql += _upsert_clause(self._dialect, names, conflict)
        self._connection.exec_driver_sql(sql, (*shared.values(), *chunk))

    def _copy(self, table: sa.Table, names: Sequence[str],
              records: list[tuple[Any, ...]]) -> bool:
        """COPY records in where the driver can (psycopg 3); False where it cannot. Its errors
        become SQLAlchemy's, as an execute's would."""
        driver = self._connection.connection.driver_connection
        if driver is None:
            return False
        cursor = driver.cursor()
        if not hasattr(cursor, "copy"):
            cursor.close()
            return False
        quote = self._dialect.identifier_preparer.quote
        sql = (f"COPY {self._dialect.identifier_preparer.format_table(table)} "
               f"({', '.join(quote(name) for name in names)}) FROM STDIN")
        dbapi_error = self._dialect.loaded_dbapi.Error
        try:
            with cursor, cursor.copy(sql) as copy:
                for record in records:
                    copy.write_row(record)
        except dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(
                sql, None, exc, dbapi_error, hide_parameters=True) from exc
        return True

    def _variables(self) -> int:
        """How many parameters one SQLite statement may take (999 on builds before 3.32)."""
        if self._max_variables is None:
            driver = self._connection.connection.driver_connection
            getlimit = getattr(driver, "getlimit", None)
            self._max_variables = 999 if getlimit is None else int(
                getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        return self._max_variables

    def _timestamps(self, values: Sequence[Any]) -> list[Any]:
        texts = self._texts  # equal instants format alike once in UTC, whatever their zone
        fresh = list(dict.fromkeys(values).keys() - texts.keys())
        if fresh:
            texts.update(zip(fresh, _sqlite_timestamps([
                value if value.tzinfo is UTC else _utc(value) for value in fresh]), strict=True))
        return list(map(texts.__getitem__, values))


def _insert_sql(dialect: Dialect, table: sa.Table, names: Sequence[str],
                conflict: Sequence[str], rows: int, shared: int = 0) -> str:
    """INSERT of `rows` rows of `names`; on SQLite, the first `shared` names take the same
    numbered parameter (?1, ?2...) in every row."""
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:
        raise NotImplementedError(f"{dialect.driver}: paramstyle {dialect.paramstyle} unsupported")
    quote = dialect.identifier_preparer.quote
    row = [f"?{number}" for number in range(1, shared + 1)]
    row += [placeholder] * (len(names) - shared)
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) "
        "VALUES " + ", ".join([f"({', '.join(row)})"] * rows)
    )
    return sql + _upsert_clause(dialect, names, conflict)


def _upsert_clause(dialect: Dialect, names: Sequence[str], conflict: Sequence[str]) -> str:
    """' ON CONFLICT (conflict) DO UPDATE SET' each other name from excluded; '' if none."""
    if not conflict:
        return ""
    quote = dialect.identifier_preparer.quote
    updated = [name for name in names if name not in conflict]
    return (f" ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO UPDATE SET "
            + ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in updated))


def _decimal(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__}")
    return value


def _decimals(values: Sequence[Any]) -> list[Any]:
    return [None if value is None else _decimal(value) for value in values]


def _decimal_texts(values: Sequence[Any]) -> list[Any]:
    return [
        str(value) if type(value) is Decimal else None if value is None else str(_decimal(value))
        for value in values
    ]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"refusing a naive datetime: {value!r}")
    return value.astimezone(UTC)


def _utcs(values: Sequence[Any]) -> list[Any]:
    return [None if value is None else _utc(value) for value in values]


# The text of a timestamp, to be filled in with digits, and where each field's digits go.
_TIMESTAMP = np.frombuffer(b"0000-00-00 00:00:00.000000", np.uint8)
_DIGITS_AT = ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 6))  # year ... microsecond


def _sqlite_timestamps(values: list[datetime]) -> list[str]:
    """_sqlite_timestamp of each of many datetimes in UTC, written by numpy. isoformat costs
    ~13,500 instructions a value (its fields go through printf); here a value only hands over
    the 10 bytes it pickles as (year in 2, month, day, hour, minute, second, microsecond in 3:
    a layout every Python's pickles share; __reduce__ pickles at protocol 2, which never sets
    fold's bit on the month), ~4,200 instructions a value in all (callgrind,
    the 27,550 instants of bench_backtest's flush: 373 M -> 117 M)."""
    if set(map(type, values)) != {datetime}:  # a subclass may pickle otherwise
        return [_sqlite_timestamp(value) for value in values]
    pickled: list[Any] = [value.__reduce__()[1][0] for value in values]  # (cls, (state, tz))
    state = np.frombuffer(b"".join(pickled), np.uint8).reshape(-1, 10).astype(np.int64)
    fields = (state[:, 0] * 256 + state[:, 1], state[:, 2], state[:, 3], state[:, 4],
              state[:, 5], state[:, 6], state[:, 7] * 65536 + state[:, 8] * 256 + state[:, 9])
    text = np.tile(_TIMESTAMP, (len(values), 1))
    for (start, width), field in zip(_DIGITS_AT, fields, strict=True):
        rest = field
        for at in reversed(range(start, start + width)):
            rest, digit = np.divmod(rest, 10)
            text[:, at] = digit + ord("0")
    return text.view("S26").ravel().astype("U26").tolist()


def _sqlite_timestamp(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime format, microseconds always present so text sorts as time.
    if value.tzinfo is not UTC:
        value = _utc(value)
    return value.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"
