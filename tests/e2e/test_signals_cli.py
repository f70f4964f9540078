"""`aitrader signals`, `aitrader check lookahead` and the golden backtests of every strategy."""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aitrader.entrypoints.container import open_journal
from tests.e2e.conftest import DAILY_HEADER, Cli, daily_rows, read_csv, write_csv

SIGNAL_COLUMNS = ["ts_close", "close", "kalman_level", "kalman_velocity", "kalman_level_var",
                  "kalman_velocity_var", "innovation_z", "garch_vol", "regime",
                  "regime_p_calm", "regime_p_normal", "regime_p_turbulent"]

# strategy -> (round trips, final equity, Sharpe) on the bundled sample with the defaults
GOLDEN = {
    "sma_cross": (24, 94713.64, -0.5832367009866747),
    "breakout": (27, 100663.71, 0.1238150101759411),
    "momentum": (3, 101614.15, 0.9922740000949665),
    "mean_reversion": (3, 100167.52, 0.14718936629966295),
    "ma_cross": (26, 94602.74, -0.5921967787595593),
    "multi_factor": (61, 102425.75, 0.6881944760789674),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_backtest_of_each_bundled_strategy(cli: Cli, name: str) -> None:
    metrics = cli.backtest_json("--strategy", name)["metrics"]
    trades, final_equity, sharpe = GOLDEN[name]
    assert (metrics["trades"], metrics["final_equity"]) == (trades, final_equity)
    assert metrics["sharpe"] == pytest.approx(sharpe, rel=1e-12)


def test_signals_writes_the_frame_and_the_fitted_models(cli: Cli, tmp_path: Path) -> None:
    result = cli("signals", "--symbol", "AAPL", "--out", "aapl.csv", "--model-out", "m.json")
    assert result.code == 0, result.stderr
    header, rows = read_csv(tmp_path / "aapl.csv")
    assert header == SIGNAL_COLUMNS
    filtered = [r for r in rows if r["regime"]]
    assert filtered
    assert {r["regime"] for r in filtered} <= {"calm", "normal", "turbulent"}
    for row in filtered:
        total = sum(float(row[f"regime_p_{x}"]) for x in ("calm", "normal", "turbulent"))
        assert math.isclose(total, 1.0, abs_tol=1e-9)
        assert float(row["garch_vol"]) > 0
    model = json.loads((tmp_path / "m.json").read_text())
    hmm, garch = model["hmm"], model["garch"]
    assert "log returns of close" in hmm["series"]
    assert hmm["scale"] == 100
    fit = hmm["fits"][0]
    assert {"startprob", "transmat", "means", "variances", "prior"} <= set(fit)
    assert fit["fitted_on"]["last_bar"] < fit["applies_from_bar"]
    first_filtered = next(i for i, r in enumerate(rows) if r["regime"])
    assert first_filtered == fit["applies_from_bar"]
    assert {"omega", "alpha", "beta", "mu", "first_variance"} <= set(garch["fits"][0])
    assert model["kalman"]["space"] == "log"


def test_signals_takes_kalman_settings_by_param_and_writes_parquet(cli: Cli,
                                                                   tmp_path: Path) -> None:
    result = cli("signals", "--symbol", "KO", "--out", "ko.parquet", "--param",
                 "kalman.space=price", "--param", "kalman.r=0.5", "--param", "kalman.fit=true",
                 "--param", "kalman.train=100", "--model-out", "ko.json", "--quiet")
    assert result.code == 0, result.stderr
    parquet = pq.read_table(tmp_path / "ko.parquet")
    assert str(parquet.schema.field("ts_close").type) == "timestamp[ns, tz=UTC]"
    table = parquet.to_pydict()
    assert list(table) == SIGNAL_COLUMNS
    assert table["ts_close"][0].isoformat() == "2009-08-21T20:00:00+00:00"
    assert abs(table["kalman_level"][-1] - table["close"][-1]) < 5  # price space
    noise = json.loads((tmp_path / "ko.json").read_text())["kalman"]["noise"]
    assert noise[0]["r"] == 0.5
    assert noise[1]["estimated"]
    assert noise[1]["applies_from_bar"] == 100


def test_signals_reads_the_kalman_and_regime_sections_of_a_config_file(cli: Cli,
                                                                       tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("kalman: {space: price, r: 0.3}\n"
                                     "regime: {states: 2, min_train: 100, refit_every: 50}\n")
    result = cli("signals", "--symbol", "JNJ", "--config", "c.yaml", "--out", "j.csv",
                 "--model-out", "j.json")
    assert result.code == 0, result.stderr
    header, _ = read_csv(tmp_path / "j.csv")
    assert header[-2:] == ["regime_p_calm", "regime_p_turbulent"]
    model = json.loads((tmp_path / "j.json").read_text())
    assert [f["applies_from_bar"] for f in model["hmm"]["fits"]] == [100, 150, 200]
    assert model["kalman"]["space"] == "price"
    assert model["kalman"]["noise"][0]["r"] == 0.3


def test_signals_aggregates_to_a_higher_timeframe_within_sessions(cli: Cli,
                                                                  tmp_path: Path) -> None:
    minutes = ["ts,open,high,low,close,volume"]
    for day in ("2024-07-03", "2024-07-05", "2024-07-08"):
        for m in range(390 if day != "2024-07-03" else 210):
            hour, minute = divmod(13 * 60 + 31 + m, 60)
            price = 100 + 0.01 * m + (5 if day == "2024-07-08" else 0)
            minutes.append(f"{day}T{hour:02d}:{minute:02d}:00Z,{price},{price + 0.05},"
                           f"{price - 0.05},{price},100")
    (tmp_path / "X.csv").write_text("\n".join(minutes) + "\n")
    result = cli("signals", "--symbol", "X", "--data", "X.csv", "--bar-label", "close",
                 "--timeframe", "1h", "--out", "x.csv")
    assert result.code == 0, result.stderr
    _, rows = read_csv(tmp_path / "x.csv")
    stamps = [r["ts_close"][11:16] for r in rows]
    assert stamps[:4] == ["14:30", "15:30", "16:30", "17:00"]  # the early close of July 3rd
    assert len(rows) == 4 + 7 + 7


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--out", "s.txt"], "must end in"),
        (["--out", "s.csv", "--model-out", "m.yaml"], "must end in .json"),
        (["--out", "missing/s.csv"], "does not exist"),
        (["--out", "s.csv", "--param", "kalman.r=-1"], "kalman.r: must be a positive"),
        (["--out", "s.csv", "--param", "kalman.space=levels"], "kalman.space"),
        (["--out", "s.csv", "--param", "regime.states=7"], "regime.states: must be below 5"),
        (["--out", "s.csv", "--param", "fast=3"], "only kalman"),
        (["--out", "s.csv", "--timeframe", "2h"], "--timeframe"),
    ],
)
def test_bad_signals_input_is_one_line_and_writes_nothing(cli: Cli, tmp_path: Path,
                                                          args: list[str], fragment: str) -> None:
    result = cli("signals", "--symbol", "AAPL", *args)
    assert result.code == 2
    assert fragment in result.error_line()
    assert not list(tmp_path.glob("s.*"))
    assert not list(tmp_path.glob("m.*"))


