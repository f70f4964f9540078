"""The aitrader command line: backtest, paper replay, journal and run inspection.

Exit codes: 0 ok, 1 the run failed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar

import structlog
import typer

from aitrader.entrypoints.config import ConfigError, load_config
from aitrader.entrypoints.config_schema import MODEL_SECTIONS
from aitrader.entrypoints.container import JournalUnavailableError, redact, upgrade_journal
from aitrader.entrypoints.inputs import RunFailedError, UserError
from aitrader.entrypoints.lazy import LazyCommand, LazyGroup
from aitrader.entrypoints.options import (
    AsJson,
    BarLabel,
    Calendar,
    ConfigFile,
    Data,
    End,
    JournalUrl,
    Param,
    Quiet,
    Start,
    Symbols,
    Timeframe,
    Vendor,
    given_path,
)
from aitrader.entrypoints.repeats import repeated_option

# Each group's and lazy command's one-line help, listed by `aitrader --help` without importing it
_DB_HELP = "The journal database."
_RUNS_HELP = "Journaled runs."
_DATA_HELP = "Market data: fetch, validate, gaps, sessions, compare, stream."
_RISK_HELP = "The trading state."
_SIGNALS_HELP = "Write the per-bar signal frame (Kalman, GARCH, regimes) and the fitted models."
_CHECK_HELP = "Checks of a strategy's integrity."


def _group(parent: typer.Typer, name: str, help_text: str) -> typer.Typer:
    group = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=help_text)
    parent.add_typer(group, name=name)
    return group


# The sub-commands defined in their own modules, imported when one of them runs (not before):
# each attaches its commands to the parent it is given, explicitly (no import-time registration).
def _attach_runs(parent: typer.Typer) -> None:
    from aitrader.entrypoints import runs_cli  # noqa: PLC0415 - lazy: start-up time

    runs_cli.register(_group(parent, "runs", _RUNS_HELP), _journal_url)


def _attach_data(parent: typer.Typer) -> None:
    from aitrader.entrypoints import data_cli, data_stream_cli  # noqa: PLC0415 - lazy: start-up time

    data_app = _group(parent, "data", _DATA_HELP)
    data_cli.register(data_app)
    data_stream_cli.register(data_app)


def _attach_risk(parent: typer.Typer) -> None:
    from aitrader.entrypoints import risk_cli  # noqa: PLC0415 - lazy: start-up time

    risk_cli.register(_group(parent, "risk", _RISK_HELP), _journal_url)


def _attach_signals(parent: typer.Typer) -> None:
    from aitrader.entrypoints import signals_cli  # noqa: PLC0415 - lazy: start-up time

    signals_cli.register(parent, _overrides)


class _Commands(LazyGroup):
    """The root group: these sub-commands' modules load only when one of them is used."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {
        "signals": LazyCommand(_SIGNALS_HELP, _attach_signals),
        "runs": LazyCommand(_RUNS_HELP, _attach_runs),
        "data": LazyCommand(_DATA_HELP, _attach_data),
        "check": LazyCommand(_CHECK_HELP, _attach_signals),  # signals_cli defines both
        "risk": LazyCommand(_RISK_HELP, _attach_risk),
    }
    order: ClassVar[Sequence[str]] = (
        "backtest", "paper", "strategies", "signals", "db", "runs", "data", "check", "risk")


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="aitrader: risk-first systematic trading for US equities.")
db_app = _group(app, "db", _DB_HELP)


def _show_version(wanted: bool) -> None:
    if wanted:
        from aitrader.entrypoints.version import code_version  # noqa: PLC0415 - start-up

        typer.echo(f"aitrader {code_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print the version (package version + digest of the source) and exit.")] = False,
) -> None:
    """aitrader: risk-first systematic trading for US equities."""

Strategy = Annotated[str | None, typer.Option("--strategy", help="Strategy name (see `aitrader strategies`).")]
Cash = Annotated[str | None, typer.Option("--cash", help="Starting cash in dollars.")]
PerShare = Annotated[str | None, typer.Option("--commission-per-share", help="Commission per share ($).")]
PerOrder = Annotated[str | None, typer.Option("--commission-per-order", help="Commission per order ($).")]
Pct = Annotated[str | None, typer.Option("--commission-pct", help="Commission in percent of notional (0.2 = 0.2 %).")]
Slippage = Annotated[str | None, typer.Option("--slippage-bps", help="Slippage against you, basis points.")]
FillAt = Annotated[str | None, typer.Option("--fill-at", help="Market orders fill at the next bar's open or this bar's close.")]
AllowShort = Annotated[bool | None, typer.Option("--allow-short/--long-only", help="Enable short selling.")]
Fractional = Annotated[bool | None, typer.Option("--fractional/--whole-shares", help="Trade fractional shares.")]
Fraction = Annotated[str | None, typer.Option("--fraction", help="Fraction of equity to invest, split over symbols.")]
Allocator = Annotated[str | None, typer.Option("--allocator", help="equal_weight, inverse_volatility, risk_parity or mean_variance.")]
Rebalance = Annotated[str | None, typer.Option("--rebalance", help="none, daily, weekly or monthly.")]
Sizing = Annotated[str | None, typer.Option("--sizing", help="fixed_fraction, volatility_target or kelly.")]
Out = Annotated[Path | None, typer.Option("--out", parser=given_path, help="Directory for trades.csv, orders.csv, equity.csv, exposure.csv.")]
Replay = Annotated[bool, typer.Option("--replay", help="Replay history as a live stream.")]
Speed = Annotated[float | None, typer.Option("--speed", help="Replay speed-up; 0 = fastest.")]


