"""Recent closes of several symbols, aligned on the moments they share.

Returns across symbols are only comparable over the same interval: a symbol missing a bar
(AAPL had no bar on 2009-11-12 in the bundled sample) would otherwise pair its returns before
the gap with the others' returns of a later day. So each symbol's closes are kept with their
moments, and estimates read the closes at the moments every symbol asked for has, each return
running from one shared moment to the next (a symbol's return across its own gap spans the
same interval as everyone's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


class AlignedCloses:
    """The last `keep` closes of each of n symbols, by the moment (ts_ns) each closed."""

    def __init__(self, n: int, keep: int) -> None:
        self._stamps: list[deque[int]] = [deque(maxlen=keep) for _ in range(n)]
        self._closes: list[dict[int, float]] = [{} for _ in range(n)]

    def observe(self, k: int, ts_ns: int, close: float) -> None:
        stamps, closes = self._stamps[k], self._closes[k]
        if stamps and stamps[-1] == ts_ns:  # (the same bar again: its close is the same)
            closes[ts_ns] = close
            return
        if len(stamps) == stamps.maxlen:
            del closes[stamps[0]]
        stamps.append(ts_ns)
        closes[ts_ns] = close

    def count(self, k: int) -> int:
        """How many closes symbol k has kept."""
        return len(self._stamps[k])

    def shared(self, symbols: Sequence[int], rows: int) -> npt.NDArray[np.float64]:
        """The last (at most) `rows` closes at moments every one of symbols has, oldest first,
        one column per symbol (an empty array for no symbols)."""
        if not symbols:
            return np.zeros((0, 0), dtype=np.float64)
        first, *others = symbols
        kept = [self._closes[k] for k in others]
        moments = [t for t in self._stamps[first] if all(t in c for c in kept)][-rows:]
        return np.array([[self._closes[k][t] for k in symbols] for t in moments],
                        dtype=np.float64).reshape(len(moments), len(symbols))

    def coverage(self, symbols: Sequence[int]) -> dict[int, int]:
        """For each of symbols, at how many of the moments any of them has kept since the
        latest first kept moment among them it has a close."""
        if not symbols:
            return {}
        since = max(self._stamps[k][0] if self._stamps[k] else 0 for k in symbols)
        moments = {t for k in symbols for t in self._stamps[k] if t >= since}
        return {k: sum(1 for t in moments if t in self._closes[k]) for k in symbols}
