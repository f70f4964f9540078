"""Turning a validated configuration into a run: strategy, data, adapters, spec."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import structlog
from returns.result import Failure

from aitrader.application.backtest import run_backtest
from aitrader.application.cycle import CycleSettings
from aitrader.application.fits import FitTally
from aitrader.application.paper import run_paper
from aitrader.application.run import Adapters, RunResult, RunSpec, frames_digest
from aitrader.domain.market import Timeframe
from aitrader.domain.metrics import periods_per_year
from aitrader.domain.portfolio import FRACTIONAL_STEP, WHOLE, FixedFraction
from aitrader.domain.risk import Gate
from aitrader.domain.series import BarFrame, GateReport
from aitrader.domain.strategies import Strategy, build_strategy
from aitrader.domain.values import Symbol
from aitrader.entrypoints import risk_setup
from aitrader.entrypoints.config import Config
from aitrader.entrypoints.container import JournalUnavailableError, redact
from aitrader.entrypoints.container.wiring import Container, VendorSetupError
from aitrader.entrypoints.inputs import RunFailedError, UserError, parse_moment
from aitrader.entrypoints.modelling import fitted_models, signal_settings, with_sessions
from aitrader.entrypoints.reporting import unwritable_report
from aitrader.entrypoints.version import code_version
from aitrader.ports.market_data import MarketData

_log = structlog.get_logger(__name__)


@attrs.frozen
class Prepared:
    """A run ready to go: its spec, data and container."""

    spec: RunSpec
    frames: tuple[BarFrame, ...]
    container: Container
    config: Config
    quarantine: tuple[GateReport, ...] = ()
    """The gate's reports of bars kept out of the run, recorded under its id once it exists."""


def build_container(config: Config) -> Container:
    container = Container()
    container.config.from_dict(config.to_dict())
    return container


def _strategy(config: Config) -> Strategy:
    built = build_strategy(config.strategy.name, config.strategy.params, config.risk.allow_short,
                           signal_settings(config))
    if isinstance(built, Failure):
        raise UserError(built.failure().message)
    return built.unwrap()


def configured_strategy(config: Config) -> Strategy:
    """The configured strategy, built with the signal settings (UserError on a bad one)."""
    return _strategy(config)


def sessioned(container: Container, strategy: Strategy,
              frames: Sequence[BarFrame]) -> Strategy:
    """The strategy with the calendar's sessions for its higher-timeframe kernels, if any."""
    try:
        return with_sessions(container, strategy, frames)
    except ValueError as error:
        raise UserError(str(error)) from None


def load_frames(container: Container, config: Config) -> tuple[BarFrame, ...]:
    """The configured symbols' bars (UserError naming any problem)."""
    frames, quarantine = _frames(container, config)
    _say_quarantined(quarantine)
    return frames


def _say_quarantined(quarantine: Sequence[GateReport]) -> None:
    """The gate's quarantine, said once, when the bars are used (not when input is refused)."""
    for report in quarantine:
        _log.warning("data.quarantined", symbol=str(report.symbol), source=report.source,
                     bars=len(report.quarantined), reasons=report.counts)


def _frames(container: Container, config: Config, for_run: bool = False,
            ) -> tuple[tuple[BarFrame, ...], tuple[GateReport, ...]]:
    start = parse_moment(config.data.start, is_end=False, what="--start (data.start)")
    end = parse_moment(config.data.end, is_end=True, what="--end (data.end)")
    if start is not None and end is not None and start >= end:
        raise UserError(f"--start (data.start) {config.data.start} is not before --end "
                        f"(data.end) {config.data.end}")
    if config.data.timeframe:
        try:
            Timeframe.parse(config.data.timeframe)
        except ValueError as error:
            raise UserError(f"--timeframe (data.timeframe): {error}") from None
    market_data = _open_market_data(container, config, for_run)
    if config.data.symbols is not None and not config.data.symbols:
        raise UserError("--symbols (data.symbols): no symbol given (leave it out for every "
                        "symbol in the data)")
    if config.data.symbols:
        try:
            symbols = [Symbol.parse(s) for s in config.data.symbols]
        except ValueError as error:
            raise UserError(f"--symbols (data.symbols): {error}") from None
    else:
        listed = market_data.symbols()
        if isinstance(listed, Failure):
            raise UserError(listed.failure().message)
        symbols = list(listed.unwrap())
    if len(set(symbols)) != len(symbols):
        raise UserError("--symbols (data.symbols): a symbol is listed twice")
    if not symbols:
        raise UserError(f"no symbols found in {market_data.describe()}")
    frames = []
    for symbol in symbols:
        loaded = market_data.bars(symbol, None, start, end)
        if isinstance(loaded, Failure):
            if loaded.failure().code in UNREACHABLE:  # a vendor that could not serve
                raise RunFailedError(loaded.failure().message)
            raise UserError(loaded.failure().message)
        frame = loaded.unwrap()
        if len(frame) == 0:
            raise UserError(_no_bars(symbol, market_data, config))
        frames.append(frame)
    quarantine = tuple(r for r in getattr(market_data, "reports", ()) if r.quarantined)
    if len({f.timeframe for f in frames}) > 1:
        raise UserError("all symbols must share one timeframe; got "
                        + ", ".join(f"{f.symbol}={f.timeframe.value}" for f in frames))
    return tuple(frames), quarantine


