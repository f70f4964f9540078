"""Bar matching: where and when a resting order executes against one OHLC bar.

A bar tells us its open, its extremes and its close, never the order in which the extremes
traded. Fills at the open are stamped `bar.ts_open`; fills inside the bar are stamped
`bar.ts_close`, the first moment the touch is knowable.

An execution is a plain (price, ts_event) tuple and a match a plain (execution, triggered)
pair: every resting order is matched on every bar, and the two attrs records a match used to
build were ~9,000 instructions of it (~0.9 µs). The price is a Price (the bar's own open, the
order's limit), so a fill needs no new one unless slippage or a stop made the number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aitrader.domain.market import Bar
from aitrader.domain.trading import OrderIntent, OrderType, SlippageModel
from aitrader.domain.values import Price, Side

_NEW_YORK = ZoneInfo("America/New_York")
_INSTANT = timedelta(microseconds=1)
_DAY = timedelta(days=1)
# enum members as module names: Python 3.11 reads a member off its class through EnumType's
# __getattr__ hook (~130 ns, against ~15 ns), and every open order is matched on every bar
_MARKET, _LIMIT, _STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LIMIT
_BUY = Side.BUY

Execution = tuple[Price, datetime]
"""A whole fill of a resting order: its price and when it happened."""

Match = tuple[Execution | None, bool]
"""What a bar did to one order: maybe an execution; whether a stop-limit's stop has hit."""

_NO_MATCH: Match = (None, False)


def session_date(bar: Bar) -> date:
    """The America/New_York date the bar traded in (its last instant, so an ET-midnight close
    still belongs to the day it ends)."""
    return (bar.ts_close - _INSTANT).astimezone(_NEW_YORK).date()


class SessionDates:
    """session_date for a stream of bars: the UTC span of the last date found is kept, and a
    bar closing inside it has that date without a zone conversion (~0.6 µs a bar otherwise).
    Nothing can go stale: the span is a fact of the calendar, not of the bars."""

    def __init__(self) -> None:
        self._after = self._until = datetime.min.replace(tzinfo=UTC)
        self._date = date.min

    def of(self, bar: Bar) -> date:
        """session_date(bar)."""
        ts_close = bar.ts_close
        if self._after < ts_close <= self._until:
            return self._date
        day = session_date(bar)
        # bars closing in (midnight starting day, midnight ending it] trade on day: stamps are
        # whole microseconds, so that is ts_close - 1 µs in [start, end)
        self._after = datetime.combine(day, time(), _NEW_YORK).astimezone(UTC)
        self._until = datetime.combine(day + _DAY, time(), _NEW_YORK).astimezone(UTC)
        self._date = day
        return day


def match(intent: OrderIntent, bar: Bar, slippage: SlippageModel, *, triggered: bool,
          stop: Decimal | None = None) -> Match:
    """Match one resting order against bar; `triggered` says a stop-limit's stop already hit;
    `stop` is a trailing stop's current level (it replaces the intent's stop price)."""
    side = intent.side
    if intent.order_type is _MARKET:
        return (slipped(slippage, side, bar.open), bar.ts_open), False
    if intent.order_type is _LIMIT or triggered:
        assert intent.limit_price is not None
        return _limit(side, intent.limit_price, bar), triggered
    assert intent.stop_price is not None
    trigger = _stop_trigger(side, stop if stop is not None else intent.stop_price.value, bar)
    if trigger is None:
        return _NO_MATCH
    if intent.order_type is not _STOP_LIMIT:
        return (slipped(slippage, side, trigger[0]), trigger[1]), False
    assert intent.limit_price is not None
    return _after_trigger(side, intent.limit_price, trigger, bar), True


def slipped(slippage: SlippageModel, side: Side, price: Price) -> Price:
    """The price a market or stop order of side fills at when the market is at price (price
    itself when slippage leaves it where it is)."""
    if not slippage.bps:  # as fill_price, which returns a price without slippage as it is
        return price
    moved = slippage.fill_price(side, price.value)
    return price if moved is price.value else Price(moved)


def _limit(side: Side, limit: Price, bar: Bar) -> Execution | None:
    """A limit order fills at the open if the open is at or better than the limit, else at the
    limit if the bar reaches it."""
    if _marketable(side, bar.open, limit):
        return bar.open, bar.ts_open
    extreme = bar.low if side is _BUY else bar.high
    if _marketable(side, extreme, limit):
        return limit, bar.ts_close
    return None


def _stop_trigger(side: Side, stop: Decimal, bar: Bar) -> Execution | None:
    """Where a stop triggers: at the open if the bar gaps through it, else at the stop."""
    if _through_stop(side, bar.open.value, stop):
        return bar.open, bar.ts_open
    extreme = bar.high if side is _BUY else bar.low
    if _through_stop(side, extreme.value, stop):
        return Price(stop), bar.ts_close
    return None


def _after_trigger(side: Side, limit: Price, trigger: Execution, bar: Bar) -> Execution | None:
    """A triggered stop-limit is a limit order from the trigger price on.

    Triggered at the open, everything after the open follows it, so the bar may still come back
    to the limit. Triggered inside the bar, we cannot tell whether the bar's other extreme came
    before or after the trigger, so a limit beyond the trigger waits for a later bar.
    """
    if _marketable(side, trigger[0], limit):
        return trigger
    if trigger[1] == bar.ts_open:
        extreme = bar.low if side is _BUY else bar.high
        if _marketable(side, extreme, limit):
            return limit, bar.ts_close
    return None


def _marketable(side: Side, price: Price, limit: Price) -> bool:
    return price.value <= limit.value if side is _BUY else price.value >= limit.value


def _through_stop(side: Side, price: Decimal, stop: Decimal) -> bool:
    return price >= stop if side is _BUY else price <= stop
