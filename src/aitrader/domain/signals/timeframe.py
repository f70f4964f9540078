"""A kernel run on higher-timeframe bars, seen from a lower timeframe only once they closed.

The lower bars are grouped into session-anchored buckets (`domain.series.buckets`: 5m, 15m, 1h
from the regular session's open, 1D the whole session); when a bucket has closed (a bar at or
after its close arrives), the inner kernel steps once on the bucket's high, low and close. At
every lower bar the outputs are those of the last closed bucket (NaN before the first), so a
strategy never sees a higher-timeframe bar before its close. Bars outside the regular sessions
are left out of the buckets.

This kernel needs each bar's ts_close: runners call `step_at` / `batch_at` (see `timed`).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Any

import attrs
import numpy as np

from aitrader.domain.market import Timeframe
from aitrader.domain.series import as_of, buckets
from aitrader.domain.signals.kernel import FloatArray, Wrapper, as_columns
from aitrader.domain.signals.models import SymbolModels

# inner state, pending bucket (close ns, high, low, close) or None, last outputs
TimedState = tuple[Any, tuple[int, float, float, float] | None, tuple[float, ...]]
IntArray = Any


@attrs.frozen
class HigherTimeframe(Wrapper):
    """`inner` on `timeframe` bars built from the lower bars inside the given sessions."""

    inner: Any
    timeframe: Timeframe
    starts: tuple[int, ...] = ()  # regular sessions' opens and closes, UTC ns, in order
    ends: tuple[int, ...] = ()
    needs = frozenset({"sessions"})
    timed = True

    @property
    def name(self) -> str:
        return f"{self.inner.name}@{self.timeframe.value}"

    def fitted(self, models: SymbolModels | None) -> HigherTimeframe:
        inner = self.inner.fitted(models) if hasattr(self.inner, "fitted") else self.inner
        return attrs.evolve(self, inner=inner)

    def initial(self) -> TimedState:
        return (self.inner.initial(), None, (math.nan,) * len(self.outputs))

    def _bucket(self, ts: int) -> int | None:
        k = bisect_left(self.ends, ts)  # first session ending at or after ts
        if k == len(self.ends) or ts <= self.starts[k]:
            return None
        if self.timeframe is Timeframe.DAY_1:
            return self.ends[k]
        size = int(self.timeframe.length.total_seconds()) * 1_000_000_000
        opened = self.starts[k] + (ts - 1 - self.starts[k]) // size * size
        return min(opened + size, self.ends[k])

    def step_at(self, state: TimedState, ts: int, high: float, low: float,
                close: float) -> tuple[TimedState, tuple[float, ...]]:
        """Consume one lower bar closing at ts (UTC ns)."""
        inner_state, pending, last = state
        if pending is not None and pending[0] < ts:  # closed before this bar: not its bucket
            inner_state, last = self.inner.step(inner_state, pending[1], pending[2], pending[3])
            pending = None
        key = self._bucket(ts)
        if key is not None:
            if pending is None:
                pending = (key, high, low, close)
            else:
                pending = (key, max(pending[1], high), min(pending[2], low), close)
            if key == ts:  # this bar closes its bucket
                inner_state, last = self.inner.step(inner_state, pending[1], pending[2],
                                                    pending[3])
                pending = None
        return (inner_state, pending, last), last

    def batch_at(self, ts_close: IntArray, high: FloatArray, low: FloatArray,
                 close: FloatArray) -> tuple[FloatArray, ...]:
        """All outputs at every lower bar, bit-identical to folding `step_at`."""
        high, low, close = as_columns(high, low, close)
        ts = np.asarray(ts_close, dtype=np.int64)
        n, width = len(close), len(self.outputs)
        rows, _, keys = buckets(ts, self.timeframe, np.array(self.starts, dtype=np.int64),
                                np.array(self.ends, dtype=np.int64))
        if not len(rows):
            return tuple(np.full(n, math.nan) for _ in range(width))
        first = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1)).astype(np.int64)
        last = np.concatenate((first[1:] - 1, [len(rows) - 1])).astype(np.int64)
        closed = keys[first] <= ts[-1]
        h = np.maximum.reduceat(high[rows], first)[closed]
        lo = np.minimum.reduceat(low[rows], first)[closed]
        c = close[rows][last][closed]
        inner = self.inner.batch(np.ascontiguousarray(h), np.ascontiguousarray(lo),
                                 np.ascontiguousarray(c))
        seen = as_of(ts, keys[first][closed])
        visible = seen >= 0
        out = []
        for column in inner:
            values = np.full(n, math.nan)
            values[visible] = np.asarray(column)[seen[visible]]
            out.append(values)
        return tuple(out)

    def step(self, state: TimedState, high: float, low: float,
             close: float) -> tuple[TimedState, tuple[float, ...]]:
        raise TypeError(f"{self.name} needs each bar's ts_close: call step_at")

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        raise TypeError(f"{self.name} needs each bar's ts_close: call batch_at")
