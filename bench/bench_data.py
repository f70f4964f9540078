"""Rates of the market data layer: Parquet-cache ingest, SQL ingest and the gatekeeper.

Run: .venv/bin/python bench/bench_data.py [bars]. Prints figures (best of three); asserts nothing.
Targets (issue 5): Parquet cache >= 200,000 bars/s, SQL >= 50,000 bars/s, gate >= 1,000,000.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from aitrader.adapters.calendars import open_calendar
from aitrader.adapters.parquet import ParquetBarCache
from aitrader.adapters.sql import SqlBarStore
from aitrader.application.data.sessions import tag_sessions
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, GateRules, RawBars, from_ns, gatekeep
from aitrader.domain.values import Symbol

MIN = 60 * 10**9


def minute_frame(rows: int) -> BarFrame:
    """Regular-session minutes of consecutive weekdays from 2015, a random walk of prices."""
    generator = np.random.default_rng(7)
    day0 = int(datetime(2015, 1, 5, 14, 31, tzinfo=UTC).timestamp()) * 10**9
    k = np.arange(rows, dtype=np.int64)
    day, minute = k // 390, k % 390
    week, weekday = day // 5, day % 5
    ts_close = day0 + (week * 7 + weekday) * 86_400 * 10**9 + minute * MIN
    close = np.round(100.0 * np.exp(np.cumsum(generator.normal(0.0, 4e-4, rows))), 2)
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.round(np.abs(generator.normal(0.0, 0.03, rows)), 2)
    return BarFrame(Symbol.parse("BENCH"), Timeframe.MINUTE_1, ts_close - MIN, ts_close, open_,
                    np.maximum(open_, close) + spread, np.minimum(open_, close) - spread, close,
                    generator.integers(100, 50_000, rows).astype(np.float64))


def corrupted(raw: RawBars) -> RawBars:
    """The same bars with 1 % spoiled: a third price spikes (every price x3, so the jump check
    revisits the bars after it), a third lose their close, a third get a negative volume."""
    rows = np.random.default_rng(11).choice(len(raw), size=len(raw) // 100, replace=False)
    spike, nan, negative = np.array_split(rows, 3)
    columns = [column.copy() for column in (raw.open, raw.high, raw.low, raw.close)]
    for column in columns:
        column[spike] *= 3.0
    columns[3][nan] = np.nan
    volume = raw.volume.copy()
    volume[negative] = -1.0
    return RawBars(raw.symbol, raw.timeframe, raw.ts_open, raw.ts_close, *columns, volume)


def best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    frame = minute_frame(rows)
    start, end = from_ns(int(frame.ts_close[0])), from_ns(int(frame.ts_close[-1]) + 1)
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(100))

        def parquet() -> None:
            ParquetBarCache(Path(tmp) / f"cache{next(counter)}").store("bench", frame, start, end)

        seconds = best(parquet)
        print(f"parquet cache ingest: {rows:,} bars in {seconds:.3f} s = "
              f"{rows / seconds:,.0f} bars/s")
        cache = ParquetBarCache(Path(tmp) / "cache0")
        seconds = best(lambda: cache.load("bench", frame.symbol, frame.timeframe, start, end))
        print(f"parquet cache load:   {rows:,} bars in {seconds:.3f} s = "
              f"{rows / seconds:,.0f} bars/s")

        sql_rows = min(rows, 200_000)
        part = frame.take(slice(0, sql_rows))
        urls = iter(f"sqlite:///{tmp}/bars{k}.db" for k in range(100))
        stores = [SqlBarStore.open(next(urls)).unwrap() for _ in range(3)]
        opened = iter(stores)
        seconds = best(lambda: next(opened).write_bars("bench", part))
        print(f"sql ingest (SQLite):  {sql_rows:,} bars in {seconds:.3f} s = "
              f"{sql_rows / seconds:,.0f} bars/s")

    raw = RawBars.from_frame(frame)
    calendar = open_calendar("XNYS")
    sessions = tag_sessions(calendar, raw.ts_open)
    seconds = best(lambda: gatekeep(raw, sessions, GateRules(), "bench"))
    print(f"gatekeeper:           {rows:,} bars in {seconds:.3f} s = "
          f"{rows / seconds:,.0f} bars/s")
    dirty = corrupted(raw)
    seconds = best(lambda: gatekeep(dirty, sessions, GateRules(), "bench"))
    print(f"gatekeeper, 1 % bad:  {rows:,} bars in {seconds:.3f} s = "
          f"{rows / seconds:,.0f} bars/s (spikes, NaN closes, negative volumes)")
    seconds = best(lambda: tag_sessions(calendar, raw.ts_open))
    print(f"session tagging XNYS: {rows:,} bars in {seconds:.3f} s = "
          f"{rows / seconds:,.0f} bars/s (calendar years cached after the first run)")


if __name__ == "__main__":
    main()
