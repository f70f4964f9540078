"""The journal's and the replay's promises, checked as a user who relies on them would.

Same run, same digests (whatever journal or output directory it goes to); a paper replay
decides as the backtest, exits and risk limits included; the CSV exports say what the journal
holds; client order ids are unique per run, never reused by a later run, and stable up to the
run id across identical runs; `runs show --json` is strict JSON.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aitrader.adapters.sql import SqlJournal
from aitrader.entrypoints.container import open_journal
from tests.e2e.conftest import Cli, read_csv

SYMBOLS = "AAPL,JPM,XOM,KO"
FAST = ("--param", "fast=5", "--param", "slow=20")
EXITS_AND_LIMITS = """\
risk:
  allow_short: true
  stop_loss: 0.03
  take_profit: 0.05
  trail_atr: 2
  max_drawdown: 0.05
  max_order_notional: 30000
  max_open_positions: 3
  order_style: marketable_limit
broker:
  commission_per_order: 1
  slippage_bps: 2
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "exits.yaml"
    path.write_text(EXITS_AND_LIMITS, encoding="utf-8")
    return path


def _run(cli: Cli, mode: str, journal: Path, out: Path, *args: str) -> dict[str, Any]:
    command = ["backtest"] if mode == "backtest" else ["paper", "--replay"]
    result = cli(*command, *args, "--journal", f"sqlite:///{journal}", "--out", str(out),
                 "--json", "--quiet")
    assert result.code == 0, result.stderr
    document: dict[str, Any] = result.json()
    return document


def _replay_then_resume(cli: Cli, journal: Path, out: Path, *args: str) -> dict[str, Any]:
    """A paper replay; its max_drawdown halt is kept in the journal for the next paper run
    (as documented), so resume as the user would before replaying again."""
    run = _run(cli, "paper", journal, out, *args)
    resumed = cli("risk", "resume", "--journal", f"sqlite:///{journal}")
    assert resumed.code == 0, resumed.stderr
    return run


def _seq(client_order_id: str) -> str:
    return client_order_id.rsplit("-", 1)[1]


def test_the_same_backtest_gives_the_same_digests_whatever_journal_or_out_it_writes_to(
    cli: Cli, tmp_path: Path, config: Path
) -> None:
    options = ("--symbols", SYMBOLS, "--config", str(config), *FAST)
    first = _run(cli, "backtest", tmp_path / "a.db", tmp_path / "a", *options)
    changed = _run(cli, "backtest", tmp_path / "a.db", tmp_path / "a", "--symbols", SYMBOLS,
                   "--config", str(config), "--param", "fast=6", "--param", "slow=20")
    reverted = _run(cli, "backtest", tmp_path / "a.db", tmp_path / "a", *options)
    elsewhere = _run(cli, "backtest", tmp_path / "b.db", tmp_path / "b", *options)

    assert first["metrics"]["trades"] > 10  # exits and limits at work, not an idle run
    assert changed["decisions_digest"] != first["decisions_digest"]
    for again in (reverted, elsewhere):
        assert again["run_id"] != first["run_id"]
        assert (again["digest"], again["decisions_digest"]) == (
            first["digest"], first["decisions_digest"])


def test_paper_replays_decide_as_the_backtest_with_exits_and_risk_limits_on_every_symbol(
    cli: Cli, tmp_path: Path, config: Path
) -> None:
    options = ("--config", str(config), *FAST)  # every symbol of the bundled sample
    backtest = _run(cli, "backtest", tmp_path / "j.db", tmp_path / "bt", *options)
    replays = [_replay_then_resume(cli, tmp_path / "j.db", tmp_path / f"p{i}", *options)
               for i in (1, 2)]

    assert len(backtest["symbols"]) > 4
    for paper in replays:
        assert paper["decisions_digest"] == backtest["decisions_digest"]
        assert paper["metrics"]["trades"] == backtest["metrics"]["trades"]
    assert replays[0]["digest"] == replays[1]["digest"]


