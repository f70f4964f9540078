"""`aitrader backtest` as a user drives it: the demo, --json, determinism, every option."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import (
    DAILY_HEADER,
    EQUITY_HEADER,
    ORDERS_HEADER,
    TRADES_HEADER,
    Cli,
    read_csv,
    write_csv,
)

NEW_YORK = ZoneInfo("America/New_York")
SAMPLE_SYMBOLS = ["AAPL", "AMZN", "IBM", "JNJ", "JPM", "KO", "MSFT", "XOM"]
METRICS = {"total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
           "max_drawdown_duration_bars", "max_drawdown_duration_days", "calmar", "trades",
           "win_rate", "profit_factor", "avg_trade", "exposure", "turnover", "commissions",
           "final_equity"}
TABLE_LABELS = ["Total return", "CAGR", "Sharpe", "Sortino", "Max drawdown", "Calmar", "Trades",
                "Win rate", "Profit factor", "Exposure time", "Commissions ($)",
                "Final equity ($)"]


def rows_of(document: dict[str, Any], name: str) -> list[dict[str, str]]:
    return read_csv(document["outputs"][name])[1]


def first_equity(document: dict[str, Any]) -> Decimal:
    return Decimal(rows_of(document, "equity")[0]["equity"])


def filled(document: dict[str, Any]) -> list[dict[str, str]]:
    return [o for o in rows_of(document, "orders") if o["status"] == "filled"]


def new_york_day(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(NEW_YORK).date().isoformat()


# -- the demo ---------------------------------------------------------------------------------


def test_backtest_without_options_runs_the_demo_and_prints_a_metrics_table(cli: Cli) -> None:
    result = cli.backtest()

    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "backtest  sma_cross  AAPL,AMZN,IBM,JNJ,JPM,KO,MSFT,XOM  1950 bars" in result.stdout
    for label in TABLE_LABELS:
        assert f"  {label} " in result.stdout, label
    assert "digest" in result.stdout


def test_the_demo_writes_trades_orders_and_equity_csv_with_the_documented_headers(
    cli: Cli, sample_rows: list[dict[str, str]]
) -> None:
    assert cli.backtest().code == 0

    trades_header, trades = read_csv(cli.out_dir / "trades.csv")
    orders_header, orders = read_csv(cli.out_dir / "orders.csv")
    equity_header, equity = read_csv(cli.out_dir / "equity.csv")
    assert trades_header == TRADES_HEADER
    assert orders_header == ORDERS_HEADER
    assert equity_header == EQUITY_HEADER
    assert trades
    assert orders
    assert {t["direction"] for t in trades} == {"long"}
    assert {o["symbol"] for o in orders} <= set(SAMPLE_SYMBOLS)
    stamps = [row["ts"] for row in equity]
    assert len(set(stamps)) == len(stamps), "one row per distinct timestamp"
    assert stamps == sorted(stamps, key=datetime.fromisoformat)
    assert [new_york_day(ts) for ts in stamps] == sorted({r["date"] for r in sample_rows})


def test_trades_csv_holds_each_return_as_a_fraction_and_as_percent(cli: Cli, tmp_path: Path
                                                                   ) -> None:
    data = write_csv(tmp_path / "FEE.csv", DAILY_HEADER, [
        ["2010-01-04", "99", "101", "98", "99", "1000"],
        ["2010-01-05", "99", "101", "98.5", "100", "1000"],     # up: buy at the next open
        ["2010-01-06", "100", "101", "99", "100.5", "1000"],    # 99 shares at 100 (+ $1)
        ["2010-01-07", "100.5", "101", "99", "99", "1000"],     # down: sell at the next open
        ["2010-01-08", "98", "99", "97", "98.5", "1000"]])      # 99 shares at 98 (+ $1)
    assert cli.backtest("--data", str(data), "--strategy", "sma_cross", "--param", "fast=1",
                        "--param", "slow=2", "--cash", "10000",
                        "--commission-per-order", "1").code == 0

    (trip,) = read_csv(cli.out_dir / "trades.csv")[1]
    # net = 99 x (98 - 100) - 2 commissions = -200 on an entry notional of 99 x 100 = 9900:
    # -200 / 9900 = -0.0202020... as a fraction (`return`, as in --json), -2.0202 %
    assert (trip["net_pnl"], trip["return"], trip["return_pct"]) == (
        "-200.00", "-0.020202", "-2.0202")


def test_the_demo_writes_nothing_outside_its_journal_and_output_directory(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli.backtest("--quiet").code == 0

    # the journal may keep SQLite's -wal and -shm files beside it
    assert {p.name.removesuffix("-wal").removesuffix("-shm") for p in tmp_path.iterdir()} == {
        "j.db", "out"}
    assert sorted(p.name for p in cli.out_dir.iterdir()) == [
        "equity.csv", "exposure.csv", "orders.csv", "trades.csv"]


def test_the_installed_console_script_runs_a_backtest(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "aitrader"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AITRADER_")}

    completed = subprocess.run(
        [str(script), "backtest", "--symbols", "AAPL", "--json",
         "--journal", f"sqlite:///{tmp_path / 'j.db'}", "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["symbols"] == ["AAPL"]
    assert (tmp_path / "out" / "equity.csv").exists()


# -- --json -----------------------------------------------------------------------------------


def test_json_prints_exactly_one_object_with_the_documented_keys(cli: Cli) -> None:
    result = cli.backtest("--json")

    assert result.code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""
    document = result.json()
    assert isinstance(document, dict)
    assert set(document) >= {"run_id", "mode", "strategy", "symbols", "bars", "digest",
                             "decisions_digest", "metrics", "timings", "outputs"}
    assert document["mode"] == "backtest"
    assert document["strategy"] == "sma_cross"
    assert document["symbols"] == SAMPLE_SYMBOLS
    assert document["bars"] == 1950
    assert len(document["digest"]) == len(document["decisions_digest"]) == 64
    assert set(document["metrics"]) >= METRICS
    assert set(document["timings"]) == {"load_s", "run_s", "report_s"}
    assert all(v >= 0 for v in document["timings"].values())
    assert set(document["outputs"]) == {"trades", "orders", "equity", "exposure"}
    for path in document["outputs"].values():
        assert Path(path).is_file()
        assert Path(path).parent == cli.out_dir


def test_json_metrics_are_fractions_consistent_with_the_final_equity(cli: Cli) -> None:
    document = cli.backtest_json()
    metrics = document["metrics"]

    assert abs(metrics["total_return"] - (metrics["final_equity"] / 100_000 - 1)) < 1e-9
    assert 0 < metrics["max_drawdown"] < 1
    assert 0 <= metrics["exposure"] <= 1
    assert 0 <= metrics["win_rate"] <= 1
    assert metrics["trades"] == len(rows_of(document, "trades"))
    assert metrics["commissions"] == 0
    final_row = rows_of(document, "equity")[-1]
    assert abs(float(final_row["equity"]) - metrics["final_equity"]) < 1e-6


def test_json_gives_null_for_a_profit_factor_without_losing_trades(
    cli: Cli, tmp_path: Path
) -> None:
    closes = [10, 10, 10, 10, 11, 12, 13, 14, 15, 16, 16.5, 16.2, 15.8, 15.5, 15.3, 15.2, 15.1]
    rows, previous = [], closes[0]
    for day, close in zip(pd.bdate_range("2010-01-04", periods=len(closes)), closes,
                          strict=True):
        rows.append([day.date().isoformat(), previous, max(previous, close) + 0.1,
                     min(previous, close) - 0.1, close, 1000])
        previous = close
    data = write_csv(tmp_path / "data" / "WIN.csv", DAILY_HEADER, rows)

    result = cli.backtest("--data", str(data), "--param", "fast=2", "--param", "slow=4",
                          "--json")

    assert result.code == 0, result.stderr
    assert "Infinity" not in result.stdout
    assert "NaN" not in result.stdout
    metrics = result.json()["metrics"]
    assert metrics["trades"] >= 1
    assert metrics["win_rate"] == 1
    assert metrics["profit_factor"] is None


# -- determinism ------------------------------------------------------------------------------


def test_two_identical_demo_runs_have_equal_digests_and_different_run_ids(cli: Cli) -> None:
    first = cli.backtest_json()
    second = cli.backtest_json()

    assert first["run_id"] != second["run_id"]
    assert first["digest"] == second["digest"]
    assert first["decisions_digest"] == second["decisions_digest"]
    assert first["metrics"] == second["metrics"]


def test_changing_a_strategy_parameter_changes_both_digests(cli: Cli) -> None:
    default = cli.backtest_json()
    faster = cli.backtest_json("--param", "fast=5")

    assert faster["digest"] != default["digest"]
    assert faster["decisions_digest"] != default["decisions_digest"]


def test_where_a_run_writes_does_not_change_its_digest(cli: Cli, tmp_path: Path) -> None:
    first = cli.backtest_json("--symbols", "AAPL")
    elsewhere = cli("backtest", "--symbols", "AAPL", "--json",
                    "--journal", f"sqlite:///{tmp_path / 'other.db'}",
                    "--out", str(tmp_path / "other"))

    assert elsewhere.code == 0, elsewhere.stderr
    assert elsewhere.json()["digest"] == first["digest"]


# -- strategy, symbols, dates, cash -----------------------------------------------------------


def test_breakout_strategy_runs_and_is_named_in_the_result(cli: Cli) -> None:
    document = cli.backtest_json("--strategy", "breakout")

    assert document["strategy"] == "breakout"
    assert document["metrics"]["trades"] > 0
    assert document["decisions_digest"] != cli.backtest_json()["decisions_digest"]


def test_params_reach_the_strategy_and_its_journaled_manifest(cli: Cli) -> None:
    document = cli.backtest_json("--strategy", "breakout", "--param", "entry=10",
                                 "--param", "atr_mult=2.5")

    shown = cli.runs("show", document["run_id"], "--json")
    assert shown.code == 0, shown.stderr
    strategy = shown.json()["config"]["strategy"]
    assert strategy["name"] == "breakout"
    assert {k: strategy["params"][k] for k in ("entry", "atr", "atr_mult")} == {
        "entry": 10, "atr": 14, "atr_mult": 2.5}


def test_a_non_finite_strategy_threshold_is_refused_by_name(cli: Cli) -> None:
    result = cli("backtest", "--strategy", "momentum", "--param", "entry=inf")

    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "error: parameter entry must be a finite number, got inf"]


def test_symbols_restrict_the_run_to_those_symbols(
    cli: Cli, sample_rows: list[dict[str, str]]
) -> None:
    document = cli.backtest_json("--symbols", "AAPL,MSFT")

    assert document["symbols"] == ["AAPL", "MSFT"]
    assert document["bars"] == sum(r["symbol"] in ("AAPL", "MSFT") for r in sample_rows)
    assert {t["symbol"] for t in rows_of(document, "trades")} <= {"AAPL", "MSFT"}
    assert {o["symbol"] for o in rows_of(document, "orders")} == {"AAPL", "MSFT"}


def test_end_is_inclusive_and_start_is_the_first_day(
    cli: Cli, sample_rows: list[dict[str, str]]
) -> None:
    document = cli.backtest_json("--symbols", "AAPL", "--start", "2010-01-04",
                                 "--end", "2010-01-29")

    days = [new_york_day(row["ts"]) for row in rows_of(document, "equity")]
    expected = sorted(r["date"] for r in sample_rows
                      if r["symbol"] == "AAPL" and "2010-01-04" <= r["date"] <= "2010-01-29")
    assert days[0] == "2010-01-04"
    assert days[-1] == "2010-01-29"
    assert days == expected
    assert document["bars"] == len(expected)


def test_an_end_date_alone_keeps_that_days_bar(cli: Cli) -> None:
    document = cli.backtest_json("--end", "2010-01-29")

    assert new_york_day(rows_of(document, "equity")[-1]["ts"]) == "2010-01-29"


def test_cash_sets_the_starting_equity(cli: Cli) -> None:
    document = cli.backtest_json("--cash", "50000")

    assert first_equity(document) == 50_000
    metrics = document["metrics"]
    assert abs(metrics["total_return"] - (metrics["final_equity"] / 50_000 - 1)) < 1e-9


# -- costs and fills --------------------------------------------------------------------------


def test_commission_per_order_charges_one_dollar_per_fill(cli: Cli) -> None:
    document = cli.backtest_json("--commission-per-order", "1")

    shown = cli.runs("show", document["run_id"], "--json").json()
    fills = shown["counts"]["fills"]
    assert fills == len(filled(document)) > 0
    assert document["metrics"]["commissions"] == pytest.approx(fills * 1.0)


def test_commission_pct_is_a_percentage_of_notional(cli: Cli) -> None:
    document = cli.backtest_json("--commission-pct", "0.2")

    orders = filled(document)
    notional = sum(Decimal(o["filled_qty"]) * Decimal(o["avg_px"]) for o in orders)
    commissions = Decimal(str(document["metrics"]["commissions"]))
    # 0.2 means 0.2 %, rounded to cents per fill
    assert abs(commissions - notional * Decimal("0.002")) <= Decimal("0.005") * len(orders)


def test_commission_per_share_charges_each_share_filled(cli: Cli) -> None:
    document = cli.backtest_json("--symbols", "AAPL", "--commission-per-share", "0.01")

    shares = sum(Decimal(o["filled_qty"]) for o in filled(document))
    assert Decimal(str(document["metrics"]["commissions"])) == shares * Decimal("0.01")


def test_slippage_moves_market_fills_against_the_trader(cli: Cli, tmp_path: Path) -> None:
    plain = cli.backtest_json("--symbols", "AAPL", out=tmp_path / "plain")
    slipped = cli.backtest_json("--symbols", "AAPL", "--slippage-bps", "10",
                                out=tmp_path / "slipped")

    pairs = list(zip(filled(plain), filled(slipped), strict=True))
    assert pairs
    for base, worse in pairs:
        assert base["created_at"] == worse["created_at"]
        ratio = Decimal(worse["avg_px"]) / Decimal(base["avg_px"])
        expected = Decimal("1.001") if base["side"] == "buy" else Decimal("0.999")
        assert abs(ratio - expected) < Decimal("0.0001"), (base, worse)
    assert slipped["metrics"]["final_equity"] < plain["metrics"]["final_equity"]


def test_fill_at_close_fills_on_the_deciding_bar_and_open_on_the_next(
    cli: Cli, tmp_path: Path
) -> None:
    at_open = cli.backtest_json("--symbols", "AAPL", out=tmp_path / "open")
    at_close = cli.backtest_json("--symbols", "AAPL", "--fill-at", "close",
                                 out=tmp_path / "close")

    assert at_open["digest"] != at_close["digest"]
    assert at_open["metrics"]["final_equity"] != at_close["metrics"]["final_equity"]
    for order in filled(at_close):
        assert order["updated_at"] == order["created_at"]
    for order in filled(at_open):
        decided = datetime.fromisoformat(order["created_at"])
        executed = datetime.fromisoformat(order["updated_at"])
        assert executed > decided
        assert executed.astimezone(NEW_YORK).strftime("%H:%M") == "09:30"


def test_allow_short_lets_sma_cross_go_short(cli: Cli, tmp_path: Path) -> None:
    long_only = cli.backtest_json(out=tmp_path / "long")
    shorting = cli.backtest_json("--allow-short", out=tmp_path / "short")

    assert {t["direction"] for t in rows_of(long_only, "trades")} == {"long"}
    assert "short" in {t["direction"] for t in rows_of(shorting, "trades")}


def test_fraction_half_keeps_about_half_the_equity_invested(cli: Cli, tmp_path: Path) -> None:
    def invested(document: dict[str, Any]) -> float:
        return max((float(r["equity"]) - float(r["cash"])) / float(r["equity"])
                   for r in rows_of(document, "equity"))

    full = cli.backtest_json("--symbols", "AAPL,MSFT", out=tmp_path / "full")
    half = cli.backtest_json("--symbols", "AAPL,MSFT", "--fraction", "0.5",
                             out=tmp_path / "half")

    assert 0.9 < invested(full) < 1.1
    assert 0.4 < invested(half) < 0.6


def test_fractional_trades_fractions_of_a_share(cli: Cli, tmp_path: Path) -> None:
    whole = cli.backtest_json("--symbols", "AAPL", out=tmp_path / "whole")
    fractional = cli.backtest_json("--symbols", "AAPL", "--fractional",
                                   out=tmp_path / "fractional")

    assert all(Decimal(o["quantity"]) % 1 == 0 for o in rows_of(whole, "orders"))
    quantities = [Decimal(o["quantity"]) for o in rows_of(fractional, "orders")]
    assert any(q % 1 != 0 for q in quantities)
    assert all(q == q.quantize(Decimal("0.0001")) for q in quantities)


# -- configuration layers ---------------------------------------------------------------------


README_CONFIG = """\
mode: backtest
strategy:
  name: sma_cross
  params: {fast: 10, slow: 50}
