"""The risk and sizing layer checked by hand on tiny bar files.

Each scenario is a handful of bars designed so that what the README says must happen can be
worked out on paper; every expected number is computed in the comments beside it. `sma_cross`
with fast=1, slow=2 is long exactly while the close is above the previous close (flat, or short
with --allow-short, while it is below), so the decisions are plain to see. Daily bars fill a
market order decided at a close at the next bar's open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DAILY_HEADER, Cli, read_csv, write_csv

UP_DOWN = ("--strategy", "sma_cross", "--param", "fast=1", "--param", "slow=2")


def bars(tmp_path: Path, name: str, *rows: str) -> str:
    """A bar file of `rows` ("date open high low close", or "date time open high low close"
    for one-minute bars labelled at their open), volume 1000 each."""
    lines = []
    for row in rows:
        fields = row.split()
        if ":" in fields[1]:
            fields = [f"{fields[0]} {fields[1]}", *fields[2:]]
        close = float(fields[4])
        high = max(float(fields[1]), close) if fields[2] == "-" else float(fields[2])
        low = min(float(fields[1]), close) if fields[3] == "-" else float(fields[3])
        lines.append([fields[0], fields[1], repr(high), repr(low), fields[4], "1000"])
    return str(write_csv(tmp_path / f"{name}.csv", DAILY_HEADER, lines))


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def orders(cli: Cli) -> list[tuple[str, str, str]]:
    """(side, quantity, average fill price) of each order the run sent, in order."""
    return [(o["side"], o["quantity"], o["avg_px"]) for o in read_csv(cli.out_dir /
                                                                      "orders.csv")[1]]


def both(cli: Cli, *args: str) -> dict[str, Any]:
    """The backtest's document, after checking a paper replay takes the same decisions."""
    backtest = cli.backtest_json(*args)
    paper = cli.paper_json(*args, out=cli.out_dir.parent / "paper")
    assert paper["decisions_digest"] == backtest["decisions_digest"]
    return backtest


def refusals(cli: Cli, run_id: str) -> list[tuple[str, str]]:
    """(rule, reason) of every refusing verdict `runs explain --json` shows for the run."""
    explained = cli.runs("explain", run_id, "--json").json()
    return [(v["rule"], v["reason"]) for d in explained for v in d["verdicts"]
            if not v["passed"]]


# -- the day-trading policy --------------------------------------------------------------------

def test_legacy_pdt_counts_a_short_opened_and_closed_by_reversals_on_one_day(
        cli: Cli, tmp_path: Path) -> None:
    data = bars(tmp_path, "FLIPS",
                "2010-01-04 15:56 100 - - 100",
                "2010-01-04 15:57 100 - - 101",      # up: long 10000 / 101 = 99
                "2010-01-04 15:58 101 - - 101.2",    # bought 99 at 101, cash 1
                "2010-01-04 15:59 101.2 - - 101.3",
                "2010-01-05 09:30 101 - - 100",      # down: reverse to short
                "2010-01-05 09:31 100 - - 100.5",    # up: reverse to long
                "2010-01-05 09:32 100.5 - - 100",    # down: reverse to short?
                "2010-01-05 09:33 100 - - 99.5",
                "2010-01-05 09:34 99.5 - - 99")
    pdt = config(tmp_path, "broker:\n  margin_multiplier: 2\n"
                           "risk:\n  day_trading: legacy_pdt\n  pdt_max_day_trades: 1\n")
    done = both(cli, "--data", data, *UP_DOWN, "--allow-short", "--cash", "10000",
                "--config", pdt)
    # 09:30: equity 1 + 99 x 100 = 9901, short 9901 / 100 = 99 (buying power 2 x 9901 - 9900
    # = 9902 is enough): sell 198, filled at 100 (09:31): cash 19801, short 99.
    # 09:31: equity 19801 - 99 x 100.5 = 9851.5; buying power 19703 - 9949.5 = 9753.5 caps
    # the long at 9753.5 / 100.5 = 97: buy 196, filled at 100.5 (09:32): cash 103, long 97.
    # That fill closes the short opened at 09:31 the same day: one day trade, the limit.
    # 09:32: equity 103 + 9700 = 9803; the reversal to short opens a position: refused, and
    # its closing 97 go out alone (at 100, 09:33): cash 9803, flat; the short stays refused.
    assert orders(cli) == [("buy", "99", "101.0"), ("sell", "198", "100.0"),
                           ("buy", "196", "100.5"), ("sell", "97", "100.0")]
    assert done["metrics"]["final_equity"] == 9_803
    assert {rule for rule, _ in refusals(cli, done["run_id"])} == {"day_trading"}


