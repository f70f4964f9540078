"""Read one bar file (CSV or Parquet) into validated BarFrames, or fail with one line.

Every check runs before a BarFrame is built; a problem names the file and the place in it.
Checks run in stages (parsing, then the data gate per symbol, then the timeframe); within a
stage the problem on the earliest row is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Literal, TypeVar

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from aitrader.adapters.files.columns import ColumnsError, resolve_columns
from aitrader.adapters.files.tables import (
    FileDataError,
    column_names,
    place_unit,
    places,
    read_table,
    require_bar_file,
    symbol_from_name,
    where,
)
from aitrader.adapters.files.timestamps import (
    RowError,
    Stamps,
    first_failure,
    infer_timeframe,
    looks_daily,
    parse_timestamps,
    session_dates,
    sessions,
)
from aitrader.adapters.files.zone import naive
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, RawBars, find_bad_bars
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BarLabel = Literal["open", "close"]
_T = TypeVar("_T", bound=np.generic)

_PRICES = ("open", "high", "low", "close", "volume")


def read_frames(
    path: Path, bar_label: BarLabel, timeframe: Timeframe | None, calendar: Calendar,
) -> dict[Symbol, BarFrame]:
    """Parse and validate a whole bar file into one frame per symbol, sorted by symbol; daily
    bars span the calendar's daily_session of their date."""
    return {symbol: raw.to_frame() for symbol, (raw, _rows)
            in _read(path, bar_label, timeframe, calendar, strict=True).items()}


@attrs.frozen
class FileBars:
    """One symbol's bars as a file holds them, unjudged, and where each one is in the file."""

    raw: RawBars
    file: Path
    rows: IntArray  # each bar's data row in the file (0-based, in file order)

    @property
    def unit(self) -> str:
        """What places count: `line` in a CSV, `row` in Parquet."""
        return place_unit(self.file)

    def places(self, bars: Sequence[int]) -> list[int]:
        """Where bars (indices into raw) are in the file: CSV lines (the header is line 1),
        Parquet rows (the first data row is row 1)."""
        return places(self.file, [int(self.rows[bar]) for bar in bars])


def read_raw(
    path: Path, bar_label: BarLabel, timeframe: Timeframe | None, calendar: Calendar,
) -> dict[Symbol, FileBars]:
    """Parse a bar file without judging its bars (for the gatekeeper's quarantine report):
    only unreadable files and unparseable values fail."""
    return {symbol: FileBars(raw, path, rows) for symbol, (raw, rows)
            in _read(path, bar_label, timeframe, calendar, strict=False).items()}


def _read(
    path: Path, bar_label: BarLabel, timeframe: Timeframe | None, calendar: Calendar,
    strict: bool,
) -> dict[Symbol, tuple[RawBars, IntArray]]:
    """Each symbol's bars and their data rows in the file."""
    require_bar_file(path)
    names = column_names(path)
    try:
        columns = resolve_columns(names)
    except ColumnsError as error:
        raise FileDataError("invalid_data", f"{path}: {error}") from error
    named = None if "symbol" in columns else symbol_from_name(path)
    table = read_table(path, len(names))
    if table.num_rows == 0:
        raise FileDataError("invalid_data", f"{path}: no data rows")
    try:
        return _frames(path, table, columns, named, bar_label, timeframe, calendar, strict)
    except RowError as error:
        raise FileDataError("invalid_data", f"{where(path, error.row)}: {error.problem}") \
            from error
    except ColumnsError as error:
        raise FileDataError("invalid_data", f"{path}: {error}") from error