def test_unknown_symbol_is_refused(cli: Cli) -> None:
    result = cli("signals", "--symbol", "ZZZZ", "--out", "z.csv")
    assert result.code == 2
    assert "ZZZZ" in result.error_line()


def test_lookahead_check_passes_for_a_bundled_strategy(cli: Cli) -> None:
    result = cli("check", "lookahead", "--strategy", "mean_reversion", "--cuts", "3", "--json")
    assert result.code == 0, result.stderr
    document = result.json()
    assert document["changed"] == []
    assert document["decisions_compared"] > 1000


def test_lookahead_check_says_how_many_cuts_it_checked_on_short_data(cli: Cli,
                                                                     tmp_path: Path) -> None:
    data = write_csv(tmp_path / "XYZ.csv", DAILY_HEADER, daily_rows(4))
    result = cli("check", "lookahead", "--strategy", "sma_cross", "--param", "fast=1",
                 "--param", "slow=2", "--data", str(data), "--cuts", "10")
    assert result.code == 0, result.stderr
    # 4 closes, 10 cuts: cut k keeps max(1, k x 4 // 11) closes, which is 1 for k = 1..5,
    # 2 for k = 6..8 and 3 for k = 9, 10: three distinct copies, not ten
    assert "over 3 truncated copies" in result.stdout, result.stdout
    assert "10 truncated copies" not in result.stdout


def test_lookahead_check_on_one_bar_says_there_was_no_room_for_a_cut(cli: Cli,
                                                                    tmp_path: Path) -> None:
    data = write_csv(tmp_path / "ONE.csv", DAILY_HEADER, daily_rows(1))
    result = cli("check", "lookahead", "--strategy", "sma_cross", "--data", str(data))
    assert result.code == 0, result.stderr
    # one close: a copy must keep at least one close and drop at least one, so none is made
    assert result.stdout == (
        "look-ahead check: sma_cross on 1 symbol(s): the data (1 bar close) has no room for a "
        "cut, so no truncated copy was made and no decision compared\n")


def test_lookahead_check_refuses_an_unknown_strategy(cli: Cli) -> None:
    result = cli("check", "lookahead", "--strategy", "nope")
    assert result.code == 2
    assert "unknown strategy" in result.error_line()


