"""Configuration layers merge in order and every bad key or value is named."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from aitrader.entrypoints.config import ConfigError, load_config
from aitrader.entrypoints.container import redact
from aitrader.entrypoints.session import UserError, parse_moment


def test_defaults_are_a_paper_safe_backtest_with_all_in_long_only_sizing() -> None:
    config = load_config(None, {})
    assert config.mode == "backtest"
    assert config.broker.cash == Decimal(100_000)
    assert config.portfolio.fraction == Decimal(1)
    assert config.risk.allow_short is False


def test_flags_beat_environment_which_beats_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("broker:\n  cash: 1000\n  slippage_bps: 3\nrisk:\n  allow_short: true\n")
    config = load_config(path, {"AITRADER_BROKER__CASH": "2000"},
                         {"broker": {"slippage_bps": "5"}})
    assert config.broker.cash == Decimal(2000)
    assert config.broker.slippage_bps == Decimal(5)
    assert config.risk.allow_short is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("broker:\n  cashh: 1\n", "config key broker: unknown key(s) cashh"),
        ("broker:\n  cash: abc\n", "config key broker.cash: expected a number"),
        ("broker:\n  fill_at: noon\n", "config key broker.fill_at: expected one of open, close"),
        ("mode: live2\n", "config key mode: expected backtest or paper, got 'live2'"),
        ("risk:\n  allow_short: maybe\n", "expected true or false"),
        ("broker: [1, 2\n", "not valid YAML"),
        ("- 1\n", "expected a mapping"),
    ],
)
def test_a_bad_config_file_is_named_with_the_key(tmp_path: Path, text: str,
                                                 fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, {})
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_bad_environment_value_names_the_key_and_its_source() -> None:
    with pytest.raises(ConfigError, match=r"broker.cash.*environment"):
        load_config(None, {"AITRADER_BROKER__CASH": "-5x"})


def test_api_keys_in_the_environment_are_never_read_as_configuration() -> None:
    load_config(None, {"AITRADER_ALPACA_API_KEY": "secret"})


def test_a_date_is_an_eastern_trading_day_and_an_end_date_is_inclusive() -> None:
    start = parse_moment("2010-01-04", is_end=False, what="--start")
    end = parse_moment("2010-01-04", is_end=True, what="--end")
    assert start is not None
    assert start.isoformat() == "2010-01-04T05:00:00+00:00"
    assert end is not None
    assert end.isoformat() == "2010-01-05T05:00:00+00:00"
    with pytest.raises(UserError, match="--start"):
        parse_moment("04/01/2010", is_end=False, what="--start")


def test_database_passwords_are_redacted() -> None:
    assert redact("postgresql+psycopg://bob:s3cret@db:5432/x") == \
        "postgresql+psycopg://bob:***@db:5432/x"
    # a "/" in the password (the driver takes it so): it was shown, and stored in manifests
    assert redact("postgresql+psycopg://bob:SEK/RET@db:5432/x") == \
        "postgresql+psycopg://bob:***@db:5432/x"
    assert redact("postgresql+psycopg://bob@db:5432/x") == "postgresql+psycopg://bob@db:5432/x"
    assert redact("sqlite:///data/a:b@c.db") == "sqlite:///data/a:b@c.db"


@pytest.mark.parametrize("value", ["1.5", "true", "two"])
def test_a_count_that_is_not_a_whole_number_is_refused_not_truncated(value: str) -> None:
    with pytest.raises(ConfigError, match=r"risk.max_open_positions: expected a whole number"):
        load_config(None, {"AITRADER_RISK__MAX_OPEN_POSITIONS": value})


@pytest.mark.parametrize("value", ["3", "3.0"])
def test_a_whole_count_is_taken_from_text_or_a_whole_float(value: str) -> None:
    assert load_config(None, {"AITRADER_RISK__MAX_OPEN_POSITIONS": value}) \
        .risk.max_open_positions == 3


def test_a_journal_url_of_another_database_is_refused_without_its_password() -> None:
    with pytest.raises(ConfigError, match=r"journal.url: must be sqlite") as raised:
        load_config(None, {"AITRADER_JOURNAL__URL": "mysql://user:hunter2@db/x"})
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url", ["sqlite:///j.db", "postgresql+psycopg://u:p@h/d",
                                 "postgresql://h/d"])
def test_sqlite_and_postgresql_journal_urls_pass(url: str) -> None:
    assert load_config(None, {"AITRADER_JOURNAL__URL": url}).journal.url == url


@pytest.mark.parametrize("environ", [
    {"AITRADER_BROKER__CASH": "1", "AITRADER_BROKER__CASH__X": "2"},
    {"AITRADER_BROKER__CASH__X": "2", "AITRADER_BROKER__CASH": "1"},
])
def test_a_variable_below_another_variable_is_refused_naming_both(
        environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"AITRADER_BROKER__CASH and AITRADER_BROKER__CASH__X"
                                          r" both set broker.cash"):
        load_config(None, environ)


@pytest.mark.parametrize("name", ["AITRADER_BROKER__", "AITRADER___CASH", "AITRADER_BROKER____X"])
def test_a_variable_with_an_empty_key_is_refused_by_name(name: str) -> None:
    with pytest.raises(ConfigError, match=f"environment variable {name}: empty key"):
        load_config(None, {name: "1"})


def test_a_config_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("strategy:\n  name: sma_cross  # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml line 2: not UTF-8 text"):
        load_config(path, {})


def test_an_unknown_section_is_named_without_a_pseudo_key() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, {"AITRADER_BOGUS__X": "1"})
    assert str(raised.value) == "unknown key(s) bogus (from environment variable AITRADER_BOGUS__X)"


def test_an_empty_section_keeps_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("broker:\n#  cash: 5000\nrisk:\n  allow_short: true\n")
    config = load_config(path, {})
    assert config.broker.cash == Decimal(100_000)
    assert config.risk.allow_short is True


def test_an_empty_nested_section_keeps_its_defaults_too(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("vendors:\n  yahoo:\n  timeout_s: 3\n")
    config = load_config(path, {})
    assert config.vendors.yahoo.base_url is None
    assert config.vendors.timeout_s == 3.0


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://j.db", "sqlite:j.db"])
def test_a_sqlite_journal_url_without_a_path_is_bad_input(url: str) -> None:
    with pytest.raises(ConfigError, match=r"journal.url: must be sqlite:///PATH"):
        load_config(None, {"AITRADER_JOURNAL__URL": url})


@pytest.mark.parametrize("text", ["20100104", "2010-W01-1"])
def test_a_date_in_another_iso_form_is_the_same_inclusive_trading_day(text: str) -> None:
    assert parse_moment(text, is_end=False, what="--start") == \
        parse_moment("2010-01-04", is_end=False, what="--start")
    assert parse_moment(text, is_end=True, what="--end") == \
        parse_moment("2010-01-04", is_end=True, what="--end")


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("BROKER__COMMISSION_PER_ORDER", "1e27", "commission_per_order: must be below"),
    ("BROKER__COMMISSION_PER_SHARE", "1e300", "commission_per_share: must be below"),
    ("RISK__TAKE_PROFIT", "1e300", "take_profit: must be below 1000"),
    ("RISK__TRAIL_ATR", "1e300", "trail_atr: must be below 1000"),
    ("RISK__VAR_WINDOW", "99999999999999999999", "var_window: must be below"),
    ("REGIME__SEED", "4294967296", "seed: must be below 4294967296"),
])
def test_a_value_too_large_to_mean_anything_is_refused_by_key(
        name: str, value: str, fragment: str) -> None:
    """Each of these once got through: a traceback, a run failing on InvalidOperation, or every
    model fit failing with a warning."""
    with pytest.raises(ConfigError, match=fragment):
        load_config(None, {f"AITRADER_{name}": value})


@pytest.mark.parametrize(("text", "fragment"), [
    ("1: x\n", "unknown key(s) 1"),
    ("broker:\n  on: 5\n", "config key broker: unknown key(s) True"),
])
def test_a_key_yaml_reads_as_a_number_or_boolean_is_named_not_a_traceback(
        tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, {})
    assert fragment in str(raised.value)


@pytest.mark.parametrize("value", ["[a]", "{a: 1}", "null", "true"])
def test_a_list_mapping_null_or_boolean_is_no_text(tmp_path: Path, value: str) -> None:
    """output.dir: [a] made a directory called "['a']", and null one called "None"."""
    path = tmp_path / "c.yaml"
    path.write_text(f"output:\n  dir: {value}\n")
    with pytest.raises(ConfigError, match=r"config key output.dir: expected text"):
        load_config(path, {})


def test_yaml_dates_and_numbers_are_taken_as_the_text_they_were(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  start: 2010-01-04\n  end: 2010-03-01 10:00:00\noutput:\n  dir: 5\n")
    config = load_config(path, {})
    assert (config.data.start, config.data.end, config.output.dir) == \
        ("2010-01-04", "2010-03-01 10:00:00", "5")


@pytest.mark.parametrize(("value", "shown"), [("true", "True"), ("abc", "'abc'")])
def test_a_float_key_takes_a_number_only(tmp_path: Path, value: str, shown: str) -> None:
    """paper.speed: true ran at speed 1.0."""
    path = tmp_path / "c.yaml"
    path.write_text(f"paper:\n  speed: {value}\n")
    with pytest.raises(ConfigError,
                       match=f"config key paper.speed: expected a number, got {shown}"):
        load_config(path, {})


@pytest.mark.parametrize(("text", "is_end"), [("9999-12-31", True),
                                              ("9999-12-31T23:59:59-12:00", False),
                                              ("0001-01-01T00:00+14:00", False)])
def test_a_moment_beyond_the_calendar_is_bad_input_not_an_overflow(text: str,
                                                                   is_end: bool) -> None:
    with pytest.raises(UserError, match=re.escape(f"--end: '{text}' is out of range")):
        parse_moment(text, is_end=is_end, what="--end")


def test_a_journal_password_with_an_unencoded_at_sign_is_refused_without_any_of_it() -> None:
    """The driver would read 'ssw0rd@db' as the host and print it in its error."""
    with pytest.raises(ConfigError, match=r"percent-encoded \(@ as %40\)") as raised:
        load_config(None, {"AITRADER_JOURNAL__URL": "postgresql+psycopg://bob:p@ssw0rd@db/x"})
    assert "ssw0rd" not in str(raised.value)
    assert load_config(None, {"AITRADER_JOURNAL__URL": "postgresql://bob:p%40ssw0rd@db/x"})
    # with a "/" before the "@" too (the check read only the part before the first "/")
    with pytest.raises(ConfigError, match=r"percent-encoded \(@ as %40\)") as raised:
        load_config(None, {"AITRADER_JOURNAL__URL": "postgresql+psycopg://bob:p/a@ss@db/x"})
    assert "ss@db" not in str(raised.value)
    assert load_config(None, {"AITRADER_JOURNAL__URL": "postgresql://bob:p/a%40ss@db/x"})


def test_an_impossible_date_in_the_file_is_named_by_its_key_not_a_traceback(
        tmp_path: Path) -> None:
    """YAML's own timestamp reading raised ValueError for 2010-02-30 inside safe_load: dates
    stay text, and the flag's parser names the key."""
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  end: 2010-02-30\n  start: 2010-01-04T10:00:00Z\n")
    config = load_config(path, {})
    assert (config.data.start, config.data.end) == ("2010-01-04T10:00:00Z", "2010-02-30")
    with pytest.raises(UserError, match="'2010-02-30' is not a date"):
        parse_moment(config.data.end, is_end=True, what="--end")


