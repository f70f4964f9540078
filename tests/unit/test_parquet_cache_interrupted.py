"""The Parquet cache stopped part-way through a store (Ctrl-C during `data fetch`): the
previous state stays whole and readable, and nothing half-written or unnamed is left."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aitrader.adapters.parquet import ParquetBarCache
from aitrader.adapters.parquet import cache as cache_module
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame
from aitrader.domain.values import Symbol

AAPL = Symbol.parse("AAPL")
MIN = 60 * 10**9
SPAN = (datetime(2023, 11, 14, tzinfo=UTC), datetime(2023, 11, 16, tzinfo=UTC))


def _frame(n: int, price: float) -> BarFrame:
    ts = np.arange(1, n + 1, dtype=np.int64) * MIN + 1_700_000_000 * 10**9
    close = np.full(n, price)
    return BarFrame(AAPL, Timeframe.MINUTE_1, ts - MIN, ts, close, close + 0.1, close - 0.1,
                    close, np.full(n, 100.0))


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("where", ["parquet", "index"])
def test_a_store_interrupted_part_way_leaves_the_previous_cache_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    cache = ParquetBarCache(tmp_path)
    before = cache.store("v", _frame(5, 100.0), *SPAN).unwrap()
    files = _files(tmp_path)
    write_table, replace = cache_module.pq.write_table, os.replace

    def half_written(table: Any, path: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"PAR1 half")
        raise KeyboardInterrupt

    def index_refused(source: Any, target: Any) -> None:
        if Path(target).name == "index.json":
            raise KeyboardInterrupt
        replace(source, target)

    if where == "parquet":
        monkeypatch.setattr(cache_module.pq, "write_table", half_written)
    else:
        monkeypatch.setattr(os, "replace", index_refused)
    with pytest.raises(KeyboardInterrupt):
        cache.store("v", _frame(7, 101.0), *SPAN)
    monkeypatch.setattr(cache_module.pq, "write_table", write_table)
    monkeypatch.setattr(os, "replace", replace)

    assert _files(tmp_path) == files  # no partial file, no file the index does not name
    loaded = cache.load("v", AAPL, Timeframe.MINUTE_1, *SPAN).unwrap()
    assert loaded is not None
    assert loaded[1] == before


def test_two_stores_of_the_same_bars_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two fetches of one symbol (two runs on --vendor started together) wrote the same
    # '<digest>.parquet.partial': the second renamed it away under the first, which failed
    cache = ParquetBarCache(tmp_path)
    write_table = cache_module.pq.write_table
    inner: list[str] = []
    started: list[bool] = []

    def meanwhile(table: Any, path: Any, **kwargs: Any) -> None:
        write_table(table, path, **kwargs)
        if not started:  # the other process stores the same bars while this one writes
            started.append(True)
            inner.append(cache.store("v", _frame(5, 100.0), *SPAN).unwrap())

    monkeypatch.setattr(cache_module.pq, "write_table", meanwhile)
    outer = cache.store("v", _frame(5, 100.0), *SPAN)
    assert outer.unwrap() == inner[0]
    assert [n for n in _files(tmp_path) if not n.startswith(".")] == [
        f"{inner[0]}.parquet", "index.json"]
    assert [n for n in _files(tmp_path) if n.startswith(".")] == []