@pytest.mark.parametrize(("strategy", "param", "fragment"), [
    ("momentum", "regimes=", "regimes must name at least one regime"),
    ("momentum", "regimes= , ", "regimes must name at least one regime"),
    ("momentum", "exit=3", "exit (3.0) must not exceed entry (2.0)"),
    # the default whitelist names a state a 2-state model does not have: say it is the default
    ("momentum", "regime.states=2",
     "strategy momentum: regimes 'calm,normal' (the default) names unknown regime 'normal' "
     "(a 2-state regime model has calm, turbulent)"),
    ("mean_reversion", "time_stop=0", "parameter time_stop must be at least 1"),
    ("breakout", "turbulent_scale=1.5", "parameter turbulent_scale must be between 0 and 1"),
    ("ma_cross", "kind=wma", "parameter kind must be sma or ema"),
    ("multi_factor", "step=nan", "parameter step must be a finite number"),
])
def test_a_bad_strategy_parameter_is_one_line_and_exit_2(cli: Cli, strategy: str, param: str,
                                                         fragment: str) -> None:
    result = cli("check", "lookahead", "--strategy", strategy, "--param", param)
    assert result.code == 2
    assert fragment in result.error_line()


def test_the_journal_records_the_model_signals_each_decision_used(cli: Cli) -> None:
    document = cli.backtest_json("--strategy", "momentum", "--symbols", "AAPL,XOM")
    decisions = open_journal(cli.journal_url).decisions(document["run_id"]).unwrap()
    assert decisions
    for decision in decisions:
        assert {"kalman_velocity", "kalman_velocity_var", "regime", "regime_p_calm",
                "garch_vol"} <= set(decision.signals)
        assert not math.isnan(decision.signals["regime"])


def test_a_model_strategy_decides_the_same_in_paper_replay_as_in_a_backtest(
        cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "data" / "AAA.csv", DAILY_HEADER, daily_rows(300))
    args = ("--strategy", "breakout", "--data", "data", "--param", "regime.min_train=60",
            "--param", "regime.refit_every=40")
    backtest = cli.backtest_json(*args)
    paper = cli.paper_json(*args, out=tmp_path / "paper")
    assert backtest["metrics"]["trades"] > 0
    assert paper["decisions_digest"] == backtest["decisions_digest"]


def test_lookahead_check_exits_1_and_names_the_decisions_a_peeking_strategy_changed(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from aitrader.domain.strategies import registry
    from tests.unit.test_models_and_strategies import _Cheater

    entry = registry._Entry({}, lambda allow_short, settings: _Cheater(), "reads tomorrow")
    monkeypatch.setitem(registry.STRATEGIES, "cheater", entry)  # type: ignore[index]
    result = cli("check", "lookahead", "--strategy", "cheater", "--symbols", "AAPL",
                 "--cuts", "30")
    assert result.code == 1
    assert "changed: AAPL" in result.stdout


def _minute_file(path: Path, days: Sequence[str]) -> Path:
    lines = ["ts,open,high,low,close,volume"]
    price = 100.0
    for d, day in enumerate(days):
        for m in range(390):
            hour, minute = divmod(13 * 60 + 31 + m, 60)
            price *= math.exp(0.0004 * math.sin((m + 97 * d) / 37) + 0.0002 * math.cos(m / 3))
            lines.append(f"{day}T{hour:02d}:{minute:02d}:00Z,{price:.4f},{price * 1.0005:.4f},"
                         f"{price * 0.9995:.4f},{price:.4f},100")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_momentum_with_a_higher_timeframe_trend_decides_alike_in_paper_and_backtest(
        cli: Cli, tmp_path: Path) -> None:
    _minute_file(tmp_path / "data" / "MIN.csv", ["2024-07-08", "2024-07-09", "2024-07-10",
                                                 "2024-07-11", "2024-07-12"])
    args = ("--strategy", "momentum", "--data", "data", "--bar-label", "close",
            "--param", "trend=1h", "--param", "entry=0.4", "--param", "exit=0.1",
            "--param", "regime.refit_every=1000", "--param", "regime.window=1000",
            "--allow-short")
    backtest = cli.backtest_json(*args)
    paper = cli.paper_json(*args, out=tmp_path / "paper")
    assert backtest["metrics"]["trades"] > 0
    assert paper["decisions_digest"] == backtest["decisions_digest"]
    decisions = open_journal(cli.journal_url).decisions(backtest["run_id"]).unwrap()
    assert all("trend_velocity" in d.signals for d in decisions)
    checked = cli("check", "lookahead", *args, "--cuts", "20", "--json")
    assert checked.code == 0, checked.stdout + checked.stderr


def test_an_unknown_trend_timeframe_is_one_readable_line(cli: Cli) -> None:
    result = cli.backtest("--strategy", "momentum", "--param", "trend=2h")
    assert result.code == 2
    assert "parameter trend must be empty or a timeframe: unknown timeframe '2h'" in \
        result.error_line()


def test_a_trend_timeframe_no_longer_than_the_bars_is_refused(cli: Cli) -> None:
    result = cli.backtest("--strategy", "momentum", "--param", "trend=1D")
    assert result.code == 2
    assert "must be longer than the data's 1D bars" in result.error_line()


def test_signals_from_a_vendor_equal_signals_from_the_files(cli: Cli, tmp_path: Path) -> None:
    span = ("--start", "2009-09-01", "--end", "2010-08-01")
    on_files = cli("signals", "--symbol", "MSFT", "--out", "files.csv", *span)
    on_vendor = cli("signals", "--symbol", "MSFT", "--out", "vendor.csv", "--vendor", "sample",
                    *span)

    assert on_files.code == 0, on_files.stderr
    assert on_vendor.code == 0, on_vendor.stderr
    assert (tmp_path / "vendor.csv").read_text() == (tmp_path / "files.csv").read_text()


def test_signals_refuses_an_unknown_vendor_in_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("signals", "--symbol", "MSFT", "--out", "x.csv", "--vendor", "nasdaq")

    assert result.code == 2
    assert "nasdaq" in result.error_line()
    assert not (tmp_path / "x.csv").exists()


def test_signals_writes_neither_file_when_one_cannot_be_written(cli: Cli,
                                                                tmp_path: Path) -> None:
    (tmp_path / "m.json").mkdir()
    result = cli("signals", "--symbol", "AAPL", "--out", "s.csv", "--model-out", "m.json")
    assert result.code == 2
    assert "cannot write m.json" in result.error_line()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "j.db") == ["m.json"]


