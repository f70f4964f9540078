"""`aitrader signals` (the per-bar signal frame and fitted models as files) and
`aitrader check lookahead` (decisions must not change when later bars are removed)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from aitrader.application.fits import MODELS, FitTally, fits_line, refused_line
from aitrader.application.lookahead import check_lookahead, cut_points
from aitrader.application.models import counted_models, fit_symbol
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, aggregate, from_ns
from aitrader.domain.signals import (
    RETURN_SCALE,
    Garch,
    Kalman,
    Regime,
    Schedule,
    SignalSettings,
    SymbolModels,
)
from aitrader.domain.values import Symbol
from aitrader.entrypoints.config import Config, load_config
from aitrader.entrypoints.files import Write, write_all
from aitrader.entrypoints.inputs import UserError
from aitrader.entrypoints.modelling import fit_plan, fitted_models, signal_settings
from aitrader.entrypoints.options import BarLabel, Calendar, ConfigFile, Data, End, Start, Vendor
from aitrader.entrypoints.session import (
    build_container,
    configured_strategy,
    load_frames,
    sessioned,
)

Overrides = Callable[[str, dict[str, Any]], dict[str, Any]]

Symbol_ = Annotated[str, typer.Option("--symbol", help="The symbol to compute signals for.")]
Tf = Annotated[str | None, typer.Option("--timeframe", help="Compute on these bars (1m, 5m, 15m, 1h, 1D), aggregating finer data within exchange sessions.")]
OutFile = Annotated[Path, typer.Option("--out", help="Signal frame: .csv or .parquet.")]
ModelOut = Annotated[Path | None, typer.Option("--model-out", help="Fitted model parameters as JSON.")]
Param = Annotated[list[str] | None, typer.Option("--param", help="kalman.* / regime.* setting name=value, or a strategy parameter (repeatable).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No summary line on success (warnings still go to stderr).")]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format(path: Path, flag: str, allowed: Mapping[str, str]) -> str:
    kind = allowed.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{flag} {path}: the file name must end in "
                        f"{', '.join(sorted(allowed))}")
    if not path.parent.exists() and str(path.parent) not in ("", "."):
        raise UserError(f"{flag} {path}: directory {path.parent} does not exist")
    return kind


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _frame_for(container: Any, config: Config, timeframe: str | None) -> BarFrame:
    frame = load_frames(container, config)[0]
    if not timeframe:
        return frame
    try:
        target = Timeframe.parse(timeframe)
    except ValueError as error:
        raise UserError(f"--timeframe: {error}") from None
    if target is frame.timeframe:
        return frame
    first, last = from_ns(int(frame.ts_open[0])), from_ns(int(frame.ts_close[-1]))
    windows = container.calendar().windows(first - timedelta(days=1), last + timedelta(days=1))
    try:
        aggregated = aggregate(frame, target, windows)
    except ValueError as error:
        raise UserError(f"--timeframe: {error}") from None
    if len(aggregated) == 0:
        raise UserError(f"--timeframe {target.value}: no complete {target.value} bar inside "
                        f"a {container.calendar().name} session in the data")
    return aggregated


def signal_frame(frame: BarFrame, settings: SignalSettings, models: SymbolModels) -> pd.DataFrame:
    """Every bar's close and model outputs, named as the README documents."""
    h, lo, c = frame.high, frame.low, frame.close
    level, velocity, level_var, velocity_var, z = Kalman(settings.kalman).fitted(models).batch(
        h, lo, c)
    regime = Regime(settings.regime).fitted(models).batch(h, lo, c)
    (vol,) = Garch().fitted(models).batch(h, lo, c)
    labels = settings.regime.labels
    names = np.array([*labels, ""], dtype=object)
    index = np.where(np.isnan(regime[0]), len(labels), regime[0]).astype(np.int64)
    table: dict[str, Any] = {
        "ts_close": [from_ns(int(t)).isoformat() for t in frame.ts_close],
        "close": frame.close, "kalman_level": level, "kalman_velocity": velocity,
        "kalman_level_var": level_var, "kalman_velocity_var": velocity_var,
        "innovation_z": z, "garch_vol": vol, "regime": names[index],
    }
    for j, label in enumerate(labels):
        table[f"regime_p_{label}"] = regime[1 + j]
    return pd.DataFrame(table)


def _typed(table: pd.DataFrame, frame: BarFrame) -> pd.DataFrame:
    """The frame for Parquet: `ts_close` as a UTC timestamp column rather than ISO text."""
    return table.assign(ts_close=pd.to_datetime(np.asarray(frame.ts_close), utc=True))


