"""The configuration's shape: one frozen attrs class per section, each key with its default
and the validator that keeps a bad value out (see entrypoints.config for how it is loaded).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import attrs
import cattrs

from aitrader.entrypoints.container import journal_url_problem


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


MODEL_SECTIONS = ("kalman.", "regime.")
"""--param names with these prefixes set configuration keys instead of strategy parameters."""


_MAX_CASH = 10**15
_JOURNAL_SCHEMES = ("sqlite", "postgresql", "postgres")


def _journal_url(_i: object, a: attrs.Attribute[str], v: str) -> None:
    scheme, sep, rest = v.partition("://")  # name only the scheme: the rest may hold a password
    if not sep or scheme.split("+")[0].lower() not in _JOURNAL_SCHEMES:
        shown = f"{scheme}://..." if sep else "a URL without a scheme"
        raise ValueError(f"{a.name} must be sqlite:///PATH or postgresql+psycopg://..., "
                         f"not {shown}")
    # unencoded, the driver reads a part as the host (a password may hold "/": the whole
    # authority and path count, not the part before the first "/")
    authority = rest if scheme.split("+")[0].lower() != "sqlite" else rest.split("/", 1)[0]
    if authority.partition("?")[0].count("@") > 1:
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
        raise ValueError(f"{a.name}: {v!r} is unknown; known: XNYS (alias NYSE), 24/7")


def _a_path(_i: object, a: attrs.Attribute[Any], v: str | None) -> None:
    """A file or directory's name: empty, it was the working directory (output.dir: "" wrote
    the reports there)."""
    if v is not None and not v.strip():
        raise ValueError(f"{a.name} must name a file or directory, was empty")


@attrs.frozen
class StrategyConfig:
    name: str = "sma_cross"
    params: dict[str, str | int | float | bool] = attrs.field(factory=dict)


@attrs.frozen
class DataConfig:
    path: str | None = attrs.field(default=None, validator=_a_path)
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
    lookback: int = attrs.field(default=60, validator=[_at_least_two, _below(10**9)])
    max_weight: float = attrs.field(default=1.0, validator=_positive_float)
    risk_aversion: float = attrs.field(default=2.5, validator=_positive_float)


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
    dir: str = attrs.field(default="out", validator=_a_path)


# Market data vendors (issue 5). Keys and secrets are never configuration: they come only from
# AITRADER_<VENDOR>_API_KEY (and AITRADER_ALPACA_API_SECRET); AITRADER_<VENDOR>_BASE_URL
# overrides `base_url`.
VENDOR_NAMES = ("alpaca", "alphavantage", "finnhub", "twelvedata", "yahoo", "sample", "files")


def _no_credentials(_i: object, a: attrs.Attribute[Any], v: str | None) -> None:
    """Configuration is journaled in every run's manifest: a user or password in a vendor's
    URL would be too (shown by its key only, never the URL)."""
    if v is not None and "@" in v.partition("://")[2].split("/", 1)[0]:
        raise ValueError(f"{a.name} must not hold a user name or password: keys are never "
                         "configuration (give such a URL as AITRADER_<VENDOR>_BASE_URL, which is "
                         "not journaled)")


@attrs.frozen
class VendorConfig:
    base_url: str | None = attrs.field(default=None, validator=_no_credentials)
    # Alpaca's websocket (AITRADER_ALPACA_STREAM_URL overrides)
    stream_url: str | None = attrs.field(default=None, validator=_no_credentials)


def _count(_i: object, a: attrs.Attribute[int], v: int) -> None:
    if not 1 <= v <= 10:
        raise ValueError(f"{a.name} must be between 1 and 10, was {v}")


@attrs.frozen
class VendorsConfig:
    cache_dir: str = attrs.field(default=".aitrader/cache", validator=_a_path)
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
    train: int = attrs.field(default=126, validator=_at_least(32))


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
        result: dict[str, Any] = _plain.unstructure(self)
        return result


_plain = cattrs.Converter()
_plain.register_unstructure_hook(Decimal, str)
