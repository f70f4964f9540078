"""The durable risk state in the SQL journal: it reads back exactly and survives reopening."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from returns.result import Success

from aitrader.adapters.sql import SqlJournal
from aitrader.application.risk_control import RiskControl, RiskSettings
from aitrader.domain.risk import RiskState, TradingState

AT = datetime(2026, 7, 6, 14, 0, tzinfo=UTC)


def test_a_fresh_journal_has_no_risk_state_and_a_saved_one_survives_reopening(
    journal_url: str,
) -> None:
    journal = SqlJournal.open(journal_url).unwrap()
    assert journal.risk_state() == Success(None)
    state = RiskState(state=TradingState.HALTED, reason="circuit_breaker: 5 in a row",
                      equity_peak=Decimal("123456.78"), day=date(2026, 7, 6),
                      day_start_equity=Decimal("120000.10"), rejection_streak=5,
                      kill_requested=True, day_trades=(date(2026, 7, 2), date(2026, 7, 6)))
    assert journal.save_risk_state(state, AT) == Success(None)
    journal.close()
    reopened = SqlJournal.open(journal_url).unwrap()
    assert reopened.risk_state() == Success(state)
    resumed = state.resumed()
    assert reopened.save_risk_state(resumed, AT) == Success(None)
    assert reopened.risk_state() == Success(resumed)
    assert resumed.state is TradingState.ACTIVE
    assert resumed.equity_peak is None
    reopened.close()


def test_a_command_given_between_polls_is_not_overwritten_by_the_engine_s_next_save(
    journal_url: str,
) -> None:
    engine_side = SqlJournal.open(journal_url).unwrap()
    control = RiskControl(RiskSettings(durable=True, breaker_limit=5), engine_side)
    assert control.restore() == Success(None)
    control.on_rejected(AT)  # the engine writes its state: a streak of 1
    # `aitrader risk halt --reason outage` from another process, before the engine's next poll
    command_side = SqlJournal.open(journal_url).unwrap()
    stored = command_side.risk_state().unwrap()
    assert stored is not None
    command_side.save_risk_state(stored.halted("manual: outage"), AT)
    control.on_rejected(AT)  # the engine writes again: it must not put ACTIVE back
    after = command_side.risk_state().unwrap()
    assert after is not None
    assert (after.state, after.reason) == (TradingState.HALTED, "manual: outage")
    # the engine has adopted it, and keeps the rejection it counted since
    assert (control.state.state, control.state.rejection_streak) == (TradingState.HALTED, 2)
    engine_side.close()
    command_side.close()
