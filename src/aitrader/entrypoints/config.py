"""Configuration: defaults < YAML file < AITRADER_* environment < command-line flags.

Parsed into frozen attrs classes; a bad key or value is named with its dotted path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import attrs
import cattrs
import yaml

from aitrader.entrypoints.container import journal_url_problem

ENV_PREFIX = "AITRADER_"
MODES = ("backtest", "paper", "live")


class ConfigError(Exception):
    """A configuration problem, with a message naming the key and the source."""


def _decimal(value: Any, _type: type) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _bool(value: Any, _type: type) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _non_negative(_i: object, a: attrs.Attribute[Decimal], v: Decimal) -> None:
    if v < 0:
        raise ValueError(f"{a.name} must not be negative, was {v}")


def _positive(_i: object, a: attrs.Attribute[Decimal], v: Decimal) -> None:
    if v <= 0:
        raise ValueError(f"{a.name} must be positive, was {v}")


def _below(limit: int) -> Any:
    def check(_i: object, a: attrs.Attribute[Any], v: Any) -> None:
        if v is not None and v >= limit:
            raise ValueError(f"{a.name} must be below {limit}, was {v}")
    return check


_MAX_CASH = 10**15
_JOURNAL_SCHEMES = ("sqlite", "postgresql", "postgres")


def _journal_url(_i: object, a: attrs.Attribute[str], v: str) -> None:
    scheme, sep, rest = v.partition("://")  # name only the scheme: the rest may hold a password
    if not sep or scheme.split("+")[0].lower() not in _JOURNAL_SCHEMES:
        shown = f"{scheme}://..." if sep else "a URL without a scheme"
        raise ValueError(f"{a.name} must be sqlite:///PATH or postgresql+psycopg://..., "
                         f"not {shown}")
    if rest.split("/", 1)[0].count("@") > 1:  # unencoded, the driver shows a part as the host
        raise ValueError(f"{a.name}: an @ in the user name or password must be percent-encoded "
                         "(@ as %40)")
    if scheme.split("+")[0].lower() == "sqlite" and not (rest.startswith("/") and rest[1:]):
        # sqlite:// and sqlite:/// are an in-memory database (the run would vanish);
        # sqlite://j.db is no URL SQLAlchemy reads
        raise ValueError(f"{a.name} must be sqlite:///PATH or postgresql+psycopg://...: a "
                         "SQLite URL needs three slashes and a file's path (sqlite:///j.db, "
                         "sqlite:////abs/j.db)")
    problem = journal_url_problem(v)  # bad input, refused before anything is created
    if problem is not None:
        raise ValueError(f"{a.name}: {problem}")


# The calendars adapters/calendars serves (open_calendar also accepts these, case-insensitively).
CALENDARS = ("XNYS", "NYSE", "24/7")


def _known_calendar(_i: object, a: attrs.Attribute[str], v: str) -> None:
    if v.strip().upper() not in CALENDARS:
        raise ValueError(f"{a.name} {v!r} is unknown; known: XNYS (alias NYSE), 24/7")


@attrs.frozen
class StrategyConfig:
    name: str = "sma_cross"
    params: dict[str, str | int | float | bool] = attrs.field(factory=dict)


@attrs.frozen
class DataConfig:
    path: str | None = None
    symbols: list[str] | None = None
    start: str | None = None
    end: str | None = None
    bar_label: Literal["open", "close"] = "open"
    timeframe: str | None = None
    calendar: str = attrs.field(default="XNYS", validator=_known_calendar)
    vendor: str | None = None


@attrs.frozen
class BrokerConfig:
    cash: Decimal = attrs.field(default=Decimal(100_000),
                                validator=[_positive, _below(_MAX_CASH)])
    commission_per_share: Decimal = attrs.field(default=Decimal(0),
                                                validator=[_non_negative, _below(_MAX_CASH)])
    commission_per_order: Decimal = attrs.field(default=Decimal(0),
                                                validator=[_non_negative, _below(_MAX_CASH)])
    commission_pct: Decimal = attrs.field(default=Decimal(0),
                                          validator=[_non_negative, _below(100)])
    slippage_bps: Decimal = attrs.field(default=Decimal(0),
                                        validator=[_non_negative, _below(10_000)])
    fill_at: Literal["open", "close"] = "open"
    fractional: bool = False
    margin_multiplier: Decimal = attrs.field(default=Decimal(1), validator=_positive)


def _fraction_or_none(_i: object, a: attrs.Attribute[Decimal | None], v: Decimal | None) -> None:
    if v is not None and not 0 < v <= 1:
        raise ValueError(f"{a.name} must be above 0 and at most 1, was {v}")


def _positive_or_none(_i: object, a: attrs.Attribute[Any], v: Any) -> None:
    if v is not None and not v > 0:
        raise ValueError(f"{a.name} must be positive, was {v}")


def _positive_float(_i: object, a: attrs.Attribute[float], v: float) -> None:
    if not 0 < v < float("inf"):
        raise ValueError(f"{a.name} must be a positive finite number, was {v}")


def _at_least_two(_i: object, a: attrs.Attribute[int], v: int) -> None:
    if v < 2:
        raise ValueError(f"{a.name} must be at least 2, was {v}")


@attrs.frozen
class PortfolioConfig:
    fraction: Decimal = attrs.field(default=Decimal(1), validator=_positive)
    sizing: Literal["fixed_fraction", "volatility_target", "kelly"] = "fixed_fraction"
    target_volatility: float = attrs.field(default=0.15, validator=_positive_float)
    max_leverage: float = attrs.field(default=1.0, validator=_positive_float)
    vol_lookback: int = attrs.field(default=20, validator=_at_least_two)
    kelly_fraction: float = attrs.field(default=0.5, validator=_positive_float)
    kelly_max: float = attrs.field(default=1.0, validator=_positive_float)
    kelly_uncertainty: float = attrs.field(default=50.0, validator=_positive_float)
    kelly_fallback: Literal["flat", "fixed_fraction"] = "flat"
    allocator: Literal["equal_weight", "inverse_volatility", "risk_parity",
                       "mean_variance"] = "equal_weight"
    rebalance: Literal["none", "daily", "weekly", "monthly"] = "none"
    drift: Decimal = attrs.field(default=Decimal("0.05"), validator=_non_negative)
    lookback: int = attrs.field(default=60, validator=_at_least_two)
    max_weight: float = attrs.field(default=1.0, validator=_positive_float)
    risk_aversion: float = attrs.field(default=1.0, validator=_positive_float)


@attrs.frozen
class RiskConfig:
    allow_short: bool = False
    max_position_fraction: Decimal = attrs.field(default=Decimal(1), validator=_positive)
    max_gross_exposure: Decimal | None = attrs.field(default=None, validator=_positive_or_none)
    max_net_exposure: Decimal | None = attrs.field(default=None, validator=_positive_or_none)
    max_open_positions: int | None = attrs.field(default=None, validator=_positive_or_none)
    cash_reserve: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)
    max_order_notional: Decimal | None = attrs.field(default=None, validator=_positive_or_none)
    max_order_rate: int | None = attrs.field(default=None, validator=_positive_or_none)
    max_drawdown: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)
    daily_loss: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)
    flatten_drawdown: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)
    max_consecutive_rejections: int = attrs.field(default=5, validator=_positive_or_none)
    day_trading: Literal["none", "legacy_pdt", "intraday_margin"] = "none"
    pdt_max_day_trades: int = attrs.field(default=3, validator=_positive_or_none)
    pdt_equity_threshold: Decimal = attrs.field(default=Decimal(25_000),
                                                validator=_non_negative)
    intraday_margin_multiplier: Decimal = attrs.field(default=Decimal(4), validator=_positive)
    order_style: Literal["market", "marketable_limit"] = "market"
    limit_offset_bps: Decimal = attrs.field(default=Decimal(10),
                                            validator=[_non_negative, _below(10_000)])
    poll_every: int = attrs.field(default=64, validator=_positive_or_none)
    stop_loss: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)
    # beyond these a level is further from the price than a Decimal price can hold
    take_profit: Decimal | None = attrs.field(default=None,
                                              validator=[_positive_or_none, _below(1000)])
    trail_atr: Decimal | None = attrs.field(default=None,
                                            validator=[_positive_or_none, _below(1000)])
    atr_period: int = attrs.field(default=14, validator=_at_least_two)
    max_var: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)
    var_window: int = attrs.field(default=60, validator=[_at_least_two, _below(10**9)])

    def __attrs_post_init__(self) -> None:
        if (self.flatten_drawdown is not None and self.max_drawdown is not None
                and self.flatten_drawdown <= self.max_drawdown):
            raise ValueError(f"flatten_drawdown ({self.flatten_drawdown}) must be above "
                             f"max_drawdown ({self.max_drawdown}): it is the harder limit")


@attrs.frozen
class JournalConfig:
    url: str = attrs.field(default="sqlite:///.aitrader/journal.db", validator=_journal_url)


@attrs.frozen
class PaperConfig:
    speed: float = attrs.field(default=0.0)

    @speed.validator
    def _speed(self, _a: attrs.Attribute[float], v: float) -> None:
        if not 0 <= v < float("inf"):
            raise ValueError(f"speed must be 0 (as fast as possible) or a positive number, was {v}")


@attrs.frozen
class OutputConfig:
    dir: str = "out"


# Market data vendors (issue 5). Keys and secrets are never configuration: they come only from
# AITRADER_<VENDOR>_API_KEY (and AITRADER_ALPACA_API_SECRET); AITRADER_<VENDOR>_BASE_URL
# overrides `base_url`.
VENDOR_NAMES = ("alpaca", "alphavantage", "finnhub", "twelvedata", "yahoo", "sample", "files")


@attrs.frozen
class VendorConfig:
    base_url: str | None = None
    stream_url: str | None = None  # Alpaca's websocket (AITRADER_ALPACA_STREAM_URL overrides)


def _count(_i: object, a: attrs.Attribute[int], v: int) -> None:
    if not 1 <= v <= 10:
        raise ValueError(f"{a.name} must be between 1 and 10, was {v}")


@attrs.frozen
class VendorsConfig:
    cache_dir: str = ".aitrader/cache"
    adjustment: Literal["raw", "split", "all"] = "raw"
    timeout_s: float = attrs.field(default=10.0, validator=_positive_float)
    attempts: int = attrs.field(default=3, validator=_count)
    backoff_s: float = attrs.field(default=0.5, validator=_positive_float)
    breaker_failures: int = attrs.field(default=3, validator=_count)
    breaker_cooldown_s: float = attrs.field(default=60.0, validator=_positive_float)
    max_jump: float = attrs.field(default=0.5, validator=_positive_float)
    feed: Literal["iex", "sip"] = "iex"
    alpaca: VendorConfig = attrs.field(factory=VendorConfig)
    alphavantage: VendorConfig = attrs.field(factory=VendorConfig)
    finnhub: VendorConfig = attrs.field(factory=VendorConfig)
    twelvedata: VendorConfig = attrs.field(factory=VendorConfig)
    yahoo: VendorConfig = attrs.field(factory=VendorConfig)
def _at_least(minimum: int) -> Any:
    def check(_i: object, a: attrs.Attribute[int], v: int) -> None:
        if v < minimum:
            raise ValueError(f"{a.name} must be at least {minimum}, was {v}")
    return check


@attrs.frozen
class KalmanConfig:
    """The constant-velocity Kalman filter (issue 3); noise may be estimated by MLE."""

    space: Literal["price", "log"] = "log"
    q_level: float = attrs.field(default=1e-5, validator=_positive_float)
    q_velocity: float = attrs.field(default=1e-8, validator=_positive_float)
    r: float = attrs.field(default=1e-4, validator=_positive_float)
    p0: float = attrs.field(default=1.0, validator=_positive_float)
    fit: bool = False
    train: int = attrs.field(default=250, validator=_at_least(32))


@attrs.frozen
class RegimeConfig:
    """The HMM volatility regimes and GARCH volatility: shape and refit schedule (bars)."""

    states: int = attrs.field(default=3, validator=[_at_least(2), _below(5)])
    switch: float = attrs.field(default=0.7)
    window: int = attrs.field(default=500, validator=_at_least(32))
    refit_every: int = attrs.field(default=63, validator=_at_least(1))
    min_train: int = attrs.field(default=126, validator=_at_least(32))
    seed: int = attrs.field(default=0, validator=[_at_least(0), _below(2**32)])  # numpy's

    @switch.validator
    def _switch(self, _a: attrs.Attribute[float], v: float) -> None:
        if not 0.5 <= v <= 1.0:
            raise ValueError(f"switch must be between 0.5 and 1, was {v}")


@attrs.frozen
class Config:
    """The whole validated configuration."""

    mode: Literal["backtest", "paper", "live"] = "backtest"
    strategy: StrategyConfig = attrs.field(factory=StrategyConfig)
    data: DataConfig = attrs.field(factory=DataConfig)
    broker: BrokerConfig = attrs.field(factory=BrokerConfig)
    portfolio: PortfolioConfig = attrs.field(factory=PortfolioConfig)
    risk: RiskConfig = attrs.field(factory=RiskConfig)
    journal: JournalConfig = attrs.field(factory=JournalConfig)
    paper: PaperConfig = attrs.field(factory=PaperConfig)
    output: OutputConfig = attrs.field(factory=OutputConfig)
    vendors: VendorsConfig = attrs.field(factory=VendorsConfig)
    kalman: KalmanConfig = attrs.field(factory=KalmanConfig)
    regime: RegimeConfig = attrs.field(factory=RegimeConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (decimals as strings) for manifests and the container."""
        result: dict[str, Any] = _converter.unstructure(self)
        return result


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(Decimal, _decimal)
_converter.register_structure_hook(bool, _bool)


