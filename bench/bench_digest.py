"""The run digest's cost per order: a benchmark run's records replayed into a RunDigest.

Run: .venv/bin/python bench/bench_digest.py [--bars N] [--repeat R] [--only METHOD]
                                            [--save FILE | --load FILE] [--no-replay]
Runs bench_backtest's sma_cross run over N bars (default 200,000), recording every call the
cycle makes on its RunDigest, then replays them into fresh RunDigests and prints, for all the
records and for each method alone (register_order calls always replayed first), the best of R
replays (timeit style: min) as µs per order, with the run's digests.
For instruction counts, save the records once (--save), then run under callgrind with --load
and --repeat 1, once with --no-replay: the difference over the orders is the digest's cost.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from aitrader.adapters.clocks import SteppingClock, SystemClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.application import run
from aitrader.application.backtest import run_backtest
from aitrader.application.digest import RunDigest
from aitrader.application.run import Adapters, RunSpec
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import BuyingPower, LongOnly, MaxPositionFraction
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import CommissionModel, SlippageModel
from bench_backtest import synthetic_minutes

Call = tuple[str, tuple[Any, ...]]
METHODS = ("decision", "order", "event", "fill")


def recorded(bars: int) -> list[Call]:
    """Every call a benchmark run makes on its digest (the equity curve aside), in order."""
    calls: list[Call] = []

    class Recording(RunDigest):
        """A RunDigest that notes each call (name, arguments) before it makes it."""

    def recorder(name: str) -> Callable[..., None]:
        method = getattr(RunDigest, name)

        def record(self: RunDigest, *args: Any) -> None:
            calls.append((name, args))
            method(self, *args)
        return record

    for name in ("register_order", *METHODS):
        setattr(Recording, name, recorder(name))

    frame = synthetic_minutes(bars)
    commission = CommissionModel(per_order=Decimal(1))
    slippage = SlippageModel()
    cash = Decimal(100_000)
    spec = RunSpec(
        mode="backtest", strategy=SmaCross(10, 50), symbols=(frame.symbol,), cash=cash,
        sizing=FixedFraction(Decimal(1), 1, commission, slippage),
        gates=(LongOnly(), MaxPositionFraction(Decimal(1)), BuyingPower()),
        config={"bench": "sma_cross 10/50"}, code_version="bench")
    original = run.RunDigest
    run.RunDigest = Recording  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            adapters = Adapters(
                broker=SimulatedBroker(cash=cash, commission=commission, slippage=slippage),
                journal=SqlJournal.open(f"sqlite:///{Path(tmp) / 'bench.db'}").unwrap(),
                clock=SteppingClock(), ids=RunScopedIds(), wall_clock=SystemClock())
            run_backtest(spec, [frame], adapters).unwrap()
    finally:
        run.RunDigest = original  # type: ignore[misc]
    return calls


def selected(calls: list[Call], only: str | None) -> list[Call]:
    """calls, or only its register_order calls then those of method only."""
    if only is None:
        return calls
    return ([c for c in calls if c[0] == "register_order"] +
            [c for c in calls if c[0] == only])


def replay(calls: list[Call]) -> RunDigest:
    digest = RunDigest()
    bound: dict[str, Callable[..., None]] = {m: getattr(digest, m)
                                              for m in ("register_order", *METHODS)}
    for name, args in calls:
        bound[name](*args)
    digest.digest  # noqa: B018  (hashes what is pending)
    return digest


def best(calls: list[Call], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        replay(calls)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", choices=METHODS, default=None)
    parser.add_argument("--save", type=Path, default=None)
    parser.add_argument("--load", type=Path, default=None)
    parser.add_argument("--no-replay", action="store_true")
    args = parser.parse_args()
    calls = recorded(args.bars) if args.load is None else pickle.loads(args.load.read_bytes())
    if args.save is not None:
        args.save.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
    orders = sum(1 for name, _ in calls if name == "register_order")
    counts = {m: sum(1 for name, _ in calls if name == m) for m in METHODS}
    print(f"orders {orders:,}   " + "   ".join(f"{m} {n:,}" for m, n in counts.items()))
    if args.no_replay:
        return
    if args.repeat == 1 and args.load is not None:  # the callgrind run: one replay
        digest = replay(selected(calls, args.only))
        print(f"digest {digest.digest[:16]}   decisions_digest {digest.decisions_digest[:16]}")
        return
    digest = replay(calls)
    print(f"digest {digest.digest[:16]}   decisions_digest {digest.decisions_digest[:16]}")
    for only in (None, *METHODS):
        if args.only is not None and only not in (None, args.only):
            continue
        seconds = best(selected(calls, only), args.repeat)
        print(f"  {only or 'all':10s} {seconds / orders * 1e6:6.2f} µs an order")


if __name__ == "__main__":
    main()