data:
  path: null
  symbols: [AAPL, MSFT]
  start: 2009-09-01
  end: 2010-08-20
  bar_label: open
  timeframe: null
broker:
  cash: 100000
  commission_per_share: 0
  commission_per_order: 1
  commission_pct: 0
  slippage_bps: 2
  fill_at: open
  fractional: false
  margin_multiplier: 1
portfolio:
  fraction: 1
risk:
  allow_short: false
  max_position_fraction: 1
journal:
  url: sqlite:///.aitrader/journal.db
paper:
  speed: 0
output:
  dir: out
"""


def test_the_readme_configuration_file_is_accepted_and_applied(
    cli: Cli, tmp_path: Path
) -> None:
    config = tmp_path / "aitrader.yaml"
    config.write_text(README_CONFIG, encoding="utf-8")

    document = cli.backtest_json("--config", str(config))

    assert document["symbols"] == ["AAPL", "MSFT"]
    assert new_york_day(rows_of(document, "equity")[0]["ts"]) == "2009-09-01"
    assert document["metrics"]["commissions"] == pytest.approx(len(filled(document)) * 1.0)
    shown = cli.runs("show", document["run_id"], "--json").json()
    assert shown["config"]["broker"]["slippage_bps"] == "2"


def test_a_flag_beats_the_environment_which_beats_the_config_file(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("broker:\n  cash: 50000\ndata:\n  symbols: [AAPL]\n", encoding="utf-8")

    from_file = cli.backtest_json("--config", str(config), out=tmp_path / "file")
    monkeypatch.setenv("AITRADER_BROKER__CASH", "60000")
    from_env = cli.backtest_json("--config", str(config), out=tmp_path / "env")
    from_flag = cli.backtest_json("--config", str(config), "--cash", "70000",
                                  out=tmp_path / "flag")

    assert from_file["symbols"] == from_env["symbols"] == from_flag["symbols"] == ["AAPL"]
    assert first_equity(from_file) == 50_000
    assert first_equity(from_env) == 60_000
    assert first_equity(from_flag) == 70_000
    journaled = {r["run_id"]: r["config"]["broker"]["cash"] for r in cli.journaled_runs()}
    assert journaled == {from_file["run_id"]: "50000", from_env["run_id"]: "60000",
                         from_flag["run_id"]: "70000"}


# -- your own data ----------------------------------------------------------------------------


@pytest.fixture
def two_symbols(sample_rows: list[dict[str, str]]) -> pd.DataFrame:
    """AAPL and MSFT from the bundled sample, as a user's own long table."""
    frame = pd.DataFrame(sample_rows)
    return frame[frame["symbol"].isin(["AAPL", "MSFT"])].reset_index(drop=True)