def test_orders_csv_and_trades_csv_say_what_the_journal_holds(
    cli: Cli, tmp_path: Path, config: Path
) -> None:
    run = _run(cli, "backtest", tmp_path / "j.db", tmp_path / "out", "--symbols", SYMBOLS,
               "--config", str(config), *FAST)
    journal = open_journal(f"sqlite:///{tmp_path / 'j.db'}")
    orders = journal.orders(run["run_id"]).unwrap()
    fills = journal.fills(run["run_id"]).unwrap()
    _, order_rows = read_csv(run["outputs"]["orders"])
    _, trade_rows = read_csv(run["outputs"]["trades"])

    def text(value: object) -> str:
        return "" if value is None else str(getattr(value, "value", value))

    journaled = [
        {"client_order_id": o.client_order_id, "symbol": str(o.symbol), "side": o.side.value,
         "order_type": o.intent.order_type.value, "quantity": Decimal(o.intent.quantity.value),
         "limit_price": text(o.intent.limit_price), "stop_price": text(o.intent.stop_price),
         "status": o.status.value, "filled_qty": Decimal(o.filled_qty),
         "trail_amount": text(o.intent.trail_amount), "oco_group": text(o.intent.oco_group)}
        for o in orders]
    exported = [
        {"client_order_id": r["client_order_id"], "symbol": r["symbol"], "side": r["side"],
         "order_type": r["order_type"], "quantity": Decimal(r["quantity"]),
         "limit_price": r["limit_price"], "stop_price": r["stop_price"], "status": r["status"],
         "filled_qty": Decimal(r["filled_qty"]), "trail_amount": r["trail_amount"],
         "oco_group": r["oco_group"]}
        for r in order_rows]
    assert {o["order_type"] for o in journaled} >= {"limit", "stop"}  # exit legs are there
    assert sorted(exported, key=lambda r: r["client_order_id"]) == sorted(
        journaled, key=lambda r: r["client_order_id"])

    # every fill belongs to an exported order, and an order's fills add up to its filled_qty
    filled: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        filled[f.client_order_id] += Decimal(f.last_qty.value)
    assert dict(filled) == {
        r["client_order_id"]: r["filled_qty"] for r in exported if r["filled_qty"] > 0}

    # trades are the fills paired up: per symbol, every filled unit opens or closes a trade,
    # but for the position still open at the end; trades start and end at fill moments
    moments: dict[str, set[str]] = defaultdict(set)
    traded: dict[str, Decimal] = defaultdict(Decimal)
    net: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        qty = Decimal(f.last_qty.value)
        moments[str(f.symbol)].add(f.ts_event.isoformat())
        traded[str(f.symbol)] += qty
        net[str(f.symbol)] += qty if f.side.value == "buy" else -qty
    closed: dict[str, Decimal] = defaultdict(Decimal)
    for t in trade_rows:
        assert t["entry_ts"] in moments[t["symbol"]], t
        assert t["exit_ts"] in moments[t["symbol"]], t
        closed[t["symbol"]] += Decimal(t["quantity"])
    assert len(trade_rows) == run["metrics"]["trades"] > 10
    for symbol, units in traded.items():
        assert units == 2 * closed[symbol] + abs(net[symbol]), symbol
    commissions = sum((Decimal(f.commission.amount) for f in fills), Decimal(0))
    assert float(commissions) == pytest.approx(run["metrics"]["commissions"])


def test_client_order_ids_are_unique_per_run_never_reused_and_stable_up_to_the_run_id(
    cli: Cli, tmp_path: Path, config: Path
) -> None:
    options = ("--symbols", SYMBOLS, "--config", str(config), *FAST)
    journal_path = tmp_path / "j.db"
    runs = [_replay_then_resume(cli, journal_path, tmp_path / f"p{i}", *options)
            for i in (1, 2)]
    journal = open_journal(f"sqlite:///{journal_path}")
    ids = [[o.client_order_id for o in journal.orders(r["run_id"]).unwrap()] for r in runs]

    for run, run_ids in zip(runs, ids, strict=True):
        assert len(run_ids) == len(set(run_ids)) > 10
        assert all(i.startswith(run["run_id"] + "-") for i in run_ids)
    assert not set(ids[0]) & set(ids[1])  # the restarted run reuses none of the first's ids
    assert [_seq(i) for i in ids[0]] == [_seq(i) for i in ids[1]]
    assert runs[0]["digest"] == runs[1]["digest"]  # the digest sees sequence numbers only


def test_runs_show_json_is_strict_json_with_the_counts_the_journal_holds(
    cli: Cli, tmp_path: Path, config: Path
) -> None:
    run = _run(cli, "backtest", tmp_path / "j.db", tmp_path / "out", "--symbols", SYMBOLS,
               "--config", str(config), *FAST)
    shown = cli("runs", "show", run["run_id"], "--journal", f"sqlite:///{tmp_path / 'j.db'}",
                "--json")

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    assert shown.code == 0, shown.stderr
    document = json.loads(shown.stdout, parse_constant=refuse)
    _, order_rows = read_csv(run["outputs"]["orders"])
    assert document["counts"]["orders"] == len(order_rows)
    assert document["digest"] == run["digest"]
    assert document["metrics"]["profit_factor"] == run["metrics"]["profit_factor"]


