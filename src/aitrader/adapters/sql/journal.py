"""SqlJournal: the Journal port on SQLAlchemy Core, for SQLite and PostgreSQL.

Writes are buffered in memory and written by flush() in one transaction. If that transaction
fails nothing of the batch is written and the buffer is kept, so a transient failure (a locked
or briefly unreachable database) can be retried by flushing again.

The equity curve is stored as chunks of up to 10,000 consecutive points per row, each column
packed little-endian: ts_ns as zlib'd int64 deltas, equity as raw float64, cash as zlib'd
float64; the bytes are the exact floats. Measured on SQLite for 1,000,000 points
(bench/bench_journal.py, a loaded 2-core machine): one row per point through the raw DBAPI
executemany took 1.2-1.7 s, far over the 0.4 s budget; the chunked flush takes 0.05-0.10 s and
8.3 MB. zlib on the noisy equity column cost 0.18 s to save 20 %, so it stays raw, while the
regular timestamp deltas and the mostly flat cash column shrink ~100x for ~0.02 s. Appending
(paper mode flushes as it goes) tops up the run's last partial chunk first, so a run keeps about
one row per 10,000 points, read back in order.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
import structlog
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from aitrader.adapters.sql import reading, risk_rows, rows, tables
from aitrader.adapters.sql.bulk import BulkWriter
from aitrader.adapters.sql.engine import create_journal_engine, driver_message, safe_url, writing
from aitrader.adapters.sql.migrate import ensure_schema
from aitrader.domain.audit import Decision, RunInfo, RunManifest, RunSummary
from aitrader.domain.risk import RiskState
from aitrader.domain.trading import Fill, Order, OrderEvent
from aitrader.ports.errors import JournalError
from aitrader.ports.journal import Journal

log = structlog.get_logger(__name__)

CHUNK_POINTS = 10_000
T = TypeVar("T")


class _UnknownRunError(Exception):
    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


class SqlJournal(Journal):
    """The journal in a SQL database; build it with SqlJournal.open(url)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._url = safe_url(engine.url)
        # Records are kept as given and turned into rows when flushed: one pass per table then,
        # instead of a dict per record while the run is being timed.
        self._decisions: list[tuple[str, Decision]] = []
        self._orders: dict[tuple[str, str], Order] = {}
        self._events: list[tuple[str, int, OrderEvent]] = []
        self._equity: dict[str, list[rows.EquityColumns]] = {}

    @classmethod
    def open(cls, url: str) -> Result[SqlJournal, JournalError]:
        """Connect to url; create the schema in an empty database, refuse an outdated one."""
        created = create_journal_engine(url)
        if not is_successful(created):
            return Failure(created.failure())
        engine = created.unwrap()
        checked = ensure_schema(engine)
        if not is_successful(checked):
            engine.dispose()
            return Failure(checked.failure())
        return Success(cls(engine))

    def close(self) -> None:
        """Release the database connections (buffered writes not flushed are dropped)."""
        self._engine.dispose()

    def start_run(self, manifest: RunManifest) -> Result[None, JournalError]:
        try:
            with writing(self._engine) as connection:
                connection.execute(tables.runs.insert(), rows.manifest_row(manifest))
        except sa.exc.IntegrityError:
            return Failure(JournalError(
                "run_exists", f"journal {self._url} already has a run {manifest.run_id!r}"
            ))
        except SQLAlchemyError as exc:
            return Failure(self._error(exc, f"cannot start run {manifest.run_id!r}"))
        return Success(None)

    def record_decision(self, run_id: str, decision: Decision) -> None:
        self._decisions.append((run_id, decision))

    def record_order(self, run_id: str, order: Order) -> None:
        self._orders[(run_id, order.client_order_id)] = order

    def record_event(self, run_id: str, seq: int, event: OrderEvent) -> None:
        self._events.append((run_id, seq, event))

    def record_equity(
        self, run_id: str, ts_ns: npt.NDArray[np.int64], equity: npt.NDArray[np.float64],
        cash: npt.NDArray[np.float64],
    ) -> None:
        columns = (
            np.array(ts_ns, dtype=np.int64), np.array(equity, dtype=np.float64),
            np.array(cash, dtype=np.float64),
        )
        if any(c.ndim != 1 for c in columns) or len({len(c) for c in columns}) != 1:
            raise ValueError("equity columns must be 1-D and of equal length")
        if len(columns[0]):
            self._equity.setdefault(run_id, []).append(columns)

    def flush(self) -> Result[None, JournalError]:
        if not self._has_buffered():
            return Success(None)
        try:
            with writing(self._engine) as connection:
                self._write_buffer(connection)
        except SQLAlchemyError as exc:
            log.warning("journal.flush_failed", url=self._url,
                        error=driver_message(exc, self._engine.url))
            return Failure(self._error(exc, "cannot flush"))
        self._clear_buffer()
        return Success(None)

    def finish_run(self, summary: RunSummary) -> Result[None, JournalError]:
        runs = tables.runs
        update = runs.update().where(runs.c.run_id == summary.run_id)
        try:
            with writing(self._engine) as connection:
                self._write_buffer(connection)
                result = connection.execute(update.values(rows.summary_values(summary)))
                if result.rowcount != 1:
                    raise _UnknownRunError(summary.run_id)
        except _UnknownRunError as exc:
            return Failure(self._unknown(exc.run_id))
        except SQLAlchemyError as exc:
            error = self._error(exc, f"cannot finish run {summary.run_id!r}")
            self._mark_failed(summary, error)
            return Failure(error)
        self._clear_buffer()
        return Success(None)

    def _mark_failed(self, summary: RunSummary, error: JournalError) -> None:
        """The run's records could not be written (the transaction wrote none of them): say so
        on its row, in a transaction of its own, so the run does not read as still running.
        The records stay buffered, so a later finish_run can still write them and its status.
        If the database refuses this too, the row stays as it was; the caller reports why."""
        failed = RunSummary(
            run_id=summary.run_id, status="failed", bars=summary.bars, digest="",
            decisions_digest="", finished_at=summary.finished_at,
            metrics={"error": f"{error.code}: {error.message}"})
        runs = tables.runs
        try:
            with writing(self._engine) as connection:
                connection.execute(runs.update().where(runs.c.run_id == summary.run_id)
                                   .values(rows.summary_values(failed)))
        except SQLAlchemyError as exc:
            log.warning("journal.mark_failed_failed", url=self._url, run_id=summary.run_id,
                        error=driver_message(exc, self._engine.url))

    def runs(self, limit: int) -> Result[Sequence[RunInfo], JournalError]:
        runs = tables.runs
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        return self._read("cannot list runs", lambda connection: tuple(
            RunInfo(rows.to_manifest(row), rows.to_summary(row))
            for row in connection.execute(query.limit(max(limit, 0))).mappings()
        ))

    def run(self, run_id: str) -> Result[RunInfo, JournalError]:
        def read(connection: Connection) -> RunInfo:
            query = sa.select(tables.runs).where(tables.runs.c.run_id == run_id)
            row = connection.execute(query).mappings().first()
            if row is None:
                raise _UnknownRunError(run_id)
            return RunInfo(rows.to_manifest(row), rows.to_summary(row))

        return self._read(f"cannot read run {run_id!r}", read)

    def orders(self, run_id: str, client_order_ids: Collection[str] | None = None
               ) -> Result[Sequence[Order], JournalError]:
        table = tables.orders
        wanted = None if client_order_ids is None else set(client_order_ids)
        if wanted is None or len(wanted) > _IN_LIMIT:  # (a database bounds its parameters)
            everything = self._read_records(run_id, table, reading.ORDER_READ, "id",
                                            reading.to_orders)
            if wanted is None:
                return everything
            return everything.map(lambda all_: [o for o in all_ if o.client_order_id in wanted])
        return self._read_records(run_id, table, reading.ORDER_READ, "id", reading.to_orders,
                                  (table.c.client_order_id.in_(sorted(wanted)),))

    def fills(self, run_id: str) -> Result[Sequence[Fill], JournalError]:
        return self._read_records(run_id, tables.fills, reading.FILL_READ, "seq",
                                  reading.to_fills)

    def decisions(self, run_id: str, *, symbol: str | None = None,
                  client_order_id: str | None = None, since: datetime | None = None,
                  until: datetime | None = None) -> Result[Sequence[Decision], JournalError]:
        table = tables.decisions
        where: list[sa.ColumnElement[bool]] = []
        if symbol is not None:
            where.append(table.c.symbol == symbol)
        if client_order_id is not None:
            where.append(table.c.client_order_id == client_order_id)
        if since is not None:
            where.append(table.c.ts >= since)
        if until is not None:
            where.append(table.c.ts < until)
        return self._read_records(run_id, table, reading.DECISION_READ, "seq",
                                  reading.to_decisions, where)

    def counts(self, run_id: str) -> Result[dict[str, int], JournalError]:
        """How many decisions, orders and fills the run journaled, counted by the database
        (`runs show`: reading the records back to count them grows with the run)."""
        counted = (tables.decisions, tables.orders, tables.fills)

        def read(connection: Connection) -> dict[str, int]:
            _require_run(connection, run_id)
            return {table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.run_id == run_id)
            ).scalar_one() for table in counted}

        return self._read(f"cannot count the records of run {run_id!r}", read)

    def equity(
        self, run_id: str
    ) -> Result[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
                JournalError]:
        table = tables.equity
        chunks = self._read_run(run_id, table, table.c.chunk, rows.to_equity_columns)
        return chunks.map(_concatenate)

    def risk_state(self) -> Result[RiskState | None, JournalError]:
        table = tables.risk_state

        def read(connection: Connection) -> RiskState | None:
            found = connection.execute(sa.select(table.c.key, table.c.value)).all()
            return risk_rows.to_risk_state({row.key: row.value for row in found})

        return self._read("cannot read the risk state", read)

    def save_risk_state(self, state: RiskState, at: datetime) -> Result[None, JournalError]:
        table = tables.risk_state
        values = risk_rows.risk_values(state)
        try:
            with writing(self._engine) as connection:
                connection.execute(table.delete().where(table.c.key.in_(list(values))))
                connection.execute(table.insert(), [
                    {"key": key, "value": value, "updated_at": at}
                    for key, value in values.items()])
        except SQLAlchemyError as exc:
            return Failure(self._error(exc, "cannot save the risk state"))
        return Success(None)

    def _read_run(
        self, run_id: str, table: sa.Table, order: sa.ColumnElement[Any],
        to_record: Callable[[sa.RowMapping], T],
    ) -> Result[Sequence[T], JournalError]:
        def read(connection: Connection) -> Sequence[T]:
            _require_run(connection, run_id)
            query = sa.select(table).where(table.c.run_id == run_id).order_by(order)
            return tuple(to_record(row) for row in connection.execute(query).mappings())

        return self._read(f"cannot read {table.name} of run {run_id!r}", read)

    def _read_records(
        self, run_id: str, table: sa.Table, names: Sequence[str], order: str,
        to_records: Callable[[Sequence[Sequence[Any]]], Sequence[T]],
        where: Sequence[sa.ColumnElement[bool]] = (),
    ) -> Result[Sequence[T], JournalError]:
        """A run's rows of `names` (those meeting `where`) as the driver returns them (see
        reading.py), as records."""
        sqlite = self._engine.dialect.name == "sqlite"
        query = sa.select(*_raw_columns(table, names, sqlite)).where(
            table.c.run_id == run_id, *where).order_by(table.c[order])

        def read(connection: Connection) -> Sequence[T]:
            _require_run(connection, run_id)
            with _collection_paused():
                return to_records(connection.execute(query).all())

        return self._read(f"cannot read {table.name} of run {run_id!r}", read)

    def _read(self, doing: str, read: Callable[[Connection], T]) -> Result[T, JournalError]:
        try:
            with self._engine.connect() as connection:
                return Success(read(connection))
        except _UnknownRunError as exc:
            return Failure(self._unknown(exc.run_id))
        except SQLAlchemyError as exc:
            return Failure(self._error(exc, doing))

    def _write_buffer(self, connection: Connection) -> None:
        with _collection_paused():
            self._write_records(connection)

    def _write_records(self, connection: Connection) -> None:
        writer = BulkWriter(connection)
        writer.insert(tables.decisions, rows.DECISION_COLUMNS, [
            rows.decision_values(run_id, decision) for run_id, decision in self._decisions
        ])
        writer.insert(tables.orders, rows.ORDER_COLUMNS, [
            rows.order_values(run_id, order) for (run_id, _), order in self._orders.items()
        ], conflict=("run_id", "client_order_id"))  # the row, and its id, stay in place
        writer.insert(tables.order_events, rows.EVENT_COLUMNS, [
            rows.event_values(run_id, seq, event) for run_id, seq, event in self._events
        ])
        writer.insert(tables.fills, rows.FILL_COLUMNS, [
            rows.fill_values(run_id, seq, event.fill) for run_id, seq, event in self._events
            if event.fill is not None
        ])
        for run_id, parts in self._equity.items():
            _append_equity(connection, run_id, parts)

    def _has_buffered(self) -> bool:
        return bool(self._decisions or self._orders or self._events or self._equity)

    def _clear_buffer(self) -> None:
        self._decisions = []
        self._orders = {}
        self._events = []
        self._equity = {}

    def _unknown(self, run_id: str) -> JournalError:
        return JournalError("unknown_run", f"journal {self._url} has no run {run_id!r}")

    def _error(self, exc: SQLAlchemyError, doing: str) -> JournalError:
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            code = "unavailable"
        elif isinstance(exc, sa.exc.IntegrityError):
            code = "conflict"
        else:
            code = "failed"
        return JournalError(code, f"journal {self._url}: {doing}: "
                                  f"{driver_message(exc, self._engine.url)}")


