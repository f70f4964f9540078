"""Simulated fills and risk controls checked by hand on tiny bar files.

Each scenario is a handful of daily bars designed so the figures can be worked out on paper.
`sma_cross` with fast=1, slow=2 is long exactly while the close is above the previous close
(flat, or short with --allow-short, while it is below), so the decisions are plain to see.
Every expected number in these tests is computed in the comments beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import DAILY_HEADER, Cli, read_csv, write_csv

UP_DOWN = ("--strategy", "sma_cross", "--param", "fast=1", "--param", "slow=2")


def bars(tmp_path: Path, name: str, *rows: str) -> str:
    """A daily bar file of `rows` ("date open high low close"), volume 1000 each."""
    lines = [[*row.split(), "1000"] for row in rows]
    return str(write_csv(tmp_path / f"{name}.csv", DAILY_HEADER, lines))


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def orders(cli: Cli) -> list[dict[str, str]]:
    return read_csv(cli.out_dir / "orders.csv")[1]


def both(cli: Cli, *args: str) -> dict[str, Any]:
    """The backtest's document, after checking a paper replay takes the same decisions."""
    backtest = cli.backtest_json(*args)
    paper = cli.paper_json(*args, out=cli.out_dir.parent / "paper")
    assert paper["decisions_digest"] == backtest["decisions_digest"]
    return backtest


def test_a_stop_loss_gapped_through_fills_at_the_open_less_slippage(cli: Cli, tmp_path: Path
                                                                   ) -> None:
    data = bars(tmp_path, "GAP",
                "2010-01-04 100 101 99 100",
                "2010-01-05 100 103 99.5 102",   # up: buy at the next open
                "2010-01-06 103 104 102 103",    # filled at 103 x 1.001 = 103.103
                "2010-01-07 95 96 90 92")        # opens below the stop 97.94: gap
    done = both(cli, "--data", data, *UP_DOWN, "--slippage-bps", "10",
                "--config", config(tmp_path, "risk:\n  stop_loss: 0.05\n"))
    buy, stop = orders(cli)
    # sized at the close with slippage: 100000 / (102 x 1.001) = 979.4 -> 979 shares
    assert (buy["quantity"], buy["avg_px"]) == ("979", "103.1030")
    # 5 % below 103.103 is 97.94785, rounded away from the market to 97.94; the bar opens at
    # 95, below it: the stop fills at the open, less 10 bps (94.905), not at its level
    assert (stop["order_type"], stop["stop_price"], stop["avg_px"]) == ("stop", "97.94",
                                                                        "94.9050")
    assert stop["updated_at"] == "2010-01-07T14:30:00+00:00"
    assert done["metrics"]["final_equity"] == 91_974.158  # 100000 - 979 x (103.103 - 94.905)


def test_a_marketable_limit_touched_exactly_fills_at_its_limit_and_a_day_one_expires(
        cli: Cli, tmp_path: Path) -> None:
    styled = config(tmp_path, "risk:\n  order_style: marketable_limit\n"
                              "  limit_offset_bps: 100\n")
    head = ("2010-01-04 100 101 99 100", "2010-01-05 100 103 99.5 102")
    # the buy limit is 102 moved 100 bps up: 103.02; the next bar opens above it at 104
    touched = bars(tmp_path, "TOUCH", *head, "2010-01-06 104 105 103.02 104",
                   "2010-01-07 104 106 103 105")
    done = both(cli, "--data", touched, *UP_DOWN, "--config", styled)
    (buy,) = orders(cli)
    # budgeted at its limit: 100000 / 103.02 = 970.7 -> 970; the low touches 103.02 exactly
    assert (buy["limit_price"], buy["quantity"], buy["status"], buy["avg_px"]) == (
        "103.02", "970", "filled", "103.02")
    assert buy["updated_at"] == "2010-01-06T21:00:00+00:00"  # inside the bar: at its close
    assert done["metrics"]["final_equity"] == 101_920.6  # 100000 + 970 x (105 - 103.02)



def test_a_day_limit_that_expires_unfilled_is_pursued_again(cli: Cli, tmp_path: Path) -> None:
    styled = config(tmp_path, "risk:\n  order_style: marketable_limit\n"
                              "  limit_offset_bps: 100\n")
    missed = bars(tmp_path, "MISS",
                  "2010-01-04 100 101 99 100",
                  "2010-01-05 100 103 99.5 102",     # up: buy limit 103.02
                  "2010-01-06 104 105 103.03 104",   # a cent short of it all session
                  "2010-01-07 104 106 103 105",      # up again: the target is still long
                  "2010-01-08 105 107 104 106")
    done = both(cli, "--data", missed, *UP_DOWN, "--config", styled)
    first, second = orders(cli)
    # expired as the next session opens, unfilled ...
    assert (first["status"], first["filled_qty"], first["updated_at"]) == (
        "expired", "0", "2010-01-07T14:30:00+00:00")
    # ... and the target it fell short of is pursued again at that bar's close: a limit at
    # 105 moved 100 bps (106.05), 100000 / 106.05 = 942.9 -> 942, filled at the next open 105
    assert (second["created_at"], second["limit_price"], second["quantity"]) == (
        "2010-01-07T21:00:00+00:00", "106.05", "942")
    assert (second["status"], second["avg_px"]) == ("filled", "105.0")
    assert done["metrics"]["final_equity"] == 100_942  # 100000 + 942 x (106 - 105)