def _frames(
    path: Path, table: pa.Table, columns: dict[str, int], named: Symbol | None,
    bar_label: BarLabel, asked: Timeframe | None, calendar: Calendar, strict: bool,
) -> dict[Symbol, tuple[RawBars, IntArray]]:
    problems: list[RowError] = []
    stamps = Stamps(np.empty(0, np.int64), False)
    values: dict[str, FloatArray] = {}
    groups: list[tuple[Symbol, IntArray | None]] = [] if named is None else [(named, None)]
    try:
        stamps = parse_timestamps(table.column(columns["timestamp"]))
    except RowError as error:
        problems.append(error)
    for name in _PRICES:
        try:
            values[name] = _floats(table.column(columns[name]), name)
        except RowError as error:
            problems.append(error)
    if named is None:
        try:
            groups = _symbol_groups(table.column(columns["symbol"]))
        except RowError as error:
            problems.append(error)
    if problems:
        raise min(problems, key=lambda problem: problem.row)

    steps: list[IntArray] = []
    for _symbol, rows in groups:
        issues = find_bad_bars(_take(stamps.ns, rows),
                               *(_take(values[n], rows) for n in _PRICES))
        if issues and strict:
            problems.append(RowError(_original(rows, issues[0].row), issues[0].reason))
        steps.append(np.diff(_take(stamps.ns, rows)))
    if problems:
        raise min(problems, key=lambda problem: problem.row)

    timeframe = _timeframe(path, stamps, np.concatenate(steps), asked)
    if timeframe.is_intraday:
        length = int(timeframe.length.total_seconds()) * 1_000_000_000
        for (_symbol, rows), step in zip(groups, steps if strict else [], strict=strict):
            short = np.flatnonzero(step < length)
            if len(short):
                apart = timedelta(microseconds=int(step[short[0]]) // 1_000)
                problems.append(RowError(_original(rows, int(short[0]) + 1),
                                         f"bar starts {apart} after the previous one, sooner "
                                         f"than its {timeframe.value} length"))
        if problems:
            raise min(problems, key=lambda problem: problem.row)
        ts_open = stamps.ns if bar_label == "open" else stamps.ns - length
        ts_close = ts_open + length
    else:
        ts_open, ts_close = sessions(stamps.ns if stamps.is_daily
                                     else _session_dates(stamps.ns, bar_label, groups), calendar)

    everything = np.arange(table.num_rows, dtype=np.int64)
    raws = {
        symbol: (RawBars(symbol, timeframe, _take(ts_open, rows), _take(ts_close, rows),
                         *(_take(values[n], rows) for n in _PRICES)), _take(everything, rows))
        for symbol, rows in groups
    }
    return dict(sorted(raws.items()))


def _take(array: npt.NDArray[_T], rows: IntArray | None) -> npt.NDArray[_T]:
    """One symbol's values (all of them when the file holds one symbol)."""
    return array if rows is None else array[rows]


def _original(rows: IntArray | None, row: int) -> int:
    """The file row of a symbol's row."""
    return row if rows is None else int(rows[row])


def _session_dates(
    utc: IntArray, bar_label: BarLabel, groups: list[tuple[Symbol, IntArray | None]]
) -> IntArray:
    """The New York session dates of daily bars stamped with a time of day; raise RowError
    when a symbol has two bars on one date."""
    dates = session_dates(utc, bar_label)
    problems: list[RowError] = []
    for _symbol, rows in groups:
        mine = _take(dates, rows)
        same = np.flatnonzero(np.diff(mine) == 0)
        if len(same):
            row = int(same[0]) + 1
            day = naive(int(mine[row])).date().isoformat()
            problems.append(RowError(_original(rows, row),
                                     f"duplicate timestamp (a second bar on the {day} session)"))
    if problems:
        raise min(problems, key=lambda problem: problem.row)
    return dates


def _timeframe(path: Path, stamps: Stamps, steps: IntArray, asked: Timeframe | None) -> Timeframe:
    """Dates, or times of day that look daily, are 1D; so is any spacing no intraday
    timeframe has when 1D is asked for. Otherwise the intraday timeframe is inferred."""
    try:
        found = (Timeframe.DAY_1 if stamps.is_daily or looks_daily(stamps.ns, steps)
                 else infer_timeframe(steps))
    except ValueError as error:
        if asked is Timeframe.DAY_1:
            return asked
        raise FileDataError("invalid_data", f"{path}: {error}") from error
    if found is None:
        if asked is None:
            raise FileDataError("invalid_data", f"{path}: one bar per symbol is too few to "
                                "infer the timeframe; pass timeframe")
        return asked
    if asked is not None and asked is not found:
        raise FileDataError("timeframe_mismatch", f"{path}: the file holds {found.value} bars, "
                            f"not the {asked.value} bars asked for")
    return found


def _floats(column: pa.ChunkedArray, name: str) -> FloatArray:
    array = column.combine_chunks()
    if array.null_count:
        raise RowError(_first(pc.is_null(array)), f"{name} is missing")
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = pc.utf8_trim_whitespace(array)
        empty = pc.equal(array, "")
        if pc.any(empty).as_py():
            raise RowError(_first(empty), f"{name} is missing")
        try:
            array = pc.cast(array, pa.float64())
        except pa.ArrowInvalid:
            row = first_failure(array, lambda part: pc.cast(part, pa.float64()))
            raise RowError(row, f"{name} is not a number: {array[row].as_py()!r}") from None
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
              or pa.types.is_decimal(kind)):
        raise ColumnsError(f"column {name} has type {kind}; expected numbers")
    # Unsafe: an integer beyond 2**53 (a uint64 volume) becomes the nearest float, as it
    # would in a CSV, instead of an ArrowInvalid about lost precision.
    floats = pc.cast(array, pa.float64(), safe=False)
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)


def _symbol_groups(column: pa.ChunkedArray) -> list[tuple[Symbol, IntArray | None]]:
    """Each symbol with its rows in file order; symbols are trimmed and upper-cased."""
    raw = column.combine_chunks()
    if raw.null_count:
        raise RowError(_first(pc.is_null(raw)), "symbol is missing")
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.cast(raw, pa.string())))
    encoded = text.dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    symbols: list[Symbol] = []
    for code, value in enumerate(encoded.dictionary.to_pylist()):
        try:
            symbols.append(Symbol(value))
        except ValueError:
            row = int(np.flatnonzero(codes == code)[0])
            raise RowError(row, f"symbol {raw[row].as_py()!r} is not a valid ticker") from None
    if len(symbols) == 1:
        return [(symbols[0], None)]
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(symbols)))
    starts = np.concatenate(([0], bounds[:-1]))
    return [(symbol, order[start:end]) for symbol, start, end in
            zip(symbols, starts.tolist(), bounds.tolist(), strict=True)]


def _first(mask: pa.Array) -> int:
    return int(np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False)))[0])