def _no_bars(symbol: Symbol, market_data: MarketData, config: Config) -> str:
    """Why a symbol has no bars to run on: none in the range, or every one quarantined (then
    how many, the first one's reason and moment, and the command that lists them all)."""
    where = f"no bars for {symbol} in {market_data.describe()}"
    data = config.data
    reports = [r for r in getattr(market_data, "reports", ()) if r.symbol == symbol]
    if not reports or not reports[-1].quarantined:
        return f"{where} between {data.start or 'the start'} and {data.end or 'the end'}"
    if data.start or data.end:
        where += f" between {data.start or 'the start'} and {data.end or 'the end'}"
    kept_out = reports[-1].quarantined  # the report of the request that came back empty
    first = kept_out[0]
    when = f"closing {first.ts_close.isoformat()}" if first.ts_close else \
        f"bar {first.row + 1} of the feed"
    if data.path:
        listed = f"aitrader data validate {data.path}"
    elif data.vendor and data.start and data.end:
        listed = (f"aitrader data validate {data.start}..{data.end} --vendor {data.vendor} "
                  f"--symbols {symbol}")
    else:
        listed = "aitrader data validate"
    if data.calendar.upper() not in ("XNYS", "NYSE"):  # (the default, by either name)
        listed += f" --calendar {data.calendar}"
    if data.bar_label != "open":
        listed += f" --bar-label {data.bar_label}"
    return (f"{where}: all {len(kept_out)} were quarantined by the data gate, the first "
            f"({when}) as {first.reason}; `{listed}` lists them")


UNREACHABLE = frozenset({"unavailable", "rate_limited", "timeout", "cache_unwritable",
                         "cache_unreadable", "cache_corrupt"})
"""Market-data error codes that mean the source could not serve (exit 1), not bad input."""


def _open_market_data(container: Container, config: Config, for_run: bool) -> MarketData:
    """The configured source: files (--data), the sample, or a vendor chain (--vendor)."""
    vendor = config.data.vendor
    if vendor and config.data.path and "files" not in vendor.lower():
        raise UserError("--vendor and --data are alternatives: give one (or --vendor files "
                        "--data PATH)")
    try:
        market_data: MarketData = (container.run_market_data() if for_run
                                   else container.market_data())
    except VendorSetupError as error:
        raise UserError(f"--vendor: {error}") from None
    except JournalUnavailableError as error:
        raise RunFailedError(str(error)) from None
    return market_data


def prepare(config: Config) -> Prepared:
    """Validate everything that can be validated before anything is written."""
    if config.mode == "live":
        raise UserError("live trading is not available yet: it needs the Alpaca broker adapter; "
                        "use `aitrader paper --replay` or `aitrader backtest`")
    strategy = _strategy(config)
    container = build_container(config)
    frames, quarantine = _frames(container, config, for_run=True)
    strategy = sessioned(container, strategy, frames)
    gates = risk_setup.build_gates(config)
    try:
        spec = _spec(config, strategy, container, frames, gates)
        tally = FitTally()
        models = fitted_models(container, config, strategy, frames, tally)
        spec = attrs.evolve(spec, models=models, fits=tally.report())
    except ValueError as error:  # a value the domain refuses that the config did not catch
        raise UserError(f"invalid configuration: {error}") from None
    out = Path(config.output.dir)  # judged, not made: export makes it once the run is done
    problem = unwritable_report(out)
    if problem is not None:
        raise UserError(f"--out {out}: {problem}")
    _say_quarantined(quarantine)
    return Prepared(spec, frames, container, config, quarantine)