def test_a_commission_per_order_makes_an_all_in_buy_one_share_smaller(cli: Cli,
                                                                      tmp_path: Path) -> None:
    data = bars(tmp_path, "FEE",
                "2010-01-04 99 101 98 99",
                "2010-01-05 99 101 98.5 100",
                "2010-01-06 100 101 99 100.5",
                "2010-01-07 100.5 101 99 99",
                "2010-01-08 98 99 97 98.5")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000",
                "--commission-per-order", "1")
    buy, sell = orders(cli)
    # 100 shares at 100 would leave nothing for the $1: (10000 - 1) / 100 -> 99 shares
    assert (buy["quantity"], buy["avg_px"], sell["avg_px"]) == ("99", "100.0", "98.0")
    assert done["metrics"]["commissions"] == 2.0
    assert done["metrics"]["final_equity"] == 10_000 - 99 * 2 - 2
    equity = read_csv(cli.out_dir / "equity.csv")[1]
    assert equity[2]["cash"] == "99.000000"  # 10000 - 9900 - 1


def test_the_daily_loss_halt_sees_a_loss_across_the_day_boundary(cli: Cli, tmp_path: Path
                                                                 ) -> None:
    data = bars(tmp_path, "DROP",
                "2010-01-04 100 101 99 100",
                "2010-01-05 100 103 99.5 102",   # up: buy 980 at the next open
                "2010-01-06 102 103 91 91.8",    # equity 100,000 -> 90,004: 10 % in a day
                "2010-01-07 92 93 90 90",
                "2010-01-08 90 95 89 94",        # up again: no new entry while HALTED
                "2010-01-11 94 96 93 95")
    done = both(cli, "--data", data, *UP_DOWN,
                "--config", config(tmp_path, "risk:\n  daily_loss: 0.05\n"))
    # on daily bars each day has one mark, at its close: the day's loss is measured from the
    # equity the day started with (the previous close's), or the limit could never fire
    (buy,) = orders(cli)
    assert buy["side"] == "buy"
    assert done["metrics"]["final_equity"] == 40 + 980 * 95


def test_a_reversal_a_growth_limit_refuses_still_closes_the_old_side(cli: Cli,
                                                                     tmp_path: Path) -> None:
    data = bars(tmp_path, "FLIP",
                "2010-01-04 100 101 99 100",
                "2010-01-05 100 103 99.5 102",   # up: buy 980 at 102
                "2010-01-06 102 103 100 101",    # down: reverse to short 980 (sell 1960)
                "2010-01-07 100 101 98 99",      # the close filled at 100; short 990 at 99
                "2010-01-08 98 99 96 97")
    limits = config(tmp_path, "broker:\n  margin_multiplier: 2\n"
                              "risk:\n  max_order_notional: 150000\n")
    done = both(cli, "--data", data, *UP_DOWN, "--allow-short", "--config", limits)
    # selling 1960 at 101 (197,960) is beyond the notional limit, but its first 980 only close
    # the long: a limit on growth must never trap a position, so they go out, and the short
    # follows once they filled: 98,040 / 99 = 990 (98,010, within the limit)
    assert [(o["side"], o["quantity"], o["avg_px"]) for o in orders(cli)] == [
        ("buy", "980", "102.0"), ("sell", "980", "100.0"), ("sell", "990", "98.0")]
    assert done["metrics"]["final_equity"] == 98_040 + 990  # short 990 from 98 to 97
    explained = cli.runs("explain", done["run_id"], "--json").json()
    reversal = explained[1]
    assert reversal["action"] == "order"
    assert {"rule": "max_order_notional", "passed": False,
            "reason": "FLIP order of 197960.00 exceeds 150000"} in reversal["verdicts"]


