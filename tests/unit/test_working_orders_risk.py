"""Portfolio limits count the orders still working: symbols deciding on the same bar see the
opening orders the others sent on it (they all fill together at the next open)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aitrader.adapters.clocks import SteppingClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.application.cycle import CycleSettings, TradingCycle
from aitrader.application.digest import RunDigest
from aitrader.application.risk_control import RiskSettings
from aitrader.domain.audit import Decision
from aitrader.domain.market import Bar
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import BuyingPower, PortfolioVar
from aitrader.domain.series import to_ns
from aitrader.domain.trading import CommissionModel, SlippageModel
from aitrader.domain.values import Price, Symbol
from tests.unit.test_risk_state_machine import SYMBOLS, Levels, MemoryJournal, Source

CASH = Decimal(100_000)
LIMIT = Decimal("0.025")  # one half-equity position's VaR is about 0.017, both together 0.034


class DecisionJournal(MemoryJournal):
    def __init__(self) -> None:
        super().__init__()
        self.decisions: list[Decision] = []

    def record_decision(self, run_id: str, decision: Decision) -> None:
        self.decisions.append(decision)


def test_max_var_counts_the_opening_orders_other_symbols_sent_on_the_same_bar() -> None:
    targets = dict.fromkeys(SYMBOLS, 0.0)
    journal = DecisionJournal()
    cycle = TradingCycle(
        run_id="var", strategy=Levels(targets), symbols=SYMBOLS, cash=CASH,
        sizing=FixedFraction(fraction=Decimal(1), slots=2, commission=CommissionModel(),
                             slippage=SlippageModel()),
        gates=(PortfolioVar(LIMIT), BuyingPower()),
        broker=SimulatedBroker(cash=CASH), journal=journal, clock=SteppingClock(),
        ids=RunScopedIds(), digest=RunDigest(), signal_names=("close",),
        settings=CycleSettings(risk=RiskSettings(max_var=LIMIT, var_window=20)))
    sources = {s: Source() for s in SYMBOLS}
    moment = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
    for day in range(14):
        if day == 10:  # both symbols decide to buy on this bar; their orders fill at the next open
            targets.update(dict.fromkeys(SYMBOLS, 1.0))
        price = Decimal(100) if day % 2 == 0 else Decimal(102)  # the two move as one: +-2 %
        moment += timedelta(days=1)
        for k, symbol in enumerate(SYMBOLS):
            source = sources[symbol]
            source.bars.append(Bar(symbol, moment - timedelta(hours=6, minutes=30), moment,
                                   Price(price), Price(price), Price(price), Price(price), 1000))
            cycle.on_bar(k, (float(price),), source, len(source.bars) - 1, to_ns(moment))
    actions = [(d.symbol, d.action) for d in journal.decisions]
    assert actions[:2] == [(Symbol("AAA"), "order"), (Symbol("BBB"), "rejected")]
    refusal = next(v for v in journal.decisions[1].verdicts if not v.passed)
    assert refusal.rule == "max_var"
    assert [b.symbol for b in cycle.active] == [Symbol("AAA")]  # held: the one that passed
