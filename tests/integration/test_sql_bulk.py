"""The journal's bulk writes: rows of any count, in any zone, read back exactly and in order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aitrader.adapters.sql import SqlJournal, rows, tables
from aitrader.adapters.sql.bulk import BulkWriter, _sqlite_timestamp, _sqlite_timestamps
from aitrader.domain.audit import Decision, GateVerdict, RunManifest
from aitrader.domain.values import Symbol

T0 = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)
ZONES = st.sampled_from([
    UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)),
])
_runs = itertools.count(1)


@pytest.fixture(scope="module")
def journal() -> Iterator[SqlJournal]:
    journal = SqlJournal.open("sqlite://").unwrap()
    yield journal
    journal.close()


def start(journal: SqlJournal) -> str:
    run_id = f"run-{next(_runs)}"
    journal.start_run(RunManifest(
        run_id=run_id, mode="backtest", strategy="bulk", symbols=(Symbol("AAPL"),), config={},
        data_digest="-", code_version="-", started_at=T0,
    )).unwrap()
    return run_id


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4,
                       min_value=Decimal("-1e9"), max_value=Decimal("1e9"))
floats = st.floats(allow_nan=False, allow_infinity=False)
decisions = st.builds(
    Decision,
    seq=st.just(0),
    ts=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1),
                    timezones=ZONES),
    symbol=st.sampled_from([Symbol("AAPL"), Symbol("BRK.B")]),
    close=decimals, signals=st.dictionaries(st.text(max_size=8), floats, max_size=3),
    target_exposure=floats, previous_exposure=floats, current_qty=decimals, target_qty=decimals,
    sizing=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    verdicts=st.lists(st.builds(GateVerdict, st.text(max_size=8), st.booleans(),
                                st.text(max_size=8)), max_size=3).map(tuple),
    action=st.sampled_from(["hold", "buy"]), client_order_id=st.none() | st.text(max_size=8),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(decisions, max_size=4), st.integers(0, 1_100))
@example([], 512).via("exactly one full statement")
@example([], 513).via("one full statement and a rest of one row")
def test_decisions_of_any_count_read_back_exactly_and_in_order(
    journal: SqlJournal, samples: list[Decision], count: int,
) -> None:
    run_id = start(journal)
    written = [
        attrs.evolve(samples[i % len(samples)], seq=i) if samples else plain_decision(i)
        for i in range(count)
    ]
    for decision in written:
        journal.record_decision(run_id, decision)
    journal.flush().unwrap()

    assert journal.decisions(run_id).unwrap() == tuple(written)


def plain_decision(seq: int) -> Decision:
    return Decision(
        seq=seq, ts=T0 + timedelta(microseconds=seq), symbol=Symbol("AAPL"),
        close=Decimal("187.10"), signals={"fast": seq / 3}, target_exposure=0.0,
        previous_exposure=0.0, current_qty=Decimal(0), target_qty=Decimal(seq),
        sizing={"quantity": str(seq)}, verdicts=(), action="hold",
    )


def test_a_row_with_the_wrong_number_of_values_is_refused() -> None:
    engine = sa.create_engine("sqlite://")
    tables.metadata.create_all(engine)
    short = ("run-1", 1, "c-1", "accepted", T0, None, None)  # no trade_id

    with engine.begin() as connection, pytest.raises(ValueError, match="must have 8 values"):
        BulkWriter(connection).insert(tables.order_events, rows.EVENT_COLUMNS, [short])
    engine.dispose()


def test_text_with_tabs_newlines_and_backslashes_reads_back_exactly(journal_url: str) -> None:
    journal = SqlJournal.open(journal_url).unwrap()
    run_id = start(journal)
    awkward = "\\N\t\\.\n\r\\"  # what COPY's text format escapes, and its NULL and end markers
    written = [
        attrs.evolve(plain_decision(seq), action=awkward, client_order_id=coid,
                     sizing={awkward: awkward}, signals={awkward: -0.0})
        for seq, coid in enumerate([awkward, None, "", "\\N"])
    ]
    for decision in written:
        journal.record_decision(run_id, decision)
    journal.flush().unwrap()

    assert journal.decisions(run_id).unwrap() == tuple(written)
    journal.close()


def _in_memory_table(name: str, *columns: sa.Column[Any]) -> tuple[sa.Engine, sa.Table]:
    """A keyed table of columns in a fresh in-memory SQLite database."""
    engine = sa.create_engine("sqlite://")
    table = sa.Table(name, sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True),
                     *columns)
    table.create(engine)
    return engine, table


def test_values_shared_by_every_row_read_back_per_row() -> None:
    engine, table = _in_memory_table(
        "shared", sa.Column("same", sa.String), sa.Column("flag", sa.Integer),
        sa.Column("empty", sa.String), sa.Column("v", sa.String))
    # "same", flag and empty hold one value in every row (of 513: two statements); v holds
    # equal values (1 == 1.0 == True) of types SQLite stores differently, so each is bound
    written = [(k, "same", 7, None, [1, 1.0, True][k % 3]) for k in range(513)]

    with engine.begin() as connection:
        BulkWriter(connection).insert(table, ("k", "same", "flag", "empty", "v"), written)
        stored = connection.exec_driver_sql("SELECT * FROM shared ORDER BY k").all()
    engine.dispose()

    assert [tuple(row) for row in stored] == [
        (k, "same", 7, None, ["1", "1.0", "1"][k % 3]) for k in range(513)]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.datetimes(timezones=st.just(UTC)), max_size=20))
@example([datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)])
@example([datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=UTC)])
def test_timestamps_written_at_once_are_those_written_one_by_one(
    instants: list[datetime],
) -> None:
    assert _sqlite_timestamps(instants) == [
        instant.isoformat(" ", "microseconds")[:26] for instant in instants]
    assert _sqlite_timestamps(instants) == list(map(_sqlite_timestamp, instants))


def test_only_equal_strs_and_ints_of_one_type_are_bound_once() -> None:
    engine, table = _in_memory_table(
        "bound", sa.Column("s", sa.String), sa.Column("i", sa.Integer),
        sa.Column("f", sa.Float), sa.Column("mixed", sa.String))
    statements: list[tuple[str, tuple[object, ...]]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def seen(_conn: object, _cursor: object, statement: str, parameters: tuple[object, ...],
             _context: object, _many: bool) -> None:
        if statement.startswith("INSERT"):
            statements.append((statement, parameters))

    # s and i are the same str and int in every row: bound once each; f is the same float
    # (0.0 == -0.0: floats are never shared) and mixed holds 1 and True: bound per row
    written = [(k, "x", 5, 0.0, [1, True][k % 2]) for k in range(4)]
    with engine.begin() as connection:
        BulkWriter(connection).insert(table, ("k", "s", "i", "f", "mixed"), written)
    engine.dispose()

    [(sql, parameters)] = statements
    assert sql.count("?1") == sql.count("?2") == 4
    assert "?3" not in sql
    assert set(parameters[:2]) == {"x", 5}
    assert len(parameters) == 2 + 4 * 3
