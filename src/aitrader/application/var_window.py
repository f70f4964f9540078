"""Pre-trade portfolio VaR: the parametric one-period 95 % VaR of the positions as they would be.

Each symbol's last `window` close-to-close returns give the covariance C; with w the positions'
values as fractions of equity, VaR = 1.645 x sqrt(w'Cw) (zero mean: a risk limit should not
lean on an estimated drift). Symbols with fewer than two returns contribute no risk yet.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

Z_95 = -NormalDist().inv_cdf(0.05)


class VarWindow:
    """Recent closes of n symbols, and the VaR of a set of position values over them."""

    def __init__(self, n: int, window: int) -> None:
        self._closes: list[deque[float]] = [deque(maxlen=window + 1) for _ in range(n)]

    def observe(self, k: int, close: float) -> None:
        self._closes[k].append(close)

    def var(self, values: Sequence[float], equity: float) -> float:
        """VaR as a fraction of equity for position values (dollars, signed, per symbol)."""
        if equity <= 0:
            return math.inf if any(values) else 0.0
        held = [k for k, v in enumerate(values) if v and len(self._closes[k]) > 2]
        if not held:
            return 0.0
        n = min(len(self._closes[k]) for k in held)
        closes = np.array([list(self._closes[k])[-n:] for k in held], dtype=np.float64)
        returns = closes[:, 1:] / closes[:, :-1] - 1.0
        cov = np.atleast_2d(np.cov(returns))
        w = np.array([values[k] / equity for k in held], dtype=np.float64)
        return Z_95 * math.sqrt(max(0.0, float(w @ cov @ w)))