def test_a_value_an_explicit_yaml_tag_cannot_build_is_named_with_the_file(
        tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  end: !!timestamp 2010-02-30\n")
    with pytest.raises(ConfigError, match=r"c.yaml: not valid YAML: day is out of range"):
        load_config(path, {})


def test_empty_strategy_params_keep_the_strategy_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("strategy:\n  name: sma_cross\n  params:\n#    fast: 5\n")
    assert load_config(path, {}).strategy.params == {}


class _Unwalkable(Mapping[str, object]):
    """A mapping that fails if anything looks inside it (as a YAML alias bomb would hang)."""

    def __getitem__(self, key: str) -> object:
        raise AssertionError("walked into")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("walked into")

    def __len__(self) -> int:
        return 9**9


def test_the_source_of_a_bad_key_is_found_along_its_path_only() -> None:
    """Finding which layer set a key walked every mapping of every layer: nine aliases of nine
    mappings in a file made that 9**9 keys, and the error never came."""
    with pytest.raises(ConfigError) as raised:
        load_config(None, {}, {"zz": _Unwalkable()})
    assert str(raised.value) == "unknown key(s) zz (from the command line)"


def test_a_nested_mapping_where_a_value_goes_is_named_by_its_kind(tmp_path: Path) -> None:
    """The line printed the whole mapping: with YAML aliases, megabytes on one line."""
    path = tmp_path / "c.yaml"
    path.write_text("a: &a {x: 1, y: 1}\nb: &b {x: *a, y: *a}\nstrategy:\n  params: *b\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, {})
    assert str(raised.value).startswith("config key strategy.params.x: expected a single value, "
                                        f"got a mapping (from config file {path})")


def test_a_vendor_variable_not_in_upper_case_is_refused_not_ignored() -> None:
    """The vendors read AITRADER_ALPACA_API_KEY exactly: AITRADER_alpaca_API_KEY was skipped as
    a vendor's variable and never read."""
    with pytest.raises(ConfigError, match=r"AITRADER_alpaca_API_KEY: not a setting"):
        load_config(None, {"AITRADER_alpaca_API_KEY": "k"})


def test_the_mode_variable_is_read_in_any_case_as_the_other_keys_are() -> None:
    assert load_config(None, {"AITRADER_mode": "paper"}).mode == "paper"
