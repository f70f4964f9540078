"""RiskControl: the rules that move the trading state from equity marks and rejections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import cast

from returns.result import Success

from aitrader.adapters.calendars import open_calendar
from aitrader.application.cycle_state import SymbolBook
from aitrader.application.risk_control import RiskControl, RiskSettings
from aitrader.application.safeguards import Safeguards
from aitrader.domain.risk import RiskState, TradingState
from aitrader.domain.series import to_ns
from aitrader.domain.values import Symbol
from aitrader.ports.journal import Journal

D = Decimal
DAY_1 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def marks(control: RiskControl, *equities: float, at: datetime = DAY_1) -> None:
    for equity in equities:
        control.on_equity(to_ns(at), equity, at)


def test_the_emergency_flatten_fires_after_a_max_drawdown_halt_when_the_fall_goes_on() -> None:
    control = RiskControl(RiskSettings(max_drawdown=D("0.05"), flatten_drawdown=D("0.08")), None)
    marks(control, 100_000, 94_000)
    assert control.state.state is TradingState.HALTED
    assert not control.state.kill_requested
    marks(control, 93_000)  # 7 %: still only halted
    assert not control.state.kill_requested
    marks(control, 91_000)  # 9 %: beyond the harder limit while HALTED
    assert control.state.kill_requested
    assert control.state.reason.startswith("emergency flatten: drawdown 0.0900")


def test_the_emergency_flatten_fires_once_per_peak_and_again_after_a_resume() -> None:
    control = RiskControl(RiskSettings(flatten_drawdown=D("0.1")), None)
    marks(control, 100_000, 89_000)
    assert control.state.kill_requested
    control.kill_verified(DAY_1)
    marks(control, 89_000, 88_000)  # flat and still below the peak: no second kill
    assert not control.state.kill_requested
    assert control.state.state is TradingState.HALTED
    control.state = control.state.resumed()
    marks(control, 88_000, 79_000)  # a new peak after the resume, and a new fall
    assert control.state.kill_requested


def test_the_daily_loss_halt_measures_from_the_equity_the_day_started_with() -> None:
    control = RiskControl(RiskSettings(daily_loss=D("0.03")), None)
    marks(control, 100_000, 98_000)
    # a new day starts from the last mark before it, 98,000 (not from its own first mark,
    # which would hide the overnight gap, and on daily bars the whole day)
    marks(control, 97_500, at=DAY_1 + timedelta(days=1))
    assert control.state.day_start_equity == D("98000.0")
    assert control.state.state is TradingState.ACTIVE
    marks(control, 95_100, at=DAY_1 + timedelta(days=1))  # 2.96 %
    assert control.state.state is TradingState.ACTIVE
    marks(control, 95_060, at=DAY_1 + timedelta(days=1))
    assert control.state.state is TradingState.HALTED
    assert control.state.reason.startswith("daily_loss: loss 0.0300")


def test_a_day_s_first_mark_alone_can_cross_the_daily_loss_limit() -> None:
    control = RiskControl(RiskSettings(daily_loss=D("0.05")), None)
    marks(control, 100_000)
    marks(control, 94_000, at=DAY_1 + timedelta(days=1))  # one daily bar: 6 % down
    assert control.state.state is TradingState.HALTED


def test_the_breaker_halts_on_exactly_the_nth_rejection_in_a_row() -> None:
    control = RiskControl(RiskSettings(breaker_limit=3), None)
    control.on_rejected(DAY_1)
    control.on_rejected(DAY_1)
    control.on_accepted(DAY_1)  # an acceptance breaks the streak
    control.on_rejected(DAY_1)
    control.on_rejected(DAY_1)
    assert control.state.state is TradingState.ACTIVE
    control.on_rejected(DAY_1)
    assert control.state.state is TradingState.HALTED
    assert control.state.rejection_streak == 3


def _day_trades_on(control: RiskControl, *days: datetime) -> None:
    for day in days:
        control.day_trade(to_ns(day), day)


THANKSGIVING_WEEK = [datetime(2025, 11, d, 18, 0, tzinfo=UTC) for d in (24, 25, 26)]
MONDAY_AFTER = datetime(2025, 12, 1, 18, 0, tzinfo=UTC)


def test_the_day_trade_window_counts_exchange_trading_days_so_a_holiday_widens_it() -> None:
    # NYSE is closed on Thanksgiving (Thu 2025-11-27): the five business days that end on
    # Monday 12-01 are 11-24, 25, 26, 28 and 12-01, so the three day trades of 24-26 count.
    calendar = open_calendar("XNYS")
    control = RiskControl(RiskSettings(track_day_trades=True,
                                       trading_days=calendar.trading_days), None)
    _day_trades_on(control, *THANKSGIVING_WEEK)
    assert control.day_trades(to_ns(MONDAY_AFTER)) == 3
    assert control.day_trades(to_ns(MONDAY_AFTER + timedelta(days=1))) == 2  # 11-24 drops out
    # without a calendar only weekdays are known: 11-27 counts and 11-24 falls outside
    weekdays = RiskControl(RiskSettings(track_day_trades=True), None)
    _day_trades_on(weekdays, *THANKSGIVING_WEEK)
    assert weekdays.day_trades(to_ns(MONDAY_AFTER)) == 2


def test_day_trades_older_than_the_window_are_dropped_from_the_stored_state() -> None:
    control = RiskControl(RiskSettings(track_day_trades=True,
                                       trading_days=open_calendar("XNYS").trading_days), None)
    _day_trades_on(control, *THANKSGIVING_WEEK, MONDAY_AFTER + timedelta(days=1))
    assert control.state.day_trades == tuple(
        d.date() for d in (*THANKSGIVING_WEEK[1:], MONDAY_AFTER + timedelta(days=1)))


def _day_trades_counted(*fills: tuple[datetime, int]) -> int:
    """Day trades the cycle counts for one symbol's fills (moment, signed quantity filled)."""
    control = RiskControl(RiskSettings(track_day_trades=True), None)
    book = SymbolBook(0, Symbol("XYZ"), decider=None)  # type: ignore[arg-type]
    cycle = SimpleNamespace(risk=control, _ts_ns=0)
    held = D(0)
    for at, qty in fills:
        cycle._ts_ns = to_ns(at)
        Safeguards._count_day_trade(cycle, book, held, held + qty)  # type: ignore[arg-type]
        held += qty
    return control.day_trades(to_ns(fills[-1][0]))


