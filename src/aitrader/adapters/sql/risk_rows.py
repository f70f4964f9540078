"""The durable risk state as rows of the `risk_state` table (one key per field, JSON values)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from aitrader.domain.risk import RiskState, TradingState

PREFIX = "account."


def risk_values(state: RiskState) -> dict[str, str]:
    """key -> JSON text for each field (decimals and dates as strings)."""
    fields: dict[str, Any] = {
        "state": state.state.value, "reason": state.reason,
        "equity_peak": None if state.equity_peak is None else str(state.equity_peak),
        "day": None if state.day is None else state.day.isoformat(),
        "day_start_equity": None if state.day_start_equity is None
        else str(state.day_start_equity),
        "rejection_streak": state.rejection_streak, "kill_requested": state.kill_requested,
        "day_trades": [d.isoformat() for d in state.day_trades],
    }
    return {PREFIX + key: json.dumps(value) for key, value in fields.items()}


def to_risk_state(values: Mapping[str, str]) -> RiskState | None:
    """The state from its rows; None when nothing was ever stored."""
    found = {k[len(PREFIX):]: json.loads(v) for k, v in values.items() if k.startswith(PREFIX)}
    if "state" not in found:
        return None
    peak, day, start = found.get("equity_peak"), found.get("day"), found.get("day_start_equity")
    return RiskState(
        state=TradingState(found["state"]), reason=str(found.get("reason", "")),
        equity_peak=None if peak is None else Decimal(peak),
        day=None if day is None else date.fromisoformat(day),
        day_start_equity=None if start is None else Decimal(start),
        rejection_streak=int(found.get("rejection_streak", 0)),
        kill_requested=bool(found.get("kill_requested", False)),
        day_trades=tuple(date.fromisoformat(d) for d in found.get("day_trades", [])))
