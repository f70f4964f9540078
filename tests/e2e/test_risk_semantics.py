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