def test_a_day_trade_is_shares_opened_and_closed_on_one_exchange_day() -> None:
    monday = datetime(2024, 1, 8, 15, 0, tzinfo=UTC)
    tuesday = monday + timedelta(days=1)
    hour = timedelta(hours=1)
    # buy, sell: one; bought the day before: none
    assert _day_trades_counted((monday, 100), (monday + hour, -100)) == 1
    assert _day_trades_counted((monday, 100), (tuesday, -100)) == 0
    # scaling out of the day's purchase in two fills pairs it once (FINRA: buy, sell, sell)
    assert _day_trades_counted((monday, 100), (monday + hour, -50),
                               (monday + 2 * hour, -50)) == 1
    # buy, sell, buy, sell: two
    assert _day_trades_counted((monday, 100), (monday + hour, -100), (monday + 2 * hour, 100),
                               (monday + 3 * hour, -100)) == 2
    # held overnight, added to and trimmed today: today's purchase was closed today
    assert _day_trades_counted((monday, 100), (tuesday, 50), (tuesday + hour, -50)) == 1
    # reversals: Tuesday's short (opened by a reversal of Monday's long) closed by another
    # reversal the same day is one; the long that reversal opens, closed Wednesday, is none
    assert _day_trades_counted((monday, 100), (tuesday, -200), (tuesday + hour, 200),
                               (tuesday + 2 * hour + timedelta(days=1), -100)) == 1


class _StoredState:
    """A journal holding one stored risk state (and keeping what is saved over it)."""

    def __init__(self, state: RiskState) -> None:
        self.state = state

    def risk_state(self) -> Success[RiskState | None]:
        return Success(self.state)

    def save_risk_state(self, state: RiskState, at: datetime) -> Success[None]:
        self.state = state
        return Success(None)


def test_a_new_account_keeps_the_stored_halt_and_kill_but_not_the_old_account_s_figures() -> None:
    stored = RiskState(state=TradingState.HALTED, reason="manual: drill",
                       equity_peak=D(10_200), day=DAY_1.date(), day_start_equity=D(10_100),
                       rejection_streak=4, kill_requested=True, day_trades=(DAY_1.date(),))
    for new_account, expected in ((False, stored), (True, RiskState(
            state=TradingState.HALTED, reason="manual: drill", kill_requested=True))):
        journal = _StoredState(stored)
        control = RiskControl(RiskSettings(durable=True, new_account=new_account),
                              cast(Journal, journal))
        assert control.restore() == Success(None)
        assert control.state == expected
        marks(control, 5_000)  # the new account's first mark starts its own peak
        control.save(DAY_1)
        assert journal.state.equity_peak == (D(10_200) if not new_account else D(5_000))
