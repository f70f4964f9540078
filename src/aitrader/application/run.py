"""What every run shares: its specification, its opening and its closing books."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from returns.result import Failure, Result, Success

from aitrader.application.cycle import CycleSettings, TradingCycle
from aitrader.application.digest import RunDigest
from aitrader.domain.audit import RunManifest, RunSummary
from aitrader.domain.metrics import Metrics, RiskFigures, performance, risk_figures
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import Gate
from aitrader.domain.signals import SymbolModels
from aitrader.domain.strategies import Strategy, signal_names
from aitrader.domain.trading import Account, Fill, Order
from aitrader.domain.trading.round_trips import RoundTrip, round_trips
from aitrader.domain.values import Symbol
from aitrader.ports.broker import Broker
from aitrader.ports.clock import Clock, IdSource
from aitrader.ports.journal import Journal

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen
class RunSpec:
    """Everything a run needs besides its adapters."""

    mode: str
    strategy: Strategy
    symbols: tuple[Symbol, ...]
    cash: Decimal
    sizing: FixedFraction
    gates: tuple[Gate, ...]
    config: Mapping[str, object]
    code_version: str
    settings: CycleSettings = CycleSettings()
    # each symbol's fitted model schedules, for the kernels that read them
    models: Mapping[Symbol, SymbolModels] = attrs.field(factory=dict)
    # the fits done and refused per model the strategy reads (FitTally.report()), journaled
    # with the run's summary and reported with its result
    fits: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Adapters:
    """The ports a run talks through; `clock` is the run's time, `wall_clock` stamps the
    manifest with when the run really started and finished."""

    broker: Broker
    journal: Journal
    clock: Clock
    ids: IdSource
    wall_clock: Clock


@attrs.frozen
class RunError:
    """A run could not start or finish: code and one-line message."""

    code: str
    message: str


@attrs.frozen
class RunResult:
    """The outcome of a finished run, for reports and exports."""

    run_id: str
    mode: str
    strategy: str
    symbols: tuple[Symbol, ...]
    bars: int
    digest: str
    decisions_digest: str
    metrics: Metrics
    trades: tuple[RoundTrip, ...]
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    ts_ns: IntArray = attrs.field(eq=False, repr=False)
    equity: FloatArray = attrs.field(eq=False, repr=False)
    cash: FloatArray = attrs.field(eq=False, repr=False)
    risk: RiskFigures | None = None
    gross: FloatArray | None = attrs.field(default=None, eq=False, repr=False)
    net: FloatArray | None = attrs.field(default=None, eq=False, repr=False)
    fits: Mapping[str, Any] = attrs.field(factory=dict)
    """Fits done and refused per model the strategy reads (see RunSpec.fits)."""


def open_run(spec: RunSpec, adapters: Adapters, data_digest: str
             ) -> Result[tuple[TradingCycle, RunDigest], RunError]:
    """Reconcile with the broker, journal the manifest and build the cycle; nothing is written
    if the broker's account is not the one the run expects or the journal refuses."""
    expected = Account(spec.cash)
    found = adapters.broker.account()
    if isinstance(found, Failure):
        return Failure(RunError("broker", f"cannot read the broker account: {found.failure()}"))
    mismatch = ledger_difference(expected, found.unwrap())
    if mismatch:
        return Failure(RunError("unreconciled", f"the broker account is not the one this run "
                                                f"starts from: {mismatch}; not trading"))
    run_id = adapters.ids.run_id()
    digest = RunDigest()
    digest.manifest({k: v for k, v in spec.config.items() if k not in _NOT_DIGESTED}, data_digest)
    cycle = TradingCycle(
        run_id=run_id, strategy=spec.strategy, symbols=spec.symbols, cash=spec.cash,
        sizing=spec.sizing, gates=spec.gates, broker=adapters.broker, journal=adapters.journal,
        clock=adapters.clock, ids=adapters.ids, digest=digest,
        signal_names=signal_names(spec.strategy), settings=spec.settings)
    # read before the manifest is written: a run refused here never started, and must not
    # read as running for ever
    restored = cycle.risk.restore()
    if isinstance(restored, Failure):
        return Failure(RunError("journal", f"cannot read the risk state: {restored.failure()}"))
    manifest = RunManifest(run_id=run_id, mode=spec.mode, strategy=spec.strategy.name,
                           symbols=spec.symbols, config=spec.config, data_digest=data_digest,
                           code_version=spec.code_version, started_at=adapters.wall_clock.now())
    started = adapters.journal.start_run(manifest)
    if isinstance(started, Failure):
        return Failure(RunError("journal", str(started.failure())))
    return Success((cycle, digest))


# Where a run writes and how it is paced do not change what it decides.
_NOT_DIGESTED = frozenset({"mode", "journal", "output", "paper"})