def _whole(value: Any, _type: type) -> int:
    """A count: 3, 3.0 or "3" pass; 1.5, true or "x" are refused rather than truncated."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


_converter.register_structure_hook(int, _whole)


def _text(value: Any, _type: type) -> str:
    """Text as given; YAML's numbers and dates as the text they were written as. A list, a
    mapping, null or a boolean is no text (output.dir: [a] would name a directory "['a']")."""
    if value is None or isinstance(value, bool | list | dict):
        raise ValueError(f"expected text, got {value!r}")
    return str(value)


_converter.register_structure_hook(str, _text)


def _float(value: Any, _type: type) -> float:
    if isinstance(value, bool):  # a float in Python, not a number to a user
        raise ValueError(f"expected a number, got {value!r}")
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None


_converter.register_structure_hook(float, _float)
_converter.register_unstructure_hook(Decimal, str)


def _split_list(value: Any, _type: type) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ValueError(f"expected a list, got {value!r}")


_converter.register_structure_hook_func(lambda t: t == list[str], _split_list)


def _scalar(value: Any, _type: type) -> str | int | float | bool:
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"expected a single value, got {value!r}")


_converter.register_structure_hook_func(lambda t: t == (str | int | float | bool), _scalar)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """AITRADER_SECTION__KEY=value pairs as a nested mapping (AITRADER_MODE for the top level)."""
    tree: dict[str, Any] = {}
    setters: dict[tuple[str, ...], str] = {}  # a key's path -> the variable that set it
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name.endswith("_API_KEY"):
            continue
        if "__" not in name and name != "AITRADER_MODE":
            continue
        path = tuple(name[len(ENV_PREFIX):].lower().split("__"))
        if not all(path):
            raise ConfigError(f"environment variable {name}: empty key (a section and its key "
                              "are joined by one double underscore)")
        for depth in range(1, len(path)):
            if path[:depth] in setters:  # a variable already set this path's parent as a value
                raise ConfigError(f"environment variables {setters[path[:depth]]} and {name} "
                                  f"both set {'.'.join(path[:depth])}")
        setters[path] = name
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _empty_sections_as_defaults(tree: dict[str, Any], cls: type) -> dict[str, Any]:
    """A section or mapping left empty in YAML (`broker:` with every key commented out) reads
    as null: it keeps its defaults, as an empty file does."""
    hints = get_type_hints(cls)
    result = dict(tree)
    for field in attrs.fields(cls):
        kind, value = hints[field.name], result.get(field.name)
        if value is None and field.name in result and (attrs.has(kind)
                                                       or get_origin(kind) is dict):
            result[field.name] = {}  # a section, or a mapping such as strategy.params
        elif attrs.has(kind) and isinstance(value, dict):
            result[field.name] = _empty_sections_as_defaults(value, kind)
    return result


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates and times left as the text they were written as: the flags' own
    parser reads them (YAML's raised ValueError on 2010-02-30, and a traceback followed)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"config file {path}: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ConfigError(f"config file {path} line {line}: not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where}: not valid YAML") from None
    except ValueError as error:  # a value an explicit tag cannot build (!!timestamp 2010-02-30)
        raise ConfigError(f"config file {path}: not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of sections at the top level")
    return _empty_sections_as_defaults(data, Config)


def load_config(path: Path | None, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """Merge the layers and validate; raises ConfigError naming the bad key and its source."""
    env = env_overrides(os.environ if environ is None else environ)
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if path is not None:
        layers.append((f"config file {path}", _read_file(path)))
    layers += [("environment", env), ("command line", overrides or {})]
    merged: dict[str, Any] = {}
    for _source, layer in layers:
        merged = _merge(merged, layer)
    try:
        return _converter.structure(merged, Config)
    except cattrs.BaseValidationError as error:
        problem = cattrs.transform_error(error, path="config", format_exception=_explain)[0]
        sources = ", ".join(name for name, layer in layers if layer)
        raise ConfigError(f"{_tidy(problem)} (from {sources or 'defaults'})") from None
    except (ValueError, TypeError) as error:
        raise ConfigError(f"invalid configuration: {error}") from None


def _explain(error: BaseException, kind: type | None) -> str:
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        return f"unknown key(s) {', '.join(sorted(map(str, error.extra_fields)))}"
    if isinstance(error, KeyError):
        return "required key is missing"
    if isinstance(error, ValueError | TypeError) and str(error):
        return str(error).split(" in literal ")[0]
    if get_origin(kind) is Literal:
        return f"expected one of {', '.join(map(str, get_args(kind)))}"
    name = getattr(kind, "__name__", str(kind))
    return f"invalid value, expected {name}"


def _tidy(problem: str) -> str:
    """cattrs says 'invalid value for type, expected X @ config.broker.cash'; lead with the key."""
    if " @ " in problem:
        message, where = problem.rsplit(" @ ", 1)
        if where == "config":  # the top level: an unknown section, or a bad whole
            return message
        key = where.removeprefix("config.").replace("['", ".").replace("']", "")
        return f"config key {key}: {message}"
    return problem
