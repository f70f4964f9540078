"""Properties of the whole engine: the real cycle, SimulatedBroker and SqlJournal on random walks.

Every example builds seeded random-walk BarFrames (1-3 symbols, 60-300 daily or one-minute
bars, some symbols starting late or skipping bars), runs the real backtest (and, where asked,
the paper replay) into one SQLite journal per module, and checks accounting, causality and
determinism against what the run journaled and what the broker booked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import attrs
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from returns.result import Result

from aitrader.adapters.clocks import AcceleratedClock, SteppingClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.replay import ReplayBarStream
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.application.backtest import run_backtest
from aitrader.application.paper import run_paper
from aitrader.application.run import Adapters, RunResult, RunSpec, frames_digest
from aitrader.domain.market import Timeframe
from aitrader.domain.portfolio import FRACTIONAL_STEP, WHOLE, FixedFraction
from aitrader.domain.risk import BuyingPower, Gate, LongOnly, MaxPositionFraction
from aitrader.domain.series import BarFrame, find_bad_bars, from_ns, to_ns
from aitrader.domain.strategies import BarByBar, Strategy
from aitrader.domain.strategies.breakout import Breakout
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import (
    Account,
    CommissionModel,
    Fill,
    Order,
    OrderStatus,
    SlippageModel,
)
from aitrader.domain.values import Symbol
from aitrader.ports.errors import BrokerError
from tests.fakes import DelegatingBroker

MINUTE_NS = 60 * 1_000_000_000
DAY_NS = 86_400 * 1_000_000_000
SESSION_NS = 390 * MINUTE_NS
FIRST_OPEN_NS = to_ns(datetime(2024, 1, 8, 14, 30, tzinfo=UTC))  # a Monday, 09:30 New York
WALL_START = datetime(2030, 1, 1, tzinfo=UTC)  # manifests' wall time: fixed, never read
SYMBOLS = (Symbol("AAA"), Symbol("BBB"), Symbol("CCC"))
CASH = Decimal(100_000)
ENGINE = settings(max_examples=25, deadline=None)

FillAt = Literal["open", "close"]
FILL_AT: tuple[FillAt, ...] = ("open", "close")


# -- data ---------------------------------------------------------------------------------------


def random_walk_frames(
    seed: int, symbols: int, bars: int, timeframe: Timeframe, gaps: bool
) -> list[BarFrame]:
    """Seeded random walks with valid OHLC on a weekday grid; a symbol may start late or skip."""
    rng = np.random.default_rng(seed)
    step = np.arange(bars, dtype=np.int64)
    if timeframe is Timeframe.DAY_1:
        day, minute = step, np.zeros(bars, dtype=np.int64)
        length, sigma = SESSION_NS, 0.02
    else:
        day, minute = np.divmod(step, 390)
        length, sigma = MINUTE_NS, 0.002
    ts_open = FIRST_OPEN_NS + ((day // 5) * 7 + day % 5) * DAY_NS + minute * MINUTE_NS
    frames = []
    for symbol in SYMBOLS[:symbols]:
        keep = np.zeros(bars, dtype=np.bool_)
        keep[int(rng.integers(0, bars // 4 + 1)):] = True
        if gaps:
            keep &= rng.random(bars) > 0.1
        n = int(keep.sum())
        first = float(rng.uniform(5.0, 400.0))
        close = np.maximum(np.round(first * np.exp(np.cumsum(rng.normal(0.0, sigma, n))), 2),
                           0.01)
        previous = np.concatenate(([first], close[:-1]))
        open_ = np.maximum(np.round(previous * (1 + rng.normal(0.0, sigma / 2, n)), 2), 0.01)
        spread = np.abs(rng.normal(0.0, sigma / 2, n)) * close
        high = np.round(np.maximum(open_, close) + spread, 2)
        low = np.maximum(np.round(np.minimum(open_, close) - spread, 2), 0.01)
        volume = rng.integers(100, 100_000, n).astype(np.float64)
        assert not find_bad_bars(ts_open[keep] + length, open_, high, low, close, volume)
        frames.append(BarFrame(symbol=symbol, timeframe=timeframe, ts_open=ts_open[keep],
                               ts_close=ts_open[keep] + length, open=open_, high=high, low=low,
                               close=close, volume=volume))
    return frames


# -- scenarios ----------------------------------------------------------------------------------


@attrs.frozen
class Scenario:
    """One run's data and configuration, drawn by Hypothesis."""

    seed: int
    symbols: int
    bars: int
    timeframe: Timeframe
    gaps: bool
    strategy: Strategy
    allow_short: bool
    fill_at: FillAt
    commission: CommissionModel
    slippage: SlippageModel
    fraction: Decimal
    fractional: bool

    def frames(self) -> list[BarFrame]:
        return random_walk_frames(self.seed, self.symbols, self.bars, self.timeframe, self.gaps)

    def spec(self, frames: Sequence[BarFrame], mode: str = "backtest") -> RunSpec:
        """The run as the session would configure it (same gates, sizing and manifest)."""
        gates: list[Gate] = [MaxPositionFraction(Decimal(1)), BuyingPower()]
        if not self.allow_short:
            gates.insert(0, LongOnly())
        return RunSpec(
            mode=mode, strategy=self.strategy, symbols=tuple(f.symbol for f in frames),
            cash=CASH,
            sizing=FixedFraction(self.fraction, len(frames), self.commission, self.slippage,
                                 step=FRACTIONAL_STEP if self.fractional else WHOLE),
            gates=tuple(gates),
            config={"mode": mode, "strategy": self.strategy.name,
                    "params": dict(self.strategy.params()), "fill_at": self.fill_at},
            code_version="test")

    def broker(self) -> SimulatedBroker:
        return SimulatedBroker(cash=CASH, commission=self.commission, slippage=self.slippage,
                               fill_at=self.fill_at, allow_short=self.allow_short,
                               fractional=self.fractional)