def close_run(spec: RunSpec, adapters: Adapters, cycle: TradingCycle, digest: RunDigest,
              bars: int,
              curve: tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray],
              periods_per_year: float) -> Result[RunResult, RunError]:
    """Check the ledgers agree, compute metrics and digests, then journal the summary."""
    booked = adapters.broker.account()
    if isinstance(booked, Success):
        mismatch = ledger_difference(cycle.account, booked.unwrap())
        if mismatch:  # a bug, not a market event: fail loudly rather than report wrong numbers
            raise RuntimeError(f"the engine's ledger does not reconcile with the broker's: "
                               f"{mismatch}")
    cycle.risk.save(adapters.wall_clock.now())  # the peak and the day as the run left them
    ts_ns, equity, cash, gross, net, hhi = curve
    trips = tuple(round_trips(cycle.fills))
    commissions = float(sum((f.commission.amount for f in cycle.fills), Decimal(0)))
    metrics = performance(
        ts_ns=ts_ns, equity=equity, periods_per_year=periods_per_year,
        trade_pnls=np.array([float(t.net_pnl) for t in trips], dtype=np.float64),
        gross_exposure=gross, traded_notional=float(cycle.traded_notional),
        commissions=commissions)
    # Money figures come from the Decimal ledger, not from the float curve.
    final_equity, _gross = cycle.portfolio()
    metrics = attrs.evolve(metrics, final_equity=float(final_equity), commissions=commissions)
    risk = risk_figures(equity, gross, net, hhi)
    summary = RunSummary(run_id=cycle.run_id, status="finished", bars=bars, digest=digest.digest,
                         decisions_digest=digest.decisions_digest,
                         finished_at=adapters.wall_clock.now(),
                         metrics=metrics.to_dict() | {"risk": risk.to_dict(),
                                                      "models": dict(spec.fits)})
    finished = adapters.journal.finish_run(summary)
    if isinstance(finished, Failure):
        return Failure(RunError("journal", str(finished.failure())))
    return Success(RunResult(
        run_id=cycle.run_id, mode=spec.mode, strategy=spec.strategy.name, symbols=spec.symbols,
        bars=bars, digest=digest.digest, decisions_digest=digest.decisions_digest,
        metrics=metrics, trades=trips, orders=tuple(cycle.orders.values()),
        fills=tuple(cycle.fills), ts_ns=ts_ns, equity=equity, cash=cash, risk=risk,
        gross=gross, net=net, fits=spec.fits))


def guarded(adapters: Adapters, cycle: TradingCycle, reached: Callable[[], int],
            body: Callable[[], Result[RunResult, RunError]]) -> Result[RunResult, RunError]:
    """Run a started run's body; if it raises, journal the run as failed with the bars it had
    reached (`reached()`) and say why (an interrupted run too, which then goes on being
    interrupted)."""
    try:
        return body()
    except KeyboardInterrupt:  # Ctrl-C: the run must not read as running forever
        journal_failed(adapters, cycle.run_id, "interrupted", reached())
        raise
    except Exception as error:  # the run has started: record how it ended, then report it
        return failed_run(adapters, cycle.run_id, f"{type(error).__name__}: {error}", reached())


def failed_run(adapters: Adapters, run_id: str, reason: str, bars: int) -> Failure[RunError]:
    """A started run that cannot go on: journaled as failed with the reason and the bars it
    had reached, and reported."""
    journal_failed(adapters, run_id, reason, bars)
    return Failure(RunError("failed", f"run {run_id} failed: {reason}"))


def journal_failed(adapters: Adapters, run_id: str, reason: str, bars: int) -> None:
    """Mark a started run failed (with the records it buffered, if the journal takes them), so
    it does not read as running forever; `bars` are the bars it had taken in."""
    adapters.journal.finish_run(RunSummary(
        run_id=run_id, status="failed", bars=bars, digest="", decisions_digest="",
        finished_at=adapters.wall_clock.now(), metrics={"error": reason}))


def ledger_difference(ours: Account, theirs: Account) -> str:
    """'' when cash and every non-flat position agree exactly, else what differs."""
    problems = []
    if ours.cash != theirs.cash:
        problems.append(f"cash {ours.cash} here, {theirs.cash} at the broker")
    symbols = {s for s, p in ours.positions.items() if p.signed_qty} | {
        s for s, p in theirs.positions.items() if p.signed_qty}
    for symbol in sorted(symbols):
        here, there = ours.position(symbol).signed_qty, theirs.position(symbol).signed_qty
        if here != there:
            problems.append(f"{symbol} {here} here, {there} at the broker")
    return "; ".join(problems)


def frames_digest(digests: Sequence[str]) -> str:
    """One digest over per-symbol data digests, in symbol order."""
    return hashlib.sha256("|".join(digests).encode()).hexdigest()
