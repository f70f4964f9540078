"""The look-ahead check: decisions over the full history equal those over truncated copies.

A decision at bar t may depend only on bars up to t. The check runs the strategy (signals,
fitted models and deciders, exactly as a backtest computes them) over the whole history, then
over copies cut at several moments (models refitted on the cut copy), and reports every
decision on a bar both runs saw that differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import attrs
import numpy as np

from aitrader.application.backtest import signal_columns
from aitrader.domain.series import BarFrame, from_ns
from aitrader.domain.signals import SymbolModels
from aitrader.domain.strategies import Strategy, deciders_for
from aitrader.domain.values import Symbol

Fit = Callable[[Sequence[BarFrame]], Mapping[Symbol, SymbolModels]]
# per symbol: one (exposure, expected return, variance) per bar; NaNs for "no view"
Decisions = list[list[tuple[float, float, float]]]
_NONE = (math.nan, math.nan, math.nan)


@attrs.frozen
class Changed:
    """A decision that differs once later bars are removed."""

    symbol: Symbol
    ts_close_ns: int
    cut_ns: int
    full: tuple[float, float, float]
    truncated: tuple[float, float, float]

    def describe(self) -> str:
        return (f"{self.symbol} {from_ns(self.ts_close_ns).isoformat()}: "
                f"{_show(self.full)} with all bars, {_show(self.truncated)} with bars before "
                f"{from_ns(self.cut_ns).isoformat()}")


def _show(decision: tuple[float, float, float]) -> str:
    exposure, edge, variance = decision
    if math.isnan(exposure):
        return "no view"
    if math.isnan(edge):  # a target without an edge estimate
        return f"exposure {exposure:g}"
    spread = "unknown" if math.isnan(variance) else f"{variance:.6g}"
    return f"exposure {exposure:g} (edge {edge:.6g}, variance {spread})"


def decisions(strategy: Strategy, frames: Sequence[BarFrame],
              models: Mapping[Symbol, SymbolModels]) -> Decisions:
    """Every bar's target, symbols interleaved in time order as the trading cycle feeds them."""
    columns = [np.column_stack(signal_columns(strategy, f, models.get(f.symbol))).tolist()
               for f in frames]
    deciders = deciders_for(strategy, len(frames))
    ts = np.concatenate([f.ts_close for f in frames]) if frames else np.empty(0, np.int64)
    ks = np.concatenate([np.full(len(f), k, dtype=np.int64) for k, f in enumerate(frames)]) \
        if frames else np.empty(0, np.int64)
    order = np.lexsort((ks, ts))
    out: Decisions = [[] for _ in frames]
    for k in ks[order].tolist():
        target = deciders[k](columns[k][len(out[k])])
        out[k].append(_NONE if target is None else
                      (target.exposure, target.expected_return, target.variance))
    return out


def _same(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def cut_points(frames: Sequence[BarFrame], cuts: int) -> list[int]:
    """`cuts` moments splitting the merged history (UTC ns) into `cuts + 1` equal shares.

    Cut k of `cuts` keeps the first floor(k * n / (cuts + 1)) of the n distinct bar closes (at
    least one), so a single cut compares the first half and each cut a growing share; cuts that
    fall on the same bar (more cuts than bars) count once. From n - 1 cuts on, the shares are
    no longer than a bar and every bar after the first is a cut: those are given at once
    rather than by visiting each of (possibly billions of) requested cuts.
    """
    stamps = np.unique(np.concatenate([f.ts_close for f in frames]))
    n = len(stamps)
    if n < 2:
        return []
    if cuts >= n - 1:
        return [int(s) for s in stamps[1:]]
    return sorted({int(stamps[max(1, k * n // (cuts + 1))]) for k in range(1, cuts + 1)})


def check_lookahead(strategy: Strategy, frames: Sequence[BarFrame], fit: Fit,
                    cuts: int = 10) -> tuple[int, list[Changed]]:
    """Decisions compared and every one that changed between the full and truncated runs."""
    full = decisions(strategy, frames, fit(frames))
    changed: list[Changed] = []
    compared = 0
    for cut in cut_points(frames, cuts):
        shortened = [f.take(slice(0, int(np.searchsorted(f.ts_close, cut, "left"))))
                     for f in frames]
        kept = [f for f in shortened if len(f)]
        partial = decisions(strategy, kept, fit(kept))
        for frame, mine in zip(kept, partial, strict=True):
            k = next(j for j, f in enumerate(frames) if f.symbol == frame.symbol)
            for i, decision in enumerate(mine):
                compared += 1
                if not _same(full[k][i], decision):
                    changed.append(Changed(frame.symbol, int(frame.ts_close[i]), cut, full[k][i],
                                           decision))
    return compared, changed
