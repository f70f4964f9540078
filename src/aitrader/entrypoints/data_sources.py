"""What the `aitrader data` commands read from: the configuration their flags override, the
symbols and range they name, and the calendar, vendor chain, bar store and gate rules of it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from aitrader.application.data.chain import VendorChain
from aitrader.application.data.source import GatedMarketData
from aitrader.domain.market import Timeframe
from aitrader.domain.series import GateRules
from aitrader.domain.values import Symbol
from aitrader.entrypoints.config import Config, load_config
from aitrader.entrypoints.container import JournalUnavailableError
from aitrader.entrypoints.container.wiring import (
    LOCAL_VENDORS,
    VendorSetupError,
    gate_rules,
    open_bar_store,
    open_cache,
    open_chain,
)
from aitrader.entrypoints.inputs import EASTERN, RunFailedError, UserError, parse_moment
from aitrader.entrypoints.session import UNREACHABLE, build_container
from aitrader.ports.bar_cache import BarStore
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError

_FIRST_YEAR, _LAST_YEAR = 1900, 2200  # what the exchange calendar can lay out (pandas' ns range)


def data_config(config_file: Path | None, **options: Any) -> Config:
    keys = {"vendor": "data.vendor", "calendar": "data.calendar", "timeframe": "data.timeframe",
            "adjustment": "vendors.adjustment", "journal": "journal.url",
            "bar_label": "data.bar_label", "data": "data.path"}
    tree: dict[str, Any] = {}
    for option, key in keys.items():
        value = options.get(option)
        if value is None:
            continue
        section, leaf = key.split(".")
        tree.setdefault(section, {})[leaf] = str(value)
    return load_config(config_file, overrides=tree)


def within_calendar(day: date, flag: str) -> None:
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise UserError(f"{flag}: {day.isoformat()} is outside the years the calendar covers "
                        f"({_FIRST_YEAR}-{_LAST_YEAR})")


def timeframe_of(config: Config) -> Timeframe:
    try:
        return Timeframe.parse(config.data.timeframe or "1D")
    except ValueError as error:
        raise UserError(f"--timeframe: {error}") from None


def symbols_of(text: str | None, flag: str = "--symbols") -> list[Symbol]:
    if not text or not text.strip():
        raise UserError(f"{flag} is required")
    try:
        symbols = [Symbol.parse(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise UserError(f"{flag}: {error}") from None
    if not symbols:
        raise UserError(f"{flag} {text!r} names no symbol")
    if len(set(symbols)) != len(symbols):
        raise UserError(f"{flag}: a symbol is listed twice")
    return symbols


def range_of(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    first = parse_moment(start, is_end=False, what="--start")
    last = parse_moment(end, is_end=True, what="--end")
    if first is None or last is None:
        raise UserError("--start and --end are required")
    if first >= last:
        raise UserError(f"--start {start} is not before --end {end}")
    within_calendar(first.astimezone(EASTERN).date(), "--start")
    within_calendar(last.astimezone(EASTERN).date(), "--end")
    return first, last


def calendar_of(config: Config) -> Calendar:
    calendar: Calendar = build_container(config).calendar()
    return calendar


def chain_of(config: Config, spec: str) -> VendorChain:
    try:
        return open_chain(spec, config.to_dict()["vendors"], config.data.path,
                          config.data.bar_label, config.data.timeframe)
    except VendorSetupError as error:
        raise UserError(f"--vendor: {error}") from None


def check_data_read(config: Config, names: Sequence[str]) -> None:
    """Refuse --data when no vendor named reads it (only `files` does), as a backtest does,
    instead of ignoring the file and serving the vendors' bars as if they were its."""
    if config.data.path and "files" not in [name.strip().lower() for name in names]:
        raise UserError("--data is read only by the vendor 'files': name it (--vendor files "
                        "--data PATH, or a chain with files) or leave --data out")


def failed(error: MarketDataError) -> Exception:
    """Exit 1 when the data could not be had (a vendor unreachable, rate-limited or timing
    out, the cache unusable); exit 2 for bad input (a corrupt file, a symbol or timeframe no
    source has, a missing key), as a backtest on the same data decides."""
    if error.code in UNREACHABLE:
        return RunFailedError(error.message)
    return UserError(error.message)


def store_of(config: Config) -> BarStore:
    try:
        return open_bar_store(config.journal.url)
    except JournalUnavailableError as error:
        raise RunFailedError(str(error)) from None


def source_of(config: Config, spec: str, store: BarStore | None,
            rules: GateRules | None = None) -> GatedMarketData:
    return GatedMarketData(chain_of(config, spec), calendar_of(config),
                           open_cache(config.to_dict()["vendors"]), store, timeframe_of(config),
                           config.vendors.adjustment, rules or rules_of(config),
                           local=frozenset(LOCAL_VENDORS))


def rules_of(config: Config, max_age: float | None = None) -> GateRules:
    """The gate's rules from the configuration, judged as of now; with max_age (seconds) a
    feed whose newest passing bar is older is reported stale."""
    rules = gate_rules(config.to_dict()["vendors"], _now(config))
    if max_age is None:
        return rules
    if not (math.isfinite(max_age) and max_age > 0):
        raise UserError(f"--max-age must be a positive number of seconds, was {max_age}")
    # Exact: max_age * 1e9 would overflow a float for ages a float of seconds still holds.
    return attrs.evolve(rules, max_age_ns=int(Decimal(max_age) * 1_000_000_000))


def _now(config: Config) -> datetime:
    """The wall-clock time: no bar closing after it can be real."""
    moment: datetime = build_container(config).wall_clock().now()
    return moment
