"""How big a target should be: fixed fraction, volatility targeting or fractional Kelly.

Each method turns the strategy's target exposure (in [-1, 1]) into the exposure the sizer
invests (a float weight of the symbol's budget, possibly above 1 when leverage is allowed), and
says how, for the decision's journal entry.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

from aitrader.domain.strategies import Target

SizingMethod = Literal["fixed_fraction", "volatility_target", "kelly"]
SIZING_METHODS = ("fixed_fraction", "volatility_target", "kelly")
KellyFallback = Literal["flat", "fixed_fraction"]


@attrs.frozen
class ExposureScaler:
    """The sizing method and its parameters (see the README's risk section for each).

    - fixed_fraction: the target exposure as it is.
    - volatility_target: exposure x target_volatility / realised volatility (annualised),
      clipped to max_leverage; nothing until the volatility estimate exists.
    - kelly: kelly_fraction x mu / sigma^2 (the target's expected_return over its variance),
      clipped to kelly_max, times |exposure|, in the exposure's direction (nothing if mu points
      the other way). When the edge is uncertain - its noise-to-edge ratio sigma / |mu| above
      kelly_uncertainty - the clipped size shrinks by kelly_uncertainty / (sigma / |mu|). A target
      without an edge estimate (NaN) sizes nothing under kelly_fallback "flat" (the default),
      or as fixed_fraction under "fixed_fraction".
    """

    method: SizingMethod = "fixed_fraction"
    target_volatility: float = 0.15
    max_leverage: float = 1.0
    kelly_fraction: float = 0.5
    kelly_max: float = 1.0
    kelly_uncertainty: float = 50.0
    kelly_fallback: KellyFallback = "flat"

    def __attrs_post_init__(self) -> None:
        for name in ("target_volatility", "max_leverage", "kelly_fraction", "kelly_max",
                     "kelly_uncertainty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, was {value}")

    @property
    def is_identity(self) -> bool:
        return self.method == "fixed_fraction"

    def scale(self, target: Target, volatility: float = math.nan
              ) -> tuple[float, dict[str, str]]:
        """The exposure to size and the arithmetic behind it; volatility is annualised."""
        exposure = target.exposure
        if self.method == "fixed_fraction" or exposure == 0.0:
            return exposure, {}
        if self.method == "volatility_target":
            return self._vol_target(exposure, volatility)
        return self._kelly(target)

    def _vol_target(self, exposure: float, volatility: float) -> tuple[float, dict[str, str]]:
        if not (math.isfinite(volatility) and volatility > 0):
            return 0.0, {"method": "volatility_target", "volatility": "unknown yet",
                         "scaled_exposure": "0.0"}
        factor = min(self.max_leverage, self.target_volatility / volatility)
        scaled = math.copysign(abs(exposure) * factor, exposure)
        return scaled, {"method": "volatility_target", "volatility": f"{volatility:.6g}",
                        "target_volatility": repr(self.target_volatility),
                        "scale": f"{factor:.6g}", "scaled_exposure": repr(scaled)}

    def _kelly(self, target: Target) -> tuple[float, dict[str, str]]:
        exposure, mu, var = target.exposure, target.expected_return, target.variance
        if not (math.isfinite(mu) and math.isfinite(var) and var > 0):
            if self.kelly_fallback == "fixed_fraction":
                return exposure, {"method": "kelly", "edge": "none", "fallback": "fixed_fraction"}
            return 0.0, {"method": "kelly", "edge": "none", "fallback": "flat",
                         "scaled_exposure": "0.0"}
        if mu == 0.0 or (mu > 0) != (exposure > 0):
            return 0.0, {"method": "kelly", "expected_return": repr(mu), "variance": repr(var),
                         "kelly": "0 (no edge in the target's direction)",
                         "scaled_exposure": "0.0"}
        raw = self.kelly_fraction * abs(mu) / var
        noise = math.sqrt(var) / abs(mu)
        shrink = min(1.0, self.kelly_uncertainty / noise)
        size = min(self.kelly_max, raw) * shrink * abs(exposure)  # capped, then shrunk
        scaled = math.copysign(size, exposure)
        return scaled, {"method": "kelly", "expected_return": repr(mu), "variance": repr(var),
                        "kelly": f"{raw:.6g}", "shrink": f"{shrink:.6g}",
                        "kelly_max": repr(self.kelly_max), "scaled_exposure": repr(scaled)}