def strategies_named(name: str, allow_short: bool) -> st.SearchStrategy[Strategy]:
    """Short-period strategies, so a few hundred bars trade often."""
    if name == "sma_cross":
        return st.integers(2, 6).flatmap(lambda fast: st.builds(
            SmaCross, fast=st.just(fast), slow=st.integers(fast + 1, fast + 15),
            allow_short=st.just(allow_short)))
    return st.builds(Breakout, entry=st.integers(2, 15), atr=st.integers(1, 10),
                     atr_mult=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
                     allow_short=st.just(allow_short))


@st.composite
def scenarios(
    draw: st.DrawFn, *, strategy: str | None = None, allow_short: bool | None = None,
    fill_at: FillAt | None = None, frictionless_all_in: bool = False, symbols: int | None = None,
) -> Scenario:
    """A scenario; the keyword arguments pin what a property needs pinned."""
    short = draw(st.booleans()) if allow_short is None else allow_short
    name = strategy or draw(st.sampled_from(["sma_cross", "breakout"]))
    if frictionless_all_in:
        commission = CommissionModel(per_order=draw(st.sampled_from(["0", "1", "4.95"])))
        slippage, fraction, fractional = SlippageModel(), Decimal(1), False
    else:
        commission = CommissionModel(
            per_share=draw(st.sampled_from(["0", "0.005"])),
            per_order=draw(st.sampled_from(["0", "1"])),
            percent=draw(st.sampled_from(["0", "0.1"])))
        slippage = SlippageModel(draw(st.sampled_from(["0", "5"])))
        fraction = Decimal(draw(st.sampled_from(["0.5", "1"])))
        fractional = draw(st.booleans())
    return Scenario(
        seed=draw(st.integers(0, 2**32 - 1)),
        symbols=symbols or draw(st.integers(1, 3)),
        bars=draw(st.integers(60, 300)),
        timeframe=draw(st.sampled_from([Timeframe.DAY_1, Timeframe.MINUTE_1])),
        gaps=draw(st.booleans()),
        strategy=draw(strategies_named(name, short)),
        allow_short=short,
        fill_at=draw(st.sampled_from(FILL_AT)) if fill_at is None else fill_at,
        commission=commission, slippage=slippage, fraction=fraction, fractional=fractional)


# -- running ------------------------------------------------------------------------------------


@attrs.frozen
class Sent:
    """An order as it reached the venue, with the venue's state just before it arrived."""

    order: Order
    position_after: Decimal  # held + open orders + this order, signed
    account: Account
    open_orders: int
    buying_power: Decimal


class WatchedBroker(DelegatingBroker):
    """A SimulatedBroker that remembers, for every order sent, what it would leave and when."""

    def __init__(self, inner: SimulatedBroker) -> None:
        super().__init__(inner)
        self.sent: list[Sent] = []

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        account = self.inner.account().unwrap()
        waiting = self.inner.open_orders().unwrap()
        pending = sum((o.leaves_qty * o.side.sign for o in waiting if o.symbol == order.symbol),
                      Decimal(0))
        after = account.position(order.symbol).signed_qty + pending + order.intent.signed_qty
        self.sent.append(Sent(order, after, account, len(waiting), self.inner.buying_power()))
        return self.inner.submit(order)


