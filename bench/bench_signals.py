"""Print batch milliseconds per million bars and step microseconds per bar for each kernel."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from aitrader.domain.signals import Atr, Donchian, Ema, Kernel, Sma

BARS = 1_000_000
STEPS = 200_000


def _columns(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    high = close * (1.0 + rng.uniform(0.0, 0.01, n))
    low = close * (1.0 - rng.uniform(0.0, 0.01, n))
    return high, low, close


def _best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> None:
    high, low, close = _columns(BARS)
    hs, ls, cs = high[:STEPS].tolist(), low[:STEPS].tolist(), close[:STEPS].tolist()
    kernels: list[Kernel[Any]] = [
        Sma(20),
        Sma(200),
        Ema(20),
        Atr(14),
        Donchian(20),
        Donchian(55),
    ]
    print(f"{'kernel':<14}{'batch ms / 1M bars':>20}{'step µs / bar':>16}")
    for kernel in kernels:
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            kernel.batch(high, low, close)
            runs.append(time.perf_counter() - start)
        batch_ms = _best(runs) * 1e3 * BARS / len(close)
        step = kernel.step
        state = kernel.initial()
        start = time.perf_counter()
        for h, lo, c in zip(hs, ls, cs, strict=True):
            state, _ = step(state, h, lo, c)
        step_us = (time.perf_counter() - start) * 1e6 / STEPS
        print(f"{kernel.name:<14}{batch_ms:>20.1f}{step_us:>16.2f}")


if __name__ == "__main__":
    main()
