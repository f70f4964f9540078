"""The MarketData port's contract, over every way the files adapter is used.

Implementations: FileMarketData on a directory of per-symbol one-minute CSVs, on one long daily
Parquet file with a symbol column, and on the bundled sample. Each fixture is built once per
module so Hypothesis can draw windows against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from aitrader.adapters.calendars import XnysCalendar
from aitrader.adapters.files import FileMarketData
from aitrader.adapters.sample import SAMPLE_SYMBOLS, sample_path
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, from_ns, to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.market_data import MarketData

XNYS = XnysCalendar()  # daily bars span its sessions

MarketDataFactory = Callable[[Path], MarketData]
NEW_YORK = ZoneInfo("America/New_York")
SECRETS = re.compile(r"secret|password|passwd|token|api[_-]?key|key_id|://[^/@\s]*:[^/@\s]*@",
                     re.IGNORECASE)


def _walk(seed: int, n: int) -> list[tuple[float, float, float, float, int]]:
    """n rows of (open, high, low, close, volume) with valid OHLC, two decimals."""
    rng = np.random.default_rng(seed)
    close = np.round(50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n))), 2)
    open_ = np.round(np.concatenate(([50.0], close[:-1])), 2)
    spread = np.round(np.abs(rng.normal(0.0, 0.2, n)), 2)
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 10_000, n)
    return [(float(o), float(h), float(lo), float(c), int(v))
            for o, h, lo, c, v in zip(open_, high, low, close, volume, strict=True)]


def _minute_csvs(directory: Path) -> MarketData:
    """Per-symbol CSVs of one-minute bars in New York time, two sessions each, a README beside."""
    directory.mkdir()
    for k, name in enumerate(["MSFT", "aapl", "brk.b"]):
        lines = ["timestamp,open,high,low,close,volume"]
        rows = iter(_walk(k, 2 * 390))
        for day in (4, 5):
            for minute in range(390):
                o, h, lo, c, v = next(rows)
                ts = datetime(2024, 3, day, 9, 30) + timedelta(minutes=minute)
                lines.append(f"{ts:%Y-%m-%d %H:%M:%S},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{v}")
        (directory / f"{name}.csv").write_text("\n".join(lines) + "\n")
    (directory / "README.md").write_text("not bars\n")
    return FileMarketData(directory, calendar=XNYS)


def _daily_parquet(directory: Path) -> MarketData:
    """One long Parquet file of daily bars (dates) for three symbols, rows by date then symbol."""
    directory.mkdir()
    days = [d for d in (datetime(2024, 1, 1) + timedelta(days=i) for i in range(120))
            if d.weekday() < 5]
    walks = {name: _walk(10 + k, len(days)) for k, name in enumerate(["XOM", "KO", "JNJ"])}
    columns: dict[str, list[object]] = {"date": [], "symbol": [], "open": [], "high": [],
                                        "low": [], "close": [], "volume": []}
    for i, day in enumerate(days):
        for name, rows in walks.items():
            o, h, lo, c, v = rows[i]
            for key, value in zip(columns, (day.date(), name, o, h, lo, c, v), strict=True):
                columns[key].append(value)
    path = directory / "bars.parquet"
    pq.write_table(pa.table(columns), path)
    return FileMarketData(path, calendar=XNYS)


def _sample(_directory: Path) -> MarketData:
    return FileMarketData(sample_path(), calendar=XNYS)


IMPLEMENTATIONS: dict[str, MarketDataFactory] = {
    "csv_directory": _minute_csvs,
    "parquet_file": _daily_parquet,
    "bundled_sample": _sample,
}


@pytest.fixture(scope="module", params=sorted(IMPLEMENTATIONS))
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> MarketData:
    return IMPLEMENTATIONS[request.param](tmp_path_factory.mktemp("bars") / request.param)


def symbols_of(source: MarketData) -> list[Symbol]:
    listed = source.symbols()
    assert isinstance(listed, Success), listed
    return list(listed.unwrap())


def all_bars(source: MarketData, symbol: Symbol) -> BarFrame:
    served = source.bars(symbol, None, None, None)
    assert isinstance(served, Success), served
    frame: BarFrame = served.unwrap()
    return frame


# -- the contract -----------------------------------------------------------------------------


def test_symbols_are_sorted_unique_and_not_empty(source: MarketData) -> None:
    symbols = symbols_of(source)
    assert symbols
    assert symbols == sorted(set(symbols))


def test_every_listed_symbol_has_bars_oldest_first_with_strictly_increasing_closes(
    source: MarketData,
) -> None:
    for symbol in symbols_of(source):
        frame = all_bars(source, symbol)
        assert frame.symbol == symbol
        assert len(frame) > 0
        assert bool(np.all(np.diff(frame.ts_close) > 0))
        assert bool(np.all(frame.ts_open < frame.ts_close))
        first, last = frame.bar(0), frame.bar(len(frame) - 1)
        assert first.ts_close < last.ts_close or len(frame) == 1
        assert first.ts_close.tzinfo is UTC


def test_bars_served_for_their_own_timeframe_are_the_same_bars(source: MarketData) -> None:
    for symbol in symbols_of(source):
        frame = all_bars(source, symbol)
        again = source.bars(symbol, frame.timeframe, None, None)
        assert isinstance(again, Success), again
        assert again.unwrap().digest() == frame.digest()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_window_serves_exactly_the_bars_with_start_at_or_before_their_close_and_end_after(
    source: MarketData, data: st.DataObject
) -> None:
    symbol = data.draw(st.sampled_from(symbols_of(source)), label="symbol")
    frame = all_bars(source, symbol)
    closes = frame.ts_close.tolist()
    nudge = st.sampled_from([0, -1_000, 1_000, -3_600_000_000_000])  # exact, 1 µs, an hour

    def bound(label: str) -> datetime | None:
        at = data.draw(st.none() | st.integers(0, len(closes) - 1), label=label)
        if at is None:
            return None
        moment = from_ns(closes[at] + data.draw(nudge, label=f"{label} nudge"))
        return moment.astimezone(data.draw(st.sampled_from([UTC, NEW_YORK]), label=f"{label} zone"))

    start, end = bound("start"), bound("end")
    served = source.bars(symbol, None, start, end)
    assert isinstance(served, Success), served
    window = served.unwrap().ts_close.tolist()
    expected = [t for t in closes
                if (start is None or to_ns(start) <= t) and (end is None or t < to_ns(end))]
    assert window == expected


def test_an_unknown_symbol_is_a_failure_with_code_unknown_symbol(source: MarketData) -> None:
    served = source.bars(Symbol("ZZZZ9"), None, None, None)
    assert isinstance(served, Failure)
    assert served.failure().code == "unknown_symbol"
    assert "\n" not in served.failure().message


def test_a_naive_bound_is_refused(source: MarketData) -> None:
    symbol = symbols_of(source)[0]
    with pytest.raises(ValueError, match="timezone-aware"):
        source.bars(symbol, None, datetime(2024, 1, 2), None)


def test_describe_is_one_non_empty_line_without_secrets(source: MarketData) -> None:
    label = source.describe()
    assert label.strip()
    assert "\n" not in label
    assert not SECRETS.search(label), label


# -- what each implementation serves ----------------------------------------------------------


def test_the_csv_directory_serves_one_minute_bars_named_after_their_files(
    tmp_path: Path,
) -> None:
    source = _minute_csvs(tmp_path / "csv")
    assert symbols_of(source) == [Symbol("AAPL"), Symbol("BRK.B"), Symbol("MSFT")]
    frame = all_bars(source, Symbol("AAPL"))
    assert frame.timeframe is Timeframe.MINUTE_1
    assert len(frame) == 2 * 390
    assert from_ns(int(frame.ts_close[0])) == datetime(2024, 3, 4, 14, 31, tzinfo=UTC)


def test_the_parquet_file_serves_daily_bars_for_its_symbol_column(tmp_path: Path) -> None:
    source = _daily_parquet(tmp_path / "pq")
    assert symbols_of(source) == [Symbol("JNJ"), Symbol("KO"), Symbol("XOM")]
    frame = all_bars(source, Symbol("KO"))
    assert frame.timeframe is Timeframe.DAY_1
    assert from_ns(int(frame.ts_close[0])) == datetime(2024, 1, 1, 21, 0, tzinfo=UTC)


def test_the_bundled_sample_serves_its_eight_symbols() -> None:
    source = FileMarketData(sample_path(), calendar=XNYS)
    assert [str(s) for s in symbols_of(source)] == list(SAMPLE_SYMBOLS)
    assert all(len(all_bars(source, s)) > 200 for s in symbols_of(source))
