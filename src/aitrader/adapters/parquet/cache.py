"""ParquetBarCache: gated bars per source, symbol and timeframe, content-hashed.

Layout: `<root>/<source>/<SYMBOL>/<timeframe>/<sha256>.parquet` holds every bar stored for that
key; `index.json` beside it names the current file and the ranges fetched (merged, half-open
[start, end) in UTC ns). A file's name is the SHA-256 of its columns, so a digest recorded by a
run names exactly the bytes it used; a load checks the file against its name. Writes go to a
temporary file of their own and are renamed into place, so a crash leaves the previous state
readable; an interrupted store (Ctrl-C) removes what it wrote.

`index.json` records the cache's `format`. A folder written under an older format holds bars
stamped by an older convention (format 1: daily bars closing at 16:00 New York even on early
closes), so it is never read nor merged with: a load misses (the range is fetched again) and
the next store replaces its content whole.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from returns.result import Failure, Result, Success

from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.bar_cache import BarCache
from aitrader.ports.errors import MarketDataError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COLUMNS = ("ts_open", "ts_close", "open", "high", "low", "close", "volume")
FORMAT = 2
"""The stamping convention of the bars stored: 2 = daily bars close at the exchange's regular
close of their day (13:00 New York on an early close). An index without `format` is 1."""


def content_digest(frame: BarFrame) -> str:
    """SHA-256 of the frame's columns (and its symbol and timeframe)."""
    return frame.digest()


class ParquetBarCache(BarCache):
    """A directory of Parquet files; safe for one writer at a time."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def _dir(self, source: str, symbol: Symbol, timeframe: Timeframe) -> Path:
        return self._root / source / str(symbol) / timeframe.value

    def _index(self, folder: Path) -> _Index | None:
        try:
            text = (folder / "index.json").read_text("utf-8")
        except FileNotFoundError:
            return None
        return _parse_index(json.loads(text))

    def load(
        self, source: str, symbol: Symbol, timeframe: Timeframe, start: datetime, end: datetime,
    ) -> Result[tuple[BarFrame, str] | None, MarketDataError]:
        """The bars with start <= ts_close < end and the stored content's digest, or None."""
        folder = self._dir(source, symbol, timeframe)
        try:
            index = self._index(folder)
            if index is None or index.format != FORMAT or not _covers(
                    index.ranges, to_ns(start), to_ns(end)):
                return Success(None)
            digest = index.digest
            frame = _read(folder / f"{digest}.parquet", symbol, timeframe)
        except (OSError, ValueError, KeyError, pa.ArrowException) as error:
            return Failure(MarketDataError("cache_unreadable",
                                           f"cache {folder}: {type(error).__name__}: {error}"))
        if content_digest(frame) != digest:
            return Failure(MarketDataError("cache_corrupt",
                                           f"cache {folder}/{digest}.parquet: content does not "
                                           "match its digest"))
        return Success((frame.window(start, end), digest))

    def store(
        self, source: str, frame: BarFrame, start: datetime, end: datetime,
    ) -> Result[str, MarketDataError]:
        """Merge frame into the stored bars (newer bars replace stored ones at the same
        ts_close); record [start, end) as fetched; return the new content digest."""
        folder = self._dir(source, frame.symbol, frame.timeframe)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            index = self._index(folder)
            ranges: list[list[int]] = []
            merged = frame
            if index is not None and index.format == FORMAT:
                ranges = [list(r) for r in index.ranges]
                old = _read(folder / f"{index.digest}.parquet", frame.symbol, frame.timeframe)
                merged = _merge(old, frame)
            ranges = _union([*ranges, [to_ns(start), to_ns(end)]])
            digest = content_digest(merged)
            target = folder / f"{digest}.parquet"
            written = not target.exists()
            if written:
                _write(target, merged)
            try:
                _replace_text(folder / "index.json", json.dumps(
                    {"format": FORMAT, "digest": digest, "ranges": ranges,
                     "bars": len(merged)}))
            except BaseException:  # (Ctrl-C too) no file is left that the index does not name
                if written:
                    target.unlink(missing_ok=True)
                raise
            if index is not None and index.digest != digest:
                (folder / f"{index.digest}.parquet").unlink(missing_ok=True)
        except (OSError, ValueError, KeyError, pa.ArrowException) as error:
            return Failure(MarketDataError("cache_unwritable",
                                           f"cache {folder}: {type(error).__name__}: {error}"))
        return Success(digest)


@attrs.frozen
class _Index:
    """What index.json says: the current file's digest, the ranges fetched, and the format
    the bars were stored in."""

    digest: str
    ranges: list[list[int]]
    format: int


def _parse_index(document: object) -> _Index:
    """index.json as written by store(); ValueError saying what is wrong with anything else
    (the digest names a file, so it must be a SHA-256 and nothing that leaves the folder)."""
    if not isinstance(document, dict):
        raise ValueError("index.json is not a JSON object")
    digest, ranges = document.get("digest"), document.get("ranges")
    if not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
        raise ValueError(f"index.json: digest {digest!r} is not a SHA-256")
    if not (isinstance(ranges, list) and all(
            isinstance(r, list) and len(r) == 2 and all(type(x) is int for x in r)
            for r in ranges)):
        raise ValueError("index.json: ranges is not a list of [start_ns, end_ns] pairs")
    version = document.get("format", 1)
    if type(version) is not int:
        raise ValueError(f"index.json: format {version!r} is not an integer")
    return _Index(digest, ranges, version)


def _read(path: Path, symbol: Symbol, timeframe: Timeframe) -> BarFrame:
    table = pq.read_table(path, columns=list(_COLUMNS))
    cols = {name: table.column(name).to_numpy() for name in _COLUMNS}
    return BarFrame(symbol, timeframe, **cols)


def _write(path: Path, frame: BarFrame) -> None:
    table = pa.table({name: getattr(frame, name) for name in _COLUMNS})
    with _beside(path) as partial:
        pq.write_table(table, partial, compression="zstd")
        os.replace(partial, path)


def _replace_text(path: Path, text: str) -> None:
    with _beside(path) as partial:
        partial.write_text(text, "utf-8")
        os.replace(partial, path)


_WRITES = itertools.count()


@contextmanager
def _beside(path: Path) -> Iterator[Path]:
    """A temporary file of its own beside path (two writers never share one), removed if it
    was not moved into place: an interrupted write (Ctrl-C) leaves no partial file behind."""
    # named for this process and write, created as open() creates (the umask's permissions)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{next(_WRITES)}.partial")
    try:
        yield partial
    finally:
        partial.unlink(missing_ok=True)


def _merge(old: BarFrame, new: BarFrame) -> BarFrame:
    """Union by ts_close; where both hold a bar, the new one wins."""
    keep_old = ~np.isin(old.ts_close, new.ts_close)
    columns = {name: np.concatenate((getattr(old, name)[keep_old], getattr(new, name)))
               for name in _COLUMNS}
    order = np.argsort(columns["ts_close"], kind="stable")
    return BarFrame(new.symbol, new.timeframe, **{k: v[order] for k, v in columns.items()})


def _union(ranges: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _covers(ranges: list[list[int]], start: int, end: int) -> bool:
    return any(lo <= start and end <= hi for lo, hi in ranges)