def _raw_columns(table: sa.Table, names: Sequence[str],
                 sqlite: bool) -> list[sa.ColumnElement[Any]]:
    """The columns without SQLAlchemy's result processing; exact decimals as their text (which
    SQLite stores them as already: a CAST there cost ~0.1 s on 50,000 orders)."""
    columns: list[sa.ColumnElement[Any]] = []
    for name in names:
        column = table.c[name]
        if isinstance(column.type, tables.ExactDecimal) and not sqlite:
            columns.append(sa.cast(column, sa.Text).label(name))
        else:
            columns.append(sa.type_coerce(column, sa.types.NullType()).label(name))
    return columns


_IN_LIMIT = 500  # ids in one IN list (SQLite before 3.32 binds at most 999 parameters)


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a run's records are read and built, or while
    the buffer's rows are built and written (a backtest's flush already runs with it paused).

    Tens of thousands of new records set off repeated collections that traverse the whole heap
    and find nothing to free (the records are all still referenced): they took ~1 s of the
    3.5 s the read of 50,000 decisions, orders and fills took before reading.py, and ~0.5 s
    after it. Writing, the same: bench_journal's flush of 50,000 decisions, orders and fills (run
    with the collector on) was faster in 5 of 6 alternating pairs with it paused, 1.7-3.0 s
    against 2.0-3.2 s (a noisy measure: the machine at load 3.5-5). Reference counting still
    frees everything as usual meanwhile. Collection resumes
    afterwards unless it was already off (a concurrent read may have paused it: the one that
    paused it resumes it).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _require_run(connection: Connection, run_id: str) -> None:
    query = sa.select(tables.runs.c.run_id).where(tables.runs.c.run_id == run_id)
    if connection.execute(query).first() is None:
        raise _UnknownRunError(run_id)


def _append_equity(connection: Connection, run_id: str, parts: list[rows.EquityColumns]) -> None:
    table = tables.equity
    last = connection.execute(
        sa.select(table).where(table.c.run_id == run_id).order_by(table.c.chunk.desc()).limit(1)
    ).mappings().first()
    chunk = 0
    if last is not None and last["points"] < CHUNK_POINTS:
        parts = [rows.to_equity_columns(last), *parts]
        chunk = last["chunk"]
        connection.execute(
            table.delete().where(table.c.run_id == run_id, table.c.chunk == chunk)
        )
    elif last is not None:
        chunk = last["chunk"] + 1
    ts, equity, cash = _concatenate(parts)
    connection.execute(table.insert(), [
        rows.equity_chunk_row(run_id, chunk + i, (
            ts[start:start + CHUNK_POINTS], equity[start:start + CHUNK_POINTS],
            cash[start:start + CHUNK_POINTS],
        ))
        for i, start in enumerate(range(0, len(ts), CHUNK_POINTS))
    ])


def _concatenate(parts: Sequence[rows.EquityColumns]) -> rows.EquityColumns:
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64)
    if len(parts) == 1:
        return parts[0]
    return (
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
