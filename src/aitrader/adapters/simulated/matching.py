"""Bar matching: where and when a resting order executes against one OHLC bar.

A bar tells us its open, its extremes and its close, never the order in which the extremes
traded. Fills at the open are stamped `bar.ts_open`; fills inside the bar are stamped
`bar.ts_close`, the first moment the touch is knowable.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from aitrader.domain.market import Bar
from aitrader.domain.trading import OrderIntent, OrderType, SlippageModel
from aitrader.domain.values import Side

_NEW_YORK = ZoneInfo("America/New_York")
_INSTANT = timedelta(microseconds=1)
# enum members as module names: Python 3.11 reads a member off its class through EnumType's
# __getattr__ hook (~130 ns, against ~15 ns), and every open order is matched on every bar
_MARKET, _LIMIT, _STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LIMIT
_BUY = Side.BUY


@attrs.frozen
class Execution:
    """A whole fill of a resting order: its price and when it happened."""

    price: Decimal
    ts_event: datetime


@attrs.frozen
class Match:
    """What a bar did to one order: maybe an execution; whether a stop-limit is now live."""

    execution: Execution | None = None
    triggered: bool = False


_NO_MATCH = Match()


def session_date(bar: Bar) -> date:
    """The America/New_York date the bar traded in (its last instant, so an ET-midnight close
    still belongs to the day it ends)."""
    return (bar.ts_close - _INSTANT).astimezone(_NEW_YORK).date()


def match(intent: OrderIntent, bar: Bar, slippage: SlippageModel, *, triggered: bool,
          stop: Decimal | None = None) -> Match:
    """Match one resting order against bar; `triggered` says a stop-limit's stop already hit;
    `stop` is a trailing stop's current level (it replaces the intent's stop price)."""
    side = intent.side
    if intent.order_type is _MARKET:
        price = slippage.fill_price(side, bar.open.value)
        return Match(Execution(price, bar.ts_open))
    if intent.order_type is _LIMIT or triggered:
        assert intent.limit_price is not None
        return Match(_limit(side, intent.limit_price.value, bar), triggered=triggered)
    assert intent.stop_price is not None
    trigger = _stop_trigger(side, stop if stop is not None else intent.stop_price.value, bar)
    if trigger is None:
        return _NO_MATCH
    if intent.order_type is not _STOP_LIMIT:
        price = slippage.fill_price(side, trigger.price)
        return Match(Execution(price, trigger.ts_event))
    assert intent.limit_price is not None
    return Match(_after_trigger(side, intent.limit_price.value, trigger, bar), triggered=True)


def _limit(side: Side, limit: Decimal, bar: Bar) -> Execution | None:
    """A limit order fills at the open if the open is at or better than the limit, else at the
    limit if the bar reaches it."""
    if _marketable(side, bar.open.value, limit):
        return Execution(bar.open.value, bar.ts_open)
    extreme = bar.low.value if side is _BUY else bar.high.value
    if _marketable(side, extreme, limit):
        return Execution(limit, bar.ts_close)
    return None


def _stop_trigger(side: Side, stop: Decimal, bar: Bar) -> Execution | None:
    """Where a stop triggers: at the open if the bar gaps through it, else at the stop."""
    if _through_stop(side, bar.open.value, stop):
        return Execution(bar.open.value, bar.ts_open)
    extreme = bar.high.value if side is _BUY else bar.low.value
    if _through_stop(side, extreme, stop):
        return Execution(stop, bar.ts_close)
    return None


def _after_trigger(side: Side, limit: Decimal, trigger: Execution, bar: Bar) -> Execution | None:
    """A triggered stop-limit is a limit order from the trigger price on.

    Triggered at the open, everything after the open follows it, so the bar may still come back
    to the limit. Triggered inside the bar, we cannot tell whether the bar's other extreme came
    before or after the trigger, so a limit beyond the trigger waits for a later bar.
    """
    if _marketable(side, trigger.price, limit):
        return trigger
    if trigger.ts_event == bar.ts_open:
        extreme = bar.low.value if side is _BUY else bar.high.value
        if _marketable(side, extreme, limit):
            return Execution(limit, bar.ts_close)
    return None


def _marketable(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side is _BUY else price >= limit


def _through_stop(side: Side, price: Decimal, stop: Decimal) -> bool:
    return price >= stop if side is _BUY else price <= stop