def test_exit_legs_one_bar_through_both_fills_the_stop_and_a_gap_fills_the_limit_at_the_open(
        cli: Cli, tmp_path: Path) -> None:
    legs = config(tmp_path, "risk:\n  stop_loss: 0.05\n  take_profit: 0.05\n")
    head = ("2010-01-04 99 101 98 99", "2010-01-05 99 101 98.5 100",
            "2010-01-06 100 101 99 100.5")  # 100 bought at 100: stop 95, take-profit 105
    both_levels = bars(tmp_path, "TIE", *head, "2010-01-07 100.5 106 94 101")
    done = both(cli, "--data", both_levels, *UP_DOWN, "--cash", "10000", "--config", legs)
    _, stop, limit = orders(cli)
    # which extreme came first is unknown: the stop-loss wins, at its level, at the close
    assert (stop["status"], stop["avg_px"], limit["status"]) == ("filled", "95.00", "canceled")
    assert done["metrics"]["final_equity"] == 9_500
    gapped = bars(tmp_path, "GAPUP", *head, "2010-01-07 107 108 106 107.5")
    done = both(cli, "--data", gapped, *UP_DOWN, "--cash", "10000", "--config", legs)
    _, stop, limit = orders(cli)
    # opening above the take-profit, the limit fills at the better open
    assert (limit["status"], limit["avg_px"], stop["status"]) == ("filled", "107.0", "canceled")
    assert done["metrics"]["final_equity"] == 10_700


ENTRY = ("2010-01-04 99 101 98 99", "2010-01-05 99 101 98.5 100")  # up: buy at the next open


def test_exit_legs_stand_from_the_entrys_fill_at_the_open_and_meet_the_rest_of_that_bar(
        cli: Cli, tmp_path: Path) -> None:
    legs = config(tmp_path, "risk:\n  stop_loss: 0.05\n  take_profit: 0.05\n")
    # 100 shares bought at the 01-06 open of 100: stop 95, take-profit 105, both placed then
    down = bars(tmp_path, "DOWN", *ENTRY, "2010-01-06 100 101 94 97")
    done = both(cli, "--data", down, *UP_DOWN, "--cash", "10000", "--config", legs)
    buy, stop, limit = orders(cli)
    # the bar falls from its open to 94 after the fill: the stop trades at 95 on that bar
    assert (buy["avg_px"], stop["status"], stop["avg_px"]) == ("100.0", "filled", "95.00")
    assert (stop["created_at"], stop["updated_at"]) == ("2010-01-06T14:30:00+00:00",
                                                        "2010-01-06T21:00:00+00:00")
    assert limit["status"] == "canceled"
    assert done["metrics"]["final_equity"] == 9_500  # 10000 - 100 x (100 - 95)
    up = bars(tmp_path, "UP", *ENTRY, "2010-01-06 100 106 99.5 101")
    done = both(cli, "--data", up, *UP_DOWN, "--cash", "10000", "--config", legs)
    _, stop, limit = orders(cli)
    # it rises to 106 after the fill: the take-profit trades at 105; the strategy is still
    # long at the close, but after an exit the engine stays out until the target changes
    assert (limit["status"], limit["avg_px"], stop["status"]) == ("filled", "105.00",
                                                                  "canceled")
    assert done["metrics"]["final_equity"] == 10_500  # 10000 + 100 x (105 - 100)


def test_a_trailing_stop_placed_at_the_entrys_open_starts_from_the_open_with_the_known_atr(
        cli: Cli, tmp_path: Path) -> None:
    trail = config(tmp_path, "risk:\n  trail_atr: 1\n  atr_period: 2\n")
    data = bars(tmp_path, "TRAIL", *ENTRY, "2010-01-06 100 101 97 99")
    done = both(cli, "--data", data, *UP_DOWN, "--cash", "10000", "--config", trail)
    _, leg = orders(cli)
    # ATR(2) known at the 01-06 open averages the true ranges of 01-04 (101 - 98 = 3) and
    # 01-05 (max(101 - 98.5, |101 - 99|, |98.5 - 99|) = 2.5): 2.75, so the stop starts at
    # 100 - 2.75 = 97.25, and the bar's low of 97 takes it (its close, 99, which a leg placed
    # at the close would have started from, is not known at the open)
    assert (leg["order_type"], leg["status"], leg["avg_px"]) == ("trailing_stop", "filled",
                                                                 "97.25")
    assert done["metrics"]["final_equity"] == 9_725  # 10000 - 100 x (100 - 97.25)


HEAD_10K = ("2010-01-04 99 101 98 99", "2010-01-05 99 101 98.5 100",
            "2010-01-06 100 101 99 100")  # 100 bought at 100: the peak is 10,000
TAIL_10K = ("2010-01-08 95 97 94 96", "2010-01-11 96 97 95 95.5")


