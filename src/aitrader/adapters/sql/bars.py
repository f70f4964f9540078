"""SqlBarStore: bars into the `bars` table and quarantined bars into `quarantined_bars`.

Bars are written through the bulk writer (multi-row statements on SQLite), upserting on
(source, symbol, timeframe, ts_close_ns) so a re-fetch replaces what it revises.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from returns.result import Failure, Result, Success
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from aitrader.adapters.sql import tables
from aitrader.adapters.sql.bulk import BulkWriter
from aitrader.adapters.sql.engine import create_journal_engine, driver_message, writing
from aitrader.adapters.sql.migrate import ensure_schema
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, GateReport
from aitrader.ports.bar_cache import BarStore
from aitrader.ports.errors import MarketDataError

_BAR_COLUMNS = ("source", "symbol", "timeframe", "ts_close_ns", "ts_open_ns", "open", "high",
                "low", "close", "volume")
_QUARANTINE_COLUMNS = ("run_id", "symbol", "ts_close", "reason", "source")
_KEY = ("source", "symbol", "timeframe", "ts_close_ns")
_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 900  # bound parameters a statement, well below every driver's limit


class SqlBarStore(BarStore):
    """The journal database's bar and quarantine tables; build it with SqlBarStore.open(url)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str) -> Result[SqlBarStore, MarketDataError]:
        """Connect (creating the schema on first use) or say why not."""
        engine = create_journal_engine(url)
        if not isinstance(engine, Success):
            return Failure(MarketDataError("unavailable", str(engine.failure())))
        schema = ensure_schema(engine.unwrap())
        if not isinstance(schema, Success):
            return Failure(MarketDataError("unavailable", str(schema.failure())))
        return Success(cls(engine.unwrap()))

    def write_bars(self, source: str, frame: BarFrame) -> Result[int, MarketDataError]:
        """Insert or replace frame's bars for source; return how many were written."""
        n = len(frame)
        if n == 0:
            return Success(0)
        columns = ([source] * n, [str(frame.symbol)] * n, [frame.timeframe.value] * n,
                   frame.ts_close.tolist(), frame.ts_open.tolist(), frame.open.tolist(),
                   frame.high.tolist(), frame.low.tolist(), frame.close.tolist(),
                   frame.volume.tolist())
        rows = list(zip(*columns, strict=True))
        try:
            with writing(self._engine) as connection:
                if frame.timeframe is Timeframe.DAY_1:
                    _drop_restamped(connection, source, frame)
                BulkWriter(connection).insert(tables.bars, _BAR_COLUMNS, rows, conflict=_KEY)
        except SQLAlchemyError as error:
            return Failure(MarketDataError("unavailable", "writing bars: "
                                           + driver_message(error, self._engine.url)))
        return Success(n)

    def record_quarantine(
        self, run_id: str | None, reports: Sequence[GateReport],
    ) -> Result[int, MarketDataError]:
        """Record every quarantined bar with its reason and source, once: a bar already
        recorded for the same run (or outside any run) is not added again; return how many
        were added."""
        wanted = list(dict.fromkeys(
            (run_id, str(item.symbol), item.ts_close or _FAR_PAST, item.reason, report.source)
            for report in reports for item in report.quarantined))
        if not wanted:
            return Success(0)
        try:
            with writing(self._engine) as connection:
                known = _recorded(connection, run_id, wanted)
                rows = [row for row in wanted if row not in known]
                if rows:
                    BulkWriter(connection).insert(tables.quarantined_bars, _QUARANTINE_COLUMNS,
                                                  rows)
        except SQLAlchemyError as error:
            return Failure(MarketDataError("unavailable", "recording quarantined bars: "
                                           + driver_message(error, self._engine.url)))
        return Success(len(rows))


def _drop_restamped(connection: Connection, source: str, frame: BarFrame) -> None:
    """Delete the stored daily bars of frame's sessions (same opening instant): one written
    by an older release closed at 16:00 on an early close, where frame's closes at 13:00, and
    would otherwise stay beside it under its own ts_close."""
    table = tables.bars
    opens = sorted(set(frame.ts_open.tolist()))
    for first in range(0, len(opens), _CHUNK):
        connection.execute(sa.delete(table).where(
            table.c.source == source, table.c.symbol == str(frame.symbol),
            table.c.timeframe == frame.timeframe.value,
            table.c.ts_open_ns.in_(opens[first:first + _CHUNK])))


def _recorded(connection: Connection, run_id: str | None,
              rows: Sequence[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Which of rows (in _QUARANTINE_COLUMNS order) the table already holds."""
    table = tables.quarantined_bars
    owner = table.c.run_id.is_(None) if run_id is None else table.c.run_id == run_id
    query = sa.select(*(table.c[name] for name in _QUARANTINE_COLUMNS)).where(
        owner, table.c.symbol.in_(sorted({row[1] for row in rows})),
        table.c.source.in_(sorted({row[4] for row in rows})))
    return {tuple(found) for found in connection.execute(query)}
