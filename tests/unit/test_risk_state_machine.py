"""The risk layer under random sequences of targets, prices, fills, rejections, commands and
restarts: the real TradingCycle, SimulatedBroker and gates, with an in-memory journal.

Checked after every step: no cap is exceeded by a fill that grew a position; no exposure-
increasing order reaches the broker while REDUCING or HALTED; a halt survives a restart; the
circuit breaker trips at exactly N rejections in a row; after the kill switch has verified the
account flat there is no open order and no position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from returns.result import Failure, Result, Success

from aitrader.adapters.clocks import SteppingClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.application.cycle import CycleSettings, TradingCycle
from aitrader.application.digest import RunDigest
from aitrader.application.risk_control import RiskSettings
from aitrader.domain.audit import Decision, RunInfo, RunManifest, RunSummary
from aitrader.domain.market import Bar
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import (
    BuyingPower,
    LongOnly,
    MaxGrossExposure,
    MaxPositionFraction,
    RejectionCircuitBreaker,
    RiskState,
    TradingState,
    TradingStateGate,
)
from aitrader.domain.series import to_ns
from aitrader.domain.strategies import Target
from aitrader.domain.trading import (
    CommissionModel,
    Fill,
    Order,
    OrderEvent,
    OrderStatus,
    SlippageModel,
)
from aitrader.domain.values import Price, Side, Symbol
from aitrader.ports.errors import BrokerError, JournalError
from aitrader.ports.journal import Journal
from tests.fakes import DelegatingBroker

SYMBOLS = (Symbol("AAA"), Symbol("BBB"))
CASH = Decimal(100_000)
BREAKER = 3
POSITION_CAP = Decimal("0.5")
GROSS_CAP = Decimal("0.9")
START = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


class MemoryJournal(Journal):
    """Keeps only the durable risk state (what a restart reads); run records are dropped."""

    def __init__(self) -> None:
        self.state: RiskState | None = None

    def start_run(self, manifest: RunManifest) -> Result[None, JournalError]:
        return Success(None)

    def record_decision(self, run_id: str, decision: Decision) -> None:
        pass

    def record_order(self, run_id: str, order: Order) -> None:
        pass

    def record_event(self, run_id: str, seq: int, event: OrderEvent) -> None:
        pass

    def record_equity(self, run_id: str, ts_ns: npt.NDArray[np.int64],
                      equity: npt.NDArray[np.float64], cash: npt.NDArray[np.float64]) -> None:
        pass

    def flush(self) -> Result[None, JournalError]:
        return Success(None)

    def finish_run(self, summary: RunSummary) -> Result[None, JournalError]:
        return Success(None)

    def runs(self, limit: int) -> Result[Sequence[RunInfo], JournalError]:
        return Success(())

    def run(self, run_id: str) -> Result[RunInfo, JournalError]:
        return Failure(JournalError("unknown_run", run_id))

    def orders(self, run_id: str, client_order_ids: Any = None
               ) -> Result[Sequence[Order], JournalError]:
        return Success(())

    def fills(self, run_id: str) -> Result[Sequence[Fill], JournalError]:
        return Success(())

    def decisions(self, run_id: str, **filters: Any) -> Result[Sequence[Decision], JournalError]:
        return Success(())

    def equity(self, run_id: str) -> Result[Any, JournalError]:
        return Failure(JournalError("unknown_run", run_id))

    def risk_state(self) -> Result[RiskState | None, JournalError]:
        return Success(self.state)

    def save_risk_state(self, state: RiskState, at: datetime) -> Result[None, JournalError]:
        self.state = state
        return Success(None)


class WatchedBroker(DelegatingBroker):
    """Rejects every submit while `refusing`; records whether each submit grew exposure while
    the engine was not ACTIVE, and the streak of rejections in a row."""

    def __init__(self, inner: SimulatedBroker) -> None:
        super().__init__(inner)
        self.cycle: TradingCycle | None = None
        self.refusing = False
        self.streak = 0
        self.increasing_while_restricted: list[str] = []

    def submit(self, order: Order) -> Result[Order, BrokerError]:
        assert self.cycle is not None
        held = self.inner.account().unwrap().position(order.symbol).signed_qty
        after = held + order.intent.signed_qty
        increases = abs(after) > abs(held) or after * held < 0
        if increases and self.cycle.risk.state.state is not TradingState.ACTIVE:
            self.increasing_while_restricted.append(order.client_order_id)
        if self.refusing:
            self.streak += 1
            return Failure(BrokerError("rejected", "the venue said no"))
        result = self.inner.submit(order)
        if isinstance(result, Success):
            self.streak = 0
        return result


class Levels:
    """The strategy: each symbol's decider returns the target the state machine set."""

    name = "levels"

    def __init__(self, targets: dict[Symbol, float]) -> None:
        self.targets = targets
        self._next = iter(SYMBOLS)

    def signals(self) -> tuple[()]:
        return ()

    def decider(self) -> Any:
        symbol = next(self._next)
        return lambda _row: Target(self.targets[symbol])

    def params(self) -> Mapping[str, object]:
        return {}