def test_legacy_pdt_counts_positions_opened_today_so_two_symbols_cannot_pass_it_together(
        cli: Cli, tmp_path: Path) -> None:
    rows = [["2010-01-05 09:30", "AAA", "100", "100", "100", "100", "1000"],
            ["2010-01-05 09:30", "BBB", "50", "50", "50", "50", "1000"],
            ["2010-01-05 09:31", "AAA", "100", "101", "100", "101", "1000"],   # both up
            ["2010-01-05 09:31", "BBB", "50", "51", "50", "51", "1000"],
            ["2010-01-05 09:32", "AAA", "101", "101", "100.5", "100.5", "1000"],  # both down
            ["2010-01-05 09:32", "BBB", "51", "51", "50.5", "50.5", "1000"],
            ["2010-01-05 09:33", "AAA", "100.5", "100.5", "100.5", "100.5", "1000"],
            ["2010-01-05 09:33", "BBB", "50.5", "50.5", "50.5", "50.5", "1000"],
            ["2010-01-05 09:34", "AAA", "100.5", "101", "100.5", "101", "1000"],  # both up
            ["2010-01-05 09:34", "BBB", "50.5", "51", "50.5", "51", "1000"]]
    data = str(write_csv(tmp_path / "pair.csv", TWO, rows))
    pdt = config(tmp_path, "risk:\n  day_trading: legacy_pdt\n  pdt_max_day_trades: 1\n")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", pdt)
    # 09:31: AAA may open (no day trade yet); BBB may not: closing both today would make two
    # day trades, and the limit is one. AAA 5000 / 101 = 49, bought at 101, sold at 100.5
    # (an exit always goes out): the day's one day trade; at 09:34 nothing may open
    assert orders(cli) == [("buy", "49", "101.0"), ("sell", "49", "100.5")]
    assert {rule for rule, _ in refusals(cli, done["run_id"])} == {"day_trading"}
    assert done["metrics"]["final_equity"] == 10_000 - 49 * 0.5


# -- sizing --------------------------------------------------------------------------------------

UP_DOWN_UP = ("2010-01-04 100 101 99 100",
              "2010-01-05 100 103 99.5 102",   # up: buy at the next open
              "2010-01-06 100 101 99 100.5",   # filled at 100; down: sell at the next open
              "2010-01-07 100.5 101 99 101")   # sold at 100.5; up: buy again


def test_fixed_fraction_leaves_room_for_per_share_and_percent_commissions(
        cli: Cli, tmp_path: Path) -> None:
    data = bars(tmp_path, "FEES", *UP_DOWN_UP)
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--fraction", "0.5",
                "--commission-per-share", "0.01", "--commission-pct", "0.1")
    # budget 10000 x 0.5 = 5000; a share costs 102 x 1.001 + 0.01 = 102.112 with its
    # commission: 5000 / 102.112 = 48.97 -> 48. Filled at 100: commission 0.48 + 4.80 = 5.28;
    # sold at 100.5: 0.48 + 4.824 = 5.30 (to the cent): 10.58 in all
    # equity 10000 - 4800 - 5.28 + 4824 - 5.30 = 10013.42; half of it, 5006.71, buys
    # 5006.71 / (101 x 1.001 + 0.01 = 101.111) = 49.5 -> 49 (not filled: no bar after)
    assert orders(cli) == [("buy", "48", "100.0"), ("sell", "48", "100.5"), ("buy", "49", "")]
    assert done["metrics"]["commissions"] == 10.58
    assert done["metrics"]["final_equity"] == 10_013.42




def test_fractional_sizing_rounds_down_to_a_ten_thousandth_of_a_share(cli: Cli,
                                                                      tmp_path: Path) -> None:
    data = bars(tmp_path, "FRAC", *UP_DOWN_UP)
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--fractional",
                "--commission-pct", "0.2")
    # 10000 / (102 x 1.002 = 102.204) = 97.843528 -> 97.8435; bought at 100 (9784.35, fee
    # 19.5687 -> 19.57), sold at 100.5 (9833.27175, fee 19.6665 -> 19.67): 39.24 in fees;
    # equity 10000 - 9784.35 - 19.57 + 9833.27175 - 19.67 = 10009.68175, / (101 x 1.002)
    # = 98.90794 -> 98.9079
    assert orders(cli) == [("buy", "97.8435", "100.0"), ("sell", "97.8435", "100.5"),
                           ("buy", "98.9079", "")]
    assert done["metrics"]["commissions"] == 39.24
    assert done["metrics"]["final_equity"] == 10_009.68175

def test_volatility_targeting_buys_once_its_estimate_exists(cli: Cli, tmp_path: Path) -> None:
    data = bars(tmp_path, "RISE",
                "2010-01-04 100 100 100 100",
                "2010-01-05 100 101 100 101",   # up: long, but one return is no estimate
                "2010-01-06 101 102 101 102",   # the second return: the estimate exists
                "2010-01-07 102 103 102 103",
                "2010-01-08 103 104 103 104")
    sized = config(tmp_path, "portfolio:\n  sizing: volatility_target\n  vol_lookback: 2\n")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", sized)
    # returns ln(101/100) = 0.0099503, ln(102/101) = 0.0098523; EWMA with alpha 2 / (2 + 1):
    # var = 0.0099503^2 / 3 + 2 x 0.0098523^2 / 3 = 9.77147e-5 a day, x 252 = 0.0246241,
    # volatility 0.156921; scale 0.15 / 0.156921 = 0.955896: 9558.96 / 102 = 93.7 -> 93
    # shares at 01-06's close, filled at 01-07's open, 102 (the target, long since 01-05,
    # had sized nothing while the estimate was unknown; it is pursued once it exists)
    assert orders(cli) == [("buy", "93", "102.0")]
    assert done["metrics"]["final_equity"] == 10_000 + 93 * 2


