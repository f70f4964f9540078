"""Backtest throughput: sma_cross 10/50 over 1,000,000 seeded one-minute bars, journal on.

Run: .venv/bin/python bench/bench_backtest.py [--bars N] [--journal URL] [--profile N] [--phases]
                                             [--strategy sma_cross|ma_cross] [--bar-by-bar]
Prints bars per second (engine run, journal writes included) and peak memory (max RSS);
--profile N also runs the backtest under cProfile and prints its N costliest functions (the
throughput figure then includes the profiler's overhead); --phases prints where the run's time
went (signals, the cycle, the curve, metrics, the journal flush) and the cycle's cost per order.
--strategy ma_cross runs ma_cross (EMA 20/100, Kalman/GARCH edge) instead; --bar-by-bar hides
the strategy's batch twin, so every bar goes through the cycle (the same run, the slow way).
Target on the 2-core reference machine: >= 400,000 bars/s.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import resource
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from aitrader.adapters.clocks import SteppingClock, SystemClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.application import backtest, run
from aitrader.application.backtest import run_backtest
from aitrader.application.run import Adapters, RunSpec
from aitrader.domain.market import Timeframe
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import BuyingPower, LongOnly, MaxPositionFraction
from aitrader.domain.series import BarFrame
from aitrader.domain.strategies import BarByBar, Strategy
from aitrader.domain.strategies.ma_cross import MaCross
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import CommissionModel, SlippageModel
from aitrader.domain.values import Symbol

MINUTE_NS = 60_000_000_000
DAY_NS = 86_400 * 1_000_000_000


def synthetic_minutes(n: int, seed: int = 7) -> BarFrame:
    """A seeded random walk of n regular-session one-minute bars (390 a weekday)."""
    rng = np.random.default_rng(seed)
    close = np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n))), 2)
    open_ = np.round(np.concatenate(([100.0], close[:-1])) * (1 + rng.normal(0, 0.0002, n)), 2)
    spread = np.abs(rng.normal(0.0, 0.0006, n)) * close
    high = np.round(np.maximum(open_, close) + spread, 2)
    low = np.round(np.maximum(np.minimum(open_, close) - spread, 0.01), 2)
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    day, minute = np.divmod(np.arange(n, dtype=np.int64), 390)
    week, weekday = np.divmod(day, 5)
    start = 1_262_615_400 * 1_000_000_000  # 2010-01-04 14:30 UTC, a Monday's open
    ts_open = start + (week * 7 + weekday) * DAY_NS + minute * MINUTE_NS
    return BarFrame(symbol=Symbol("SYN"), timeframe=Timeframe.MINUTE_1, ts_open=ts_open,
                    ts_close=ts_open + MINUTE_NS, open=open_, high=high, low=low, close=close,
                    volume=volume)


LABELS = {"sma_cross": "sma_cross 10/50", "ma_cross": "ma_cross ema 20/100"}


PHASES = ((backtest, "signal_columns", "signals (batch twins)"),
          (backtest, "_loop", "cycle (decisions, broker, digest)"),
          (backtest, "mark_to_market", "equity curve"),
          (run, "round_trips", "round trips"),
          (run, "performance", "metrics"),
          (run, "risk_figures", "risk figures"),
          (SqlJournal, "finish_run", "journal flush"))


def time_phases() -> dict[str, float]:
    """Wrap each phase's function so its time adds up in the returned dict."""
    spent: dict[str, float] = {}
    for owner, name, label in PHASES:
        function = getattr(owner, name)

        def timed(*args: object, _f: object = function, _label: str = label,
                  **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)  # type: ignore[operator]
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.perf_counter() - started

        setattr(owner, name, functools.wraps(function)(timed))
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--journal", default=None, help="journal URL (default: temp SQLite)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the run and print the N functions with most own time")
    parser.add_argument("--phases", action="store_true",
                        help="print the time of each phase of the run")
    parser.add_argument("--strategy", choices=("sma_cross", "ma_cross"), default="sma_cross")
    parser.add_argument("--bar-by-bar", action="store_true",
                        help="hide the strategy's batch twin: every bar through the cycle")
    args = parser.parse_args()
    strategy: Strategy = SmaCross(10, 50) if args.strategy == "sma_cross" else MaCross(
        "ema", 20, 100)
    if args.bar_by_bar:
        strategy = BarByBar(strategy)
    spent = time_phases() if args.phases else None
    frame = synthetic_minutes(args.bars)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.journal or f"sqlite:///{Path(tmp) / 'bench.db'}"
        journal = SqlJournal.open(url).unwrap()
        commission = CommissionModel(per_order=Decimal(1))
        slippage = SlippageModel()
        cash = Decimal(100_000)
        spec = RunSpec(
            mode="backtest", strategy=strategy, symbols=(frame.symbol,), cash=cash,
            sizing=FixedFraction(Decimal(1), 1, commission, slippage),
            gates=(LongOnly(), MaxPositionFraction(Decimal(1)), BuyingPower()),
            config={"bench": LABELS[args.strategy]}, code_version="bench")
        adapters = Adapters(
            broker=SimulatedBroker(cash=cash, commission=commission, slippage=slippage),
            journal=journal, clock=SteppingClock(), ids=RunScopedIds(),
            wall_clock=SystemClock())
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = run_backtest(spec, [frame], adapters).unwrap()
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bars            {result.bars:,}")
    print(f"orders          {len(result.orders):,}   fills {len(result.fills):,}   "
          f"round trips {len(result.trades):,}")
    print(f"elapsed         {elapsed:.3f} s (signals, engine, journal writes)")
    print(f"throughput      {result.bars / elapsed:,.0f} bars/s   (target >= 400,000)")
    print(f"peak memory     {peak_mib:,.0f} MiB (max RSS of the process)")
    print(f"final equity    {result.metrics.final_equity:,.2f}   digest {result.digest[:16]}")
    if spent is not None:
        for label, seconds in spent.items():
            print(f"  {label:36s} {seconds:7.3f} s")
        per_order = spent["cycle (decisions, broker, digest)"] / max(1, len(result.orders))
        print(f"  {'cycle per order':36s} {per_order * 1e6:7.1f} µs")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
