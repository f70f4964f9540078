"""Crossover deciders' batch twin: the state of "fast above / below slow", vectorised."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from aitrader.domain.strategies.base import FLAT, Target, TargetSeries, carry_forward

_KEEP = -2  # a bar that leaves the decider's last state as it was
ABOVE, BELOW, TIED = 0, 1, 2  # fast above, below, equal before any cross


def cross_codes(fast: npt.NDArray[np.float64],
                slow: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """A crossover decider's state folded over two averages, vectorised: ABOVE while fast >
    slow, BELOW while fast < slow, TIED where they are equal before they ever differed; a NaN
    (warm-up) or, after a cross, an equality keeps the last state; -1 before any."""
    above, under = fast > slow, fast < slow
    decided = above | under
    codes = under.astype(np.int8)  # BELOW where under, ABOVE where above
    codes[~decided] = _KEEP
    first = int(np.argmax(decided)) if decided.any() else len(fast)
    codes[:first][fast[:first] == slow[:first]] = TIED
    return carry_forward(codes, _KEEP)


def crossover_targets(
    above: Target, below: Target, columns: Sequence[npt.NDArray[np.float64]],
    per_bar: Callable[[Target, Sequence[float]], Target] | None = None,
) -> TargetSeries:
    """The targets of a decider holding `above` while column 1 (fast) is above column 2
    (slow), `below` while under, flat while equal before any cross."""
    return TargetSeries((above, below, FLAT), cross_codes(columns[1], columns[2]), per_bar)
