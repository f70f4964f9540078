"""How long SqlJournal.flush takes on SQLite, and reading back what it wrote: 1,000,000 equity
points; 50,000 decisions, orders and fills; and a buffer shaped like bench_backtest.py's at
finish_run (27,468 decisions, orders and fills, 54,936 order events, 1,000,000 equity points),
with the share of it spent building rows in Python. Prints figures only; run with
`.venv/bin/python bench/bench_journal.py`.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from aitrader.adapters.sql import SqlJournal, rows
from aitrader.domain.audit import Decision, GateVerdict, RunManifest
from aitrader.domain.trading import EventKind, Fill, Order, OrderEvent, OrderIntent, OrderStatus
from aitrader.domain.values import Money, Price, Quantity, Side, Symbol

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
POINTS = 1_000_000
RECORDS = 50_000
ORDERS = 27_468  # as many as bench_backtest.py's sma_cross run places


def timed(label: str, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    print(f"{label:<58} {elapsed:7.3f} s")
    return elapsed


def open_journal(directory: Path, name: str, run_id: str) -> SqlJournal:
    journal = SqlJournal.open(f"sqlite:///{directory / name}").unwrap()
    journal.start_run(RunManifest(
        run_id=run_id, mode="backtest", strategy="bench", symbols=(Symbol("AAPL"),), config={},
        data_digest="-", code_version="-", started_at=T0,
    )).unwrap()
    return journal


def curve() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.int64(1_704_205_800_000_000_000) + np.arange(POINTS, dtype=np.int64) * 60_000_000_000
    equity = 100_000.0 + np.cumsum(np.random.default_rng(1).normal(0.0, 25.0, POINTS))
    cash = np.where(np.arange(POINTS) % 5_000 < 2_500, 100_000.0, 40_000.0)
    return ts, equity, cash


def bench_equity(directory: Path) -> None:
    journal = open_journal(directory, "equity.db", "eq")
    ts, equity, cash = curve()
    journal.record_equity("eq", ts, equity, cash)
    timed(f"flush {POINTS:,} equity points (chunked)", journal.flush)
    timed(f"read {POINTS:,} equity points", lambda: journal.equity("eq").unwrap())
    journal.close()
    size = (directory / "equity.db").stat().st_size
    print(f"{'  database size after the flush':<58} {size / 1e6:7.1f} MB")
    bench_row_per_point(directory, ts, equity, cash)


def bench_row_per_point(directory: Path, ts: np.ndarray, equity: np.ndarray,
                        cash: np.ndarray) -> None:
    """The alternative that was not chosen: one row per point through sqlite3 executemany."""
    connection = sqlite3.connect(directory / "rows.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE equity (run_id TEXT, ts_ns INTEGER, equity REAL, cash REAL)")

    def insert() -> None:
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO equity VALUES (?, ?, ?, ?)",
                               zip(["eq"] * POINTS, ts.tolist(), equity.tolist(), cash.tolist(),
                                   strict=True))
        connection.execute("COMMIT")

    timed(f"  (not chosen) {POINTS:,} rows via DBAPI executemany", insert)
    connection.close()


def bench_records(directory: Path) -> None:
    journal = open_journal(directory, "records.db", "rec")
    symbol, gates = Symbol("AAPL"), (GateVerdict("max_position", True),)
    for i in range(RECORDS):
        at = T0 + timedelta(minutes=i)
        coid = f"rec-{i}"
        journal.record_decision("rec", Decision(
            seq=i, ts=at, symbol=symbol, close=Decimal("187.25"),
            signals={"fast": 187.1, "slow": 186.9}, target_exposure=0.5, previous_exposure=0.0,
            current_qty=Decimal(0), target_qty=Decimal(10), sizing={"method": "fixed"},
            verdicts=gates, action="buy", client_order_id=coid,
        ))
        intent = OrderIntent(symbol=symbol, side=Side.BUY, quantity=Quantity(10),
                             reference_price=Price("187.25"))
        order = Order(coid, intent, at)
        journal.record_order("rec", order)
        journal.record_order("rec", order.moved_to(OrderStatus.ACCEPTED, at).unwrap())
        trade = Fill(f"t-{i}", coid, symbol, Side.BUY, Quantity(10), Price("187.26"),
                     Money("0.35"), at)
        journal.record_event("rec", i, OrderEvent(coid, EventKind.FILLED, at, fill=trade))
    timed(f"flush {RECORDS:,} decisions + orders + fill events", journal.flush)
    timed(f"read back {RECORDS:,} decisions, orders and fills", lambda: (
        journal.decisions("rec").unwrap(), journal.orders("rec").unwrap(),
        journal.fills("rec").unwrap(),
    ))
    journal.close()


def bench_backtest_shaped(directory: Path) -> None:
    """One flush of what a backtest hands finish_run: a decision, an order, an acceptance and
    a fill per order, three gate verdicts and four sizing figures a decision, and the curve."""
    journal = open_journal(directory, "backtest.db", "bt")
    decisions, orders, events = backtest_records()
    for decision in decisions:
        journal.record_decision("bt", decision)
    for order in orders:
        journal.record_order("bt", order)
    for seq, event in enumerate(events):
        journal.record_event("bt", seq, event)
    journal.record_equity("bt", *curve())
    start = time.perf_counter()
    for decision in decisions:  # the row tuples flush builds before any SQL
        rows.decision_values("bt", decision)
    for order in orders:
        rows.order_values("bt", order)
    for seq, event in enumerate(events):
        rows.event_values("bt", seq, event)
        if event.fill is not None:
            rows.fill_values("bt", seq, event.fill)
    building = time.perf_counter() - start
    flushed = timed("flush a bench_backtest-shaped buffer (as finish_run)", journal.flush)
    print(f"{'  of which building rows in Python (rows.py, timed alone)':<58} {building:7.3f} s"
          f"  ({building / flushed:.0%})")
    timed("read back its decisions, orders and fills (as runs show)", lambda: (
        journal.decisions("bt").unwrap(), journal.orders("bt").unwrap(),
        journal.fills("bt").unwrap(),
    ))
    journal.close()


def backtest_records() -> tuple[list[Decision], list[Order], list[OrderEvent]]:
    symbol = Symbol("SYN")
    gates = tuple(GateVerdict(rule, True) for rule in
                  ("long_only", "max_position_fraction", "buying_power"))
    decisions, orders, events = [], [], []
    for i in range(ORDERS):
        at = T0 + timedelta(minutes=7 * i)
        coid, qty, px = f"bt-{i:06d}", Quantity(1000 + i % 50), Price(f"{98 + i % 400 / 100:.2f}")
        side = Side.BUY if i % 2 == 0 else Side.SELL
        decisions.append(Decision(
            seq=i, ts=at, symbol=symbol, close=px.value,
            signals={"sma_fast": 98.9 + i / 1e5, "sma_slow": 98.8 + i / 3e5},
            target_exposure=float(side is Side.BUY), previous_exposure=float(side is Side.SELL),
            current_qty=Decimal(0), target_qty=qty.value,
            sizing={"budget": f"{100_000 + i}.0", "unit_cost": str(px), "commission": "1.00",
                    "quantity": str(qty)},
            verdicts=gates, action="order", client_order_id=coid,
        ))
        order = Order(coid, OrderIntent(symbol=symbol, side=side, quantity=qty,
                                        reference_price=px), at)
        accepted = order.moved_to(OrderStatus.ACCEPTED, at).unwrap()
        orders.append(accepted.filled_by(qty.value, px.value, at).unwrap())
        events.append(OrderEvent(coid, EventKind.ACCEPTED, at))
        events.append(OrderEvent(coid, EventKind.FILLED, at, fill=Fill(
            f"{coid}-1", coid, symbol, side, qty, px, Money("1.00"), at)))
    return decisions, orders, events


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as directory:
        bench_equity(Path(directory))
        bench_records(Path(directory))
        bench_backtest_shaped(Path(directory))


if __name__ == "__main__":
    main()
