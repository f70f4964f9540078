"""The composition root's wiring: the Container and the adapters it selects.

Modes differ only in the adapters selected here: a backtest steps a simulated clock with the
bars; local paper trading replays the bars through a stream paced by an accelerated clock.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx
import numpy as np
from dependency_injector import containers, providers
from returns.result import Result

from aitrader.adapters.calendars import XnysCalendar, open_calendar
from aitrader.adapters.clocks import AcceleratedClock, SteppingClock, SystemClock
from aitrader.adapters.files import FileBars, FileDataError, FileMarketData, read_raw
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.models import LibraryModelFitter
from aitrader.adapters.parquet import ParquetBarCache
from aitrader.adapters.replay import ReplayBarStream
from aitrader.adapters.sample import sample_path
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlBarStore
from aitrader.adapters.vendors import (
    DEFAULT_BASE_URLS,
    DEFAULT_STREAM_URL,
    AlpacaBarStream,
    AlpacaVendor,
    AlphaVantageVendor,
    FinnhubVendor,
    TwelveDataVendor,
    VendorSettings,
    YahooVendor,
)
from aitrader.application.data.chain import RetryPolicy, VendorChain
from aitrader.application.data.source import GatedMarketData, SessionGatedMarketData
from aitrader.application.data.wrap import MarketDataVendor
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, GateReport, GateRules, to_ns
from aitrader.domain.trading import CommissionModel, SlippageModel
from aitrader.domain.values import Symbol
from aitrader.entrypoints.container import open_journal, opened
from aitrader.ports.bar_cache import BarCache, BarStore
from aitrader.ports.calendar import Calendar
from aitrader.ports.errors import MarketDataError
from aitrader.ports.market_data import MarketData
from aitrader.ports.vendor import BarVendor


@functools.cache
def exchange_calendar() -> XnysCalendar:
    """The exchange whose sessions daily bars span (the same whatever calendar judges them):
    every source stamps a daily bar with its daily_session, 13:00 New York on an early close."""
    return XnysCalendar()


def _market_data(path: str | None, bar_label: str, timeframe: str | None,
                 vendor: str | None = None, vendors: Mapping[str, Any] | None = None,
                 calendar: Calendar | None = None, journal_url: str | None = None,
                 ) -> MarketData:
    if vendor:
        if vendors is None or calendar is None:
            raise VendorSetupError("--vendor needs the vendors configuration and a calendar")
        store = LazyBarStore(journal_url) if journal_url else None
        return gated_market_data(vendor, path, bar_label, timeframe, calendar, vendors, store)
    frame_tf = Timeframe.parse(timeframe) if timeframe else None
    files = FileMarketData(sample_path() if path is None else Path(path),
                           bar_label="close" if path and bar_label == "close" else "open",
                           timeframe=frame_tf, calendar=exchange_calendar())
    if calendar is None:
        return files
    store = LazyBarStore(journal_url) if journal_url else None
    rules = gate_rules(vendors or {}, SystemClock().now())  # no bar can close after now
    return SessionGatedMarketData(files, calendar, rules, store)


# --- market data vendors (issue 5) ---------------------------------------------------------

HTTP_VENDORS = ("alpaca", "alphavantage", "finnhub", "twelvedata", "yahoo")
LOCAL_VENDORS = ("sample", "files")


class VendorSetupError(Exception):
    """A vendor cannot be set up as asked (unknown name, files without a path, ...)."""


def vendor_settings(name: str, vendors: Mapping[str, Any],
                    environ: Mapping[str, str] | None = None) -> VendorSettings:
    """A vendor's base URL (AITRADER_<VENDOR>_BASE_URL, else vendors.<name>.base_url, else
    the vendor's own) and credentials (AITRADER_<VENDOR>_API_KEY, ..._API_SECRET)."""
    env = os.environ if environ is None else environ
    prefix = f"AITRADER_{name.upper()}_"
    configured = (vendors.get(name) or {}).get("base_url")
    return VendorSettings(
        base_url=env.get(prefix + "BASE_URL") or configured or DEFAULT_BASE_URLS[name],
        api_key=env.get(prefix + "API_KEY") or None,
        api_secret=env.get(prefix + "API_SECRET") or None,
        timeout_s=float(vendors.get("timeout_s", 10.0)))


