"""A run reconciles with the broker before it trades and after it ends."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import pytest
from returns.result import Failure

from aitrader.adapters.clocks import SteppingClock
from aitrader.adapters.ids import RunScopedIds
from aitrader.adapters.simulated import SimulatedBroker
from aitrader.adapters.sql import SqlJournal
from aitrader.application.backtest import run_backtest
from aitrader.application.run import Adapters, RunSpec, ledger_difference
from aitrader.domain.market import Timeframe
from aitrader.domain.portfolio import FixedFraction
from aitrader.domain.risk import BuyingPower, LongOnly
from aitrader.domain.series import BarFrame
from aitrader.domain.strategies.sma_cross import SmaCross
from aitrader.domain.trading import Account, CommissionModel, SlippageModel
from aitrader.domain.values import Symbol

CASH = Decimal(10_000)


def frame() -> BarFrame:
    n = 100
    close = 100 + 10 * np.sin(np.arange(n) / 7.0)
    ts_open = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 86_400_000_000_000
    return BarFrame(symbol=Symbol("AAA"), timeframe=Timeframe.DAY_1, ts_open=ts_open,
                    ts_close=ts_open + 23_400_000_000_000, open=close, high=close + 0.5,
                    low=close - 0.5, close=close, volume=np.full(n, 1000.0))


def spec() -> RunSpec:
    return RunSpec(mode="backtest", strategy=SmaCross(3, 8), symbols=(Symbol("AAA"),), cash=CASH,
                   sizing=FixedFraction(Decimal(1), 1, CommissionModel(), SlippageModel()),
                   gates=(LongOnly(), BuyingPower()), config={}, code_version="test")


@pytest.fixture
def journal() -> Iterator[SqlJournal]:
    with tempfile.TemporaryDirectory() as tmp:
        opened = SqlJournal.open(f"sqlite:///{tmp}/j.db").unwrap()
        yield opened
        opened.close()


def adapters(broker: SimulatedBroker, journal: SqlJournal) -> Adapters:
    return Adapters(broker=broker, journal=journal, clock=SteppingClock(), ids=RunScopedIds(),
                    wall_clock=SteppingClock())


def test_a_broker_account_that_is_not_the_expected_one_stops_the_run_before_anything_is_written(
    journal: SqlJournal,
) -> None:
    result = run_backtest(spec(), [frame()], adapters(SimulatedBroker(cash=CASH + 1), journal))
    assert isinstance(result, Failure)
    assert result.failure().code == "unreconciled"
    assert list(journal.runs(10).unwrap()) == []


def test_a_ledger_that_drifts_from_the_broker_fails_the_run_loudly(journal: SqlJournal) -> None:
    class Leaky(SimulatedBroker):
        def account(self):  # type: ignore[no-untyped-def]
            booked = super().account().unwrap()
            if booked.positions:  # after the first fill, the venue books a cent more
                return type(super().account())(Account(booked.cash + Decimal("0.01"),
                                                       booked.positions))
            return super().account()

    result = run_backtest(spec(), [frame()], adapters(Leaky(cash=CASH), journal))
    assert isinstance(result, Failure)
    assert "does not reconcile" in result.failure().message
    assert [r.summary.status for r in journal.runs(10).unwrap() if r.summary] == ["failed"]


def test_ledgers_agree_when_cash_and_every_open_position_agree() -> None:
    assert ledger_difference(Account(CASH), Account(CASH)) == ""
    assert "cash" in ledger_difference(Account(CASH), Account(CASH + 1))