class Source:
    """A BarSource over one symbol's bars so far."""

    def __init__(self) -> None:
        self.bars: list[Bar] = []

    def bar(self, i: int) -> Bar:
        return self.bars[i]


class RiskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.journal = MemoryJournal()
        self.targets = dict.fromkeys(SYMBOLS, 0.0)
        self.prices = {s: Decimal(100) for s in SYMBOLS}
        self.moment = START
        self.runs = 0
        self.refusing = False
        self.kill_verified = False
        self.resume_pending = False
        self._start()

    def _start(self) -> None:
        self.runs += 1
        self.broker = WatchedBroker(SimulatedBroker(cash=CASH, fill_at="close"))
        self.broker.refusing = self.refusing  # the venue's mood outlives the engine
        self.sources = {s: Source() for s in SYMBOLS}
        self.cycle = TradingCycle(
            run_id=f"run-{self.runs}", strategy=Levels(self.targets), symbols=SYMBOLS,
            cash=CASH,
            sizing=FixedFraction(fraction=Decimal(1), slots=2, commission=CommissionModel(),
                                 slippage=SlippageModel(), max_position_fraction=POSITION_CAP),
            gates=(TradingStateGate(), RejectionCircuitBreaker(BREAKER), LongOnly(),
                   MaxPositionFraction(POSITION_CAP), MaxGrossExposure(GROSS_CAP),
                   BuyingPower()),
            broker=self.broker, journal=self.journal, clock=SteppingClock(),
            ids=RunScopedIds(), digest=RunDigest(), signal_names=("close",),
            settings=CycleSettings(risk=RiskSettings(durable=True, breaker_limit=BREAKER,
                                                     poll_every=1)))
        self.broker.cycle = self.cycle
        assert self.cycle.risk.restore() == Success(None)

    # -- rules ---------------------------------------------------------------------------

    @rule(k=st.integers(0, 1), move=st.integers(-8, 8),
          exposure=st.sampled_from([None, 0.0, 0.3, 0.5, 1.0]))
    def bar(self, k: int, move: int, exposure: float | None) -> None:
        """Symbol k's next bar, the strategy's target changed to `exposure` first (if given)."""
        symbol = SYMBOLS[k]
        if exposure is not None:
            self.targets[symbol] = exposure
        price = max(Decimal(5), self.prices[symbol] * (100 + move) / 100).quantize(Decimal("0.01"))
        self.prices[symbol] = price
        self.moment += timedelta(days=1)
        source = self.sources[symbol]
        source.bars.append(Bar(symbol, self.moment - timedelta(hours=6, minutes=30), self.moment,
                               Price(price), Price(price), Price(price), Price(price), 1000))
        fills_before = len(self.cycle.fills)
        # a kill still pending in the store too: a resume or halt stored since then replaces it,
        # and the bar's poll adopting that is not the kill being verified
        stored = self.journal.state
        was_killing = (self.cycle.risk.state.kill_requested and stored is not None
                       and stored.kill_requested)
        if self.resume_pending:  # the engine adopts the stored command as this bar starts
            self.broker.streak, self.resume_pending = 0, False
        self.cycle.on_bar(k, (float(price),), source, len(source.bars) - 1, to_ns(self.moment))
        self._check_caps(self.cycle.fills[fills_before:])
        state = self.cycle.risk.state
        if was_killing and not state.kill_requested and state.state is TradingState.HALTED:
            self.kill_verified = True

    @rule(refusing=st.booleans())
    def venue(self, refusing: bool) -> None:
        """The venue starts or stops rejecting every order."""
        self.broker.refusing = self.refusing = refusing

    @rule(command=st.sampled_from(["halt", "reduce", "resume"]))
    def command(self, command: str) -> None:
        stored = self.journal.state or RiskState()
        moved = {"halt": stored.halted("manual: test"), "reduce": stored.reducing("manual: test"),
                 "resume": stored.resumed()}[command]
        self.journal.save_risk_state(moved, self.moment)
        if command == "resume":
            self.resume_pending = True
            self.kill_verified = False

    @rule()
    def kill(self) -> None:
        self.journal.save_risk_state((self.journal.state or RiskState()).killed("test"),
                                     self.moment)
        self.kill_verified = False

    @precondition(lambda self: self.runs < 4)
    @rule()
    def restart(self) -> None:
        self.cycle.risk.save(self.moment)
        before = self.journal.state
        self._start()
        assert self.cycle.risk.state == (before or RiskState())
        self.broker.streak = self.cycle.risk.state.rejection_streak
        self.resume_pending = False

    # -- invariants ----------------------------------------------------------------------

    def _check_caps(self, fills: Sequence[Fill]) -> None:
        for fill in fills:
            position = self.cycle.account.position(fill.symbol).signed_qty
            before = position - fill.last_qty.value * fill.side.sign
            if abs(position) <= abs(before):
                continue  # a fill that shrank a position may leave it above a cap
            equity, gross = self.cycle.portfolio()
            value = abs(position) * fill.last_px.value
            assert value <= POSITION_CAP * equity, (fill, value, equity)
            assert gross <= GROSS_CAP * equity, (fill, gross, equity)

    @invariant()
    def no_increasing_order_while_reducing_or_halted(self) -> None:
        assert self.broker.increasing_while_restricted == []

    @invariant()
    def the_circuit_breaker_trips_at_exactly_n(self) -> None:
        state = self.cycle.risk.state
        assert state.rejection_streak == self.broker.streak
        if self.broker.streak >= BREAKER:
            assert state.state is TradingState.HALTED
        if state.reason.startswith("circuit_breaker"):
            assert state.reason.startswith(f"circuit_breaker: {BREAKER} ")

    @invariant()
    def a_verified_kill_leaves_no_order_and_no_position(self) -> None:
        if not self.kill_verified:
            return
        account = self.broker.inner.account().unwrap()
        assert all(not p.signed_qty for p in account.positions.values())
        assert list(self.broker.inner.open_orders().unwrap()) == []
        assert self.cycle.risk.state.state is TradingState.HALTED

    @invariant()
    def the_ledgers_agree(self) -> None:
        ours = {s: p.signed_qty for s, p in self.cycle.account.positions.items() if p.signed_qty}
        theirs = {s: p.signed_qty for s, p in self.broker.inner.account().unwrap()
                  .positions.items() if p.signed_qty}
        assert ours == theirs
        assert all(o.status is not OrderStatus.UNKNOWN for o in self.cycle.orders.values())


RiskMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                         deadline=None)
TestRiskStateMachine = RiskMachine.TestCase


def test_the_breaker_halts_on_the_nth_rejection_in_a_row_and_not_before() -> None:
    machine = RiskMachine()
    machine.venue(True)
    for n, exposure in enumerate((0.3, 0.5, 1.0), start=1):
        machine.bar(0, 0, exposure)
        assert machine.cycle.risk.state.rejection_streak == n
        halted = machine.cycle.risk.state.state is TradingState.HALTED
        assert halted == (n == BREAKER)
    machine.the_circuit_breaker_trips_at_exactly_n()
    machine.bar(1, 0, 1.0)  # HALTED: refused by the gates, never sent
    assert machine.broker.streak == BREAKER
    assert Side.BUY.sign == 1


def test_a_kill_replaced_by_a_resume_and_a_halt_is_not_taken_for_a_verified_kill() -> None:
    """Found by the machine: the poll that adopts a stored halt (after a resume cancelled a
    kill the venue had refused to carry out) is not the kill being verified."""
    machine = RiskMachine()
    machine.bar(0, 0, 1.0)  # a position to flatten
    machine.venue(True)
    machine.kill()
    machine.bar(0, 0, None)  # the kill's orders are refused: still held
    machine.command("resume")
    machine.command("halt")
    machine.bar(0, 0, None)
    assert not machine.kill_verified
    machine.a_verified_kill_leaves_no_order_and_no_position()
    assert machine.broker.inner.account().unwrap().position(SYMBOLS[0]).signed_qty > 0
