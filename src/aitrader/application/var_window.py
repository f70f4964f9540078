"""Pre-trade portfolio VaR: the parametric one-period 95 % VaR of the positions as they would be.

The last `window` close-to-close returns over the moments every held symbol has (see
aligned.py) give the covariance C (held symbols that share fewer than three moments are
judged by the sum of their own VaRs instead, the bound for perfect correlation); with w the
positions' values as fractions of equity, VaR = 1.645 x sqrt(w'Cw) (zero mean: a risk limit
should not lean on an estimated drift). Symbols with fewer than two returns add no risk yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from aitrader.application.aligned import AlignedCloses

Z_95 = -NormalDist().inv_cdf(0.05)


class VarWindow:
    """Recent closes of n symbols, and the VaR of a set of position values over them."""

    def __init__(self, n: int, window: int) -> None:
        self._window = window
        # twice the window: room for the shared moments when a symbol misses some bars
        self._closes = AlignedCloses(n, 2 * (window + 1))

    def observe(self, k: int, close: float, ts_ns: int) -> None:
        """Record symbol k's close of the bar that closed at ts_ns (as Allocation.observe)."""
        self._closes.observe(k, ts_ns, close)

    def var(self, values: Sequence[float], equity: float) -> float:
        """VaR as a fraction of equity for position values (dollars, signed, per symbol)."""
        if equity <= 0:
            return math.inf if any(values) else 0.0
        held = [k for k, v in enumerate(values) if v and self._closes.count(k) > 2]
        if not held:
            return 0.0
        w = np.array([values[k] / equity for k in held], dtype=np.float64)
        closes = self._closes.shared(held, self._window + 1).T  # the moments all of them have
        if closes.shape[1] < 3:
            # too few moments shared to estimate how they move together (bars that never
            # meet): each symbol's own VaR, summed, is the most their sum can lose (perfectly
            # correlated), so the limit still binds
            own = [self._closes.shared([k], self._window + 1)[:, 0] for k in held]
            sigmas = [float(np.std(c[1:] / c[:-1] - 1.0, ddof=1)) for c in own]
            return Z_95 * float(np.abs(w) @ np.array(sigmas, dtype=np.float64))
        returns = closes[:, 1:] / closes[:, :-1] - 1.0
        cov = np.atleast_2d(np.cov(returns))
        return Z_95 * math.sqrt(max(0.0, float(w @ cov @ w)))
