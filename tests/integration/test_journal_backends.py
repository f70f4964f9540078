"""The same run journaled on SQLite and on PostgreSQL: the same digests, and `runs show`
reads back the same counts (counted by the database) from either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from aitrader.entrypoints.container import open_journal
from tests.e2e.conftest import Cli


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)
    saved = structlog.get_config()
    yield Cli(tmp_path, monkeypatch, capsys)
    structlog.configure(**saved)


def test_a_run_has_the_same_digests_and_counts_on_either_database(
    cli: Cli, tmp_path: Path, journal_url: str
) -> None:
    options = ("backtest", "--symbols", "AAPL,JPM,XOM", "--allow-short", "--param", "fast=5",
               "--param", "slow=20", "--json", "--quiet")
    on_sqlite = cli(*options, "--journal", f"sqlite:///{tmp_path / 'ref.db'}",
                    "--out", str(tmp_path / "ref"))
    here = cli(*options, "--journal", journal_url, "--out", str(tmp_path / "here"))
    assert on_sqlite.code == here.code == 0, here.stderr
    reference, run = on_sqlite.json(), here.json()
    assert (run["digest"], run["decisions_digest"]) == (
        reference["digest"], reference["decisions_digest"])

    shown = cli("runs", "show", run["run_id"], "--journal", journal_url, "--json")
    assert shown.code == 0, shown.stderr
    journal = open_journal(journal_url)
    assert shown.json()["counts"] == {
        "decisions": len(journal.decisions(run["run_id"]).unwrap()),
        "orders": len(journal.orders(run["run_id"]).unwrap()),
        "fills": len(journal.fills(run["run_id"]).unwrap()),
    }
    assert shown.json()["digest"] == reference["digest"]