def _spec(config: Config, strategy: Strategy, container: Container,
          frames: Sequence[BarFrame], gates: Sequence[Gate]) -> RunSpec:
    broker = config.broker
    calendar = container.calendar()
    return RunSpec(
        mode=config.mode, strategy=strategy, symbols=tuple(f.symbol for f in frames),
        cash=broker.cash,
        sizing=FixedFraction(fraction=config.portfolio.fraction, slots=len(frames),
                             commission=container.commission(), slippage=container.slippage(),
                             step=FRACTIONAL_STEP if broker.fractional else WHOLE,
                             max_position_fraction=config.risk.max_position_fraction),
        gates=tuple(gates), config=manifest_config(config, strategy, frames),
        code_version=code_version(),
        # Backtests are re-creatable from their inputs; any other mode persists each intent
        # before the broker hears of it.
        settings=CycleSettings(
            flush_before_submit=config.mode != "backtest",
            margin_multiplier=broker.margin_multiplier, scaler=risk_setup.scaler(config),
            order_types=risk_setup.order_types(config),
            risk=risk_setup.risk_settings(config, calendar, container.new_account()),
            allocation=risk_setup.allocation(config),
            session_of=risk_setup.session_of(calendar, frames[0].timeframe.is_intraday),
            periods_per_year=periods_per_year(
                np.concatenate([f.ts_close for f in frames]),
                intraday=frames[0].timeframe.is_intraday, every_day=calendar.name == "24/7"),
            vol_lookback=config.portfolio.vol_lookback, exits=risk_setup.exits(config)))


def manifest_config(
    config: Config, strategy: Strategy, frames: Sequence[BarFrame]
) -> dict[str, Any]:
    """The configuration as journaled: resolved values, symbols, strategy params, no secrets."""
    resolved = config.to_dict()
    resolved["journal"] = {"url": redact(config.journal.url)}
    resolved["strategy"] = {"name": strategy.name,
                            "params": dict(strategy.params())}
    resolved["data"]["symbols"] = [str(f.symbol) for f in frames]
    resolved["data"]["timeframe"] = frames[0].timeframe.value
    resolved["data"].pop("path", None)
    if not config.data.vendor:  # runs on files keep the manifest (and digest) they always had
        resolved["data"].pop("vendor", None)
        resolved.pop("vendors", None)
    return resolved


def execute(prepared: Prepared, progress: Callable[[int, int], None] | None) -> RunResult:
    """Open the journal and run; journal problems and run failures raise RunFailedError."""
    container = prepared.container
    try:
        journal = container.journal()
    except Exception as error:  # the container reports a journal it cannot open
        raise RunFailedError(str(error)) from None
    # the simulated venue judges sessions as the cycle does: outside the regular session only
    # extended-hours orders trade
    container.simulated_broker.add_kwargs(session_of=prepared.spec.settings.session_of)
    adapters = Adapters(broker=container.broker(), journal=journal, clock=container.clock(),
                        ids=container.ids(), wall_clock=container.wall_clock())
    if prepared.config.mode == "paper":
        stream = container.replay_stream(frames=prepared.frames)
        data_digest = frames_digest([f.digest() for f in prepared.frames])
        ppy = prepared.spec.settings.periods_per_year or 252.0
        total = sum(len(f) for f in prepared.frames)
        ticker = (lambda done: progress(done, total)) if progress else None
        result = run_paper(prepared.spec, stream, data_digest, adapters, ppy, ticker)
    else:
        result = run_backtest(prepared.spec, prepared.frames, adapters, progress)
    if isinstance(result, Failure):
        raise RunFailedError(result.failure().message)
    finished = result.unwrap()
    if prepared.quarantine:
        recorded = container.bar_store().record_quarantine(finished.run_id, prepared.quarantine)
        if isinstance(recorded, Failure):
            raise RunFailedError(f"run {finished.run_id} finished and is journaled, but the bars "
                                 f"it kept out could not be recorded: "
                                 f"{recorded.failure().message}")
    return finished

