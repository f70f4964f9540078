"""Where a bad strategy parameter came from, and options given twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Cli


def _refused(cli: Cli, tmp_path: Path, command: str, *args: str) -> str:
    """`COMMAND ARGS` refused as bad input before anything was written; its error line."""
    outcome = cli(command, *args)
    assert outcome.code == 2, outcome.stderr
    assert not cli.db_path.exists()
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".aitrader").exists()
    return outcome.error_line()


@pytest.mark.parametrize("command", ["backtest", "paper"])
@pytest.mark.parametrize(("yaml_text", "environ", "line"), [
    ("", {"AITRADER_STRATEGY__PARAMS__FAST": "abc"},
     "config key strategy.params.fast: expected int, got 'abc' (from environment variable "
     "AITRADER_STRATEGY__PARAMS__FAST)"),
    ("strategy:\n  params: {fast: abc}\n", {},
     "config key strategy.params.fast: expected int, got 'abc' (from config file {file})"),
    ("strategy:\n  params: {fast: 5}\n", {"AITRADER_STRATEGY__PARAMS__SPEED": "3"},
     "config key strategy.params.speed: strategy sma_cross has no parameter 'speed' (it has "
     "fast, slow) (from environment variable AITRADER_STRATEGY__PARAMS__SPEED)"),
    ("strategy:\n  name: momentum\n", {"AITRADER_STRATEGY__PARAMS__ENTRY": "inf"},
     "config key strategy.params.entry: must be a finite number, got inf (from environment "
     "variable AITRADER_STRATEGY__PARAMS__ENTRY)"),
], ids=["env", "file", "unknown_from_env", "non_finite_from_env"])
def test_a_bad_strategy_parameter_names_the_variable_or_file_that_set_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, yaml_text: str,
    environ: dict[str, str], line: str,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    replay = ["--replay"] if command == "paper" else []
    assert _refused(cli, tmp_path, command, *replay, "--config", str(path), "--journal",
                    cli.journal_url, "--out", str(tmp_path / "out")) == \
        "error: " + line.format(file=path)


def test_a_bad_strategy_parameter_on_the_command_line_keeps_its_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the variable sets a sound value, the flag (which wins) a bad one: the flag is named
    monkeypatch.setenv("AITRADER_STRATEGY__PARAMS__FAST", "5")
    assert _refused(cli, tmp_path, "backtest", "--param", "fast=abc", "--journal",
                    cli.journal_url) == "error: parameter fast: expected int, got 'abc'"


@pytest.mark.parametrize("args", [
    ["backtest", "--config", "a.yaml", "--config", "b.yaml"],
    ["backtest", "--config=a.yaml", "--config", "b.yaml"],
    ["backtest", "--data", "a.csv", "--data", "b.csv"],
    ["backtest", "--journal", "sqlite:///a.db", "--journal", "sqlite:///b.db"],
    ["backtest", "--out", "a", "--out", "b"],
    ["backtest", "--symbols", "KO", "--symbols", "IBM"],
    ["backtest", "--cash", "1000", "--cash", "2000"],
    ["paper", "--replay", "--symbols", "KO", "--symbols", "IBM"],
    ["signals", "--symbol", "KO", "--out", "a.csv", "--out", "b.csv"],
    ["data", "fetch", "--vendor", "sample", "--symbols", "KO", "--symbols", "IBM"],
    ["runs", "list", "--journal", "sqlite:///a.db", "--journal", "sqlite:///b.db"],
    ["db", "upgrade", "--journal", "sqlite:///a.db", "--journal", "sqlite:///b.db"],
], ids=lambda args: "_".join(a.strip("-").split("=")[0] for a in args[:3]))
def test_an_option_given_twice_is_refused_not_silently_the_last(
    cli: Cli, tmp_path: Path, args: list[str]
) -> None:
    # Typer kept the last: `--config a.yaml --config b.yaml` ran on b alone, saying nothing
    (tmp_path / "a.yaml").write_text("broker:\n  cash: 1000\n")
    (tmp_path / "b.yaml").write_text("broker:\n  fractional: true\n")
    outcome = cli(*args)
    assert outcome.code == 2, outcome.stderr
    repeated = next(a.split("=")[0] for a in args if args.count(a) > 1 or a.startswith("--config="))
    line = outcome.error_line()
    assert f"{repeated} is given twice" in line
    assert "b.db" not in line  # values are not echoed (a URL may hold a password)
    assert "b.yaml" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]  # nothing written


def test_both_sides_of_an_on_off_flag_are_refused_a_plain_flag_twice_is_not(
    cli: Cli, tmp_path: Path
) -> None:
    # (`--allow-short --long-only` ran long-only without a word: the last side won)
    outcome = cli("backtest", "--allow-short", "--long-only")
    assert outcome.code == 2, outcome.stderr
    assert outcome.error_line() == ("error: --allow-short/--long-only is given twice: give it "
                                    "once")
    assert list(tmp_path.iterdir()) == []
    assert cli.backtest("--symbols", "KO", "--quiet", "--json", "--json").code == 0


def test_options_meant_to_repeat_still_do(cli: Cli) -> None:
    document = cli.backtest_json("--symbols", "KO", "--param", "fast=5", "--param", "slow=30",
                                 "--quiet")
    shown = cli.runs("show", document["run_id"], "--json").json()
    assert {k: shown["config"]["strategy"]["params"][k] for k in ("fast", "slow")} == {
        "fast": 5, "slow": 30}
