"""SqlJournal against real databases: the same suite on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import numpy as np
import pytest
import sqlalchemy as sa
from returns.pipeline import is_successful
from returns.result import Result

from aitrader.adapters.sql import (
    SqlJournal,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from aitrader.adapters.sql.engine import create_journal_engine
from aitrader.adapters.sql.migrate import ensure_schema
from aitrader.domain.audit import Decision, GateVerdict, RunManifest, RunSummary
from aitrader.domain.trading import (
    EventKind,
    Fill,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol
from aitrader.ports.errors import JournalError

T = TypeVar("T")
T0 = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)
AAPL = Symbol("AAPL")


@pytest.fixture
def journal(journal_url: str) -> Iterator[SqlJournal]:
    opened = SqlJournal.open(journal_url)
    assert is_successful(opened), opened
    journal = opened.unwrap()
    yield journal
    journal.close()


def manifest(run_id: str = "run-1", started_at: datetime = T0) -> RunManifest:
    return RunManifest(
        run_id=run_id, mode="backtest", strategy="sma_cross",
        symbols=(AAPL, Symbol("BRK.B")),
        config={"fast": 10, "slow": 30, "risk": {"max_fraction": "0.2"}, "tags": ["a", "b"]},
        data_digest="sha256:data", code_version="0.1.0+abc", started_at=started_at,
    )


def decision(seq: int, client_order_id: str | None = None) -> Decision:
    return Decision(
        seq=seq, ts=T0 + timedelta(minutes=seq), symbol=AAPL,
        close=Decimal("187.1000"), signals={"sma_fast": 0.1 + 0.2, "z": -1.2345678901234567},
        target_exposure=0.5, previous_exposure=-0.25, current_qty=Decimal("-3"),
        target_qty=Decimal("12.5"), sizing={"method": "fixed_fraction", "fraction": "0.10"},
        verdicts=(GateVerdict("max_position", True),
                  GateVerdict("buying_power", False, "needs 2,000.00, has 1,999.99")),
        action="buy" if client_order_id else "hold", client_order_id=client_order_id,
    )


def order(client_order_id: str = "run-1-1") -> Order:
    intent = OrderIntent(
        symbol=AAPL, side=Side.BUY, quantity=Quantity("10"), order_type=OrderType.STOP_LIMIT,
        time_in_force=TimeInForce.GTC, limit_price=Price("187.25"), stop_price=Price("187.2"),
        extended_hours=True, reference_price=Price("187.1000"),
    )
    return Order(client_order_id=client_order_id, intent=intent, created_at=T0)


def fill(trade_id: str, qty: str, px: str, at: datetime) -> Fill:
    return Fill(
        trade_id=trade_id, client_order_id="run-1-1", symbol=AAPL, side=Side.BUY,
        last_qty=Quantity(qty), last_px=Price(px), commission=Money("0.35"), ts_event=at,
    )


def fill_event(trade_id: str, qty: str = "4", px: str = "187.2") -> OrderEvent:
    at = T0 + timedelta(seconds=30)
    return OrderEvent("run-1-1", EventKind.PARTIALLY_FILLED, at, fill=fill(trade_id, qty, px, at),
                      broker_order_id="b-1")


def summary(run_id: str = "run-1") -> RunSummary:
    return RunSummary(
        run_id=run_id, status="completed", bars=390, digest="sha256:journal",
        decisions_digest="sha256:decisions", finished_at=T0 + timedelta(hours=6),
        metrics={"sharpe": 1.25, "final_equity": "100123.45"},
    )


def ok(result: Result[T, Any]) -> T:
    assert is_successful(result), result
    return result.unwrap()


def error(result: Result[Any, JournalError]) -> JournalError:
    assert not is_successful(result), result
    return result.failure()


def test_every_record_type_reads_back_exactly(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))
    accepted = ok(order().moved_to(OrderStatus.ACCEPTED, T0 + timedelta(seconds=1)))
    filled = ok(accepted.filled_by(Decimal("4"), Decimal("187.2"), T0 + timedelta(seconds=30)))
    filled = attrs.evolve(filled, broker_order_id="b-1")
    event = fill_event("t-1")
    journal.record_decision("run-1", decision(1, "run-1-1"))
    journal.record_decision("run-1", decision(2))
    journal.record_order("run-1", filled)
    journal.record_event("run-1", 1, OrderEvent("run-1-1", EventKind.ACCEPTED,
                                                T0 + timedelta(seconds=1), broker_order_id="b-1"))
    journal.record_event("run-1", 2, event)
    ok(journal.finish_run(summary()))

    info = ok(journal.run("run-1"))
    assert info.manifest == manifest()
    assert info.summary == summary()
    assert ok(journal.decisions("run-1")) == (decision(1, "run-1-1"), decision(2))
    assert ok(journal.orders("run-1")) == (filled,)
    assert ok(journal.fills("run-1")) == (event.fill,)


def test_decimals_keep_every_digit_and_their_scale(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))
    precise = attrs.evolve(decision(1), close=Decimal("123456789012345678.123456789012"),
                           target_qty=Decimal("0.000000001"), current_qty=Decimal("150.2500"))
    journal.record_decision("run-1", precise)
    ok(journal.flush())

    (read,) = ok(journal.decisions("run-1"))
    assert [str(read.close), str(read.target_qty), str(read.current_qty)] == [
        "123456789012345678.123456789012", "1E-9", "150.2500"]


def test_timestamps_read_back_as_aware_utc(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))
    journal.record_order("run-1", order())
    journal.record_event("run-1", 1, fill_event("t-1"))
    ok(journal.flush())

    (read_order,) = ok(journal.orders("run-1"))
    (read_fill,) = ok(journal.fills("run-1"))
    stamps = [ok(journal.run("run-1")).manifest.started_at, read_order.created_at,
              read_fill.ts_event]
    assert stamps == [T0, T0, T0 + timedelta(seconds=30)]
    assert all(stamp.utcoffset() == timedelta(0) for stamp in stamps)


def test_a_flush_writes_nothing_when_one_row_fails(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))
    journal.record_decision("run-1", decision(1))
    journal.record_order("run-1", order())
    journal.record_event("run-1", 1, fill_event("t-1"))
    journal.record_event("run-1", 2, fill_event("t-1"))  # the same trade id twice
    journal.record_equity("run-1", np.array([1, 2]), np.array([1.0, 2.0]), np.array([0.5, 0.5]))

    assert error(journal.flush()).code == "conflict"
    assert ok(journal.decisions("run-1")) == ()
    assert ok(journal.orders("run-1")) == ()
    assert ok(journal.fills("run-1")) == ()
    assert len(ok(journal.equity("run-1"))[0]) == 0


def test_a_flush_writes_with_the_collector_paused_and_resumes_it_even_when_it_fails(
    sqlite_url: str,
) -> None:
    engine = ok(create_journal_engine(sqlite_url))
    ok(ensure_schema(engine))
    journal = SqlJournal(engine)
    inserts: list[bool] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("INSERT INTO"):
            inserts.append(gc.isenabled())

    ok(journal.start_run(manifest()))
    inserts.clear()
    journal.record_decision("run-1", decision(1))
    journal.record_event("run-1", 1, fill_event("t-1"))
    ok(journal.flush())
    assert inserts == [False, False, False]  # the decision, the event, the fill
    assert gc.isenabled()

    journal.record_event("run-1", 2, fill_event("t-1"))  # the same trade id again
    assert error(journal.flush()).code == "conflict"
    assert gc.isenabled()
    journal.close()


def test_a_run_whose_records_cannot_be_written_ends_failed_not_running(
    journal: SqlJournal,
) -> None:
    ok(journal.start_run(manifest()))
    journal.record_decision("run-1", decision(1))
    journal.record_event("run-1", 1, fill_event("t-1"))
    journal.record_event("run-1", 2, fill_event("t-1"))  # the same trade id twice

    assert error(journal.finish_run(summary())).code == "conflict"
    ended = ok(journal.run("run-1")).summary
    assert ended is not None
    assert (ended.status, ended.digest, ended.finished_at) == ("failed", "", summary().finished_at)
    assert str(ended.metrics["error"]).startswith("conflict: journal ")
    assert "cannot finish run 'run-1'" in str(ended.metrics["error"])
    assert ok(journal.decisions("run-1")) == ()  # none of the run's records, not some
    assert ok(journal.fills("run-1")) == ()


def test_a_failed_finish_keeps_its_records_and_a_later_finish_writes_them(
    journal: SqlJournal,
) -> None:
    journal.record_decision("late", decision(1))

    assert error(journal.finish_run(summary("late"))).code == "conflict"  # no such run yet
    ok(journal.start_run(manifest("late")))
    ok(journal.finish_run(summary("late")))
    assert ok(journal.run("late")).summary == summary("late")
    assert ok(journal.decisions("late")) == (decision(1),)


def test_a_failed_flush_keeps_its_records_for_a_retry(journal: SqlJournal) -> None:
    journal.record_decision("late", decision(1))

    assert error(journal.flush()).code == "conflict"  # no such run yet: foreign key
    ok(journal.start_run(manifest("late")))
    ok(journal.flush())
    assert ok(journal.decisions("late")) == (decision(1),)


def test_the_latest_order_state_wins_and_orders_keep_submission_order(
    journal: SqlJournal,
) -> None:
    ok(journal.start_run(manifest()))
    first, second = order("run-1-1"), order("run-1-2")
    journal.record_order("run-1", first)
    journal.record_order("run-1", second)
    accepted = ok(first.moved_to(OrderStatus.ACCEPTED, T0 + timedelta(seconds=1)))
    journal.record_order("run-1", accepted)
    ok(journal.flush())
    canceled = ok(accepted.moved_to(OrderStatus.CANCELED, T0 + timedelta(seconds=2), "eod"))
    journal.record_order("run-1", canceled)
    ok(journal.flush())

    assert ok(journal.orders("run-1")) == (canceled, second)


def test_a_later_order_state_clears_what_the_earlier_one_had(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))
    first = attrs.evolve(order(), broker_order_id="b-1", reason="held")
    journal.record_order("run-1", first)
    journal.record_order("run-1", order("run-1-2"))
    ok(journal.flush())
    cleared = attrs.evolve(first, broker_order_id=None, reason=None)
    journal.record_order("run-1", cleared)  # NULL in every row of its statement
    ok(journal.flush())

    assert ok(journal.orders("run-1")) == (cleared, order("run-1-2"))


def test_runs_are_listed_newest_first(journal: SqlJournal) -> None:
    for run_id, days in [("old", 0), ("new", 2), ("middle", 1)]:
        ok(journal.start_run(manifest(run_id, T0 + timedelta(days=days))))
    ok(journal.finish_run(summary("middle")))

    listed = ok(journal.runs(limit=2))
    assert [info.manifest.run_id for info in listed] == ["new", "middle"]
    assert [info.summary is None for info in listed] == [True, False]
    assert [i.manifest.run_id for i in ok(journal.runs(limit=10))] == ["new", "middle", "old"]


def test_an_unknown_run_is_reported_by_every_read(journal: SqlJournal) -> None:
    reads = [journal.run, journal.orders, journal.fills, journal.decisions, journal.equity]

    assert {error(read("nope")).code for read in reads} == {"unknown_run"}
    assert error(journal.finish_run(summary("nope"))).code == "unknown_run"


def test_starting_a_run_twice_is_refused(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))

    assert error(journal.start_run(manifest())).code == "run_exists"


def test_the_equity_curve_round_trips_exactly_across_chunks_and_appends(
    journal: SqlJournal,
) -> None:
    ok(journal.start_run(manifest()))
    n = 25_001
    ts = np.int64(1_709_908_200_000_000_000) + np.arange(n, dtype=np.int64) * 60_000_000_000
    rng = np.random.default_rng(7)
    equity = 100_000.0 + np.cumsum(rng.normal(0.0, 25.0, n))
    equity[:3] = [0.1 + 0.2, np.nextafter(1.0, 2.0), -5e-324]
    cash = np.where(np.arange(n) % 1000 < 500, 100_000.0, 12.345)
    journal.record_equity("run-1", ts[:7], equity[:7], cash[:7])
    journal.record_equity("run-1", ts[7:12_000], equity[7:12_000], cash[7:12_000])
    ok(journal.flush())
    journal.record_equity("run-1", ts[12_000:], equity[12_000:], cash[12_000:])
    ok(journal.flush())

    read_ts, read_equity, read_cash = ok(journal.equity("run-1"))
    assert (read_ts.dtype, read_equity.dtype, read_cash.dtype) == (
        np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.float64))
    assert np.array_equal(read_ts, ts)
    assert read_equity.tobytes() == equity.tobytes()
    assert read_cash.tobytes() == cash.tobytes()


def test_small_equity_appends_fill_up_chunks_and_read_back_in_order(
    journal: SqlJournal, journal_url: str,
) -> None:
    ok(journal.start_run(manifest()))
    for start in range(0, 350, 7):
        points = np.arange(start, start + 7, dtype=np.int64)
        journal.record_equity("run-1", points, (points * 1.5).astype(np.float64),
                              (points * 0.5).astype(np.float64))
        ok(journal.flush())

    ts, equity, cash = ok(journal.equity("run-1"))
    assert np.array_equal(ts, np.arange(350))
    assert np.array_equal(equity, np.arange(350) * 1.5)
    assert np.array_equal(cash, np.arange(350) * 0.5)
    engine = sa.create_engine(journal_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM equity")).scalar() == 1
    engine.dispose()


def test_a_run_without_equity_has_an_empty_curve(journal: SqlJournal) -> None:
    ok(journal.start_run(manifest()))

    assert [len(column) for column in ok(journal.equity("run-1"))] == [0, 0, 0]


def test_opening_a_fresh_sqlite_file_creates_the_schema(sqlite_url: str) -> None:
    journal = ok(SqlJournal.open(sqlite_url))
    ok(journal.start_run(manifest()))
    journal.close()

    assert ok(current_revision(sqlite_url)) == head_revision()


def test_opening_an_outdated_database_asks_for_db_upgrade(journal_url: str) -> None:
    ok(SqlJournal.open(journal_url)).close()
    ok(downgrade(journal_url, "base"))

    refused = error(SqlJournal.open(journal_url))
    assert refused.code == "schema_outdated"
    assert "aitrader db upgrade" in refused.message
    assert sa.make_url(journal_url).render_as_string(hide_password=True) in refused.message


def test_an_unreachable_database_is_reported_without_its_password() -> None:
    refused = error(SqlJournal.open("postgresql+psycopg://user:s3cret@127.0.0.1:1/db"))

    assert refused.code == "unavailable"
    assert "s3cret" not in refused.message
    assert "user:***@127.0.0.1:1/db" in refused.message


def test_a_database_newer_than_the_code_is_refused(journal_url: str) -> None:
    ok(SqlJournal.open(journal_url)).close()
    engine = sa.create_engine(journal_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()

    refused = error(SqlJournal.open(journal_url))
    assert refused.code == "schema_unknown"
    assert "from_the_future" in refused.message
    assert error(upgrade(journal_url)) == refused  # migrating it says the same
    assert error(downgrade(journal_url, "base")) == refused


def test_the_journal_picks_decisions_and_orders_as_a_plain_filter_would(
        journal: SqlJournal) -> None:
    # 700 decisions over two symbols, one minute apart, every third behind an order: more
    # orders than one IN list of ids takes (500), so both of the adapter's paths are read
    ok(journal.start_run(manifest()))
    ok(journal.start_run(manifest("run-2")))  # another run's records are never picked
    decisions, orders = [], []
    for seq in range(1, 701):
        cid = f"run-1-{seq}" if seq % 3 == 0 else None
        made = attrs.evolve(decision(seq, cid), symbol=Symbol("BRK.B") if seq % 2 else AAPL)
        decisions.append(made)
        journal.record_decision("run-1", made)
        journal.record_decision("run-2", made)
        if cid is not None:
            orders.append(order(cid))
            journal.record_order("run-1", orders[-1])
    ok(journal.finish_run(summary()))
    ok(journal.finish_run(summary("run-2")))
    since, until = T0 + timedelta(minutes=100), T0 + timedelta(minutes=250)
    for filters in ({}, {"symbol": "AAPL"}, {"symbol": "BRK.B", "since": since},
                    {"until": until}, {"since": since, "until": until, "symbol": "AAPL"},
                    {"client_order_id": "run-1-300"}, {"client_order_id": "run-1-301"},
                    {"symbol": "BRK.B", "client_order_id": "run-1-300"}):
        expected = tuple(d for d in decisions
                         if str(d.symbol) == filters.get("symbol", str(d.symbol))
                         and d.client_order_id == filters.get("client_order_id",
                                                              d.client_order_id)
                         and d.ts >= filters.get("since", d.ts)
                         and d.ts < filters.get("until", d.ts + timedelta(1)))
        assert tuple(ok(journal.decisions("run-1", **filters))) == expected, filters
    assert len(ok(journal.decisions("run-1", client_order_id="run-1-300"))) == 1
    everything = tuple(orders)
    assert tuple(ok(journal.orders("run-1"))) == everything
    for wanted in (set(), {"run-1-3", "run-1-699", "none"}, {o.client_order_id for o in orders},
                   {o.client_order_id for o in orders[::-1][:501]}):
        assert tuple(ok(journal.orders("run-1", wanted))) == tuple(
            o for o in everything if o.client_order_id in wanted), len(wanted)
    assert ok(journal.orders("run-2", {"run-1-3"})) == ()
