"""Bar files as Arrow tables: which files count, their headers, their rows, where a row is.

CSV is read by pyarrow with every column as text (the validation converts it), which keeps
a million rows well under a second; a problem's place is `line N` in a CSV (the header is
line 1, empty lines count) and `row N` in Parquet (the first data row is row 1).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from aitrader.adapters.files.columns import ColumnsError, resolve_columns
from aitrader.domain.values import Symbol

_CSV = frozenset({".csv"})
_PARQUET = frozenset({".parquet", ".pq"})


class FileDataError(Exception):
    """A bar file cannot be served; `code` is the MarketDataError code, `message` one line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_bar_file(path: Path) -> bool:
    """Whether the name says CSV (.csv) or Parquet (.parquet, .pq)."""
    return path.suffix.lower() in _CSV | _PARQUET


def require_bar_file(path: Path) -> None:
    """Refuse a file whose name says neither CSV nor Parquet (FileDataError)."""
    if not is_bar_file(path):
        raise FileDataError("invalid_data",
                            f"{path}: not a CSV (.csv) or Parquet (.parquet, .pq) file")


def column_names(path: Path) -> list[str]:
    """The header of a bar file, read without reading its rows."""
    try:
        if path.suffix.lower() in _PARQUET:
            return list(pq.read_schema(path).names)
        with path.open("rb") as raw:
            names = next(csv.reader([raw.readline().decode("utf-8-sig")]), [])
    except UnicodeDecodeError as error:
        raise FileDataError("invalid_data", f"{path} line 1: not UTF-8 text") from error
    except (OSError, pa.ArrowException, csv.Error) as error:
        raise FileDataError("invalid_data", f"{path}: cannot read it ({one_line(error)})") \
            from error
    if not any(name.strip() for name in names):
        raise FileDataError("invalid_data", f"{path} line 1: expected a header row")
    return [name.strip() for name in names]


def resolved_columns(path: Path) -> dict[str, int]:
    """Positions of the canonical columns in a bar file's header."""
    try:
        return resolve_columns(column_names(path))
    except ColumnsError as error:
        raise FileDataError("invalid_data", f"{path}: {error}") from error


def symbol_from_name(path: Path) -> Symbol:
    """The symbol a one-symbol file is named after (AAPL.csv, brk.b.parquet)."""
    stem = path.name[: -len(path.suffix)]
    try:
        return Symbol.parse(stem)
    except ValueError as error:
        raise FileDataError("invalid_data", f"{path}: the file name {stem!r} is not a symbol "
                            "and the file has no symbol column") from error


def read_table(path: Path, width: int) -> pa.Table:
    """All rows of a bar file whose header has `width` columns; CSV columns as text."""
    if path.suffix.lower() in _PARQUET:
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as error:
            raise FileDataError("invalid_data", f"{path}: not a readable Parquet file "
                                f"({one_line(error)})") from error
    names = [f"c{i}" for i in range(width)]
    try:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (OSError, pa.ArrowException) as error:
        raise FileDataError("invalid_data", _bad_line(path, width) or
                            f"{path}: cannot read it as CSV ({one_line(error)})") from error


def _bad_line(path: Path, width: int) -> str | None:
    """Name the first line that is not UTF-8 or whose field count differs from the header's."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return f"{path} line {number}: not UTF-8 text"
    with path.open(newline="", encoding="utf-8-sig") as text:
        reader = csv.reader(text)
        next(reader, None)
        for fields in reader:
            if fields and len(fields) != width:
                return f"{path} line {reader.line_num}: expected {width} fields, found " \
                       f"{len(fields)}"
    return None


def where(path: Path, row: int) -> str:
    """Where data row `row` (0-based) is: its 1-based line in a CSV, its row in Parquet."""
    return f"{path} {place_unit(path)} {places(path, [row])[0]}"


def place_unit(path: Path) -> str:
    """How a bar file's places are counted: lines in a CSV, rows in Parquet."""
    return "row" if path.suffix.lower() in _PARQUET else "line"


def places(path: Path, rows: Sequence[int]) -> list[int]:
    """The places of data rows (0-based, in file order): 1-based lines in a CSV, the header
    being line 1 and empty lines counting (pyarrow skips them; a person sees them); 1-based
    rows in Parquet (the first data row is row 1). One pass over the file whatever the rows."""
    if path.suffix.lower() in _PARQUET:
        return [row + 1 for row in rows]
    wanted = set(rows)
    found: dict[int, int] = {}
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as text:
        reader = csv.reader(text)
        next(reader, None)
        seen = -1
        for fields in reader:
            seen += bool(fields)
            if fields and seen in wanted:
                found[seen] = reader.line_num
                if len(found) == len(wanted):
                    break
    return [found.get(row, row + 2) for row in rows]


def one_line(error: BaseException) -> str:
    """The first line of an exception's message (library messages can run on)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
