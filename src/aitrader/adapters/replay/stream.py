"""ReplayBarStream: history delivered bar by bar, paced by a clock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from aitrader.domain.market import Bar
from aitrader.domain.series import BarFrame, from_ns
from aitrader.ports.clock import Clock
from aitrader.ports.market_data import BarStream


class ReplayBarStream(BarStream):
    """Yields the frames' bars in (ts_close, frame order) order, each once its close is reached."""

    def __init__(self, frames: Sequence[BarFrame], clock: Clock) -> None:
        self._frames = tuple(frames)
        self._clock = clock

    def __iter__(self) -> Iterator[Bar]:
        if not self._frames:
            return
        ts = np.concatenate([f.ts_close for f in self._frames])
        ks = np.concatenate([np.full(len(f), k) for k, f in enumerate(self._frames)])
        idx = np.concatenate([np.arange(len(f)) for f in self._frames])
        order = np.lexsort((ks, ts))
        for t, k, i in zip(ts[order].tolist(), ks[order].tolist(), idx[order].tolist(),
                           strict=True):
            self._clock.wait_until(from_ns(t))
            yield self._frames[k].bar(i)