@attrs.frozen
class Run:
    result: RunResult
    broker: WatchedBroker


def backtest(scenario: Scenario, frames: Sequence[BarFrame], journal: SqlJournal) -> Run:
    broker = WatchedBroker(scenario.broker())
    adapters = Adapters(broker=broker, journal=journal, clock=SteppingClock(), ids=RunScopedIds(),
                        wall_clock=SteppingClock(WALL_START))
    return Run(run_backtest(scenario.spec(frames), frames, adapters).unwrap(), broker)


def paper(scenario: Scenario, frames: Sequence[BarFrame], journal: SqlJournal) -> Run:
    broker = WatchedBroker(scenario.broker())
    clock = AcceleratedClock(speed=0)
    adapters = Adapters(broker=broker, journal=journal, clock=clock, ids=RunScopedIds(),
                        wall_clock=SteppingClock(WALL_START))
    result = run_paper(scenario.spec(frames, "paper"), ReplayBarStream(frames, clock),
                       frames_digest([f.digest() for f in frames]), adapters,
                       frames[0].timeframe.periods_per_year)
    return Run(result.unwrap(), broker)


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlJournal]:
    """One SQLite journal shared by every example of the module (run ids never repeat)."""
    path: Path = tmp_path_factory.mktemp("engine") / "journal.db"
    opened = SqlJournal.open(f"sqlite:///{path}").unwrap()
    yield opened
    opened.close()


DecisionKey = tuple[datetime, Symbol, float, Decimal, str]


def decision_keys(journal: SqlJournal, run_id: str) -> list[DecisionKey]:
    return [(d.ts, d.symbol, d.target_exposure, d.target_qty, d.action)
            for d in journal.decisions(run_id).unwrap()]


def execution(fill: Fill) -> tuple[object, ...]:
    """A fill without its ids (run ids differ from run to run)."""
    return (fill.symbol, fill.side, fill.last_qty, fill.last_px, fill.commission, fill.ts_event)


def booked_at(fill: Fill, frames: Sequence[BarFrame], fill_at: FillAt) -> int:
    """The stamp at which the cycle learns of a fill: the close of the bar it executed in."""
    frame = next(f for f in frames if f.symbol == fill.symbol)
    edge = frame.ts_open if fill_at == "open" else frame.ts_close
    i = int(np.searchsorted(edge, to_ns(fill.ts_event)))
    assert edge[i] == to_ns(fill.ts_event), f"{fill} is not at a bar's {fill_at}"
    return int(frame.ts_close[i])


# -- properties ---------------------------------------------------------------------------------


@ENGINE
@given(scenario=scenarios(), runner=st.sampled_from(["backtest", "paper"]))
def test_cash_plus_position_value_equals_equity_at_every_bar(
    journal: SqlJournal, scenario: Scenario, runner: str
) -> None:
    frames = scenario.frames()
    run = (backtest if runner == "backtest" else paper)(scenario, frames, journal)
    result = run.result
    stamps = result.ts_ns.tolist()
    assert stamps == sorted({t for f in frames for t in f.ts_close.tolist()})
    by_stamp: dict[int, list[Fill]] = {}
    for fill in result.fills:
        by_stamp.setdefault(booked_at(fill, frames, scenario.fill_at), []).append(fill)
    assert set(by_stamp) <= set(stamps)
    cash = CASH
    qty = {f.symbol: Decimal(0) for f in frames}
    for j, stamp in enumerate(stamps):
        for fill in by_stamp.get(stamp, []):
            cash += fill.cash_change
            qty[fill.symbol] += fill.signed_qty
        equity = cash
        for frame in frames:
            last = int(np.searchsorted(frame.ts_close, stamp, side="right")) - 1
            if qty[frame.symbol]:
                assert last >= 0
                equity += qty[frame.symbol] * Decimal(repr(float(frame.close[last])))
        assert result.cash[j] == float(cash), f"cash at {from_ns(stamp)}"
        assert math.isclose(result.equity[j], float(equity), rel_tol=1e-9, abs_tol=1e-6), \
            f"equity at {from_ns(stamp)}: {result.equity[j]} != {equity}"