def _applies(frame: BarFrame, schedule: Schedule[Any], window: int) -> list[dict[str, Any]]:
    fits = []
    for start, params in zip(schedule.starts, schedule.params, strict=True):
        first = max(0, start - window)
        fits.append({
            "applies_from_bar": start,
            "applies_from": from_ns(int(frame.ts_close[start])).isoformat(),
            "fitted_on": {"first_bar": first, "last_bar": start - 1,
                          "first_ts_close": from_ns(int(frame.ts_close[first])).isoformat(),
                          "last_ts_close": from_ns(int(frame.ts_close[start - 1])).isoformat()},
            "params": params,
        })
    return fits


def model_document(frame: BarFrame, config: Config, models: SymbolModels) -> dict[str, Any]:
    """The fitted parameters and what they were fitted on, as plain JSON values."""
    series = {"series": "log returns of close in percent: 100 * ln(close_t / close_{t-1})",
              "scale": RETURN_SCALE}
    plan = fit_plan(config)
    hmm = []
    for fit in _applies(frame, models.hmm, plan.window):
        p = fit.pop("params")
        hmm.append({**fit, "startprob": p.startprob.tolist(), "transmat": p.transmat.tolist(),
                    "means": p.means.tolist(), "variances": p.variances.tolist(),
                    "prior": p.prior.tolist()})
    garch = []
    for fit in _applies(frame, models.garch, plan.window):
        p = fit.pop("params")
        garch.append({**fit, "mu": p.mu, "omega": p.omega, "alpha": p.alpha, "beta": p.beta,
                      "first_variance": p.starting_variance})
    k = config.kalman
    kalman: dict[str, Any] = {
        "space": k.space, "p0": k.p0, "transition": [[1, 1], [0, 1]], "observation": [1, 0],
        "series": "ln(close)" if k.space == "log" else "close",
        "noise": [{"applies_from_bar": 0, "q_level": k.q_level, "q_velocity": k.q_velocity,
                   "r": k.r, "estimated": False}]}
    if models.kalman is not None:
        start, noise = models.kalman.starts[-1], models.kalman.params[-1]
        kalman["noise"].append({
            "applies_from_bar": start,
            "applies_from": from_ns(int(frame.ts_close[start])).isoformat(),
            "q_level": noise.q_level, "q_velocity": noise.q_velocity, "r": noise.r,
            "estimated": True, "fitted_on": {"first_bar": 0, "last_bar": start - 1}})
    r = config.regime
    return {
        "symbol": str(frame.symbol), "timeframe": frame.timeframe.value, "bars": len(frame),
        "schedule": {"window": r.window, "refit_every": r.refit_every,
                     "min_train": r.min_train, "seed": r.seed},
        "hmm": {**series, "states": list(signal_settings(config).regime.labels),
                "switch": r.switch, "fits": hmm},
        "garch": {**series, "model": "GARCH(1,1), constant mean, normal errors",
                  "output": "garch_vol = sqrt(next bar's variance) / scale", "fits": garch},
        "kalman": kalman,
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def register(app: typer.Typer, overrides: Overrides) -> None:
    """Attach `signals` and the `check` group to the application."""
    check_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                            help="Checks of a strategy's integrity.")
    app.add_typer(check_app, name="check")

    @app.command("signals")
    def signals(symbol: Symbol_, out: OutFile, data: Data = None, timeframe: Tf = None,
                model_out: ModelOut = None, param: Param = None, start: Start = None,
                end: End = None, bar_label: BarLabel = None, calendar: Calendar = None,
                vendor: Vendor = None, config: ConfigFile = None, quiet: Quiet = False) -> None:
        """Write the per-bar signal frame (Kalman, GARCH, regimes) and the fitted models."""
        kind = _format(out, "--out", _FORMATS)
        if model_out is not None:
            _format(model_out, "--model-out", {".json": "json"})
        options = {"data": data, "param": param, "start": start, "end": end,
                   "bar_label": bar_label, "calendar": calendar, "vendor": vendor,
                   "symbols": symbol}
        if not symbol.strip():
            raise UserError("--symbol: no symbol given")
        if "," in symbol:
            raise UserError(f"--symbol {symbol!r}: signals are computed for one symbol; "
                            "run the command once per symbol")
        try:  # checked here so the error names the flag given, not --symbols
            Symbol.parse(symbol)
        except ValueError as error:
            raise UserError(f"--symbol: {error}") from None
        cfg = load_config(config, overrides=overrides("backtest", options))
        if cfg.strategy.params:
            raise UserError("--param: signals takes only kalman.* and regime.* settings, not "
                            f"{', '.join(sorted(cfg.strategy.params))}")
        container = build_container(cfg)
        frame = _frame_for(container, cfg, timeframe)
        settings = signal_settings(cfg)
        plan = fit_plan(cfg)
        needs = frozenset(MODELS)
        tally = FitTally(models=counted_models(needs, plan))
        models = fit_symbol(frame.close, needs, settings, plan, container.model_fitter(),
                            str(frame.symbol), tally)
        fits = tally.report()
        table = signal_frame(frame, settings, models)
        document = _clean(model_document(frame, cfg, models) | {"models": fits}) \
            if model_out else None
        writes: list[tuple[Path, Write]] = [
            (out, (lambda p: table.to_csv(p, index=False)) if kind == "csv"
             else (lambda p: _typed(table, frame).to_parquet(p, index=False)))]
        if model_out is not None:
            text = json.dumps(document, indent=2) + "\n"
            writes.append((model_out, lambda p: _write_text(p, text)))
        try:
            write_all(writes)
        except OSError as error:
            raise UserError(f"cannot write {error.filename}: {error.strerror or error}") from None
        if not quiet:
            refused = refused_line(fits)
            print(f"{frame.symbol} {frame.timeframe.value}: {len(table)} bars, model fits "
                  f"{fits_line(fits)}; wrote {out}" + (f" and {model_out}" if model_out else ""))
            if refused is not None:
                print(f"  {refused}" + (f" (see {model_out} models)" if model_out else ""))

    @check_app.command("lookahead")
    def lookahead(
        strategy: Annotated[str, typer.Option("--strategy", help="Strategy name.")],
        data: Data = None, param: Param = None,
        symbols: Annotated[str | None, typer.Option("--symbols", help="Comma-separated symbols (default: all in the data).")] = None,
        start: Start = None, end: End = None, bar_label: BarLabel = None,
        calendar: Calendar = None, vendor: Vendor = None, config: ConfigFile = None,
        allow_short: Annotated[bool | None, typer.Option("--allow-short/--long-only", help="Enable short selling.")] = None,
        cuts: Annotated[int, typer.Option("--cuts", min=1, help="How many truncated copies.")] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Run a strategy over the full history and truncated copies; exit 1 if any decision
        changed (it looked ahead), 0 if none did."""
        options = {"strategy": strategy, "data": data, "param": param, "symbols": symbols,
                   "start": start, "end": end, "bar_label": bar_label, "calendar": calendar,
                   "vendor": vendor, "allow_short": allow_short}
        cfg = load_config(config, overrides=overrides("backtest", options))
        container = build_container(cfg)
        frames = load_frames(container, cfg)
        built = sessioned(container, configured_strategy(cfg), frames)
        compared, changed = check_lookahead(
            built, frames, lambda fs: fitted_models(container, cfg, built, fs), cuts)
        if as_json:
            print(json.dumps({"strategy": built.name, "symbols": [str(f.symbol) for f in frames],
                              "cuts": cuts, "decisions_compared": compared,
                              "changed": [{"symbol": str(c.symbol),
                                           "ts_close": from_ns(c.ts_close_ns).isoformat(),
                                           "cut": from_ns(c.cut_ns).isoformat(),
                                           "full": _clean(list(c.full)),
                                           "truncated": _clean(list(c.truncated))}
                                          for c in changed]}))
        else:
            checked = len(cut_points(frames, cuts))  # cuts on one bar count once
            asked = f" ({cuts} asked; the data has room for no more)" if checked < cuts else ""
            if not checked:  # a copy keeps at least one close and drops at least one
                closes = len({int(t) for f in frames for t in f.ts_close})
                print(f"look-ahead check: {built.name} on {len(frames)} symbol(s): the data "
                      f"({closes} bar close{'' if closes == 1 else 's'}) has no room for a "
                      "cut, so no truncated copy was made and no decision compared")
            else:
                print(f"look-ahead check: {built.name} on {len(frames)} symbol(s), "
                      f"{compared} decisions compared over {checked} truncated copies{asked}: "
                      + ("no decision changed" if not changed else f"{len(changed)} changed"))
            for c in changed[:50]:
                print(f"  changed: {c.describe()}")
            if len(changed) > 50:
                print(f"  ... and {len(changed) - 50} more", file=sys.stdout)
        if changed:
            raise typer.Exit(1)
