"""Model fits a run refused are in its result (`--json` key `models`, the table, the journal's
summary, `runs show`), not only in warning lines: counted per model, with symbol, bar and code."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli

# momentum on the bundled sample with the defaults: 8 symbols, fits from bars 126 and 189;
# five HMM windows break the 10-bar occupancy rule (one state holds an outlying bar or two)
HMM_REFUSED = [("AMZN", 126), ("AMZN", 189), ("JPM", 126), ("KO", 189), ("XOM", 126)]
LINE = "model fits refused: hmm 5 of 16"


def test_json_counts_the_fits_done_and_refused_per_model_the_strategy_fits(cli: Cli) -> None:
    document = cli.backtest_json("--strategy", "momentum")

    models = document["models"]
    assert list(models) == ["hmm", "garch"]  # kalman only with kalman.fit: true
    assert {m: (e["fitted"], e["refused"]) for m, e in models.items()} == {
        "hmm": (11, 5), "garch": (16, 0)}
    refusals = models["hmm"]["refusals"]
    assert [(r["symbol"], r["bar"]) for r in refusals] == HMM_REFUSED
    assert all(set(r) == {"symbol", "bar", "code", "detail"} for r in refusals)
    assert {r["code"] for r in refusals} == {"degenerate"}
    assert all("fewer than 10" in r["detail"] for r in refusals)
    assert models["garch"]["refusals"] == []

    again = cli.backtest_json("--strategy", "momentum")
    assert again["models"] == models
    assert again["digest"] == document["digest"]

    shown = cli.runs("show", document["run_id"], "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["metrics"]["models"] == models


def test_the_table_and_runs_show_say_when_a_fit_was_refused(cli: Cli) -> None:
    result = cli.backtest("--strategy", "momentum", "--quiet")
    assert result.code == 0, result.stderr
    assert f"  {LINE} (see --json models)" in result.stdout.splitlines()

    run_id = cli.journaled_runs()[0]["run_id"]
    shown = cli.runs("show", run_id)
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split() == ["models", "hmm", "11", "fitted,", "5", "refused;", "garch",
                                "16", "fitted,", "0", "refused"] for line in lines), lines
    assert f"  {LINE} (see --json metrics.models)" in lines


def test_a_strategy_that_fits_no_model_reports_none_and_prints_no_line(cli: Cli) -> None:
    document = cli.backtest_json()  # sma_cross reads no fitted model
    assert document["models"] == {}
    table = cli.backtest("--quiet")
    assert "model fits refused" not in table.stdout


def test_kalman_noise_fits_are_counted_when_asked_for(cli: Cli) -> None:
    # a training window longer than the sample (241-245 bars a symbol) leaves nothing to fit
    skipped = cli.backtest_json("--strategy", "momentum", "--param", "kalman.fit=true",
                                "--param", "kalman.train=250")
    kalman = skipped["models"]["kalman"]
    assert (kalman["fitted"], kalman["refused"]) == (0, 8)
    assert {(r["bar"], r["code"]) for r in kalman["refusals"]} == {(250, "too_few_observations")}
    assert list(skipped["models"]) == ["kalman", "hmm", "garch"]

    # the default window (126 bars, half a year of days) fits on the one-year sample (it was
    # 250, which left every fit on it refused)
    fitted = cli.backtest_json("--strategy", "momentum", "--param", "kalman.fit=true")
    assert (fitted["models"]["kalman"]["fitted"], fitted["models"]["kalman"]["refused"]) == (8, 0)


def test_signals_reports_the_fits_in_its_summary_and_model_file(cli: Cli,
                                                                tmp_path: Path) -> None:
    result = cli("signals", "--symbol", "JPM", "--out", "jpm.csv", "--model-out", "m.json")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "JPM 1D: 245 bars, model fits hmm 1 fitted, 1 refused; garch 2 fitted, 0 refused; "
        "wrote jpm.csv and m.json",
        "  model fits refused: hmm 1 of 2 (see m.json models)"]
    models = json.loads((tmp_path / "m.json").read_text())["models"]
    assert models["hmm"]["refused"] == 1
    assert [(r["symbol"], r["bar"], r["code"]) for r in models["hmm"]["refusals"]] == [
        ("JPM", 126, "degenerate")]
    assert models["garch"] == {"fitted": 2, "refused": 0, "refusals": []}

    clean = cli("signals", "--symbol", "AAPL", "--out", "aapl.csv")
    assert clean.stdout.splitlines() == [
        "AAPL 1D: 241 bars, model fits hmm 2 fitted, 0 refused; garch 2 fitted, 0 refused; "
        "wrote aapl.csv"]


def test_a_paper_replay_counts_its_fits_as_a_backtest_does(cli: Cli) -> None:
    document = cli.paper_json("--replay", "--strategy", "momentum", "--symbols", "JPM")
    assert document["mode"] == "paper"
    hmm = document["models"]["hmm"]
    assert (hmm["fitted"], hmm["refused"]) == (1, 1)
    assert [(r["symbol"], r["bar"]) for r in hmm["refusals"]] == [("JPM", 126)]
    shown = cli.runs("show", document["run_id"], "--json").json()
    assert shown["metrics"]["models"] == document["models"]