def test_kelly_sizes_a_target_without_an_edge_flat_or_as_fixed_fraction(cli: Cli,
                                                                       tmp_path: Path) -> None:
    data = bars(tmp_path, "EDGELESS", *UP_DOWN_UP)
    # sma_cross gives no edge estimate: kelly_fallback flat (the default) buys nothing ...
    flat = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--sizing", "kelly")
    assert orders(cli) == []
    assert flat["metrics"]["final_equity"] == 10_000
    # ... and fixed_fraction sizes as fixed_fraction: 10000 / 102 = 98 at 100, sold at 100.5
    both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--sizing", "kelly",
         "--config", config(tmp_path, "portfolio:\n  kelly_fallback: fixed_fraction\n"))
    assert orders(cli)[:2] == [("buy", "98", "100.0"), ("sell", "98", "100.5")]


TWO = ("date", "symbol", "open", "high", "low", "close", "volume")
TWO_UP = [["2010-01-04", "AAA", "100", "101", "99", "100", "1000"],
          ["2010-01-04", "BBB", "50", "51", "49", "50", "1000"],
          ["2010-01-05", "AAA", "100", "103", "99.5", "102", "1000"],   # both up: buy both
          ["2010-01-05", "BBB", "50", "52", "49.5", "51", "1000"],
          ["2010-01-06", "AAA", "102", "104", "101", "103", "1000"],    # filled at the opens
          ["2010-01-06", "BBB", "51", "53", "50.5", "52", "1000"],
          ["2010-01-07", "AAA", "103", "105", "102", "104", "1000"],
          ["2010-01-07", "BBB", "52", "54", "51.5", "53", "1000"]]


def two_symbols(tmp_path: Path) -> str:
    return str(write_csv(tmp_path / "two.csv", TWO, TWO_UP))


def test_max_position_fraction_bounds_each_symbols_size(cli: Cli, tmp_path: Path) -> None:
    done = both(cli, "--data", two_symbols(tmp_path), *UP_DOWN, "--cash", "10000",
                "--config", config(tmp_path, "risk:\n  max_position_fraction: 0.3\n"))
    # each symbol's equal share is 5000, held to 0.3 x 10000 = 3000: 3000 / 102 = 29.4 -> 29
    # AAA, 3000 / 51 = 58.8 -> 58 BBB, filled at the next opens 102 and 51
    assert orders(cli) == [("buy", "29", "102.0"), ("buy", "58", "51.0")]
    # cash 10000 - 2958 - 2958 = 4084, + 29 x 104 + 58 x 53 = 6090
    assert done["metrics"]["final_equity"] == 10_174


def test_margin_buying_power_caps_the_second_symbol_and_is_pursued_as_equity_grows(
        cli: Cli, tmp_path: Path) -> None:
    done = both(cli, "--data", two_symbols(tmp_path), *UP_DOWN, "--cash", "10000",
                "--fraction", "2", "--config", config(tmp_path, "broker:\n"
                                                                "  margin_multiplier: 1.5\n"))
    # each share 10000 x 2 / 2 = 10000 (max_position_fraction 1 holds it there): AAA
    # 10000 / 102 = 98 (9996); BBB gets the buying power left: 15000 - 9996 = 5004,
    # 5004 / 51 = 98. Cash 10000 - 9996 - 4998 = -4994.
    # 01-06: equity -4994 + 98 x 103 + 98 x 52 = 10196; buying power 1.5 x 10196 - 15190
    # = 104: BBB's budget 5096 + 104 = 5200 -> 100 shares, buy 2 (at 52, 01-07's open)
    # 01-07: equity -5098 + 98 x 104 + 100 x 53 = 10394; 15591 - 15492 = 99 more: 101, buy 1
    assert orders(cli) == [("buy", "98", "102.0"), ("buy", "98", "51.0"),
                           ("buy", "2", "52.0"), ("buy", "1", "")]
    assert done["metrics"]["final_equity"] == 10_394


# -- exposure caps -------------------------------------------------------------------------------

