"""The risk layer as configured: the gate chain and the cycle's risk, sizing and allocation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aitrader.application.allocation import AllocationSettings
from aitrader.application.risk_control import RiskSettings
from aitrader.domain.market import Session
from aitrader.domain.portfolio import ExposureScaler
from aitrader.domain.risk import (
    BuyingPower,
    CashReserve,
    DailyLossHalt,
    DayTradingGate,
    ExitPlan,
    Gate,
    LongOnly,
    MaxDrawdownHalt,
    MaxGrossExposure,
    MaxNetExposure,
    MaxOpenPositions,
    MaxOrderNotional,
    MaxOrderRate,
    MaxPositionFraction,
    OrderTypes,
    PortfolioVar,
    RejectionCircuitBreaker,
    SessionRules,
    TradingStateGate,
    day_trading_policy,
)
from aitrader.entrypoints.config import Config
from aitrader.ports.calendar import Calendar


def build_gates(config: Config) -> list[Gate]:
    """Every configured gate, in the order they judge: state and halts first, then the order's
    own limits, then the portfolio's, and buying power last."""
    risk = config.risk
    gates: list[Gate] = [TradingStateGate(), RejectionCircuitBreaker(
        risk.max_consecutive_rejections)]
    if risk.max_drawdown is not None:
        gates.append(MaxDrawdownHalt(risk.max_drawdown))
    if risk.daily_loss is not None:
        gates.append(DailyLossHalt(risk.daily_loss))
    gates.append(SessionRules())
    if not risk.allow_short:
        gates.append(LongOnly())
    if risk.max_order_rate is not None:
        gates.append(MaxOrderRate(risk.max_order_rate))
    if risk.max_order_notional is not None:
        gates.append(MaxOrderNotional(risk.max_order_notional))
    gates.append(MaxPositionFraction(risk.max_position_fraction))
    if risk.max_gross_exposure is not None:
        gates.append(MaxGrossExposure(risk.max_gross_exposure))
    if risk.max_net_exposure is not None:
        gates.append(MaxNetExposure(risk.max_net_exposure))
    if risk.max_open_positions is not None:
        gates.append(MaxOpenPositions(risk.max_open_positions))
    if risk.day_trading != "none":
        gates.append(DayTradingGate(day_trading_policy(
            risk.day_trading, max_day_trades=risk.pdt_max_day_trades,
            equity_threshold=risk.pdt_equity_threshold,
            intraday_multiplier=risk.intraday_margin_multiplier)))
    if risk.max_var is not None:
        gates.append(PortfolioVar(risk.max_var))
    if risk.cash_reserve is not None:
        gates.append(CashReserve(risk.cash_reserve))
    gates.append(BuyingPower(config.broker.margin_multiplier))
    return gates


def risk_settings(config: Config, calendar: Calendar | None = None,
                  new_account: bool = False) -> RiskSettings:
    """What the cycle watches; paper and live runs keep the trading state in the journal
    (`new_account`: the broker opens a fresh account for the run, so the stored equity marks
    are not its own). The day-trade window counts the calendar's trading days (weekdays
    without one)."""
    risk = config.risk
    return RiskSettings(
        durable=config.mode != "backtest", new_account=new_account,
        breaker_limit=risk.max_consecutive_rejections,
        max_drawdown=risk.max_drawdown, daily_loss=risk.daily_loss,
        flatten_drawdown=risk.flatten_drawdown, max_order_rate=risk.max_order_rate,
        max_var=risk.max_var, var_window=risk.var_window,
        track_day_trades=risk.day_trading == "legacy_pdt", poll_every=risk.poll_every,
        trading_days=None if calendar is None else calendar.trading_days)


def scaler(config: Config) -> ExposureScaler:
    p = config.portfolio
    return ExposureScaler(method=p.sizing, target_volatility=p.target_volatility,
                          max_leverage=p.max_leverage, kelly_fraction=p.kelly_fraction,
                          kelly_max=p.kelly_max, kelly_uncertainty=p.kelly_uncertainty,
                          kelly_fallback=p.kelly_fallback)


def allocation(config: Config) -> AllocationSettings:
    p = config.portfolio
    return AllocationSettings(allocator=p.allocator, rebalance=p.rebalance, drift=p.drift,
                              lookback=p.lookback, max_weight=p.max_weight,
                              risk_aversion=p.risk_aversion)


def exits(config: Config) -> ExitPlan:
    r = config.risk
    return ExitPlan(stop_loss=r.stop_loss, take_profit=r.take_profit, trail_atr=r.trail_atr,
                    atr_period=r.atr_period)


def order_types(config: Config) -> OrderTypes:
    return OrderTypes(style=config.risk.order_style, limit_offset_bps=config.risk.limit_offset_bps)


def session_of(calendar: Calendar, intraday: bool) -> Callable[[datetime], Session] | None:
    """The Calendar port's session lookup for intraday bars; daily bars are REGULAR."""
    return calendar.session_at if intraday else None
