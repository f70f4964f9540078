"""Configuration as a demanding user exercises it: every bad file, variable or value is one line
naming the key and where it was set (the file, the variable, the command line), exit 2, and
nothing written; secrets never reach that line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

SECRET = "hunter2sekret"


def _refused(cli: Cli, tmp_path: Path, *args: str) -> str:
    """`backtest ARGS` refused as bad input before anything was written; its error line."""
    outcome = cli.backtest("--symbols", "AAPL", *args)
    assert outcome.code == 2, outcome.stderr
    assert not cli.db_path.exists()
    assert not cli.out_dir.exists()
    assert not (tmp_path / ".aitrader").exists()
    return outcome.error_line()


@pytest.mark.parametrize(("name", "fragments"), [
    ("AITRADER_JOURNAL_URL", ["AITRADER_JOURNAL_URL: not a setting", "AITRADER_<SECTION>__<KEY>"]),
    ("AITRADER_RISK", ["AITRADER_RISK: not a setting"]),
    ("AITRADER_BROKER", ["AITRADER_BROKER: not a setting"]),
    ("aitrader_broker__cash", ["aitrader_broker__cash: the prefix is AITRADER_ in upper case"]),
])
def test_an_environment_variable_that_can_be_no_setting_is_refused_not_ignored(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
        fragments: list[str]) -> None:
    """Ignored, AITRADER_JOURNAL_URL (one underscore) left the run on the default journal."""
    monkeypatch.setenv(name, "sqlite:///elsewhere.db")
    line = _refused(cli, tmp_path)
    for fragment in fragments:
        assert fragment in line


def test_the_vendors_own_variables_are_no_configuration_and_pass(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AITRADER_ALPACA_API_KEY", "AITRADER_ALPACA_API_SECRET",
                 "AITRADER_ALPACA_STREAM_URL", "AITRADER_YAHOO_BASE_URL",
                 "AITRADER_FINNHUB_API_KEY"):
        monkeypatch.setenv(name, SECRET)
    assert cli.backtest("--symbols", "AAPL", "--quiet").code == 0


@pytest.mark.parametrize(("yaml_text", "environ", "flags", "line"), [
    ("broker:\n  cash: 1000\n", {"AITRADER_BROKER__CASH": "abc"}, [],
     "config key broker.cash: expected a number, got 'abc' (from environment variable "
     "AITRADER_BROKER__CASH)"),
    ("broker:\n  cash: abc\n", {"AITRADER_BROKER__SLIPPAGE_BPS": "1"}, ["--fill-at", "close"],
     "config key broker.cash: expected a number, got 'abc' (from config file {file})"),
    ("broker:\n  cash: 1000\n", {}, ["--cash", "-5"],
     "config key broker.cash: must be positive, was -5 (from the command line)"),
    ("broker:\n  cahs: 1000\n", {"AITRADER_BROKER__CASH": "5"}, [],
     "config key broker: unknown key(s) cahs (from config file {file})"),
    ("risk:\n  max_drawdown: 0.1\n", {"AITRADER_RISK__FLATTEN_DRAWDOWN": "0.05"}, [],
     "config key risk: flatten_drawdown (0.05) must be above max_drawdown (0.1): it is the "
     "harder limit (from environment variable AITRADER_RISK__FLATTEN_DRAWDOWN, config file "
     "{file})"),
])
def test_a_bad_value_names_the_one_place_that_set_it(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str,
        environ: dict[str, str], flags: list[str], line: str) -> None:
    """The line listed every layer in use ('from config file c.yaml, environment, command
    line') whichever of them held the bad value, and never the variable's name."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert _refused(cli, tmp_path, "--config", str(path), *flags) == \
        "error: " + line.format(file=path)


@pytest.mark.parametrize(("text", "fragment"), [
    ("broker:\n  cash: 5000\n  cash: 6000\n", "line 3: not valid YAML (duplicate key 'cash')"),
    ("broker:\n  cash: 5000\nbroker:\n  fractional: true\n",
     "line 3: not valid YAML (duplicate key 'broker')"),
])
def test_a_key_given_twice_in_the_file_is_refused(cli: Cli, tmp_path: Path, text: str,
                                                  fragment: str) -> None:
    """YAML's last-wins ran the backtest with the second cash, or without the first section."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    line = _refused(cli, tmp_path, "--config", str(path))
    assert f"config file {path} {fragment}" in line


def test_a_merge_key_may_still_be_overridden(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("broker:\n  <<: {cash: 5}\n  cash: 7000\n")
    assert cli.backtest_json("--symbols", "AAPL", "--config", str(path))["metrics"]


@pytest.mark.parametrize("text", ["broker: 5\n", "journal: postgresql://u:hunter2sekret@db/x\n"])
def test_a_section_given_as_one_value_is_named_as_a_section(cli: Cli, tmp_path: Path,
                                                            text: str) -> None:
    """broker: 5 said "argument of type 'int' is not iterable"."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    line = _refused(cli, tmp_path, "--config", str(path))
    section = text.split(":", maxsplit=1)[0]
    assert f"config key {section}: expected a section (its keys indented below it), not a " \
           f"single value (from config file {path})" in line
    assert SECRET not in line


@pytest.mark.parametrize(("source", "shown"), [
    ("file-list", "expected text, got a list"),
    ("env-deep", "expected text, got a mapping"),
])
def test_a_journal_url_of_the_wrong_shape_is_refused_without_its_password(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str,
        shown: str) -> None:
    """The line printed the list or mapping as given: the URL and its password."""
    url = f"postgresql+psycopg://bob:{SECRET}@db/x"
    args: list[str] = []
    if source == "file-list":
        path = tmp_path / "c.yaml"
        path.write_text(f"journal:\n  url: [{url}]\n")
        args = ["--config", str(path)]
    else:
        monkeypatch.setenv("AITRADER_JOURNAL__URL__PRIMARY", url)
    outcome = cli("backtest", "--symbols", "AAPL", "--out", str(cli.out_dir), *args)
    assert outcome.code == 2, outcome.stderr
    line = outcome.error_line()
    assert f"config key journal.url: {shown}" in line
    assert SECRET not in outcome.stderr + outcome.stdout


@pytest.mark.parametrize("where", ["file", "env"])
def test_mode_live_is_refused_whatever_the_command(cli: Cli, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   where: str) -> None:
    """mode: live in the file (or AITRADER_MODE=live) was silently replaced by the command's
    mode: the user asked for live trading and got a backtest."""
    path = tmp_path / "c.yaml"
    path.write_text("mode: live\n" if where == "file" else "{}\n")
    if where == "env":
        monkeypatch.setenv("AITRADER_MODE", "live")
    line = _refused(cli, tmp_path, "--config", str(path))
    origin = f"config file {path}" if where == "file" else "environment variable AITRADER_MODE"
    assert "config key mode: live trading is not available yet" in line
    assert line.endswith(f"(from {origin})")


def test_a_mode_that_is_none_is_refused_though_the_command_picks_its_own(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AITRADER_MODE", "bogus")
    assert _refused(cli, tmp_path) == ("error: config key mode: expected backtest or paper, got "
                                       "'bogus' (from environment variable AITRADER_MODE)")


def test_the_file_may_name_the_mode_the_command_also_names(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("mode: paper\n")
    assert cli.paper_json("--symbols", "AAPL", "--config", str(path))["mode"] == "paper"


@pytest.mark.parametrize(("environ", "text", "line"), [
    ({"AITRADER_OUTPUT__DIR": ""}, "{}\n", "config key output.dir: must name a file or "
     "directory, was empty (from environment variable AITRADER_OUTPUT__DIR)"),
    ({}, "data:\n  path: ''\n", "config key data.path: must name a file or directory, was "
                                "empty (from config file {file})"),
    ({}, "vendors:\n  cache_dir: ' '\n", "config key vendors.cache_dir: must name a file or "
                                         "directory, was empty (from config file {file})"),
])
def test_an_empty_path_is_refused_not_taken_as_the_working_directory(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str],
        text: str, line: str) -> None:
    """AITRADER_OUTPUT__DIR= wrote trades.csv and the others into the working directory;
    data.path: '' said '.: no CSV or Parquet files in it', naming no key."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    outcome = cli("backtest", "--symbols", "AAPL", "--journal", cli.journal_url,
                  "--config", str(path))
    assert outcome.code == 2, outcome.stderr
    assert outcome.error_line() == "error: " + line.format(file=path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_a_lookback_too_long_to_hold_is_refused_by_key_not_a_traceback(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The allocator's window raised OverflowError (exit 1, a traceback) after the journal
    was created."""
    monkeypatch.setenv("AITRADER_PORTFOLIO__LOOKBACK", "1" + "0" * 22)
    line = _refused(cli, tmp_path, "--allocator", "risk_parity")
    assert line.startswith("error: config key portfolio.lookback: must be below 1000000000")
    assert line.endswith("(from environment variable AITRADER_PORTFOLIO__LOOKBACK)")


def test_an_unknown_calendar_is_named_by_its_key_and_its_one_source(
        cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  calendar: LSE\n")
    assert _refused(cli, tmp_path, "--config", str(path)) == (
        f"error: config key data.calendar: 'LSE' is unknown; known: XNYS (alias NYSE), 24/7 "
        f"(from config file {path})")


@pytest.mark.parametrize("key", ["base_url", "stream_url"])
def test_a_vendor_url_in_the_configuration_may_not_carry_a_password(
        cli: Cli, tmp_path: Path, key: str) -> None:
    """vendors.yahoo.base_url: https://user:password@proxy was journaled in the run's manifest
    (the README: keys never appear in manifests or files)."""
    path = tmp_path / "c.yaml"
    path.write_text(f"vendors:\n  alpaca:\n    {key}: https://user:{SECRET}@proxy.invalid/v2\n")
    line = _refused(cli, tmp_path, "--config", str(path), "--vendor", "sample,alpaca",
                    "--start", "2010-01-04", "--end", "2010-03-01")
    assert line.startswith(f"error: config key vendors.alpaca.{key}: must not hold a user name "
                           "or password")
    assert SECRET not in line


def test_a_vendor_proxy_with_a_password_may_come_from_the_environment_unjournaled(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AITRADER_YAHOO_BASE_URL", f"https://user:{SECRET}@proxy.invalid")
    cli.backtest_json("--vendor", "sample,yahoo", "--symbols", "AAPL", "--start", "2010-01-04",
                      "--end", "2010-03-01")
    assert SECRET.encode() not in cli.db_path.read_bytes()


@pytest.mark.parametrize(("item", "shown"), [("null", "None"), ("[MSFT]", "a list"),
                                             ("true", "True")])
def test_a_list_item_that_is_no_text_is_refused_by_key(cli: Cli, tmp_path: Path, item: str,
                                                       shown: str) -> None:
    """data.symbols: [AAPL, null] looked for a symbol called NONE ('NONE is not in files:...'),
    and [AAPL, [MSFT]] for one called "['MSFT']"."""
    path = tmp_path / "c.yaml"
    path.write_text(f"data:\n  symbols: [AAPL, {item}]\n")
    outcome = cli.backtest("--config", str(path))
    assert outcome.code == 2, outcome.stderr
    assert outcome.error_line() == (f"error: config key data.symbols: expected text, got {shown} "
                                    f"(from config file {path})")
    assert not cli.db_path.exists()