def test_signals_refuses_more_than_one_symbol(cli: Cli, tmp_path: Path) -> None:
    result = cli("signals", "--symbol", "AAPL,MSFT", "--out", "s.csv")
    assert result.code == 2
    assert "one symbol" in result.error_line()
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(("symbol", "line"), [
    ("", "error: --symbol: no symbol given"),
    ("  ", "error: --symbol: no symbol given"),
    ("A B", "error: --symbol: not a valid symbol: 'A B'"),
])
def test_signals_names_the_symbol_flag_the_user_gave(cli: Cli, tmp_path: Path, symbol: str,
                                                      line: str) -> None:
    result = cli("signals", "--symbol", symbol, "--out", "s.csv")
    assert result.code == 2
    assert result.error_line() == line
    assert not (tmp_path / "s.csv").exists()


def test_signal_files_get_the_permissions_of_any_new_file(cli: Cli, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        result = cli("signals", "--symbol", "KO", "--out", "k.csv", "--model-out", "k.json",
                     "--quiet")
    finally:
        os.umask(previous)
    assert result.code == 0, result.stderr
    for name in ("k.csv", "k.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_an_impossible_kalman_fit_is_reported_not_silently_dropped(cli: Cli) -> None:
    result = cli("signals", "--symbol", "KO", "--out", "k.csv", "--model-out", "k.json",
                 "--param", "kalman.fit=true", "--param", "kalman.train=400")
    assert result.code == 0, result.stderr
    assert "kalman.fit_skipped" in result.stderr


@pytest.mark.parametrize("existed", [False, True], ids=["new", "replacing"])
def test_when_the_second_file_cannot_be_moved_into_place_the_first_is_put_back(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool
) -> None:
    # the two files are moved into place one after the other: the second move failing left
    # the first written (or replaced) and the second not, a pair that never went together
    out, model = tmp_path / "k.csv", tmp_path / "k.json"
    if existed:
        out.write_text("old frame\n")
        model.write_text("old model\n")
    replace = os.replace

    def refusing(source: Any, target: Any) -> None:
        if Path(target) == model:
            raise PermissionError(13, "Permission denied")
        replace(source, target)

    monkeypatch.setattr(os, "replace", refusing)
    result = cli("signals", "--symbol", "AAPL", "--out", str(out), "--model-out", str(model),
                 "--quiet")
    assert result.code == 2
    assert "k.json" in result.error_line()
    if existed:  # both as they were
        assert (out.read_text(), model.read_text()) == ("old frame\n", "old model\n")
    else:  # neither
        assert not out.exists()
        assert not model.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".k.")) == []


def test_interrupted_between_the_two_moves_the_first_is_put_back(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, model = tmp_path / "k.csv", tmp_path / "k.json"
    out.write_text("old frame\n")
    replace = os.replace

    def interrupted(source: Any, target: Any) -> None:
        if Path(target) == model:
            raise KeyboardInterrupt  # Ctrl-C as the second file was to be moved
        replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
    stopped = cli("signals", "--symbol", "KO", "--out", str(out), "--model-out", str(model),
                  "--quiet")
    assert stopped.code == 130, stopped.stderr
    assert out.read_text() == "old frame\n"
    assert not model.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".k.")) == []