@ENGINE
@given(scenario=scenarios())
def test_positions_are_the_sum_of_signed_fills_and_cash_moves_exactly_by_the_fills(
    journal: SqlJournal, scenario: Scenario
) -> None:
    frames = scenario.frames()
    run = backtest(scenario, frames, journal)
    fills = run.result.fills
    account = run.broker.account().unwrap()
    journaled = journal.fills(run.result.run_id).unwrap()
    assert list(journaled) == list(fills)
    for frame in frames:
        signed = sum((f.signed_qty for f in fills if f.symbol == frame.symbol), Decimal(0))
        assert account.position(frame.symbol).signed_qty == signed
    moved = sum((f.cash_change for f in fills), Decimal(0))
    assert account.cash == CASH + moved
    assert run.result.cash[-1] == float(CASH + moved)


@ENGINE
@given(scenario=scenarios(), data=st.data())
def test_truncating_future_bars_never_changes_an_earlier_decision(
    journal: SqlJournal, scenario: Scenario, data: st.DataObject
) -> None:
    frames = scenario.frames()
    stamps = sorted({t for f in frames for t in f.ts_close.tolist()})
    first_of_each = max(int(f.ts_close[0]) for f in frames)
    cut = data.draw(st.sampled_from([t for t in stamps if t > first_of_each]), label="cut")
    cut_frames = [f.take(slice(0, int(np.searchsorted(f.ts_close, cut)))) for f in frames]
    full = backtest(scenario, frames, journal).result
    short = backtest(scenario, cut_frames, journal).result
    before = from_ns(cut)
    earlier = [k for k in decision_keys(journal, full.run_id) if k[0] < before]
    assert decision_keys(journal, short.run_id) == earlier


@pytest.mark.parametrize("fill_at", ["open", "close"])
@pytest.mark.parametrize("allow_short", [False, True], ids=["long_only", "allow_short"])
@pytest.mark.parametrize("strategy", ["sma_cross", "breakout"])
@ENGINE
@given(data=st.data())
def test_backtest_and_paper_replay_make_the_same_decisions(
    journal: SqlJournal, strategy: str, allow_short: bool, fill_at: FillAt, data: st.DataObject
) -> None:
    scenario = data.draw(scenarios(strategy=strategy, allow_short=allow_short, fill_at=fill_at))
    frames = scenario.frames()
    tested = backtest(scenario, frames, journal).result
    replayed = paper(scenario, frames, journal).result
    assert replayed.decisions_digest == tested.decisions_digest
    assert decision_keys(journal, replayed.run_id) == decision_keys(journal, tested.run_id)
    assert list(map(execution, replayed.fills)) == list(map(execution, tested.fills))


@ENGINE
@given(scenario=scenarios())
def test_the_same_run_twice_gives_the_same_digest(journal: SqlJournal, scenario: Scenario) -> None:
    frames = scenario.frames()
    first = backtest(scenario, frames, journal).result
    second = backtest(scenario, scenario.frames(), journal).result
    assert first.run_id != second.run_id
    assert second.digest == first.digest
    assert second.decisions_digest == first.decisions_digest


@ENGINE
@given(scenario=scenarios(allow_short=False))
def test_a_long_only_run_never_sends_an_order_that_would_leave_a_position_short(
    journal: SqlJournal, scenario: Scenario
) -> None:
    run = backtest(scenario, scenario.frames(), journal)
    assert all(sent.position_after >= 0 for sent in run.broker.sent)
    held: dict[Symbol, Decimal] = {}
    for fill in run.result.fills:
        held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + fill.signed_qty
        assert held[fill.symbol] >= 0


@ENGINE
@given(scenario=scenarios(allow_short=False, fill_at="close", frictionless_all_in=True))
def test_all_in_whole_share_sizing_never_takes_cash_below_zero_when_filling_at_the_close(
    journal: SqlJournal, scenario: Scenario
) -> None:
    run = backtest(scenario, scenario.frames(), journal)
    cash = CASH
    for fill in run.result.fills:
        cash += fill.cash_change
        assert cash >= 0, f"cash {cash} after {fill}"
    assert all(c >= 0 for c in run.result.cash.tolist())
    refused = [o for o in run.result.orders if o.status is not OrderStatus.FILLED]
    assert refused == [], "the venue refused an order that sizing and the gates let through"


# -- known bugs -------------------------------------------------------------------------------


