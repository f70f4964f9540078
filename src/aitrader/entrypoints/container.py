"""The composition root: the only module that knows concrete adapters.

Modes differ only in the adapters selected here: a backtest steps a simulated clock with the
bars; local paper trading replays the bars through a stream paced by an accelerated clock.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from aitrader.adapters.calendars import open_calendar
from aitrader.adapters.clocks import AcceleratedClock, SteppingClock, SystemClock
from aitrader.adapters.files import FileMarketData
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.replay import ReplayBarStream
from aitrader.adapters.sample import sample_path
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.adapters.sql import upgrade as sql_upgrade
from aitrader.domain.market import Timeframe
from aitrader.domain.trading import CommissionModel, SlippageModel
from aitrader.ports.journal import Journal
from aitrader.ports.market_data import MarketData


class JournalUnavailableError(Exception):
    """The journal could not be opened; the message names the URL without its password."""


def open_journal(url: str) -> Journal:
    """Open (and on first use create) the journal at url."""
    opened = SqlJournal.open(url)
    journal = opened.value_or(None)
    if journal is None:
        raise JournalUnavailableError(str(opened.failure()))
    return journal


def _market_data(path: str | None, bar_label: str, timeframe: str | None) -> MarketData:
    frame_tf = Timeframe.parse(timeframe) if timeframe else None
    if path is None:
        return FileMarketData(sample_path(), bar_label="open", timeframe=frame_tf)
    return FileMarketData(Path(path), bar_label="close" if bar_label == "close" else "open",
                          timeframe=frame_tf)


def upgrade_journal(url: str) -> str:
    """Migrate the journal at url to the newest schema; returns the revision reached."""
    result = sql_upgrade(url)
    revision = result.value_or(None)
    if revision is None:
        raise JournalUnavailableError(str(result.failure()))
    return str(revision)


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
    calendar = providers.Singleton(open_calendar, config.data.calendar)
    ids = providers.Singleton(RunScopedIds)
    market_data = providers.Singleton(
        _market_data, path=config.data.path, bar_label=config.data.bar_label,
        timeframe=config.data.timeframe)
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
    journal = providers.Singleton(open_journal, url=config.journal.url)
    replay_stream = providers.Factory(ReplayBarStream, clock=clock)