def test_a_prefix_of_a_run_id_is_not_a_run_id(cli: Cli) -> None:
    run = cli.backtest_json("--symbols", "AAPL")
    for args in (("show", run["run_id"][:8]), ("explain", run["run_id"][:8])):
        refused = cli.runs(*args)
        assert refused.code == 2
        assert run["run_id"][:8] in refused.error_line()


def test_runs_show_counts_a_runs_records_without_reading_them_back(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a run of 110,916 decisions, orders and fills took 7.9 s and 700 MB to show: every record
    # was built only to be counted; counting stays bounded however long the run was
    run = cli.backtest_json("--symbols", "AAPL,MSFT")
    journal = open_journal(cli.journal_url)
    expected = {"decisions": len(journal.decisions(run["run_id"]).unwrap()),
                "orders": len(journal.orders(run["run_id"]).unwrap()),
                "fills": len(journal.fills(run["run_id"]).unwrap())}

    def unbounded(*_args: object) -> None:
        raise AssertionError("runs show read every record back")

    for reader in ("decisions", "orders", "fills"):
        monkeypatch.setattr(SqlJournal, reader, unbounded)
    shown = cli.runs("show", run["run_id"], "--json")

    assert shown.code == 0, shown.stderr
    assert shown.json()["counts"] == expected
    assert min(expected.values()) > 0


@pytest.mark.parametrize("command", [("db", "upgrade"), ("runs", "list"), ("backtest",)])
def test_a_journal_path_that_cannot_be_a_file_is_bad_input_naming_it(
    cli: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    # a directory, and a path under a file, failed as a broken journal (exit 1) with the
    # driver's "unable to open database file" or "[Errno 17] File exists"
    (tmp_path / "journals.db").mkdir()
    (tmp_path / "notes.txt").write_text("not a directory\n", encoding="utf-8")
    # and a file that is not a SQLite database (exit 1, "file is not a database"): left as is
    for path, why in ((tmp_path / "journals.db", "is a directory"),
                      (tmp_path / "notes.txt" / "j.db", "is not a directory"),
                      (tmp_path / "notes.txt", "is not a SQLite database")):
        refused = cli(*command, "--journal", f"sqlite:///{path}")
        assert refused.code == 2, refused.stderr
        line = refused.error_line()
        assert why in line, line
        assert path.name in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journals.db", "notes.txt"]
    assert not any((tmp_path / "journals.db").iterdir())
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not a directory\n"


@pytest.mark.parametrize("command", [("db", "upgrade"), ("runs", "list"), ("backtest",)])
def test_a_journal_url_naming_no_database_is_bad_input_without_its_password(
    cli: Cli, command: tuple[str, ...]
) -> None:
    # they failed as an unreachable journal (exit 1) once the run tried to open them
    for url, why in (("postgresql+psycopg://u:hunter2@db:notaport/x", "not a database URL"),
                     ("postgresql+bogus://u:hunter2@db/x", "no such database driver")):
        refused = cli(*command, "--journal", url)
        assert refused.code == 2, refused.stderr
        line = refused.error_line()
        assert why in line, line
        assert "journal.url" in line, line
        assert "hunter2" not in refused.stderr + refused.stdout
    assert not cli.db_path.exists()


def test_version_names_the_code_a_run_records(cli: Cli, tmp_path: Path) -> None:
    # `aitrader --version` prints what a run's manifest records as code_version, so a user can
    # tell whether a journaled run came from the code installed now
    journal = f"sqlite:///{tmp_path / 'j.db'}"
    ran = cli("backtest", "--journal", journal, "--out", str(tmp_path / "out"), "--json")
    assert ran.code == 0, ran.stderr
    shown = cli("runs", "show", ran.json()["run_id"], "--journal", journal, "--json")
    version = cli("--version")
    assert version.code == 0, version.stderr
    assert version.stdout == f"aitrader {shown.json()['code_version']}\n"
    assert re.fullmatch(r"aitrader \d+\.\d+\.\d+\+[0-9a-f]{12}\n", version.stdout)
