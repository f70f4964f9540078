"""FileMarketData: historical bars from local CSV or Parquet files, validated at the boundary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from returns.result import Failure, Result, Success

from aitrader.adapters.files.reading import BarLabel, read_frames
from aitrader.adapters.files.tables import (
    FileDataError,
    is_bar_file,
    require_bar_file,
    resolved_columns,
    symbol_from_name,
)
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame
from aitrader.domain.values import Symbol
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.market_data import MarketData

_SHOWN_SYMBOLS = 20

Frames = dict[Symbol, BarFrame]


class FileMarketData(MarketData):
    """Bars from a CSV/Parquet file or a directory of them, parsed once and kept in memory.

    Layouts: one file per symbol (the symbol is the file name: AAPL.csv, aapl.parquet) or long
    files with a symbol column; a directory may mix both, but a symbol lives in one file only.
    Files with other suffixes in a directory are ignored (a README, a LICENSE).

    Timestamps are ISO 8601 dates or datetimes, or YYYYMMDD integers. Naive times are New York
    exchange time (DST-aware); times with a UTC offset are taken as given. They label the bar's
    open, or its close with `bar_label="close"`. Dates alone (or New York midnights) make daily
    bars spanning the date's regular session in `calendar` (its daily_session: 09:30-16:00
    New York, 09:30-13:00 on an early close), whatever `bar_label` says. Daily bars may also
    carry a time of day (a vendor's 09:30 open or 16:00 close stamp): they are read as daily
    when `timeframe` is 1D, or when they are most often a day or more apart and all at one New
    York wall-clock time. Their session is the New York date of the stamp, or with
    `bar_label="close"` of the instant just before it (a midnight close ends the day before).
    Intraday timeframes are inferred from the most common spacing (1m, 5m, 15m or 1h) unless
    `timeframe` is given; bars are never resampled, so asking for another timeframe is a
    'timeframe_mismatch'.

    Any problem in a file (an unknown or missing column, an unparseable value, a non-positive
    price, high below low, negative volume, unsorted or repeated times per symbol) fails the
    whole file with code 'invalid_data' and one line naming the file and line: corrupt data is
    never dropped, repaired or reordered. Other codes: 'not_found', 'unknown_symbol'.
    """

    def __init__(
        self,
        path: Path,
        bar_label: Literal["open", "close"] = "open",
        timeframe: Timeframe | None = None,
        *,
        calendar: Calendar,
    ) -> None:
        if bar_label not in ("open", "close"):
            raise ValueError(f"bar_label must be 'open' or 'close', was {bar_label!r}")
        self._path = Path(path)
        self._bar_label: BarLabel = bar_label
        self._timeframe = timeframe
        self._calendar = calendar
        self._catalog_result: Result[dict[Symbol, Path], MarketDataError] | None = None
        self._parsed: dict[Path, Result[Frames, MarketDataError]] = {}

    def bars(
        self, symbol: Symbol, timeframe: Timeframe | None, start: datetime | None,
        end: datetime | None,
    ) -> Result[BarFrame, MarketDataError]:
        """Validated closed bars with start <= ts_close < end, oldest first; None = unbounded."""
        for name, bound in (("start", start), ("end", end)):
            if bound is not None and bound.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, was {bound!r}")
        catalog = self._catalog()
        if not isinstance(catalog, Success):
            return Failure(catalog.failure())
        source = catalog.unwrap().get(symbol)
        if source is None:
            return Failure(MarketDataError(
                "unknown_symbol",
                f"{symbol} is not in {self.describe()}; available: "
                f"{_listed(sorted(catalog.unwrap()))}",
            ))
        frames = self._load(source)
        if not isinstance(frames, Success):
            return Failure(frames.failure())
        frame = frames.unwrap()[symbol]
        if timeframe is not None and timeframe is not frame.timeframe:
            return Failure(MarketDataError(
                "timeframe_mismatch",
                f"{source}: {symbol} bars are {frame.timeframe.value}, not the "
                f"{timeframe.value} bars asked for (files are not resampled)",
            ))
        return Success(frame.window(start, end))

    def symbols(self) -> Result[Sequence[Symbol], MarketDataError]:
        """Symbols this source serves without being asked for them, sorted."""
        return self._catalog().map(sorted)

    def describe(self) -> str:
        """A short label naming the source (for manifests and messages), never a secret."""
        return f"files:{self._path.absolute()}"

    def _catalog(self) -> Result[dict[Symbol, Path], MarketDataError]:
        """Which file holds each symbol; long files are parsed (once) to learn theirs."""
        if self._catalog_result is None:
            try:
                self._catalog_result = Success(self._build_catalog())
            except FileDataError as error:
                self._catalog_result = Failure(MarketDataError(error.code, error.message))
        return self._catalog_result

    def _build_catalog(self) -> dict[Symbol, Path]:
        path = self._path
        if not path.exists():
            raise FileDataError("not_found", f"{path}: no such file or directory")
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.is_file() and is_bar_file(p) and not p.name.startswith("."))
            if not files:
                raise FileDataError("not_found", f"{path}: no CSV or Parquet files in it")
        else:
            require_bar_file(path)
            files = [path]
        catalog: dict[Symbol, Path] = {}
        for file in files:
            if "symbol" in resolved_columns(file):
                frames = self._load(file)
                if not isinstance(frames, Success):
                    failure = frames.failure()
                    raise FileDataError(failure.code, failure.message)
                held: Sequence[Symbol] = list(frames.unwrap())
            else:
                held = [symbol_from_name(file)]
            for symbol in held:
                if symbol in catalog:
                    raise FileDataError("invalid_data", f"{path}: symbol {symbol} is in both "
                                        f"{catalog[symbol]} and {file}")
                catalog[symbol] = file
        return catalog

    def _load(self, file: Path) -> Result[Frames, MarketDataError]:
        """Parse one file once; the frames (or the failure) are kept for every later call."""
        if file not in self._parsed:
            try:
                frames = read_frames(file, self._bar_label, self._timeframe, self._calendar)
                self._parsed[file] = Success(frames)
            except FileDataError as error:
                self._parsed[file] = Failure(MarketDataError(error.code, error.message))
        return self._parsed[file]


def _listed(symbols: Sequence[Symbol]) -> str:
    shown = ", ".join(str(symbol) for symbol in symbols[:_SHOWN_SYMBOLS])
    if len(symbols) > _SHOWN_SYMBOLS:
        return f"{shown}, ... ({len(symbols)} in all)"
    return shown or "none"