def marks_seen_by_the_cycle(frames: Sequence[BarFrame], order: Order) -> dict[Symbol, Decimal]:
    """Each symbol's latest close the cycle knew when it sent `order`: every symbol's bar of
    the order's moment has arrived before any symbol decides at it."""
    ts = to_ns(order.created_at)
    marks = {}
    for frame in frames:
        seen = int(np.searchsorted(frame.ts_close, ts, side="right"))
        if seen:
            marks[frame.symbol] = Decimal(repr(float(frame.close[seen - 1])))
    return marks


STALE_MARKS = Scenario(
    seed=0, symbols=2, bars=60, timeframe=Timeframe.DAY_1, gaps=False,
    strategy=SmaCross(2, 3, allow_short=True), allow_short=True, fill_at="close",
    commission=CommissionModel(), slippage=SlippageModel(), fraction=Decimal(1),
    fractional=False)


@ENGINE
@example(scenario=STALE_MARKS)
@given(scenario=scenarios(allow_short=True, fill_at="close"))
def test_the_simulated_venue_judges_buying_power_at_the_closes_the_cycle_has_seen(
    journal: SqlJournal, scenario: Scenario
) -> None:
    frames = scenario.frames()
    run = backtest(scenario, frames, journal)
    for sent in run.broker.sent:
        assert sent.open_orders == 0  # market orders fill at once at the close
        marks = marks_seen_by_the_cycle(frames, sent.order)
        held = {s: p.signed_qty for s, p in sent.account.positions.items() if p.signed_qty}
        equity = sent.account.cash + sum((q * marks[s] for s, q in held.items()), Decimal(0))
        gross = sum((abs(q) * marks[s] for s, q in held.items()), Decimal(0))
        assert sent.buying_power == max(Decimal(0), equity - gross), sent.order


FLIP_COMMISSION = attrs.evolve(
    STALE_MARKS, symbols=1, commission=CommissionModel(percent="0.1"), fraction=Decimal("0.5"))


@ENGINE
@example(scenario=FLIP_COMMISSION)
@given(scenario=scenarios(allow_short=True, fill_at="close", symbols=1))
def test_the_venue_accepts_every_single_symbol_order_sized_and_gated_at_the_close(
    journal: SqlJournal, scenario: Scenario
) -> None:
    if scenario.slippage.bps:  # slippage is budgeted at the worst price; keep the fill exact
        scenario = attrs.evolve(scenario, slippage=SlippageModel())
    run = backtest(scenario, scenario.frames(), journal)
    refused = [o for o in run.result.orders if o.status is not OrderStatus.FILLED]
    assert refused == [], refused[0].reason if refused else ""


@pytest.mark.parametrize("fill_at", ["open", "close"])
def test_an_all_in_reversal_closes_first_then_reaches_the_new_target(
    journal: SqlJournal, fill_at: FillAt
) -> None:
    """Up 40 bars then down 40: sma_cross 2/3 with shorting must end short, not flat."""
    n = 80
    close = np.concatenate([np.linspace(100, 140, n // 2), np.linspace(139, 90, n // 2)])
    ts_open = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 86_400_000_000_000
    frame = BarFrame(symbol=Symbol("AAA"), timeframe=Timeframe.DAY_1, ts_open=ts_open,
                     ts_close=ts_open + 23_400_000_000_000, open=close, high=close * 1.01,
                     low=close * 0.99, close=close, volume=np.full(n, 1000.0))
    scenario = Scenario(seed=0, symbols=1, bars=n, timeframe=Timeframe.DAY_1, gaps=False,
                        strategy=SmaCross(2, 3, allow_short=True), allow_short=True,
                        fill_at=fill_at, commission=CommissionModel(per_order=Decimal(1)),
                        slippage=SlippageModel(), fraction=Decimal(1), fractional=False)
    run = backtest(scenario, [frame], journal)
    final = run.broker.account().unwrap().position(Symbol("AAA")).signed_qty
    # all-in short at ~136 with ~135k of equity is ~990 shares; flat would be 0
    assert final < -900


@ENGINE
@given(scenario=scenarios(strategy="sma_cross", symbols=1))
def test_visiting_only_the_bars_that_matter_runs_exactly_as_every_bar(
        journal: SqlJournal, scenario: Scenario) -> None:
    frames = scenario.frames()
    skipping = backtest(scenario, frames, journal).result
    every_bar = backtest(attrs.evolve(scenario, strategy=BarByBar(scenario.strategy)), frames,
                         journal).result
    assert skipping.digest == every_bar.digest
    assert skipping.metrics == every_bar.metrics