def test_max_gross_exposure_counts_the_working_order_of_a_symbol_deciding_first(
        cli: Cli, tmp_path: Path) -> None:
    done = both(cli, "--data", two_symbols(tmp_path), *UP_DOWN, "--cash", "10000",
                "--config", config(tmp_path, "risk:\n  max_gross_exposure: 0.6\n"))
    # AAA: 5000 / 102 = 49 shares, 4998 <= 0.6 x 10000: sent. BBB on the same bar: 98 x 51
    # = 4998 more, with AAA's 4998 working: 9996 > 6000, refused; and again on 01-06 with
    # AAA held: 49 x 103 + 96 x 52 = 10039 > 0.6 x 10049 = 6029.40
    assert orders(cli) == [("buy", "49", "102.0")]
    assert refusals(cli, done["run_id"]) == [
        ("max_gross_exposure", "gross exposure 9996.00 would exceed 0.6 of equity (6000.00)"),
        ("max_gross_exposure", "gross exposure 10039.00 would exceed 0.6 of equity (6029.40)")]
    assert done["metrics"]["final_equity"] == 10_000 + 49 * 2



def test_max_net_exposure_refuses_the_short_until_the_long_it_offsets_is_held(
        cli: Cli, tmp_path: Path) -> None:
    rows = [["2010-01-04", "AAA", "100", "101", "99", "100", "1000"],
            ["2010-01-04", "BBB", "50", "51", "49", "50", "1000"],
            ["2010-01-05", "AAA", "100", "103", "99.5", "102", "1000"],   # up: long
            ["2010-01-05", "BBB", "50", "50.5", "48.5", "49", "1000"],    # down: short
            ["2010-01-06", "AAA", "102", "104", "101", "103", "1000"],
            ["2010-01-06", "BBB", "49", "49.5", "48", "48.5", "1000"],
            ["2010-01-07", "AAA", "103", "105", "102", "104", "1000"],
            ["2010-01-07", "BBB", "48.5", "49", "47.5", "48", "1000"]]
    data = str(write_csv(tmp_path / "pair.csv", TWO, rows))
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--allow-short",
                "--config", config(tmp_path, "risk:\n  max_net_exposure: 0.6\n"))
    # AAA long 5000 / 102 = 49: net 4998 <= 6000. BBB short 5000 / 49 = 102 (4998): working
    # orders count at their worst, 4998 + 4998 = 9996 > 6000: refused. Pursued after AAA's
    # fill (at 102): equity 5002 + 49 x 103 = 10049, buying power 5002: 5002 / 48.5 = 103
    # short, net 5047 - 4995.5 = 51.5, toward zero: sent, filled at 48.5 (cash 9997.5).
    # Still capped, pursued again: 10149.5 - 10040 + 4944 = 5053.5 / 48 = 105: sell 2 more
    assert orders(cli) == [("buy", "49", "102.0"), ("sell", "103", "48.5"), ("sell", "2", "")]
    assert refusals(cli, done["run_id"]) == [
        ("max_net_exposure", "net exposure -4998.00 (with 4998.00 in working orders) would "
                             "exceed 0.6 of equity (6000.00)")]
    assert done["metrics"]["final_equity"] == 10_149.5  # 9997.5 + 49 x 104 - 103 x 48


def test_cash_reserve_refuses_what_would_leave_too_little_free_cash(cli: Cli,
                                                                    tmp_path: Path) -> None:
    done = both(cli, "--data", two_symbols(tmp_path), *UP_DOWN, "--cash", "10000",
                "--config", config(tmp_path, "risk:\n  cash_reserve: 0.1\n"))
    # AAA 49 x 102 = 4998 leaves 5002 >= 1000. BBB 98 x 51 = 4998 would leave 10000 - 4998
    # reserved - 4998 = 4 < 1000; after AAA's fill 96 x 52 = 4992 would leave 10 < 1004.90
    assert orders(cli) == [("buy", "49", "102.0")]
    assert refusals(cli, done["run_id"]) == [
        ("cash_reserve", "BBB order would leave 4.00 in cash, below the reserve 1000.00"),
        ("cash_reserve", "BBB order would leave 10.00 in cash, below the reserve 1004.90")]

# -- halts and the kill switch ---------------------------------------------------------------

def test_the_emergency_flatten_sells_at_the_next_open_and_stays_halted(cli: Cli,
                                                                       tmp_path: Path) -> None:
    data = bars(tmp_path, "FALL",
                "2010-01-04 99 101 98 99",
                "2010-01-05 99 101 98.5 100",   # up: buy 100 at the next open, 100
                "2010-01-06 100 101 99 100",    # peak 10,000
                "2010-01-07 100 101 94 95",     # 5 %: HALTED, the exit refused
                "2010-01-08 95 96 90 91",       # 9 % >= 8 %: kill switch, sell at the open
                "2010-01-11 90 93 89 92",       # sold at 90; up, but HALTED
                "2010-01-12 92 95 91 94")
    limits = config(tmp_path, "risk:\n  max_drawdown: 0.05\n  flatten_drawdown: 0.08\n")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", limits)
    assert orders(cli) == [("buy", "100", "100.0"), ("sell", "100", "90.0")]
    assert done["metrics"]["final_equity"] == 9_000
    explained = cli.runs("explain", done["run_id"], "--json").json()
    assert [d["action"] for d in explained] == ["order", "rejected", "flatten", "rejected"]
    assert [rule for rule, _ in refusals(cli, done["run_id"])] == ["trading_state"] * 2



