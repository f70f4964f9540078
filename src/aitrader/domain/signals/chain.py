"""A moving average of the Kalman filter's level (in price terms) instead of the close."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from aitrader.domain.signals.compiled import exp_price, exp_prices
from aitrader.domain.signals.kalman import Kalman
from aitrader.domain.signals.kernel import FloatArray, Kernel, Wrapper, as_columns
from aitrader.domain.signals.models import SymbolModels

ChainState = tuple[Any, Any]


@attrs.frozen
class OnKalmanLevel(Wrapper):
    """`inner` (a one-output kernel of closes, e.g. an SMA) fed the filtered level as a price."""

    inner: Any  # a Kernel reading closes
    kalman: Kalman = attrs.field(factory=Kalman)
    needs = frozenset({"kalman"})

    @property
    def name(self) -> str:
        return f"{self.inner.name}∘{self.kalman.name}"

    def fitted(self, models: SymbolModels | None) -> OnKalmanLevel:
        return attrs.evolve(self, kalman=self.kalman.fitted(models))

    def _price(self, level: float) -> float:
        return exp_price(level) if self.kalman.settings.space == "log" else level

    def initial(self) -> ChainState:
        return (self.kalman.initial(), self.inner.initial())

    def step(self, state: ChainState, high: float, low: float,
             close: float) -> tuple[ChainState, tuple[float, ...]]:
        k_state, i_state = state
        k_state, k_out = self.kalman.step(k_state, high, low, close)
        price = self._price(k_out[0])
        i_state, out = self.inner.step(i_state, price, price, price)
        return (k_state, i_state), out

    def batch(self, high: FloatArray, low: FloatArray, close: FloatArray) -> tuple[FloatArray, ...]:
        high, low, close = as_columns(high, low, close)
        level = self.kalman.batch(high, low, close)[0]
        price = exp_prices(level) if self.kalman.settings.space == "log" else level
        price = np.ascontiguousarray(price, dtype=np.float64)
        result: tuple[FloatArray, ...] = self.inner.batch(price, price, price)
        return result


if TYPE_CHECKING:
    _chain_is_a_kernel: Kernel[ChainState] = OnKalmanLevel(None)
