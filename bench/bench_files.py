"""Load rates of FileMarketData: 1,000,000 one-minute bars as CSV and as Parquet.

Run: .venv/bin/python bench/bench_files.py [rows]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from aitrader.adapters.calendars import XnysCalendar
from aitrader.adapters.files import FileMarketData
from aitrader.domain.values import Symbol

XNYS = XnysCalendar()  # daily bars span its sessions


def _minute_bars(rows: int) -> pd.DataFrame:
    """Regular-session minutes (09:30-15:59 New York, weekdays) with a random walk of prices."""
    days = pd.bdate_range("2015-01-02", periods=rows // 390 + 1)
    minutes = pd.timedelta_range("09:30:00", periods=390, freq="min")
    stamps = (days.values[:, None] + minutes.values[None, :]).ravel()[:rows]
    generator = np.random.default_rng(7)
    close = np.round(100.0 * np.exp(np.cumsum(generator.normal(0.0, 4e-4, rows))), 2)
    open_ = np.round(np.concatenate(([close[0]], close[:-1])), 2)
    spread = np.round(np.abs(generator.normal(0.0, 0.03, rows)), 2)
    return pd.DataFrame({
        "timestamp": pd.DatetimeIndex(stamps).strftime("%Y-%m-%d %H:%M:%S"),
        "open": open_,
        "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread,
        "close": close,
        "volume": generator.integers(100, 50_000, rows),
    })


def _measure(path: Path, rows: int) -> None:
    started = time.perf_counter()
    result = FileMarketData(path, calendar=XNYS).bars(Symbol("BENCH"), None, None, None)
    seconds = time.perf_counter() - started
    frame = result.unwrap()
    assert len(frame) == rows, result  # a sanity check of the benchmark itself
    size = path.stat().st_size / 1e6
    print(f"{path.suffix[1:]:>8}: {rows:,} bars ({size:.0f} MB) in {seconds:.3f} s "
          f"= {rows / seconds:,.0f} bars/s ({frame.timeframe.value})")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    bars = _minute_bars(rows)
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "BENCH.csv"
        parquet_path = Path(folder) / "BENCH.parquet"
        bars.to_csv(csv_path, index=False)
        bars.to_parquet(parquet_path, index=False)
        _measure(csv_path, rows)
        _measure(parquet_path, rows)


if __name__ == "__main__":
    main()