def test_a_drawdown_halt_keeps_the_stop_loss_that_protects_a_position(cli: Cli,
                                                                      tmp_path: Path) -> None:
    data = bars(tmp_path, "SLIDE",
                "2010-01-04 99 101 98 99",
                "2010-01-05 99 101 98.5 100",     # up: buy 100 at the next open
                "2010-01-06 100 101 99 100.5",    # bought at 100, stop at 90; peak 10,050
                "2010-01-07 100.5 100.5 94 95",   # 9,500 is 5.47 % down: HALTED, sale refused
                "2010-01-08 94 94 85 86")         # through the stop: sold at 90
    limits = config(tmp_path, "risk:\n  max_drawdown: 0.05\n  stop_loss: 0.1\n")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", limits)
    # the halt cancels every open order but the exit legs of held positions: the stop-loss
    # (100 x (1 - 0.1) = 90) keeps working and sells at its level, 90 (the bar opens above it
    # at 94). Cancelled with the halt, the shares would be marked at 86: 8,600
    assert [(o["side"], o["order_type"], o["quantity"], o["stop_price"], o["status"],
             o["avg_px"]) for o in read_csv(cli.out_dir / "orders.csv")[1]] == [
        ("buy", "market", "100", "", "filled", "100.0"),
        ("sell", "stop", "100", "90.00", "filled", "90.00")]
    assert done["metrics"]["final_equity"] == 9_000
    explained = cli.runs("explain", done["run_id"], "--json").json()
    assert [d["action"] for d in explained] == ["order", "exit", "rejected"]
    assert [rule for rule, _ in refusals(cli, done["run_id"])] == ["trading_state"]


def test_the_kill_switch_cancels_the_exit_legs_too_and_flattens(cli: Cli, tmp_path: Path) -> None:
    data = bars(tmp_path, "SLIDE",
                "2010-01-04 99 101 98 99",
                "2010-01-05 99 101 98.5 100",     # up: buy 100 at the next open
                "2010-01-06 100 101 99 100.5",    # bought at 100, stop at 90; peak 10,050
                "2010-01-07 100.5 100.5 94 95",   # 5.47 % >= 5 %: kill switch
                "2010-01-08 94 94 85 86")         # flattened at the open, 94
    limits = config(tmp_path, "risk:\n  max_drawdown: 0.04\n  flatten_drawdown: 0.05\n"
                              "  stop_loss: 0.1\n")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", limits)
    assert [(o["side"], o["order_type"], o["status"], o["avg_px"])
            for o in read_csv(cli.out_dir / "orders.csv")[1]] == [
        ("buy", "market", "filled", "100.0"), ("sell", "stop", "canceled", ""),
        ("sell", "market", "filled", "94.0")]
    assert done["metrics"]["final_equity"] == 9_400  # 100 x 94


def test_the_emergency_flatten_never_fills_a_symbol_before_the_order_was_sent(
        cli: Cli, tmp_path: Path) -> None:
    rows = [["2010-01-04", "AAA", "100", "101", "99", "100", "1000"],
            ["2010-01-04", "BBB", "50", "51", "49", "50", "1000"],
            ["2010-01-05", "AAA", "100", "103", "99.5", "102", "1000"],   # both up: buy
            ["2010-01-05", "BBB", "50", "52", "49.5", "51", "1000"],
            ["2010-01-06", "AAA", "102", "104", "101", "103", "1000"],    # filled: the peak
            ["2010-01-06", "BBB", "51", "53", "50.5", "52", "1000"],
            ["2010-01-07", "AAA", "103", "103", "89", "90", "1000"],      # AAA crashes
            ["2010-01-07", "BBB", "52", "53", "51.5", "52.5", "1000"],
            ["2010-01-08", "AAA", "89", "89", "87", "88", "1000"],
            ["2010-01-08", "BBB", "53", "54", "52.5", "53.5", "1000"]]
    data = str(write_csv(tmp_path / "crash.csv", TWO, rows))
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000",
                "--config", config(tmp_path, "risk:\n  flatten_drawdown: 0.05\n"))
    # 49 AAA at 102 and 98 BBB at 51 (5002 / 51 after AAA's 4998): cash 4; the peak is
    # 4 + 49 x 103 + 98 x 52 = 10147. AAA's 01-07 close: 4 + 49 x 90 + 5096 = 9510, 6.3 %
    # down: kill. AAA is sold at the next open, 89; BBB as its own 01-07 bar closes, so at
    # 01-08's open, 53 - not at 01-07's open (52), which was before the kill was decided
    sold = [o for o in read_csv(cli.out_dir / "orders.csv")[1] if o["side"] == "sell"]
    assert [(o["symbol"], o["quantity"], o["avg_px"], o["created_at"], o["updated_at"])
            for o in sold] == [
        ("AAA", "49", "89.0", "2010-01-07T21:00:00+00:00", "2010-01-08T14:30:00+00:00"),
        ("BBB", "98", "53.0", "2010-01-07T21:00:00+00:00", "2010-01-08T14:30:00+00:00")]
    assert done["metrics"]["final_equity"] == 9_559  # 4 + 49 x 89 + 98 x 53