def open_vendor(name: str, vendors: Mapping[str, Any], path: str | None = None,
                bar_label: str = "open", timeframe: str | None = None,
                environ: Mapping[str, str] | None = None,
                transport: httpx.BaseTransport | None = None) -> BarVendor:
    """The vendor called name (see HTTP_VENDORS and LOCAL_VENDORS)."""
    if name == "sample":
        return MarketDataVendor("sample", _market_data(None, "open", timeframe))
    if name == "files":
        if not path:
            raise VendorSetupError("vendor 'files' needs --data PATH")
        return MarketDataVendor("files", _market_data(path, bar_label, timeframe))
    if name not in HTTP_VENDORS:
        raise VendorSetupError(f"unknown vendor {name!r}; known: "
                               f"{', '.join(HTTP_VENDORS + LOCAL_VENDORS)}")
    settings = vendor_settings(name, vendors, environ)
    daily = exchange_calendar()
    if name == "alpaca":
        return AlpacaVendor(settings, calendar=daily)
    if name == "alphavantage":
        return AlphaVantageVendor(settings, transport, calendar=daily)
    if name == "finnhub":
        return FinnhubVendor(settings, transport, calendar=daily)
    if name == "twelvedata":
        return TwelveDataVendor(settings, transport, calendar=daily)
    return YahooVendor(settings, transport, calendar=daily)


def vendor_names(spec: str) -> list[str]:
    """A comma-separated chain of vendor names, checked."""
    names = [part.strip().lower() for part in spec.split(",") if part.strip()]
    if not names:
        raise VendorSetupError("no vendor named")
    if len(set(names)) != len(names):
        raise VendorSetupError(f"vendor chain {spec!r} names a vendor twice")
    for name in names:
        if name not in HTTP_VENDORS + LOCAL_VENDORS:
            raise VendorSetupError(f"unknown vendor {name!r}; known: "
                                   f"{', '.join(HTTP_VENDORS + LOCAL_VENDORS)}")
    return names


def open_chain(spec: str, vendors: Mapping[str, Any], path: str | None = None,
               bar_label: str = "open", timeframe: str | None = None,
               environ: Mapping[str, str] | None = None) -> VendorChain:
    """An ordered vendor chain with the configured retries, backoff and breakers."""
    chain = [open_vendor(n, vendors, path, bar_label, timeframe, environ)
             for n in vendor_names(spec)]
    policy = RetryPolicy(attempts=int(vendors.get("attempts", 3)),
                         base_s=float(vendors.get("backoff_s", 0.5)),
                         threshold=int(vendors.get("breaker_failures", 3)),
                         cooldown_s=float(vendors.get("breaker_cooldown_s", 60.0)))
    jitter = np.random.default_rng().random  # backoff jitter only; never reaches a decision
    return VendorChain(chain, SystemClock(), time.sleep, jitter, policy)


def open_bar_stream(symbols: Sequence[Symbol], vendors: Mapping[str, Any],
                    environ: Mapping[str, str] | None = None) -> AlpacaBarStream:
    """Alpaca's live minute bars (AITRADER_ALPACA_STREAM_URL, else vendors.alpaca.stream_url,
    else Alpaca's own for the configured feed)."""
    env = os.environ if environ is None else environ
    settings = vendor_settings("alpaca", vendors, env)
    feed = str(vendors.get("feed", "iex"))
    configured = (vendors.get("alpaca") or {}).get("stream_url")
    url = (env.get("AITRADER_ALPACA_STREAM_URL") or configured
           or DEFAULT_STREAM_URL.removesuffix("/iex") + f"/{feed}")
    return AlpacaBarStream(attrs.evolve(settings, base_url=url), symbols, feed)


def open_cache(vendors: Mapping[str, Any]) -> BarCache:
    return ParquetBarCache(Path(str(vendors.get("cache_dir", ".aitrader/cache"))))


def open_bar_store(url: str) -> BarStore:
    return opened(SqlBarStore.open(url))


def gate_rules(vendors: Mapping[str, Any], as_of: datetime | None = None) -> GateRules:
    """The gate's tolerances; with as_of, bars closing after it are quarantined (a vendor
    cannot know a bar that has not closed yet)."""
    return GateRules(max_jump=float(vendors.get("max_jump", 0.5)),
                     as_of_ns=None if as_of is None else to_ns(as_of))


class LazyBarStore(BarStore):
    """The journal's bar tables, opened on first write, so a run refused before it records
    anything leaves no journal behind."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: BarStore | None = None

    def _open(self) -> BarStore:
        if self._store is None:
            self._store = open_bar_store(self._url)
        return self._store

    def write_bars(self, source: str, frame: BarFrame) -> Result[int, MarketDataError]:
        """Insert or replace frame's bars for source; return how many were written."""
        return self._open().write_bars(source, frame)

    def record_quarantine(self, run_id: str | None,
                          reports: Sequence[GateReport]) -> Result[int, MarketDataError]:
        """Record every quarantined bar with its reason and source; return how many."""
        return self._open().record_quarantine(run_id, reports)


