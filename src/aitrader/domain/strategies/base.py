"""What a strategy is: signal kernels in, a target exposure and an edge estimate out."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast

import attrs
import numpy as np
import numpy.typing as npt

from aitrader.domain.signals import SymbolModels


@attrs.frozen
class Target:
    """Desired exposure in [-1, 1] of the symbol's allocation, with the edge behind it."""

    exposure: float
    expected_return: float = math.nan
    variance: float = math.nan
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        if not -1.0 <= self.exposure <= 1.0:
            raise ValueError(f"target exposure must be in [-1, 1], was {self.exposure}")


FLAT = Target(0.0, reason="flat")


class Decider(Protocol):
    """One symbol's decision state: maps each bar's signal row to a target (None = no view)."""

    def __call__(self, row: Sequence[float]) -> Target | None:
        """Decide on a closed bar's row: its close, then the signal values in signal_names order."""
        ...


class Observer(Protocol):
    """A cross-sectional decider also has `observe`: the engine calls it with every symbol's
    row of a moment (bars that close together) before it asks any of them to decide, so no
    symbol ranks against another's previous bar because it came first."""

    def observe(self, row: Sequence[float]) -> None:
        ...


@attrs.frozen(eq=False)  # an array field: == would be elementwise, hash would fail
class TargetSeries:
    """A decider's targets over a whole history at once: bar i's target is table[codes[i]],
    code -1 meaning None (no view yet). The batch twin of folding a fresh decider over the
    rows, like a signal kernel's; the engine uses it to find the bars where the target moves.
    int8 codes: a table of at most 127 targets. A decider whose targets carry a per-bar edge
    gives `per_bar`, which makes bar i's target from its table entry and the bar's row (the
    exposure, all the engine skips on, is the table's).
    """

    table: tuple[Target, ...] = attrs.field()
    codes: npt.NDArray[np.int8]
    per_bar: Callable[[Target, Sequence[float]], Target] | None = None

    @table.validator
    def _fits_the_codes(self, _attribute: attrs.Attribute[tuple[Target, ...]],
                        value: tuple[Target, ...]) -> None:
        if len(value) > 127:
            raise ValueError(f"a TargetSeries holds at most 127 targets, was given {len(value)}")

    def target(self, i: int, row: Sequence[float] = ()) -> Target | None:
        """Bar i's target (`row`: the bar's row, read only by per_bar)."""
        code = int(self.codes[i])
        if code < 0:
            return None
        target = self.table[code]
        return target if self.per_bar is None else self.per_bar(target, row)

    def exposures(self) -> npt.NDArray[np.float64]:
        """Each bar's target exposure, NaN where there is no view."""
        values = np.array([t.exposure for t in self.table] + [np.nan], dtype=np.float64)
        return values[self.codes]  # code -1 picks the trailing NaN


class BatchDecider(Protocol):
    """A strategy whose deciders have a batch twin (optional; checked with getattr)."""

    def batch_targets(self, columns: Sequence[npt.NDArray[np.float64]]) -> TargetSeries:
        """The targets a fresh decider gives bar by bar for these columns (close, then the
        signal columns in signal_names order)."""
        ...


def batch_targets_of(strategy: Strategy, count: int) -> Callable[
        [Sequence[npt.NDArray[np.float64]]], TargetSeries] | None:
    """The strategy's batch twin of its deciders, or None when it has none or its deciders
    share state across symbols (cross-sectional strategies)."""
    if count != 1 and getattr(strategy, "deciders", None) is not None:
        return None
    # The twin counts only where the class that defines it also defines the decider it
    # mirrors: a subclass overriding decider(), or a wrapper forwarding attributes, would
    # otherwise inherit a twin of some other decider.
    kind = type(strategy)
    if _owner(kind, "batch_targets") is None or \
            _owner(kind, "batch_targets") is not _owner(kind, "decider"):
        return None
    return cast(BatchDecider, strategy).batch_targets


def _owner(kind: type, name: str) -> type | None:
    """The class in kind's MRO whose body defines name."""
    return next((c for c in kind.__mro__ if name in vars(c)), None)