def test_the_order_rate_limit_never_holds_back_the_emergency_flatten(cli: Cli,
                                                                     tmp_path: Path) -> None:
    rows = [["2010-01-04", "AAA", "100", "101", "99", "100", "1000"],
            ["2010-01-04", "BBB", "50", "51", "49", "50", "1000"],
            ["2010-01-05", "AAA", "100", "103", "99.5", "102", "1000"],   # up: buy AAA
            ["2010-01-05", "BBB", "50", "51", "49.5", "50", "1000"],      # unchanged: flat
            ["2010-01-06", "AAA", "102", "104", "101", "103", "1000"],    # filled; the peak
            ["2010-01-06", "BBB", "50", "52", "49.5", "51", "1000"],      # up: buy BBB
            ["2010-01-07", "AAA", "103", "103", "84", "85", "1000"],      # AAA crashes: kill
            ["2010-01-07", "BBB", "51", "53", "50.5", "52.5", "1000"],
            ["2010-01-08", "AAA", "84", "84", "82", "83", "1000"],
            ["2010-01-08", "BBB", "53", "54", "52.5", "53.5", "1000"]]
    data = str(write_csv(tmp_path / "crash.csv", TWO, rows))
    limits = config(tmp_path, "risk:\n  flatten_drawdown: 0.05\n  max_order_rate: 1\n")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", limits)
    # one order a rolling minute, and each buy goes out on its own day: 49 AAA at 102 (half of
    # 10,000 at the 01-05 close), 98 BBB at 51 (5024 of 10,049 at 51); cash 4. The 01-07 close,
    # 4 + 49 x 85 + 98 x 52.5 = 9314, is 7.3 % below the peak 10,049: kill. Both sales go out
    # at that close, one after the other; throttled, BBB's would be refused and sent again at
    # the 01-08 close, after the last bar
    sold = [o for o in read_csv(cli.out_dir / "orders.csv")[1] if o["side"] == "sell"]
    assert [(o["symbol"], o["quantity"], o["avg_px"], o["created_at"]) for o in sold] == [
        ("AAA", "49", "84.0", "2010-01-07T21:00:00+00:00"),
        ("BBB", "98", "53.0", "2010-01-07T21:00:00+00:00")]
    assert done["metrics"]["final_equity"] == 9_314  # 4 + 49 x 84 + 98 x 53
    explained = cli.runs("explain", done["run_id"], "--json").json()
    assert [d["action"] for d in explained if d["action"] == "flatten"] == ["flatten"] * 2
    assert "max_order_rate" not in {rule for rule, _ in refusals(cli, done["run_id"])}


def test_a_local_paper_run_measures_drawdown_on_its_own_account_while_a_halt_holds(
        cli: Cli, tmp_path: Path) -> None:
    data = bars(tmp_path, "RISE",
                "2010-01-04 99 101 98 99",
                "2010-01-05 99 101 98.5 100",     # up: buy at the next open, 100
                "2010-01-06 100 101 99 101",
                "2010-01-07 101 102 100 102")
    limits = config(tmp_path, "risk:\n  max_drawdown: 0.05\n")

    def status() -> tuple[str, str, str | None]:
        shown = cli("risk", "status", "--journal", cli.journal_url, "--json").json()
        return shown["state"], shown["reason"], shown["equity_peak"]

    def paper(cash: str) -> list[tuple[str, str, str]]:
        cli.paper_json("--data", data, *UP_DOWN, "--cash", cash, "--config", limits)
        return orders(cli)

    # 100 shares at 100 on 10,000: the peak is 100 x 102 = 10,200
    assert paper("10000") == [("buy", "100", "100.0")]
    assert status() == ("ACTIVE", "", "10200.0")
    # a fresh simulated account of 5,000 is not 51 % below the last account's peak: it buys
    # 50 shares, and its own peak is 50 x 102 = 5,100
    assert paper("5000") == [("buy", "50", "100.0")]
    assert status() == ("ACTIVE", "", "5100.0")
    # a halt is the operator's, not the account's: it holds on the next fresh account
    halted = cli("risk", "halt", "--reason", "drill", "--journal", cli.journal_url)
    assert halted.code == 0, halted.stderr
    assert paper("4000") == []
    assert status() == ("HALTED", "manual: drill", "4000.0")


def test_a_kill_holds_across_restarts_until_resumed(cli: Cli) -> None:
    killed = cli("risk", "kill", "--reason", "drill", "--journal", cli.journal_url, "--json")
    assert killed.code == 0, killed.stderr
    for _ in range(2):  # the run that carries the kill out, then a restart
        document = cli.paper_json("--symbols", "KO")
        assert read_csv(cli.out_dir / "orders.csv")[1] == []
        assert {rule for rule, _ in refusals(cli, document["run_id"])} == {"trading_state"}
        status = cli("risk", "status", "--journal", cli.journal_url, "--json").json()
        assert (status["state"], status["kill_requested"]) == ("HALTED", False)
    resumed = cli("risk", "resume", "--journal", cli.journal_url, "--json").json()
    assert resumed["state"] == "ACTIVE"
    assert cli.paper_json("--symbols", "KO")["metrics"]["trades"] > 0