@pytest.mark.parametrize("layout", ["one_csv_per_symbol", "long_csv", "long_parquet",
                                    "parquet_per_symbol"])
def test_own_data_in_any_layout_gives_the_same_run_as_the_bundled_sample(
    cli: Cli, tmp_path: Path, two_symbols: pd.DataFrame, layout: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    typed = two_symbols.assign(date=pd.to_datetime(two_symbols["date"]).dt.date)
    if layout == "one_csv_per_symbol":
        for symbol, rows in two_symbols.groupby("symbol"):
            rows.drop(columns="symbol").to_csv(data / f"{symbol}.csv", index=False)
    elif layout == "long_csv":
        data = data / "bars.csv"
        two_symbols.to_csv(data, index=False)
    elif layout == "long_parquet":
        data = data / "bars.parquet"
        typed.to_parquet(data, index=False)
    else:
        for symbol, rows in typed.groupby("symbol"):
            rows.drop(columns="symbol").to_parquet(data / f"{symbol}.parquet", index=False)

    own = cli.backtest_json("--data", str(data), out=tmp_path / "own")
    bundled = cli.backtest_json("--symbols", "AAPL,MSFT", out=tmp_path / "bundled")

    assert own["symbols"] == ["AAPL", "MSFT"]
    assert own["bars"] == len(two_symbols)
    assert own["digest"] == bundled["digest"]
    assert own["decisions_digest"] == bundled["decisions_digest"]


def test_symbols_pick_from_a_long_file_of_your_own(
    cli: Cli, tmp_path: Path, two_symbols: pd.DataFrame
) -> None:
    data = tmp_path / "bars.csv"
    two_symbols.to_csv(data, index=False)

    document = cli.backtest_json("--data", str(data), "--symbols", "MSFT")

    assert document["symbols"] == ["MSFT"]
    assert document["bars"] == (two_symbols["symbol"] == "MSFT").sum()


def intraday_rows(days: list[str], minutes: int = 5) -> list[list[str]]:
    """Regular-session bars stamped with naive New York times, a smooth wave of prices."""
    rows: list[list[str]] = []
    previous = 100.0
    for day in days:
        for k in range(390 // minutes):
            start = 9 * 60 + 30 + minutes * k
            close = round(100 + 3 * math.sin(len(rows) / 6) + 0.01 * len(rows), 2)
            rows.append([f"{day}T{start // 60:02d}:{start % 60:02d}:00", f"{previous:.2f}",
                         f"{max(previous, close) + 0.1:.2f}", f"{min(previous, close) - 0.1:.2f}",
                         f"{close:.2f}", str(1000 + len(rows))])
            previous = close
    return rows


def test_bar_label_close_takes_timestamps_as_the_bar_close(cli: Cli, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "SPY.csv", ("timestamp", "open", "high", "low", "close", "volume"),
                     intraday_rows(["2024-03-04", "2024-03-05"]))
    args = ("--data", str(data), "--param", "fast=3", "--param", "slow=8")

    as_open = cli.backtest_json(*args, out=tmp_path / "open")
    as_close = cli.backtest_json(*args, "--bar-label", "close", out=tmp_path / "close")

    open_stamps = [r["ts"] for r in rows_of(as_open, "equity")]
    close_stamps = [r["ts"] for r in rows_of(as_close, "equity")]
    assert as_open["bars"] == as_close["bars"] == 156
    assert len(open_stamps) == len(close_stamps) == 156
    # 09:30 New York is 14:30 UTC before the March DST change
    assert open_stamps[0] == "2024-03-04T14:35:00+00:00"
    assert close_stamps[0] == "2024-03-04T14:30:00+00:00"
    assert all(
        datetime.fromisoformat(o) - datetime.fromisoformat(c) == timedelta(minutes=5)
        for o, c in zip(open_stamps, close_stamps, strict=True))


def test_bar_label_does_not_move_daily_bars(cli: Cli, tmp_path: Path) -> None:
    as_open = cli.backtest_json("--symbols", "AAPL", out=tmp_path / "open")
    as_close = cli.backtest_json("--symbols", "AAPL", "--bar-label", "close",
                                 out=tmp_path / "close")

    assert as_close["decisions_digest"] == as_open["decisions_digest"]
    assert rows_of(as_close, "equity") == rows_of(as_open, "equity")


# -- progress ---------------------------------------------------------------------------------


def test_quiet_prints_only_the_table_and_nothing_on_stderr(cli: Cli) -> None:
    normal = cli.backtest()
    quiet = cli.backtest("--quiet")

    assert normal.code == quiet.code == 0
    assert "Total return" in normal.stdout
    assert "Total return" in quiet.stdout
    assert "wrote " in normal.stdout
    assert "wrote " not in quiet.stdout
    assert quiet.stderr == ""
    # progress, when a run is long enough to show any, goes to stderr only
    assert "bars (" not in normal.stdout


@pytest.mark.usefixtures("slow_clock")
def test_a_long_run_shows_progress_on_stderr_unless_quiet_or_json(cli: Cli) -> None:
    normal = cli.backtest()
    quiet = cli.backtest("--quiet")
    as_json = cli.backtest("--json")

    assert normal.code == quiet.code == as_json.code == 0
    assert "backtest: 1950/1950 bars (100 %)" in normal.stderr.splitlines()
    assert "bars (" not in normal.stdout
    assert quiet.stderr == ""
    assert as_json.stderr == ""
    assert as_json.json()["bars"] == 1950


def test_a_24_7_run_of_daily_bars_annualises_by_a_calendar_year(cli: Cli, tmp_path: Path
                                                                 ) -> None:
    closes = [100, 101, 103, 102, 104, 107, 106, 108, 111, 110, 112, 115, 114, 116]
    rows = [[f"2024-03-{day:02d}", str(c), str(c + 1), str(c - 1), str(c), "1000"]
            for day, c in enumerate(closes, start=1)]  # 14 consecutive days, weekends too
    data = write_csv(tmp_path / "C.csv", DAILY_HEADER, rows)
    metrics = cli.backtest_json("--data", str(data), "--calendar", "24/7", "--strategy",
                                "sma_cross", "--param", "fast=1", "--param",
                                "slow=2")["metrics"]
    _, points = read_csv(cli.out_dir / "equity.csv")
    equity = np.array([float(p["equity"]) for p in points])
    returns = equity[1:] / equity[:-1] - 1
    # a market that trades every day has 365.25 daily bars a year, not an exchange's 252
    assert metrics["volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(365.25),
                                                  rel=1e-9)