@attrs.frozen
class BarByBar:
    """A strategy as given, minus its batch twin: its decider is folded over every bar (the
    reference the fast path is measured and proven against)."""

    inner: Strategy

    @property
    def name(self) -> str:
        return self.inner.name

    def signals(self) -> tuple[SignalSpec, ...]:
        return self.inner.signals()

    def decider(self) -> Decider:
        return self.inner.decider()

    def deciders(self, count: int) -> list[Decider]:
        """The inner strategy's deciders for count symbols (a cross-section's share a board)."""
        return deciders_for(self.inner, count)

    def params(self) -> Mapping[str, object]:
        return self.inner.params()


def carry_forward(codes: npt.NDArray[np.int8], keep: int = -2) -> npt.NDArray[np.int8]:
    """Codes with every `keep` entry replaced by the last other code before it (-1 if none):
    a decider that holds its last target when a bar gives it no new one."""
    at = np.where(codes != keep, np.arange(len(codes)), -1)
    np.maximum.accumulate(at, out=at)
    out = codes[np.maximum(at, 0)]
    out[at < 0] = -1
    return out


@attrs.frozen
class SignalSpec:
    """A kernel a strategy needs, and the prefix its output columns are named with."""

    prefix: str
    kernel: Any  # a domain.signals Kernel; Any because Kernel is generic in its state

    @property
    def columns(self) -> tuple[str, ...]:
        outputs: tuple[str, ...] = self.kernel.outputs
        return tuple(self.prefix if name == "value" else f"{self.prefix}_{name}"
                     for name in outputs)


class Strategy(Protocol):
    """A named, parametrised rule set; never builds orders and never calls a port."""

    @property
    def name(self) -> str:
        """The registry name (for manifests and reports)."""
        ...

    def signals(self) -> tuple[SignalSpec, ...]:
        """The kernels this strategy reads, in row order."""
        ...

    def decider(self) -> Decider:
        """A fresh decision state for one symbol."""
        ...

    def params(self) -> Mapping[str, object]:
        """The parameters as configured (for manifests)."""
        ...


def signal_names(strategy: Strategy) -> tuple[str, ...]:
    """Column names of a decider's row: 'close', then each signal's columns in order."""
    return ("close", *(name for spec in strategy.signals() for name in spec.columns))


def warmup(strategy: Strategy) -> int:
    """Bars before every signal the strategy reads is defined."""
    return max((int(spec.kernel.warmup) for spec in strategy.signals()), default=0)


def deciders_for(strategy: Strategy, count: int) -> list[Decider]:
    """Fresh deciders for a universe of count symbols: cross-sectional strategies (with a
    `deciders` method) give ones that share what they know; others one each."""
    make = getattr(strategy, "deciders", None)
    if make is not None:
        made: list[Decider] = make(count)
        return made
    return [strategy.decider() for _ in range(count)]


def model_needs(strategy: Strategy) -> frozenset[str]:
    """The fitted models ("kalman", "hmm", "garch") the strategy's kernels read."""
    needs: frozenset[str] = frozenset()
    for spec in strategy.signals():
        needs |= getattr(spec.kernel, "needs", frozenset())
    return needs


def bound_signals(strategy: Strategy,
                  models: SymbolModels | None) -> tuple[SignalSpec, ...]:
    """The strategy's signals with one symbol's fitted models bound (None: as declared)."""
    if models is None:
        return strategy.signals()
    return tuple(attrs.evolve(spec, kernel=spec.kernel.fitted(models))
                 if hasattr(spec.kernel, "fitted") else spec for spec in strategy.signals())


@attrs.frozen
class ParamSpec:
    """One parameter: its type, default and check."""

    kind: type
    default: object
    check: Callable[[Any], str | None] = attrs.field(default=lambda _value: None)
    help: str = ""


def params_of(strategy: object, specs: Mapping[str, ParamSpec]) -> dict[str, object]:
    """A strategy's `params()`: its values of the parameters in specs, then allow_short."""
    return {name: getattr(strategy, name) for name in (*specs, "allow_short")}


def at_least(minimum: int) -> Callable[[Any], str | None]:
    """A check that a number is >= minimum."""
    return lambda value: None if value >= minimum else f"must be at least {minimum}"


def positive(value: Any) -> str | None:
    """A check that a number is > 0."""
    return None if value > 0 else "must be positive"