# -- allocators ----------------------------------------------------------------------------------

# BBB's returns are exactly twice AAA's over the first four closes: -1 %, -2 %, +1 % against
# -2 %, -4 %, +2 %. Inverse volatility and risk parity (perfectly correlated: equal risk means
# w x sigma equal) both weigh AAA 2/3 and BBB 1/3 from them.
TWICE_AS_WILD = [
    ["2010-01-04", "AAA", "100", "100", "100", "100", "1000"],
    ["2010-01-04", "BBB", "100", "100", "100", "100", "1000"],
    ["2010-01-05", "AAA", "100", "100", "99", "99", "1000"],
    ["2010-01-05", "BBB", "100", "100", "98", "98", "1000"],
    ["2010-01-06", "AAA", "99", "99", "97.02", "97.02", "1000"],
    ["2010-01-06", "BBB", "98", "98", "94.08", "94.08", "1000"],
    ["2010-01-07", "AAA", "97.02", "97.9902", "97.02", "97.9902", "1000"],   # both up: buy
    ["2010-01-07", "BBB", "94.08", "95.9616", "94.08", "95.9616", "1000"],
    ["2010-01-08", "AAA", "98", "98", "97", "97", "1000"],                   # both down: sell
    ["2010-01-08", "BBB", "96", "96", "95", "95", "1000"],
    ["2010-01-11", "AAA", "97.5", "97.5", "96.5", "96.5", "1000"],           # down: still out
    ["2010-01-11", "BBB", "95.5", "95.5", "94.5", "94.5", "1000"],
    ["2010-01-12", "AAA", "96.5", "97", "96.5", "97", "1000"],               # both up: buy
    ["2010-01-12", "BBB", "94.5", "95", "94.5", "95", "1000"],
    ["2010-01-13", "AAA", "97.5", "98", "97.5", "98", "1000"],
    ["2010-01-13", "BBB", "95.5", "96", "95.5", "96", "1000"]]


@pytest.mark.parametrize("allocator", ["inverse_volatility", "risk_parity"])
def test_an_allocator_s_weights_apply_to_every_symbol_from_the_same_bar(
        cli: Cli, tmp_path: Path, allocator: str) -> None:
    data = str(write_csv(tmp_path / "wild.csv", TWO, TWICE_AS_WILD))
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--allocator", allocator,
                "--config", config(tmp_path, "portfolio:\n  lookback: 3\n"))
    # 01-07 fills the lookback (four closes, three returns) but its bar is still decided on
    # the equal split, for both symbols alike: AAA 5000 / 97.9902 = 51.03 -> 51 (at 98),
    # BBB 5000 / 95.9616 = 52.1 -> 52 (at 96). Cash 10000 - 4998 - 4992 = 10.
    # 01-08: both down, sold at 01-11's opens 97.5 and 95.5: cash 10 + 4972.5 + 4966 = 9948.5.
    # 01-12: the weights from the closes before 01-08: AAA 9948.5 x 0.66666666 = 6632.33,
    # / 97 = 68.4 -> 68; BBB 9948.5 x 0.33333333 = 3316.17 (within the 9948.5 - 68 x 97 =
    # 3352.5 AAA's order leaves), / 95 = 34.9 -> 34; filled at 01-13's opens 97.5 and 95.5
    assert orders(cli) == [("buy", "51", "98.0"), ("buy", "52", "96.0"),
                           ("sell", "51", "97.5"), ("sell", "52", "95.5"),
                           ("buy", "68", "97.5"), ("buy", "34", "95.5")]
    # cash 9948.5 - 6630 - 3247 = 71.5, + 68 x 98 + 34 x 96 = 9928
    assert done["metrics"]["final_equity"] == 9_999.5


def test_max_weight_caps_an_allocator_s_weight_and_hands_the_excess_on(cli: Cli,
                                                                       tmp_path: Path) -> None:
    data = str(write_csv(tmp_path / "wild.csv", TWO, TWICE_AS_WILD))
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000",
                "--allocator", "inverse_volatility",
                "--config", config(tmp_path, "portfolio:\n  lookback: 3\n  max_weight: 0.6\n"))
    # as above until 01-12, where AAA's 2/3 is capped at 0.6 and BBB gets the rest, 0.4:
    # AAA 9948.5 x 0.6 = 5969.1 / 97 = 61.5 -> 61; BBB 3979.4 / 95 = 41.9 -> 41
    assert orders(cli)[4:] == [("buy", "61", "97.5"), ("buy", "41", "95.5")]
    # cash 9948.5 - 5947.5 - 3915.5 = 85.5, + 61 x 98 + 41 x 96
    assert done["metrics"]["final_equity"] == 9_999.5


