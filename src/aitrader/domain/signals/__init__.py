"""Streaming signal kernels with bit-identical batch twins (float world)."""

from aitrader.domain.signals.atr import Atr
from aitrader.domain.signals.chain import OnKalmanLevel
from aitrader.domain.signals.donchian import Donchian
from aitrader.domain.signals.garch import Garch
from aitrader.domain.signals.kalman import Kalman, kalman_loglik, observations
from aitrader.domain.signals.kernel import FloatArray, Kernel, batch_of, fold, step_of
from aitrader.domain.signals.models import (
    RETURN_SCALE,
    GarchParams,
    HmmParams,
    KalmanNoise,
    KalmanSettings,
    RegimeSettings,
    Schedule,
    SignalSettings,
    SymbolModels,
    regime_labels,
)
from aitrader.domain.signals.moving_average import Ema, Sma
from aitrader.domain.signals.regime import Regime
from aitrader.domain.signals.timeframe import HigherTimeframe

__all__ = [
    "RETURN_SCALE", "Atr", "Donchian", "Ema", "FloatArray", "Garch", "GarchParams",
    "HigherTimeframe", "HmmParams", "Kalman", "KalmanNoise", "KalmanSettings", "Kernel",
    "OnKalmanLevel", "Regime", "RegimeSettings", "Schedule", "SignalSettings", "Sma",
    "SymbolModels", "batch_of", "fold", "kalman_loglik", "observations", "regime_labels",
    "step_of",
]
