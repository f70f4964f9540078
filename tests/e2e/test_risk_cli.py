"""The risk layer as a user drives it: trading states, kill switch, allocators, explain."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from aitrader.adapters.calendars import open_calendar
from aitrader.domain.market import Session
from tests.e2e.conftest import Cli, read_csv, write_csv

NEW_YORK = ZoneInfo("America/New_York")


def risk(cli: Cli, *args: str) -> Any:
    outcome = cli("risk", *args, "--journal", cli.journal_url, "--json")
    assert outcome.code == 0, outcome.stderr
    return outcome.json()


def refusals(cli: Cli, run_id: str) -> list[dict[str, Any]]:
    """Every refusing verdict `runs explain --json` shows for the run."""
    explained = cli.runs("explain", run_id, "--json").json()
    assert explained
    return [v for d in explained for v in d["verdicts"] if not v["passed"]]


def test_status_of_a_journal_that_does_not_exist_is_refused_in_one_line(cli: Cli) -> None:
    outcome = cli("risk", "status", "--journal", cli.journal_url)
    assert outcome.code == 2
    assert "no journal at" in outcome.error_line()
    assert not cli.db_path.exists()


def test_halt_needs_a_reason(cli: Cli) -> None:
    outcome = cli("risk", "halt", "--journal", cli.journal_url)
    assert outcome.code == 2
    assert "--reason" in outcome.error_line()


def test_a_halt_holds_across_runs_until_an_explicit_resume(cli: Cli) -> None:
    assert risk(cli, "halt", "--reason", "broker outage")["state"] == "HALTED"
    halted = cli.paper_json("--symbols", "AAPL,MSFT")
    assert halted["metrics"]["trades"] == 0
    _, orders = read_csv(cli.out_dir / "orders.csv")
    assert orders == []
    status = risk(cli, "status")
    assert (status["state"], status["reason"]) == ("HALTED", "manual: broker outage")
    assert risk(cli, "resume")["state"] == "ACTIVE"
    resumed = cli.paper_json("--symbols", "AAPL,MSFT")
    assert resumed["metrics"]["trades"] > 0


def test_reduce_lets_no_position_be_opened(cli: Cli) -> None:
    assert risk(cli, "reduce")["state"] == "REDUCING"
    document = cli.paper_json("--symbols", "KO")
    assert document["metrics"]["trades"] == 0
    assert {v["rule"] for v in refusals(cli, document["run_id"])} == {"trading_state"}


def test_reduce_does_not_soften_a_halt_and_says_so(cli: Cli) -> None:
    assert risk(cli, "halt", "--reason", "outage")["state"] == "HALTED"
    said = cli("risk", "reduce", "--reason", "calmer", "--journal", cli.journal_url)
    assert said.code == 0, said.stderr
    assert said.stdout.splitlines()[0].startswith("still HALTED")
    assert "trading state  HALTED - manual: outage" in said.stdout
    assert risk(cli, "resume")["state"] == "ACTIVE"
    reduced = risk(cli, "reduce", "--reason", " ")
    assert (reduced["state"], reduced["reason"]) == ("REDUCING", "manual")
    killed = risk(cli, "kill")
    assert (killed["state"], killed["reason"]) == ("HALTED", "kill switch")


def test_kill_is_carried_out_by_the_engine_and_verified_flat(cli: Cli) -> None:
    state = risk(cli, "kill", "--reason", "drill")
    assert (state["state"], state["kill_requested"]) == ("HALTED", True)
    document = cli.paper_json("--symbols", "AAPL")
    assert document["metrics"]["trades"] == 0
    after = risk(cli, "status")
    assert (after["state"], after["kill_requested"]) == ("HALTED", False)


def test_a_drawdown_halt_stops_new_exposure_and_explain_shows_the_refusals(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlimited = cli.backtest_json()
    monkeypatch.setenv("AITRADER_RISK__MAX_DRAWDOWN", "0.02")
    limited = cli.backtest_json()
    assert limited["metrics"]["trades"] < unlimited["metrics"]["trades"]
    assert "trading_state" in {v["rule"] for v in refusals(cli, limited["run_id"])}
    text = cli.runs("explain", limited["run_id"], "--symbol", "AAPL")
    assert text.code == 0
    assert "gate      trading_state" in text.stdout
    assert "REFUSED: trading is HALTED" in text.stdout


def test_an_emergency_flatten_closes_every_position_and_halts(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITRADER_RISK__FLATTEN_DRAWDOWN", "0.03")
    document = cli.backtest_json()
    explained = cli.runs("explain", document["run_id"], "--json").json()
    flattened = [d for d in explained if d["action"] == "flatten"]
    assert flattened
    assert all(d["order"]["side"] == "sell" and d["order"]["status"] == "filled"
               for d in flattened)
    first = min(d["seq"] for d in flattened)
    later = [d for d in explained if d["seq"] > first and d["action"] == "order"]
    assert later == []  # HALTED after the kill: nothing new went out


def test_explain_by_order_shows_the_chain_behind_that_order(cli: Cli) -> None:
    document = cli.backtest_json("--symbols", "KO")
    _, orders = read_csv(cli.out_dir / "orders.csv")
    cid = orders[0]["client_order_id"]
    text = cli.runs("explain", document["run_id"], "--order", cid)
    assert text.code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("decision 1 ")
    assert lines[0].endswith("-> order")
    assert any(line.startswith("  signals   sma_fast=") for line in lines)
    assert any(line.startswith("  sizing    budget=") for line in lines)
    assert sum(line.startswith("  gate      ") for line in lines) == 6
    assert lines[-1].startswith(f"  order     {cid} buy ")
    missing = cli.runs("explain", document["run_id"], "--order", "nope")
    assert missing.code == 2
    assert "no order 'nope'" in missing.error_line()
    elsewhere = cli.runs("explain", document["run_id"], "--symbol", "AAPL")
    assert elsewhere.code == 2
    assert elsewhere.error_line().endswith("traded KO, not 'AAPL'")
    everything = cli.runs("explain", document["run_id"]).stdout
    assert cli.runs("explain", document["run_id"], "--symbol", "ko").stdout == everything


def test_explain_filters_pick_what_a_plain_filter_of_every_decision_picks(cli: Cli) -> None:
    run_id = cli.backtest_json()["run_id"]  # the demo: several symbols, decisions over a year
    everything = cli.runs("explain", run_id, "--json").json()
    assert len({d["symbol"] for d in everything}) > 1
    aapl = [d for d in everything if d["symbol"] == "AAPL"]
    some = next(d for d in everything[len(everything) // 2:] if d["client_order_id"])
    day = some["ts"][:10]  # a daily bar's close, 16:00 or 13:00 New York: that day there
    moment = some["ts"]

    def picked(*args: str) -> list[dict[str, Any]]:
        shown = cli.runs("explain", run_id, *args, "--json")
        assert shown.code == 0, shown.stderr
        return shown.json()  # type: ignore[no-any-return]

    assert picked("--symbol", "aapl") == aapl
    assert picked("--order", some["client_order_id"]) == [some]
    assert picked("--at", day) == [d for d in everything if d["ts"][:10] == day]
    in_force = {}
    for d in everything:  # per symbol, the last decision at or before the moment
        if d["ts"] <= moment:
            in_force[d["symbol"]] = d
    assert picked("--at", moment) == sorted(in_force.values(), key=lambda d: d["seq"])
    assert some in picked("--at", moment)
    assert picked("--symbol", "AAPL", "--at", moment) == [in_force["AAPL"]]
    empty = cli.runs("explain", run_id, "--at", " ")
    assert empty.code == 2, empty.stderr
    assert "--at: empty" in empty.error_line()


@pytest.mark.parametrize("allocator", ["inverse_volatility", "risk_parity", "mean_variance"])
def test_allocators_weight_a_multi_symbol_backtest_and_rebalance(cli: Cli, allocator: str) -> None:
    document = cli.backtest_json("--symbols", "AAPL,KO,XOM", "--allocator", allocator,
                                 "--rebalance", "monthly")
    assert document["metrics"]["trades"] > 0
    explained = cli.runs("explain", document["run_id"], "--json").json()
    weights = {d["sizing"].get("weight") for d in explained} - {None}
    assert len(weights) > 1  # the weights moved with the rebalances
    assert all(0 <= float(w) <= 1 for w in weights)


@pytest.mark.parametrize("allocator", ["inverse_volatility", "risk_parity", "mean_variance"])
def test_an_allocator_over_one_symbol_gives_it_the_whole_invested_fraction(
    cli: Cli, allocator: str
) -> None:
    document = cli.backtest_json("--symbols", "AAPL", "--allocator", allocator,
                                 "--rebalance", "monthly")
    assert document["metrics"]["trades"] > 0
    explained = cli.runs("explain", document["run_id"], "--json").json()
    assert {d["sizing"].get("weight") for d in explained} - {None} == {"1.00000000"}


@pytest.mark.parametrize("allocator", ["inverse_volatility", "risk_parity", "mean_variance"])
@pytest.mark.parametrize("cap", ["1e-300", "5e-324"])
def test_a_tiny_max_weight_caps_every_weight_instead_of_failing_the_run(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, allocator: str, cap: str
) -> None:
    # a 4-close lookback gives weights many orders of magnitude apart: scaled down to the cap,
    # the small ones underflowed to zero and the cap's redistribution divided 0 by 0
    monkeypatch.setenv("AITRADER_PORTFOLIO__MAX_WEIGHT", cap)
    monkeypatch.setenv("AITRADER_PORTFOLIO__LOOKBACK", "4")
    document = cli.backtest_json("--symbols", "AAPL,KO,XOM", "--allocator", allocator,
                                 "--rebalance", "daily")
    explained = cli.runs("explain", document["run_id"], "--json").json()
    assert {d["sizing"].get("weight") for d in explained} - {None} == {"0E-8"}


def test_max_weight_caps_the_default_equal_split_from_the_first_bar(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITRADER_PORTFOLIO__MAX_WEIGHT", "0.2")  # below 1/3: it binds
    document = cli.backtest_json("--symbols", "AAPL,KO,XOM")
    explained = cli.runs("explain", document["run_id"], "--json").json()
    # every order sized at the capped weight (uncapped, each would take a third)
    assert {d["sizing"].get("weight") for d in explained if d["action"] == "order"} == {
        "0.20000000"}


def test_a_portfolio_var_limit_refuses_orders_that_would_raise_var_above_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = cli.backtest_json()
    monkeypatch.setenv("AITRADER_RISK__MAX_VAR", "0.005")
    limited = cli.backtest_json()
    assert limited["risk"]["var_95_parametric"] < free["risk"]["var_95_parametric"]
    assert {v["rule"] for v in refusals(cli, limited["run_id"])} == {"max_var"}


def _most_positions_held_at_once(orders_csv: Path) -> int:
    """From orders.csv: the most symbols held at once, replaying the fills in time order."""
    _, orders = read_csv(orders_csv)
    held: dict[str, float] = {}
    most = 0
    for o in sorted((o for o in orders if float(o["filled_qty"] or 0) > 0),
                    key=lambda o: (o["updated_at"], o["client_order_id"])):
        sign = 1.0 if o["side"] == "buy" else -1.0
        held[o["symbol"]] = held.get(o["symbol"], 0.0) + sign * float(o["filled_qty"])
        most = max(most, sum(1 for q in held.values() if q))
    return most


@pytest.mark.parametrize(("variable", "figure"), [
    ("AITRADER_RISK__MAX_GROSS_EXPOSURE", "gross_exposure_max"),
    ("AITRADER_RISK__MAX_NET_EXPOSURE", "net_exposure_max"),
])
def test_exposure_caps_hold_when_many_symbols_decide_on_the_same_bar(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, variable: str, figure: str
) -> None:
    free = cli.backtest_json()
    assert free["risk"][figure] > 0.8
    monkeypatch.setenv(variable, "0.5")
    capped = cli.backtest_json()
    assert capped["metrics"]["trades"] > 0
    # orders are sized at a close and fill at the next open: allow that one gap, no more
    assert capped["risk"][figure] <= 0.5 * 1.05


def test_max_open_positions_holds_when_many_symbols_open_on_the_same_bar(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITRADER_RISK__MAX_OPEN_POSITIONS", "2")
    document = cli.backtest_json()
    assert document["metrics"]["trades"] > 0
    assert _most_positions_held_at_once(cli.out_dir / "orders.csv") <= 2


def test_the_json_report_carries_var_cvar_and_exposure(cli: Cli) -> None:
    document = cli.backtest_json()
    figures = document["risk"]
    assert 0 < figures["var_95_historical"] <= figures["cvar_95_historical"]
    assert figures["var_99_parametric"] > 0
    assert 0 < figures["gross_exposure_avg"] <= figures["gross_exposure_max"] <= 1.0 + 1e-9
    assert 0 < figures["concentration"] <= 1
    header, rows = read_csv(document["outputs"]["exposure"])
    assert header == ["ts", "gross", "net", "gross_fraction", "net_fraction"]
    _, equity = read_csv(document["outputs"]["equity"])
    assert [r["ts"] for r in rows] == [r["ts"] for r in equity]
    assert max(float(r["gross_fraction"]) for r in rows) == pytest.approx(
        figures["gross_exposure_max"], abs=1e-6)


def test_the_metrics_table_shows_every_figure_of_the_risk_report(cli: Cli) -> None:
    table = cli.backtest("--symbols", "KO")
    assert table.code == 0, table.stderr
    document = cli.backtest_json("--symbols", "KO")
    rows = [line for line in table.stdout.splitlines() if "%" in line or "HHI" in line]
    for label, key in [("VaR 95 % (historical)", "var_95_historical"),
                       ("CVaR 95 % (parametric)", "cvar_95_parametric"),
                       ("VaR 99 % (historical)", "var_99_historical"),
                       ("CVaR 99 % (parametric)", "cvar_99_parametric"),
                       ("Gross exposure (max)", "gross_exposure_max"),
                       ("Net exposure (min)", "net_exposure_min")]:
        shown = [r for r in rows if r.strip().startswith(label)]
        assert shown, label
        assert shown[0].endswith(f"{document['risk'][key] * 100:.2f} %"), shown[0]


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("AITRADER_RISK__MAX_DRAWDOWN", "1.5", "max_drawdown"),
    ("AITRADER_RISK__DAY_TRADING", "pdt", "risk.day_trading"),
    ("AITRADER_PORTFOLIO__REBALANCE", "hourly", "portfolio.rebalance"),
    ("AITRADER_RISK__MAX_OPEN_POSITIONS", "0", "max_open_positions"),
])
def test_a_bad_risk_value_is_named_and_nothing_is_written(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    outcome = cli.backtest()
    assert outcome.code == 2
    assert named in outcome.error_line()
    assert not cli.db_path.exists()


def _extended_hours_file(tmp_path: Path) -> Path:
    """Five days of 5-minute bars from 08:00 to 18:00 New York: pre, regular and after hours."""
    rng = np.random.default_rng(11)
    rows, price = [], 100.0
    for day in range(5):
        moment = datetime(2024, 3, 4, 8, 0, tzinfo=NEW_YORK) + timedelta(days=day)
        end = moment.replace(hour=18)
        while moment < end:
            start, price = price, price * (1 + rng.normal(0, 0.003))
            rows.append([moment.isoformat(), f"{start:.2f}", f"{max(start, price) * 1.001:.2f}",
                         f"{min(start, price) * 0.999:.2f}", f"{price:.2f}", "1000"])
            moment += timedelta(minutes=5)
    return write_csv(tmp_path / "ZZZ.csv", ("timestamp", "open", "high", "low", "close",
                                            "volume"), rows)


@pytest.mark.parametrize("style", ["market", "marketable_limit"])
def test_orders_fit_the_session_of_the_calendar(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    monkeypatch.setenv("AITRADER_RISK__ORDER_STYLE", style)
    path = _extended_hours_file(tmp_path)
    document = cli.backtest_json("--data", str(path), "--param", "fast=3", "--param", "slow=8")
    assert document["metrics"]["trades"] > 0
    _, orders = read_csv(cli.out_dir / "orders.csv")
    kinds = set()
    for order in orders:
        created = datetime.fromisoformat(order["created_at"]).astimezone(NEW_YORK).time()
        regular = time(9, 30) <= created < time(16, 0)
        kinds.add((regular, order["order_type"]))
        assert order["status"] == "filled", order
        if not regular or style == "marketable_limit":
            assert order["order_type"] == "limit"
        else:
            assert order["order_type"] == "market"
    assert {regular for regular, _ in kinds} == {True, False}


def _first_regular_close_after(moment: datetime) -> datetime:
    """The close of the first 5-minute regular-session bar after an extended-hours moment."""
    local = moment.astimezone(NEW_YORK)
    day = local.date() if local.time() < time(9, 35) else local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 35), NEW_YORK)


def test_a_position_entered_after_hours_gets_its_stop_loss_when_the_session_opens(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITRADER_RISK__STOP_LOSS", "0.02")
    path = _extended_hours_file(tmp_path)
    document = cli.backtest_json("--data", str(path), "--param", "fast=3", "--param", "slow=8")
    explained = cli.runs("explain", document["run_id"], "--json").json()
    refused_at: datetime | None = None  # an exit refused outside the session, still unplaced
    unguarded = []
    for d in sorted(explained, key=lambda d: d["seq"]):
        ts = datetime.fromisoformat(d["ts"])
        if d["sizing"].get("exit") and d["action"] == "rejected":
            refused_at = refused_at or ts
        elif d["action"] == "exit" or (d["order"] or {}).get("side") == "sell":
            if refused_at is not None and _first_regular_close_after(refused_at) < ts:
                unguarded.append((refused_at, ts))  # held into the session without its stop
            refused_at = None
    assert any(d["sizing"].get("exit") for d in explained)
    assert unguarded == []


def test_legacy_pdt_allows_three_day_trades_in_five_business_days_below_the_threshold(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _extended_hours_file(tmp_path)
    args = ("--data", str(path), "--param", "fast=3", "--param", "slow=8", "--cash", "20000")
    free = cli.backtest_json(*args)
    monkeypatch.setenv("AITRADER_RISK__DAY_TRADING", "legacy_pdt")
    limited = cli.backtest_json(*args)
    _, trades = read_csv(cli.out_dir / "trades.csv")
    same_day = [t for t in trades if datetime.fromisoformat(t["entry_ts"]).astimezone(
        NEW_YORK).date() == datetime.fromisoformat(t["exit_ts"]).astimezone(NEW_YORK).date()]
    assert free["metrics"]["trades"] > 3
    assert len(same_day) <= 3  # the five days of data are one window of five business days
    refused = refusals(cli, limited["run_id"])
    assert {v["rule"] for v in refused} == {"day_trading"}
    assert all(v["reason"].startswith("legacy_pdt: 3 day trades") for v in refused)


def test_backtest_and_paper_replay_decide_alike_with_the_whole_risk_layer_on(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in [("AITRADER_RISK__STOP_LOSS", "0.03"),
                            ("AITRADER_RISK__TAKE_PROFIT", "0.06"),
                            ("AITRADER_RISK__TRAIL_ATR", "2"),
                            ("AITRADER_RISK__MAX_DRAWDOWN", "0.08"),
                            ("AITRADER_RISK__MAX_GROSS_EXPOSURE", "0.9"),
                            ("AITRADER_PORTFOLIO__SIZING", "volatility_target")]:
        monkeypatch.setenv(variable, value)
    args = ("--symbols", "AAPL,KO,XOM,MSFT", "--allocator", "risk_parity", "--rebalance",
            "weekly")
    backtest = cli.backtest_json(*args)
    paper = cli.paper_json(*args)
    assert backtest["metrics"]["trades"] > 0
    assert paper["decisions_digest"] == backtest["decisions_digest"]
    _, orders = read_csv(cli.out_dir / "orders.csv")
    assert {o["order_type"] for o in orders} == {"market", "stop", "limit", "trailing_stop"}


def test_the_journal_keeps_a_trailing_stops_distance_and_the_oco_group_of_exit_legs(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in [("AITRADER_RISK__STOP_LOSS", "0.03"),
                            ("AITRADER_RISK__TAKE_PROFIT", "0.06"),
                            ("AITRADER_RISK__TRAIL_ATR", "2")]:
        monkeypatch.setenv(variable, value)
    document = cli.backtest_json("--symbols", "AAPL")
    explained = cli.runs("explain", document["run_id"], "--json").json()  # read from the journal
    legs = [d["order"] for d in explained if d["action"] == "exit"]
    trailing = [o for o in legs if o["order_type"] == "trailing_stop"]
    assert trailing
    assert all(o["trail_amount"] is not None and float(o["trail_amount"]) > 0 for o in trailing)
    groups: dict[str, set[str]] = {}
    for order in legs:
        assert order["oco_group"]
        groups.setdefault(order["oco_group"], set()).add(order["order_type"])
    assert any(len(types) == 3 for types in groups.values())  # stop, limit, trailing together
    _, orders = read_csv(cli.out_dir / "orders.csv")
    exported = {o["client_order_id"]: o for o in orders}
    journaled = {d["client_order_id"]: d["order"] for d in explained if d["action"] == "exit"}
    assert {cid: (o["trail_amount"] or None, o["oco_group"]) for cid, o in journaled.items()} == {
        cid: (exported[cid]["trail_amount"] or None, exported[cid]["oco_group"])
        for cid in journaled}


def _zigzag_around_thanksgiving(tmp_path: Path) -> Path:
    """15-minute bars of a regular session that zigzags all day (a crossing every few bars),
    on each NYSE trading day from 2025-11-19 to 2025-12-03: Thanksgiving (11-27) is closed and
    11-28 closes at 13:00."""
    calendar = open_calendar("XNYS")
    rows, wave = [], [0, 1, 2, 3, 4, 3, 2, 1]
    for day in calendar.trading_days(datetime(2025, 11, 19).date(), datetime(2025, 12, 3).date()):
        regular = next(w for w in calendar.sessions_on(day) if w.session is Session.REGULAR)
        moment, k = regular.start, 0
        while moment < regular.end:
            price = 100.0 + wave[k % len(wave)]
            rows.append([moment.isoformat(), f"{price:.2f}", f"{price + 0.2:.2f}",
                         f"{price - 0.2:.2f}", f"{price:.2f}", "1000"])
            moment, k = moment + timedelta(minutes=15), k + 1
    return write_csv(tmp_path / "ZZ.csv", ("timestamp", "open", "high", "low", "close", "volume"),
                     rows)


def test_legacy_pdt_counts_exchange_trading_days_so_thanksgiving_does_not_open_the_window(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AITRADER_RISK__DAY_TRADING", "legacy_pdt")
    monkeypatch.setenv("AITRADER_BROKER__FILL_AT", "close")
    path = _zigzag_around_thanksgiving(tmp_path)
    document = cli.backtest_json("--data", str(path), "--param", "fast=2", "--param", "slow=3",
                                 "--cash", "20000")
    _, trades = read_csv(cli.out_dir / "trades.csv")
    days = open_calendar("XNYS").trading_days(datetime(2025, 11, 19).date(),
                                               datetime(2025, 12, 3).date())
    per_day = dict.fromkeys(days, 0)
    for t in trades:
        entry = datetime.fromisoformat(t["entry_ts"]).astimezone(NEW_YORK).date()
        if entry == datetime.fromisoformat(t["exit_ts"]).astimezone(NEW_YORK).date():
            per_day[entry] += 1
    assert sum(per_day.values()) >= 6  # the policy had day trades to hold back
    # no five consecutive trading days hold more than three day trades: counting weekdays, the
    # window ending 12-01 would have reached back only to 11-25 (Thanksgiving in its place)
    assert max(sum(per_day[d] for d in days[k:k + 5]) for k in range(len(days) - 4)) <= 3
    assert refusals(cli, document["run_id"])


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_explain_json_is_strict_json_with_a_signal_not_yet_known_as_null(cli: Cli) -> None:
    """Before the first regime fit, breakout's regime and GARCH signals are NaN: JSON has no
    NaN (a strict parser refuses the whole document), so they are null, as in backtest --json."""
    run_id = cli.backtest_json("--strategy", "breakout", "--symbols", "KO")["run_id"]

    shown = cli.runs("explain", run_id, "--json")

    assert shown.code == 0, shown.stderr
    explained = json.loads(shown.stdout, parse_constant=_refuse_constant)
    early = explained[0]["signals"]
    assert early["garch_vol"] is None
    assert early["regime"] is None
    assert isinstance(early["atr"], float)