DRIFTING = [  # AAA runs from 101 to 130 in a week, BBB creeps up: both stay long
    ["2010-01-04", "AAA", "100", "100", "100", "100", "1000"],
    ["2010-01-04", "BBB", "100", "100", "100", "100", "1000"],
    ["2010-01-05", "AAA", "100", "101", "100", "101", "1000"],
    ["2010-01-05", "BBB", "100", "101", "100", "101", "1000"],
    ["2010-01-06", "AAA", "101", "110", "101", "110", "1000"],
    ["2010-01-06", "BBB", "101", "101.1", "101", "101.1", "1000"],
    ["2010-01-07", "AAA", "110", "120", "110", "120", "1000"],
    ["2010-01-07", "BBB", "101.1", "101.2", "101.1", "101.2", "1000"],
    ["2010-01-08", "AAA", "120", "125", "120", "125", "1000"],
    ["2010-01-08", "BBB", "101.2", "101.3", "101.2", "101.3", "1000"],
    ["2010-01-11", "AAA", "125", "130", "125", "130", "1000"],        # Monday: a new week
    ["2010-01-11", "BBB", "101.3", "101.4", "101.3", "101.4", "1000"],
    ["2010-01-12", "AAA", "130", "131", "130", "131", "1000"],
    ["2010-01-12", "BBB", "101.4", "101.5", "101.4", "101.5", "1000"]]


def test_a_weekly_rebalance_resizes_drifted_symbols_on_the_week_s_first_bar(
        cli: Cli, tmp_path: Path) -> None:
    data = str(write_csv(tmp_path / "drift.csv", TWO, DRIFTING))
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--rebalance", "weekly")
    # 01-05: 5000 / 101 = 49 of each, filled at 101: cash 10000 - 9898 = 102.
    # Monday 01-11, both closes known: equity 102 + 49 x 130 + 49 x 101.4 = 11440.6, each
    # target half of it, 5720.3. AAA: 6370 held, 5.68 % of equity off, beyond the 5 % drift:
    # 5720.3 / 130 = 44, sell 5 (at 130, Tuesday's open).
    # BBB: 4968.6 held, 6.57 % off; buying power 11440.6 - 11338.6 = 102 (the sale is not
    # through yet) + 4968.6 held = 5070.6 caps it: 50, buy 1 (at 101.4). Short of target,
    # pursued after Tuesday's fills: cash 102 + 650 - 101.4 = 650.6, equity 650.6 + 44 x 131
    # + 50 x 101.5 = 11489.6, 5744.8 / 101.5 = 56: buy 6 (not filled: no bar after)
    assert orders(cli) == [("buy", "49", "101.0"), ("buy", "49", "101.0"),
                           ("sell", "5", "130.0"), ("buy", "1", "101.4"), ("buy", "6", "")]
    assert done["metrics"]["final_equity"] == 11_489.6


# -- one moment, several symbols -----------------------------------------------------------------

def test_every_symbols_orders_meet_their_bars_before_a_halt_at_that_moment(
        cli: Cli, tmp_path: Path) -> None:
    rows = [["2010-01-04", "AAA", "100", "101", "99", "100", "1000"],
            ["2010-01-04", "BBB", "50", "51", "49", "50", "1000"],
            ["2010-01-05", "AAA", "100", "103", "99.5", "102", "1000"],   # up: buy AAA
            ["2010-01-05", "BBB", "50", "50.5", "48.5", "49", "1000"],
            ["2010-01-06", "AAA", "102", "104", "101", "103", "1000"],
            ["2010-01-06", "BBB", "49", "50.5", "48.5", "50", "1000"],    # up: buy BBB
            ["2010-01-07", "AAA", "103", "103.5", "89", "90", "1000"],    # AAA falls: halt
            ["2010-01-07", "BBB", "50", "51", "49.5", "50.5", "1000"],
            ["2010-01-08", "AAA", "90", "91", "87", "88", "1000"],
            ["2010-01-08", "BBB", "50.5", "51", "50", "50.8", "1000"]]
    data = str(write_csv(tmp_path / "moment.csv", TWO, rows))
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000",
                "--config", config(tmp_path, "risk:\n  max_drawdown: 0.05\n"))
    # AAA: 5000 / 102 = 49 shares at the 01-06 open of 102 (4998), cash 5002. At the 01-06
    # close equity is 5002 + 49 x 103 = 10049 (the peak) and BBB buys 10049 / 2 / 50 = 100.
    # BBB's order meets its 01-07 bar, filling at the open of 50, before AAA's close of 90
    # is judged: equity 2 + 49 x 90 + 100 x 50.5 = 9462, 5.8 % below the peak: HALTED, with
    # nothing left open to cancel (when AAA's bar was taken whole first, the halt cancelled
    # BBB's order at 21:00 although it had filled at 14:30)
    assert orders(cli) == [("buy", "49", "102.0"), ("buy", "100", "50.0")]
    assert done["metrics"]["final_equity"] == 9_394  # 2 + 49 x 88 + 100 x 50.8