def gated_market_data(spec: str, path: str | None, bar_label: str, timeframe: str | None,
                      calendar: Calendar, vendors: Mapping[str, Any],
                      store: BarStore | None) -> GatedMarketData:
    """Bars from a vendor chain through the Parquet cache and the gate."""
    chain = open_chain(spec, vendors, path, bar_label, timeframe)
    tf = Timeframe.parse(timeframe) if timeframe else Timeframe.DAY_1
    return GatedMarketData(chain, calendar, open_cache(vendors), store, tf,
                           str(vendors.get("adjustment", "raw")),
                           gate_rules(vendors, SystemClock().now()), local=frozenset(LOCAL_VENDORS))


def raw_file_bars(path: str, bar_label: str, timeframe: str | None) -> list[FileBars]:
    """A bar file's (or directory's) bars as written, unjudged, one per symbol, each with the
    file it came from and where each bar is in it."""
    root = Path(path)
    if not root.exists():
        raise VendorSetupError(f"{path}: no such file or directory")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in (".csv", ".parquet", ".pq")
                   and not p.name.startswith(".")) if root.is_dir() else [root]
    if not files:
        raise VendorSetupError(f"{path}: no CSV or Parquet files in it")
    tf = Timeframe.parse(timeframe) if timeframe else None
    label: Literal["open", "close"] = "close" if bar_label == "close" else "open"
    found: dict[Symbol, FileBars] = {}
    source: dict[Symbol, Path] = {}
    for file in files:
        try:
            raws = read_raw(file, label, tf, exchange_calendar())
        except FileDataError as error:
            raise VendorSetupError(error.message) from None
        for symbol, raw in raws.items():
            # refused as the file market data refuses it (`backtest --data DIR`)
            if symbol in source:
                raise VendorSetupError(f"{root}: symbol {symbol} is in both {source[symbol]} "
                                       f"and {file}")
            found[symbol], source[symbol] = raw, file
    return list(found.values())


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


class Container(containers.DeclarativeContainer):
    """Adapters selected by the validated configuration (see entrypoints.config.Config)."""

    config = providers.Configuration(strict=True)

    clock = providers.Selector(
        config.mode,
        backtest=providers.Singleton(SteppingClock),
        paper=providers.Singleton(AcceleratedClock, speed=config.paper.speed),
    )
    wall_clock = providers.Singleton(SystemClock)
    calendar = providers.Singleton(open_calendar, config.data.calendar,
                                   providers.Callable(exchange_calendar))
    ids = providers.Singleton(RunScopedIds)
    market_data = providers.Singleton(
        _market_data, path=config.data.path, bar_label=config.data.bar_label,
        timeframe=config.data.timeframe, vendor=config.data.vendor, vendors=config.vendors,
        calendar=calendar, journal_url=config.journal.url)
    # A run's data: the same source, recording nothing while it loads (the run does not exist
    # yet); the run records its quarantine under its own id once it does (`bar_store`).
    run_market_data = providers.Singleton(
        _market_data, path=config.data.path, bar_label=config.data.bar_label,
        timeframe=config.data.timeframe, vendor=config.data.vendor, vendors=config.vendors,
        calendar=calendar, journal_url=None)
    bar_store = providers.Singleton(LazyBarStore, config.journal.url)
    commission = providers.Singleton(
        CommissionModel,
        per_share=providers.Callable(_decimal, config.broker.commission_per_share),
        per_order=providers.Callable(_decimal, config.broker.commission_per_order),
        percent=providers.Callable(_decimal, config.broker.commission_pct))
    slippage = providers.Singleton(
        SlippageModel, bps=providers.Callable(_decimal, config.broker.slippage_bps))
    simulated_broker = providers.Singleton(
        SimulatedBroker,
        cash=providers.Callable(_decimal, config.broker.cash),
        commission=commission,
        slippage=slippage,
        fill_at=config.broker.fill_at,
        allow_short=config.risk.allow_short,
        fractional=config.broker.fractional,
        margin_multiplier=providers.Callable(_decimal, config.broker.margin_multiplier),
    )
    broker = providers.Selector(config.mode, backtest=simulated_broker, paper=simulated_broker)
    # whether that broker's account is opened afresh for each run (the simulated one is, from
    # broker.cash): then the durable risk state's equity marks are an earlier account's
    new_account = providers.Selector(config.mode, backtest=providers.Object(True),
                                     paper=providers.Object(True))
    journal = providers.Singleton(open_journal, url=config.journal.url)
    replay_stream = providers.Factory(ReplayBarStream, clock=clock)
    model_fitter = providers.Singleton(LibraryModelFitter)
