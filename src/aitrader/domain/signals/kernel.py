"""The streaming-kernel protocol and the fold that is every batch twin's reference.

Live trading calls `step` once per closed bar; backtests call `batch` over a whole history. The
two must agree bit for bit (not merely closely), so a decision taken in a backtest is the
decision paper or live trading takes on the same bars. Two rules keep them identical:

- both sides perform the same IEEE-754 operations in the same order (numpy's `cumsum` adds
  sequentially, element ops are correctly rounded, max/min are exact);
- sums never go through Python's `sum()`, which compensates float sums from Python 3.12 on.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

S = TypeVar("S")

NAN = float("nan")


class Kernel(Protocol[S]):
    """A streaming signal: immutable state S, one bar in, one tuple of outputs out."""

    @property
    def name(self) -> str:
        """Human-readable identity, e.g. "sma(10)"."""
        ...

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the outputs, in the order step and batch return them."""
        ...

    @property
    def warmup(self) -> int:
        """Bars before the first finite output; earlier outputs are NaN."""
        ...

    def initial(self) -> S:
        """The state before any bar."""
        ...

    def step(self, state: S, high: float, low: float, close: float) -> tuple[S, tuple[float, ...]]:
        """Consume one bar: the next state and this bar's outputs."""
        ...

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        """All outputs over whole columns, bit-identical to `fold`."""
        ...


class Wrapper:
    """Base of a kernel run around another, `inner`: it has the inner kernel's outputs and
    warmup."""

    __slots__ = ()
    inner: Any  # a Kernel; Any because Kernel is generic in its state

    @property
    def outputs(self) -> tuple[str, ...]:
        outputs: tuple[str, ...] = self.inner.outputs
        return outputs

    @property
    def warmup(self) -> int:
        return int(self.inner.warmup)


def as_columns(
    high: FloatArray, low: FloatArray, close: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Coerce three columns to 1-D float64 arrays of one length, or raise ValueError."""
    columns = tuple(np.asarray(c, dtype=np.float64) for c in (high, low, close))
    if any(c.ndim != 1 for c in columns) or len({len(c) for c in columns}) != 1:
        raise ValueError("high, low and close must be 1-D columns of the same length")
    return columns[0], columns[1], columns[2]


def fold(
    kernel: Kernel[S], high: FloatArray, low: FloatArray, close: FloatArray
) -> tuple[FloatArray, ...]:
    """Run `step` over columns, one bar at a time: the reference every batch must equal."""
    high, low, close = as_columns(high, low, close)
    state = kernel.initial()
    step = kernel.step
    rows: list[tuple[float, ...]] = []
    for h, lo, c in zip(high.tolist(), low.tolist(), close.tolist(), strict=True):
        state, values = step(state, h, lo, c)
        rows.append(values)
    width = len(kernel.outputs)
    table = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    return tuple(np.ascontiguousarray(table[:, j]) for j in range(width))


def batch_of(kernel: Any, ts_close: Any, high: FloatArray, low: FloatArray,
             close: FloatArray) -> tuple[FloatArray, ...]:
    """A kernel's batch outputs; timed kernels (`timed = True`) also get each bar's ts_close."""
    if getattr(kernel, "timed", False):
        timed: tuple[FloatArray, ...] = kernel.batch_at(ts_close, high, low, close)
        return timed
    plain: tuple[FloatArray, ...] = kernel.batch(high, low, close)
    return plain


def step_of(kernel: Any, state: Any, ts_close: int, high: float, low: float,
            close: float) -> tuple[Any, tuple[float, ...]]:
    """One streamed bar through a kernel; timed kernels also get its ts_close (UTC ns)."""
    if getattr(kernel, "timed", False):
        return kernel.step_at(state, ts_close, high, low, close)  # type: ignore[no-any-return]
    return kernel.step(state, high, low, close)  # type: ignore[no-any-return]


def check_period(period: object) -> int:
    """Return period if it is an int >= 1, else raise ValueError."""
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be an int >= 1, was {period!r}")
    return period


def valid_period(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    """attrs validator for a kernel's period."""
    check_period(value)


def nan_column(n: int) -> FloatArray:
    """A fresh column of n NaNs."""
    return np.full(n, np.nan, dtype=np.float64)


class OnePeriodKernel:
    """Shared surface of kernels with one `period` and one output: name, outputs, warmup."""

    label = "kernel"
    period: int

    @property
    def name(self) -> str:
        return f"{self.label}({self.period})"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("value",)

    @property
    def warmup(self) -> int:
        return self.period - 1
