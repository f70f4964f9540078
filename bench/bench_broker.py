"""The bar and broker share of one backtest order, driven as the trading cycle drives it.

Run: .venv/bin/python bench/bench_broker.py [--orders N] [--repeat K]
Each order: the decision bar is materialised from a BarFrame and shown to a SimulatedBroker,
a market order is submitted (the acceptance drained and applied to the order), the next bar is
materialised and shown (the fill at its open drained, applied to the order and booked into an
Account). Prints the best of K runs in µs an order. For instruction counts independent of the
machine's load, run it once under callgrind and count only the measured loop:
  valgrind --tool=callgrind --toggle-collect=map_next python bench/bench_broker.py --repeat 1
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aitrader.adapters.simulated import SimulatedBroker
from aitrader.domain.series import BarFrame, from_ns
from aitrader.domain.trading import Account, CommissionModel, Order, OrderIntent
from aitrader.domain.values import Price, Quantity, Side, decimal_from_float
from bench_backtest import synthetic_minutes

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SPACING = 36  # bars between orders, as in bench_backtest (1,000,000 bars, 27,468 orders)


def orders(frame: BarFrame, n: int) -> list[tuple[int, Order]]:
    """n alternating buys and sells of 500 shares at every SPACING-th bar's close (stamped
    without from_ns, so its memory starts as a backtest's does)."""
    closes, stamps = frame.close.tolist(), frame.ts_close.tolist()
    made = []
    for k in range(n):
        i = k * SPACING
        intent = OrderIntent(frame.symbol, Side.BUY if k % 2 == 0 else Side.SELL,
                             Quantity(Decimal(500)),
                             reference_price=Price(Decimal(repr(closes[i]))))
        created = EPOCH + timedelta(microseconds=stamps[i] // 1000)
        made.append((i, Order(f"o-{k}", intent, created)))
    return made


def life(frame: BarFrame) -> tuple[SimulatedBroker, list[Account],
                                   Callable[[tuple[int, Order]], None]]:
    broker = SimulatedBroker(cash=Decimal(100_000),
                             commission=CommissionModel(per_order=Decimal(1)))
    ledger = [Account(Decimal(100_000))]
    closes, stamps = frame.close.tolist(), frame.ts_close.tolist()

    def step(job: tuple[int, Order]) -> None:
        i, order = job
        from_ns(stamps[i])  # the cycle converts the decision's stamp and close first
        decimal_from_float(closes[i])
        broker.observe(frame.bar(i))
        sent = order.with_broker_id(broker.submit(order).unwrap().broker_order_id)
        for event in broker.events():
            moved = sent.try_move_to(event.kind.status, event.ts_event, event.reason)
            assert isinstance(moved, Order)
            sent = moved
        broker.observe(frame.bar(i + 1))
        for event in broker.events():
            fill = event.fill
            assert fill is not None
            sent.try_fill(fill.last_qty.value, fill.last_px.value, event.ts_event)
            ledger[0] = ledger[0].apply(fill)
            _ = fill.notional

    return broker, ledger, step


def run(frame: BarFrame, jobs: list[tuple[int, Order]]) -> float:
    """µs an order over jobs, on a fresh broker."""
    broker, ledger, step = life(frame)
    gc.disable()
    started = time.perf_counter()
    for _ in map(step, jobs):  # map: callgrind --toggle-collect=map_next counts this loop
        pass
    elapsed = time.perf_counter() - started
    gc.enable()
    assert broker.account().unwrap().cash == ledger[0].cash
    return elapsed / len(jobs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame = synthetic_minutes(args.orders * SPACING + 2)
    jobs = orders(frame, args.orders)
    best = min(run(frame, jobs) for _ in range(args.repeat))
    print(f"orders          {args.orders:,}")
    print(f"bar + broker    {best:.1f} µs an order (best of {args.repeat})")


if __name__ == "__main__":
    main()
