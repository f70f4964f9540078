"""The durable risk state in the SQL journal: it reads back exactly and survives reopening."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from returns.result import Success

from aitrader.adapters.sql import SqlJournal
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
