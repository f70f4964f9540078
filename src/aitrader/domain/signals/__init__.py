"""Streaming signal kernels with bit-identical batch twins (float world)."""

from aitrader.domain.signals.atr import Atr
from aitrader.domain.signals.donchian import Donchian
from aitrader.domain.signals.kernel import FloatArray, Kernel, fold
from aitrader.domain.signals.moving_average import Ema, Sma

__all__ = ["Atr", "Donchian", "Ema", "FloatArray", "Kernel", "Sma", "fold"]