def test_the_drawdown_halt_fires_at_exactly_its_threshold(cli: Cli, tmp_path: Path) -> None:
    halt = config(tmp_path, "risk:\n  max_drawdown: 0.05\n")
    exact = bars(tmp_path, "EXACT", *HEAD_10K, "2010-01-07 100 101 94 95", *TAIL_10K)
    done = both(cli, "--data", exact, *UP_DOWN, "--cash", "10000", "--config", halt)
    # 9,500 is 5 % below 10,000: HALTED at that close, so the exit the fall asks for is refused
    # (only cancels go out) and the position rides on
    assert [o["side"] for o in orders(cli)] == ["buy"]
    assert done["metrics"]["final_equity"] == 9_550


def test_the_drawdown_halt_does_not_fire_a_cent_before_its_threshold(cli: Cli, tmp_path: Path
                                                                     ) -> None:
    halt = config(tmp_path, "risk:\n  max_drawdown: 0.05\n")
    above = bars(tmp_path, "ABOVE", *HEAD_10K, "2010-01-07 100 101 94 95.01", *TAIL_10K)
    done = both(cli, "--data", above, *UP_DOWN, "--cash", "10000", "--config", halt)
    # 9,501 is 4.99 % down: still ACTIVE, the exit goes out and fills at the next open, 95
    assert [(o["side"], o["avg_px"]) for o in orders(cli)] == [("buy", "100.0"),
                                                               ("sell", "95.0")]
    assert done["metrics"]["final_equity"] == 9_500


def test_an_overnight_gap_counts_toward_the_daily_loss_on_minute_bars(cli: Cli,
                                                                      tmp_path: Path) -> None:
    rows = [["2010-01-04 15:55", "100", "100.5", "99.5", "100"],
            ["2010-01-04 15:56", "100", "101", "99.9", "101"],       # up: buy at the next open
            ["2010-01-04 15:57", "101", "101.5", "100.8", "101.2"],  # 990 at 101
            ["2010-01-04 15:58", "101.2", "101.4", "101", "101.3"],
            ["2010-01-04 15:59", "101.3", "101.5", "101.2", "101.4"],  # 100,396 at the close
            ["2010-01-05 09:30", "95", "95.5", "94.5", "95"],        # 94,060: 6.3 % overnight
            ["2010-01-05 09:31", "95", "96", "94", "95.5"],
            ["2010-01-05 09:32", "95.5", "96", "95", "95.8"]]
    data = str(write_csv(tmp_path / "GAPDOWN.csv", DAILY_HEADER,
                         [[*row, "1000"] for row in rows]))
    done = both(cli, "--data", data, *UP_DOWN,
                "--config", config(tmp_path, "risk:\n  daily_loss: 0.05\n"))
    (buy,) = orders(cli)  # HALTED on the day's first bar: neither the exit nor a new entry
    assert (buy["side"], buy["quantity"], buy["avg_px"]) == ("buy", "990", "101.0")
    assert done["metrics"]["final_equity"] == 10 + 990 * 95.8


def test_a_stop_that_is_not_extended_hours_waits_out_the_after_hours_bars(cli: Cli,
                                                                         tmp_path: Path) -> None:
    rows = [["2010-01-04 15:54", "100", "100.5", "99.5", "100"],
            ["2010-01-04 15:55", "100", "101", "99.9", "101"],       # up: buy at the next open
            ["2010-01-04 15:56", "101", "101.5", "100.8", "101.2"],  # 990 at 101; stop 95.95
            ["2010-01-04 15:57", "101.2", "101.4", "101", "101.3"],
            ["2010-01-04 15:58", "101.3", "101.5", "101.2", "101.4"],
            ["2010-01-04 15:59", "101.4", "101.6", "101.3", "101.5"],
            ["2010-01-04 16:00", "101.5", "101.7", "101.4", "101.6"],  # after hours from here
            ["2010-01-04 16:01", "101.6", "101.8", "90", "101.7"],  # through the stop: no fill
            ["2010-01-04 16:02", "101.7", "101.9", "101.6", "101.8"],
            ["2010-01-05 09:30", "101.8", "102.5", "101.5", "102"]]  # regular: above the stop
    data = str(write_csv(tmp_path / "LATE.csv", DAILY_HEADER, [[*row, "1000"] for row in rows]))
    both(cli, "--data", data, "--strategy", "sma_cross", "--param", "fast=1", "--param",
         "slow=2", "--config", config(tmp_path, "risk:\n  stop_loss: 0.05\n"))
    buy, stop = orders(cli)
    assert (buy["side"], buy["avg_px"]) == ("buy", "101.0")
    # every close rises, so the strategy stays long; the stop is a regular-hours order: the
    # 16:01 bar's low of 90 does not trigger it, and the next regular bar never reaches 95.95
    assert (stop["order_type"], stop["stop_price"], stop["status"]) == ("stop", "95.95",
                                                                        "accepted")
