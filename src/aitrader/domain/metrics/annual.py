"""How many bars a year of the run's data holds: the `P` that annualises volatility, Sharpe and
Sortino (and the volatility a `volatility_target` sizer aims at).

A timeframe alone does not say it: one-minute bars with pre-market and after-hours trading hold
~960 a day, not 390; hourly bars on XNYS come 7 to a session (the last one half an hour); a
24/7 market trades every day of the year. So the figure is the trading days of a year (252 on an
exchange calendar; on `24/7`, 365.25 x the share of calendar days the data has bars on) times
the bars the data holds on a median trading day (1 for daily bars).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EXCHANGE_DAYS = 252.0
_DAY_NS = 86_400 * 1_000_000_000
# New York is 4 or 5 hours behind UTC: shifted by 5, every bar close of a trading day (04:01 to
# 20:00 New York, pre-market to after-hours) falls on that day's date, in summer and winter
_SHIFT_NS = 5 * 3_600 * 1_000_000_000


def periods_per_year(stamps: npt.NDArray[np.int64], *, intraday: bool,
                     every_day: bool) -> float:
    """Points in a year of an equity curve stamped at `stamps` (the distinct bar closes of a
    run, UTC ns); `every_day`: a calendar that trades every day (24/7). Without stamps: one
    point a trading day."""
    days = (np.unique(np.asarray(stamps, dtype=np.int64)) - _SHIFT_NS) // _DAY_NS
    if not len(days):
        return EXCHANGE_DAYS
    dates, counts = np.unique(days, return_counts=True)
    year = EXCHANGE_DAYS
    if every_day:
        spanned = int(dates[-1] - dates[0]) + 1
        year = 365.25 * len(dates) / spanned if spanned > 1 else 365.25
    return year * float(np.median(counts)) if intraday else year
