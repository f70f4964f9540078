"""A one-symbol backtest that visits only the bars that matter (on_history, from the strategy's
batch twin) runs exactly as on_bar called for every bar, in every configuration that takes it:
order types and sessions (DAY extended-hours limits), exits, breaker and order-rate limits,
fill at open or close, costs, fractional shares, margin, Kelly sizing on a per-bar edge (a
fitted GARCH schedule bound, so the edge's variance is known) or on its fallback, and a venue
that loses answers and orders, refuses and fails lookups. Compared: the run digest, the metrics
and every call the venue saw, in order."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Result

import aitrader.application.backtest as backtest_module
from aitrader.adapters.clocks import SteppingClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.application.cycle import CycleSettings, TradingCycle
from aitrader.application.risk_control import RiskSettings
from aitrader.application.run import Adapters, RunSpec
from aitrader.domain.market import Bar, Session, Timeframe
from aitrader.domain.portfolio import FRACTIONAL_STEP, WHOLE, ExposureScaler, FixedFraction
from aitrader.domain.portfolio.scaling import KellyFallback
from aitrader.domain.risk import (
    BuyingPower,
    ExitPlan,
    Gate,
    LongOnly,
    MaxOrderRate,
    MaxPositionFraction,
    OrderTypes,
    RejectionCircuitBreaker,
    SessionRules,
    TradingStateGate,
)
from aitrader.domain.series import BarFrame
from aitrader.domain.signals import GarchParams, Schedule, SymbolModels
from aitrader.domain.strategies import BarByBar, Strategy
from aitrader.domain.strategies.ma_cross import MaCross
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import CommissionModel, Order, SlippageModel
from aitrader.domain.values import Symbol
from aitrader.ports.errors import BrokerError
from tests.fakes import DelegatingBroker
from tests.unit.test_engine_properties import (  # noqa: F401 (journal: the shared fixture)
    journal,
    random_walk_frames,
)

_NEW_YORK = ZoneInfo("America/New_York")
_HOUR_NS = 3_600 * 10**9
_CASH = Decimal(100_000)
_WALL = datetime(2030, 1, 1, tzinfo=UTC)
Trouble = Literal["lost_answer", "lost_order", "refused", "unavailable"]
# GARCH fits in percent log returns: ~1% a bar from its first bar; ~4.5% with a refit later on
_CALM = GarchParams(0.0, 0.05, 0.1, 0.85)
_WILD = GarchParams(0.02, 0.4, 0.08, 0.9, first_variance=2.0)
_GARCH: tuple[Schedule[GarchParams], ...] = (
    Schedule(), Schedule((1,), (_CALM,)), Schedule((30,), (_WILD,)),
    Schedule((1, 200), (_CALM, _WILD)))


def hourly_frame(seed: int, n: int, sigma: float) -> BarFrame:
    """Hourly bars 04:00-20:00 New York on weekdays: pre, regular and after hours."""
    stamps: list[int] = []
    day = datetime(2024, 1, 8).toordinal()
    while len(stamps) < n:
        moment = datetime.fromordinal(day).replace(tzinfo=_NEW_YORK)
        day += 1
        if moment.weekday() < 5:
            stamps += [int(moment.replace(hour=h).astimezone(UTC).timestamp()) * 10**9
                       for h in range(4, 20)]
    ts_open = np.array(stamps[:n], dtype=np.int64)
    rng = np.random.default_rng(seed)
    first = float(rng.uniform(5, 400))
    close = np.maximum(np.round(first * np.exp(np.cumsum(rng.normal(0, sigma, n))), 2), 0.01)
    previous = np.concatenate(([first], close[:-1]))
    open_ = np.maximum(np.round(previous * (1 + rng.normal(0, sigma / 2, n)), 2), 0.01)
    spread = np.abs(rng.normal(0, sigma / 2, n)) * close
    high = np.round(np.maximum(open_, close) + spread, 2)
    low = np.maximum(np.round(np.minimum(open_, close) - spread, 2), 0.01)
    return BarFrame(symbol=Symbol("AAA"), timeframe=Timeframe.HOUR_1, ts_open=ts_open,
                    ts_close=ts_open + _HOUR_NS, open=open_, high=high, low=low, close=close,
                    volume=rng.integers(100, 100_000, n).astype(np.float64))


def session_of(ts: datetime) -> Session:
    local = ts.astimezone(_NEW_YORK)
    minutes = local.hour * 60 + local.minute
    if local.weekday() >= 5:
        return Session.CLOSED
    if 240 <= minutes < 570:
        return Session.PRE
    if 570 <= minutes < 960:
        return Session.REGULAR
    return Session.POST if 960 <= minutes < 1200 else Session.OVERNIGHT


class TroubledVenue(DelegatingBroker):
    """Every `every`-th submit meets trouble (taking turns through `kinds`), every third lookup
    fails; every call is remembered, ids without their run prefix."""

    def __init__(self, inner: SimulatedBroker, every: int, kinds: Sequence[Trouble]) -> None:
        super().__init__(inner)
        self.every, self.kinds = every, kinds
        self.submits = self.lookups = 0
        self.calls: list[str] = []

    def _note(self, what: str) -> None:
        self.calls.append(re.sub(r"[0-9a-f]{16}-", "", what))

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        self.submits += 1
        self._note(f"submit {order.client_order_id}")
        if self.every and self.submits % self.every == 0:
            kind = self.kinds[(self.submits // self.every) % len(self.kinds)]
            if kind == "lost_answer":
                self.inner.submit(order)
                return Failure(BrokerError("timeout", "the answer was lost"))
            if kind == "lost_order":
                return Failure(BrokerError("timeout", "the order was lost"))
            if kind == "unavailable":
                return Failure(BrokerError("unavailable", "the venue is down"))
            return Failure(BrokerError("refused", "the venue said no"))
        return self.inner.submit(order)

    def order(self, client_order_id: str) -> Result[Order, BrokerError]:
        self.lookups += 1
        self._note(f"order {client_order_id}")
        if self.lookups % 3 == 0:
            return Failure(BrokerError("unavailable", "the lookup failed"))
        return self.inner.order(client_order_id)

    def cancel(self, client_order_id: str) -> Result[None, BrokerError]:
        self._note(f"cancel {client_order_id}")
        return self.inner.cancel(client_order_id)

    def observe(self, bar: Bar) -> None:
        self._note(f"observe {bar.ts_close.isoformat()}")
        self.inner.observe(bar)


@attrs.frozen
class Setup:
    seed: int
    bars: int
    hourly: bool  # else daily bars with gaps (random_walk_frames)
    sigma: float
    strategy: SmaCross | MaCross
    kelly: bool  # sized on the target's edge (ma_cross's is per bar) ...
    kelly_fraction: float
    kelly_uncertainty: float  # (5: most sizes shrink, so they move with the edge every bar)
    kelly_fallback: KellyFallback  # ... or, without an edge estimate, on this
    garch: Schedule[GarchParams]  # bound as the symbol's fit (ma_cross's edge variance)
    fill_at: Literal["open", "close"]
    commission: CommissionModel
    slippage: SlippageModel
    fraction: Decimal
    fractional: bool
    margin: Decimal
    style: Literal["market", "marketable_limit"]
    sessions: bool
    exits: ExitPlan
    breaker: int | None
    order_rate: int | None
    trouble_every: int
    trouble: tuple[Trouble, ...]


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    fast = draw(st.integers(1, 5))
    short = draw(st.booleans())
    level = st.sampled_from([None, Decimal("0.01"), Decimal("0.05")])
    return Setup(
        seed=draw(st.integers(0, 2**32 - 1)),
        bars=draw(st.sampled_from([0, 1, 2, 60, 250, 400, 400, 400])), hourly=draw(st.booleans()),
        sigma=draw(st.sampled_from([0.005, 0.02, 0.06])),
        strategy=draw(st.sampled_from([
            SmaCross(fast, fast + draw(st.integers(1, 10)), allow_short=short),
            MaCross(draw(st.sampled_from(["sma", "ema"])), fast, fast + draw(st.integers(1, 10)),
                    allow_short=short)])),
        kelly=draw(st.booleans()), kelly_fraction=draw(st.sampled_from([0.5, 0.1])),
        kelly_uncertainty=draw(st.sampled_from([50.0, 5.0])),
        kelly_fallback=draw(st.sampled_from(["flat", "fixed_fraction"])),
        garch=draw(st.sampled_from(_GARCH)),
        fill_at=draw(st.sampled_from(["open", "close"])),
        commission=CommissionModel(per_share=draw(st.sampled_from(["0", "0.005"])),
                                   per_order=draw(st.sampled_from(["0", "1", "4.95"])),
                                   percent=draw(st.sampled_from(["0", "0.1"]))),
        slippage=SlippageModel(draw(st.sampled_from(["0", "5", "50"]))),
        fraction=Decimal(draw(st.sampled_from(["0.5", "1", "1"]))),  # all-in: capped sizing
        fractional=draw(st.booleans()),
        margin=Decimal(draw(st.sampled_from(["1", "2"]))),
        style=draw(st.sampled_from(["market", "marketable_limit"])), sessions=draw(st.booleans()),
        exits=ExitPlan(stop_loss=draw(level), take_profit=draw(level)),
        breaker=draw(st.sampled_from([None, 2, 5])),
        order_rate=draw(st.sampled_from([None, 1, 3])),
        trouble_every=draw(st.sampled_from([0, 2, 3, 5])),
        trouble=tuple(draw(st.lists(st.sampled_from(
            ["lost_answer", "lost_order", "refused", "unavailable"]), min_size=1, max_size=4))))


def kelly_case(strategy: SmaCross | MaCross, fallback: KellyFallback,
               garch: Schedule[GarchParams]) -> Setup:
    """A plain daily run sized by Kelly (an explicit example, so Kelly trades in every run)."""
    return Setup(seed=7, bars=400, hourly=False, sigma=0.02, strategy=strategy, kelly=True,
                 kelly_fraction=0.5, kelly_uncertainty=5.0, kelly_fallback=fallback,
                 garch=garch, fill_at="open", commission=CommissionModel(),
                 slippage=SlippageModel(), fraction=Decimal(1), fractional=True,
                 margin=Decimal(1), style="market", sessions=False, exits=ExitPlan(),
                 breaker=None, order_rate=None, trouble_every=0, trouble=("refused",))


def every_bar(cycle: TradingCycle, frames: Sequence[BarFrame], columns: list[list[Any]],
              _batch: object, _progress: object) -> tuple[int, Any]:
    """The reference: on_bar for every bar, nothing passed over."""
    frame = frames[0]
    for i, row in enumerate(np.column_stack(columns[0]).tolist()):
        cycle.on_bar(0, row, frame, i, int(frame.ts_close[i]))
    return len(frame), frame.ts_close


def run(setup: Setup, strategy: Strategy, into: SqlJournal) -> tuple[Any, list[str]]:
    frame = hourly_frame(setup.seed, setup.bars, setup.sigma) if setup.hourly or setup.bars < 8 \
        else random_walk_frames(setup.seed, 1, setup.bars, Timeframe.DAY_1, gaps=True)[0]
    short = setup.strategy.allow_short
    gates: list[Gate] = [SessionRules()]
    if setup.breaker is not None:
        gates[:0] = [TradingStateGate(), RejectionCircuitBreaker(setup.breaker)]
    if not short:
        gates.append(LongOnly())
    if setup.order_rate is not None:
        gates.append(MaxOrderRate(setup.order_rate))
    gates += [MaxPositionFraction(Decimal(1)), BuyingPower(setup.margin)]
    cycle_settings = CycleSettings(
        margin_multiplier=setup.margin, order_types=OrderTypes(style=setup.style),
        risk=RiskSettings(breaker_limit=setup.breaker, max_order_rate=setup.order_rate),
        session_of=session_of if setup.sessions else None, exits=setup.exits,
        scaler=ExposureScaler(method="kelly", kelly_fraction=setup.kelly_fraction,
                              kelly_uncertainty=setup.kelly_uncertainty,
                              kelly_fallback=setup.kelly_fallback)
        if setup.kelly else ExposureScaler())
    spec = RunSpec(mode="backtest", strategy=strategy, symbols=(frame.symbol,), cash=_CASH,
                   sizing=FixedFraction(setup.fraction, 1, setup.commission, setup.slippage,
                                        step=FRACTIONAL_STEP if setup.fractional else WHOLE),
                   gates=tuple(gates), config={"mode": "backtest"}, code_version="test",
                   settings=cycle_settings,
                   models={frame.symbol: SymbolModels(garch=setup.garch)})
    venue = TroubledVenue(SimulatedBroker(
        cash=_CASH, commission=setup.commission, slippage=setup.slippage, fill_at=setup.fill_at,
        allow_short=short, fractional=setup.fractional, margin_multiplier=setup.margin),
        setup.trouble_every, setup.trouble)
    adapters = Adapters(broker=venue, journal=into, clock=SteppingClock(), ids=RunScopedIds(),
                        wall_clock=SteppingClock(_WALL))
    result = backtest_module.run_backtest(spec, [frame], adapters).unwrap()
    return result, venue.calls


def kelly_fills(into: SqlJournal, result: Any) -> set[str]:
    """How the run's filled orders were Kelly-sized: "edge" (from the target's expected return
    and variance), "fallback" (no edge estimate: fixed fraction)."""
    filled = {fill.client_order_id for fill in result.fills}
    sized = [d.sizing for d in into.decisions(result.run_id).unwrap()
             if d.client_order_id in filled and d.sizing.get("method") == "kelly"]
    return {"edge" if "shrink" in how else "fallback" for how in sized
            if "shrink" in how or how.get("fallback") == "fixed_fraction"}


def test_visiting_only_the_bars_that_matter_equals_on_bar_for_every_bar_in_any_setup(
        journal: SqlJournal) -> None:  # noqa: F811 (the shared fixture)
    kelly_traded: Counter[str] = Counter()  # examples whose fills were Kelly-sized, by how

    @settings(max_examples=100, deadline=None)
    @given(setup=setups())
    @example(setup=kelly_case(MaCross("ema", 3, 10), "flat", _GARCH[3]))
    @example(setup=kelly_case(SmaCross(3, 10, allow_short=True), "fixed_fraction", _GARCH[0]))
    def same_run(setup: Setup) -> None:
        skipping, skipping_calls = run(setup, setup.strategy, journal)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(backtest_module, "_loop", every_bar)
            folded, folded_calls = run(setup, BarByBar(setup.strategy), journal)
        assert skipping.digest == folded.digest
        assert repr(skipping.metrics) == repr(folded.metrics)  # (NaN-safe: 0 bars has NaNs)
        assert skipping_calls == folded_calls
        kelly_traded.update(kelly_fills(journal, skipping))

    same_run()
    # the Kelly cases really trade, on a per-bar edge and on the fallback (else they prove
    # nothing about Kelly sizing: a flat Kelly run visits no bar that matters)
    assert kelly_traded["edge"] >= 1, kelly_traded
    assert kelly_traded["fallback"] >= 1, kelly_traded


def test_the_fast_path_reports_progress_at_every_chunk_end_then_at_the_total(
        journal: SqlJournal) -> None:  # noqa: F811 (the imported fixture)
    frames = random_walk_frames(3, 1, 140_000, Timeframe.MINUTE_1, gaps=False)
    seen: list[tuple[int, int]] = []
    spec = RunSpec(
        mode="backtest", strategy=SmaCross(5, 20), symbols=(frames[0].symbol,),
        cash=Decimal(10_000), sizing=FixedFraction(Decimal(1), 1, CommissionModel(),
                                                   SlippageModel()),
        gates=(LongOnly(), BuyingPower()), config={}, code_version="test")
    adapters = Adapters(broker=SimulatedBroker(cash=Decimal(10_000)), journal=journal,
                        clock=SteppingClock(), ids=RunScopedIds(), wall_clock=SteppingClock())
    backtest_module.run_backtest(spec, frames, adapters,
                                 progress=lambda done, total: seen.append((done, total))
                                 ).unwrap()
    total = len(frames[0])
    assert total > 65_536  # at least one chunk end before the total
    assert seen == [*((end, total) for end in range(65_536, total, 65_536)), (total, total)]