def _configure_logging() -> None:
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper("iso"),
                    structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    if value is None:
        return
    node = tree
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _params(pairs: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--param {pair!r}: expected name=value")
        params[name.strip()] = value.strip()
    return params


class _Progress:
    """Periodic progress lines on stderr, at most one a second."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._last = time.monotonic()
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= 1.0 or (done == total and self._shown):
            self._last, self._shown = now, True
            print(f"{self._label}: {done}/{total} bars ({100 * done / max(total, 1):.0f} %)",
                  file=sys.stderr, flush=True)


def _run(mode: str, overrides: dict[str, Any], config_file: Path | None, as_json: bool,
         quiet: bool) -> None:
    from aitrader.entrypoints.reporting import export, json_document, metrics_table  # noqa: PLC0415 - lazy: start-up time
    from aitrader.entrypoints.session import execute, prepare  # noqa: PLC0415 - lazy: start-up time

    started = time.perf_counter()
    config = load_config(config_file, overrides=overrides)
    prepared = prepare(config)
    loaded = time.perf_counter()
    progress = None if (quiet or as_json) else _Progress(mode)
    result = execute(prepared, progress)
    ran = time.perf_counter()
    try:
        outputs = export(result, Path(config.output.dir))
    except OSError as error:
        raise RunFailedError(f"run {result.run_id} finished and is journaled, but its reports "
                             f"could not be written to {error.filename or config.output.dir}: "
                             f"{error.strerror or error}") from None
    timings = {"load_s": loaded - started, "run_s": ran - loaded,
               "report_s": time.perf_counter() - ran}
    if as_json:
        print(json.dumps(json_document(result, timings, outputs), default=str))
        return
    print(metrics_table(result))
    if not quiet:
        print(f"  wrote {', '.join(outputs.values())}; journal {redact(config.journal.url)}")


# command-line option -> configuration key (see entrypoints.config.Config)
_OPTION_KEYS = {
    "strategy": "strategy.name", "symbols": "data.symbols", "start": "data.start",
    "end": "data.end", "data": "data.path", "bar_label": "data.bar_label",
    "timeframe": "data.timeframe", "calendar": "data.calendar", "vendor": "data.vendor",
    "cash": "broker.cash",
    "commission_per_share": "broker.commission_per_share",
    "commission_per_order": "broker.commission_per_order",
    "commission_pct": "broker.commission_pct", "slippage_bps": "broker.slippage_bps",
    "fill_at": "broker.fill_at", "allow_short": "risk.allow_short",
    "fractional": "broker.fractional", "fraction": "portfolio.fraction",
    "allocator": "portfolio.allocator", "rebalance": "portfolio.rebalance",
    "sizing": "portfolio.sizing",
    "journal": "journal.url", "out": "output.dir", "speed": "paper.speed",
}


def _overrides(mode: str, options: dict[str, Any]) -> dict[str, Any]:
    """The command line's layer of the configuration: the options the user gave."""
    tree: dict[str, Any] = {"mode": mode}
    for option, key in _OPTION_KEYS.items():
        value = options.get(option)
        _set(tree, key, str(value) if isinstance(value, Path) else value)
    if options.get("param"):
        params = _params(options["param"])
        for name in [n for n in params if n.startswith(MODEL_SECTIONS)]:
            _set(tree, name, params.pop(name))  # kalman.* and regime.* are configuration keys
        if params:
            _set(tree, "strategy.params", params)
    return tree


@app.command()
def backtest(
    strategy: Strategy = None, param: Param = None, symbols: Symbols = None, start: Start = None,
    end: End = None, data: Data = None, bar_label: BarLabel = None, timeframe: Timeframe = None,
    calendar: Calendar = None, vendor: Vendor = None, cash: Cash = None, commission_per_share: PerShare = None,
    commission_per_order: PerOrder = None, commission_pct: Pct = None,
    slippage_bps: Slippage = None, fill_at: FillAt = None, allow_short: AllowShort = None,
    fractional: Fractional = None, fraction: Fraction = None, allocator: Allocator = None,
    rebalance: Rebalance = None, sizing: Sizing = None, config: ConfigFile = None,
    journal: JournalUrl = None, out: Out = None, as_json: AsJson = False, quiet: Quiet = False,
) -> None:
    """Backtest a strategy; with no options, the demo on the bundled sample data."""
    overrides = _overrides("backtest", locals())
    _run("backtest", overrides, config, as_json, quiet)


@app.command()
def paper(
    replay: Replay = False,
    speed: Speed = None,
    strategy: Strategy = None, param: Param = None, symbols: Symbols = None, start: Start = None,
    end: End = None, data: Data = None, bar_label: BarLabel = None, timeframe: Timeframe = None,
    calendar: Calendar = None, vendor: Vendor = None, cash: Cash = None, commission_per_share: PerShare = None,
    commission_per_order: PerOrder = None, commission_pct: Pct = None,
    slippage_bps: Slippage = None, fill_at: FillAt = None, allow_short: AllowShort = None,
    fractional: Fractional = None, fraction: Fraction = None, allocator: Allocator = None,
    rebalance: Rebalance = None, sizing: Sizing = None, config: ConfigFile = None,
    journal: JournalUrl = None, out: Out = None, as_json: AsJson = False, quiet: Quiet = False,
) -> None:
    """Paper-trade locally: simulated broker, bars replayed through a clock."""
    if not replay:
        raise UserError("paper trading on a live feed needs the Alpaca adapter (not available "
                        "yet); use `aitrader paper --replay` to replay history")
    overrides = _overrides("paper", locals())
    _run("paper", overrides, config, as_json, quiet)


@app.command("strategies")
def strategies(as_json: AsJson = False) -> None:
    """List the bundled strategies and their parameters."""
    from aitrader.domain.strategies import describe_strategies  # noqa: PLC0415 - lazy: start-up time

    described = describe_strategies()
    if as_json:
        print(json.dumps(described))
        return
    for name, info in described.items():
        print(f"{name}: {info['summary']}")
        params = info["params"]
        assert isinstance(params, dict)
        for pname, spec in params.items():
            print(f"  {pname} ({spec['type']}, default {spec['default']}): {spec['help']}")


def _journal_url(journal: str | None, config_file: Path | None) -> str:
    overrides: dict[str, Any] = {}
    _set(overrides, "journal.url", journal)
    return load_config(config_file, overrides=overrides).journal.url


@db_app.command("upgrade")
def db_upgrade(journal: JournalUrl = None, config: ConfigFile = None) -> None:
    """Create or migrate the journal schema to the newest revision."""
    url = _journal_url(journal, config)
    try:
        revision = upgrade_journal(url)
    except JournalUnavailableError as error:
        raise RunFailedError(str(error)) from None
    print(f"journal {redact(url)} is at revision {revision}")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _say_error(message: str) -> None:
    """One line on stderr, whatever the message holds: control characters (a newline in a file
    name, a terminal escape in a value) are shown escaped, never acted on."""
    print(f"error: {_CONTROL.sub(_escaped, message)}", file=sys.stderr)


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def _terminated(_signum: int, _frame: object) -> None:
    """SIGTERM (a service manager, `docker stop`, `kill`) and SIGHUP (the terminal or ssh
    session went away) stop a run as Ctrl-C does: the run is journaled as failed
    ("interrupted"), not left reading as running forever."""
    raise KeyboardInterrupt


# (SIGHUP does not exist on Windows)
_STOPPING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def main() -> None:
    """Console entry point: map failures to exit codes and one-line messages."""
    _configure_logging()
    previous = {sig: signal.signal(sig, _terminated) for sig in _STOPPING}
    try:
        repeated = repeated_option(typer.main.get_command(app), sys.argv[1:])
        if repeated is not None:  # Typer would keep the last one without a word
            raise UserError(f"{repeated} is given twice: give it once")
        code = app(standalone_mode=False)
    except (UserError, ConfigError) as error:
        _say_error(str(error))
        sys.exit(2)
    except RunFailedError as error:
        _say_error(str(error))
        sys.exit(1)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.Abort:
        _say_error("aborted")
        sys.exit(1)
    except Exception as error:
        # Usage errors from Typer's vendored click: one line, their exit code (2).
        describe = getattr(error, "format_message", None)
        if not callable(describe) or not isinstance(getattr(error, "exit_code", None), int):
            raise
        if type(error).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
            print(describe())
            sys.exit(0)
        _say_error(f"{describe()} (see --help)")
        sys.exit(error.exit_code)  # type: ignore[attr-defined]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
