"""The probabilistic core: batch Kalman + HMM filtering + GARCH over 1,000,000 bars, and each
streaming kernel's cost per bar.

Run: .venv/bin/python bench/bench_probabilistic.py [--bars N] [--stream-bars N]
Prints the batch wall time of the three kernels together (best of 3, after one warm-up that
loads numba's cached machine code) and microseconds per bar for each streaming kernel (after
2,000 untimed steps that load its compiled step).
Targets on the 2-core reference machine: batch < 2 s per million bars; streaming < 5 us/bar.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from aitrader.domain.signals import (
    Garch,
    GarchParams,
    HmmParams,
    Kalman,
    Regime,
    Schedule,
)

HMM = HmmParams([0.6, 0.3, 0.1], [[0.97, 0.02, 0.01], [0.03, 0.94, 0.03], [0.02, 0.08, 0.9]],
                [0.01, 0.0, -0.02], [0.01, 0.04, 0.2])
GARCH = GarchParams(0.0, 0.0005, 0.08, 0.9)


def _closes(n: int) -> np.ndarray:
    rng = np.random.default_rng(42)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))


def _kernels(n: int) -> list[object]:
    # refits every 100,000 bars, as a scheduled refit over trailing windows would give
    starts = tuple(range(1_000, n, 100_000))
    return [Kalman(), Regime(schedule=Schedule(starts, (HMM,) * len(starts))),
            Garch(Schedule(starts, (GARCH,) * len(starts)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--stream-bars", type=int, default=200_000)
    args = parser.parse_args()
    close = _closes(args.bars)
    kernels = _kernels(args.bars)
    for kernel in kernels:  # warm-up: load (or compile) the machine code
        kernel.batch(close[:2000], close[:2000], close[:2000])  # type: ignore[attr-defined]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for kernel in kernels:
            kernel.batch(close, close, close)  # type: ignore[attr-defined]
        best = min(best, time.perf_counter() - started)
    print(f"batch Kalman + HMM filter + GARCH over {args.bars:,} bars: {best:.3f} s "
          f"({args.bars / best / 1e6:.1f} M bars/s)")
    for kernel in kernels:
        name = kernel.name  # type: ignore[attr-defined]
        step = kernel.step  # type: ignore[attr-defined]
        # warm-up: the streaming steps are their own compiled functions; loading (or, after an
        # edit, compiling) them must not be timed as per-bar cost
        state = kernel.initial()  # type: ignore[attr-defined]
        for c in close[:2000].tolist():
            state, _ = step(state, c, c, c)
        state = kernel.initial()  # type: ignore[attr-defined]
        values = close[:args.stream_bars].tolist()
        started = time.perf_counter()
        for c in values:
            state, _ = step(state, c, c, c)
        elapsed = time.perf_counter() - started
        print(f"streaming {name}: {elapsed / len(values) * 1e6:.2f} us/bar "
              f"over {len(values):,} bars")


if __name__ == "__main__":
    main()
