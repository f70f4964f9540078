"""The bundled strategies by name, built from user parameters with every mistake named."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs
from returns.result import Failure, Result, Success

from aitrader.domain.signals import SignalSettings
from aitrader.domain.strategies import (
    breakout,
    ma_cross,
    mean_reversion,
    momentum,
    multi_factor,
    sma_cross,
)
from aitrader.domain.strategies.base import ParamSpec, Strategy


@attrs.frozen
class StrategyError:
    """A strategy name or parameter the user gave cannot be used; `parameter` names the one
    at fault, when one is (`detail` is then what is wrong with it)."""

    code: str
    message: str
    parameter: str | None = None
    detail: str = ""


@attrs.frozen
class _Entry:
    params: Mapping[str, ParamSpec]
    build: Callable[..., Strategy]
    summary: str
    models: bool = True  # built with the signal settings (Kalman, regimes)


STRATEGIES: Mapping[str, _Entry] = {
    "sma_cross": _Entry(sma_cross.PARAMS, sma_cross.SmaCross, "SMA fast/slow crossover",
                        models=False),
    "breakout": _Entry(breakout.PARAMS, breakout.Breakout,
                       "Donchian channel breakout with an ATR trailing stop, "
                       "scaled down in the turbulent regime"),
    "momentum": _Entry(momentum.PARAMS, momentum.Momentum,
                       "Kalman velocity against its uncertainty, in whitelisted regimes"),
    "mean_reversion": _Entry(mean_reversion.PARAMS, mean_reversion.MeanReversion,
                             "fade the price's z-score against the Kalman level, calm regime "
                             "entries, reversion or time-stop exits"),
    "ma_cross": _Entry(ma_cross.PARAMS, ma_cross.MaCross,
                       "SMA or EMA crossover, optionally of the Kalman-filtered price"),
    "multi_factor": _Entry(multi_factor.PARAMS, multi_factor.MultiFactor,
                           "cross-sectional momentum, mean-reversion and low-volatility score"),
}


def describe_strategies() -> dict[str, dict[str, object]]:
    """Every strategy's summary and parameters with their defaults."""
    return {
        name: {"summary": e.summary,
               "params": {p: {"type": s.kind.__name__, "default": s.default, "help": s.help}
                          for p, s in e.params.items()}}
        for name, e in STRATEGIES.items()
    }


def _coerce(name: str, spec: ParamSpec, value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if spec.kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"expected true or false, got {value!r}")
            return text.lower() in ("true", "1", "yes")
        try:
            return spec.kind(text)
        except ValueError:
            raise ValueError(f"expected {spec.kind.__name__}, got {value!r}") from None
    if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {spec.kind.__name__}, got {value!r}")
    return value


def build_strategy(
    name: str, params: Mapping[str, object], allow_short: bool,
    settings: SignalSettings | None = None,
) -> Result[Strategy, StrategyError]:
    """Build a bundled strategy; unknown names, parameters or values fail with a clear message."""
    entry = STRATEGIES.get(name)
    if entry is None:
        known = ", ".join(sorted(STRATEGIES))
        return Failure(StrategyError("unknown_strategy",
                                     f"unknown strategy {name!r} (choose from {known})"))
    values: dict[str, object] = {}
    for key, raw in params.items():
        spec = entry.params.get(key)
        if spec is None:
            known = ", ".join(sorted(entry.params))
            unknown = f"strategy {name} has no parameter {key!r} (it has {known})"
            return Failure(StrategyError("unknown_parameter", unknown, key, unknown))
        try:
            value = _coerce(key, spec, raw)
        except ValueError as error:
            return Failure(StrategyError("invalid_parameter", f"parameter {key}: {error}", key,
                                         str(error)))
        problem = spec.check(value)
        if isinstance(value, float) and not math.isfinite(value):
            # every float parameter is a threshold, weight or scale: inf never trades (entry=inf
            # never enters) and NaN slips through every comparison
            problem = f"must be a finite number, got {value}"
        if problem:
            return Failure(StrategyError("invalid_parameter", f"parameter {key} {problem}", key,
                                         problem))
        values[key] = value
    if entry.models:
        values["settings"] = settings or SignalSettings()
    try:
        return Success(entry.build(**values, allow_short=allow_short))
    except ValueError as error:
        return Failure(StrategyError("invalid_parameter", f"strategy {name}: {error}"))
