"""The `aitrader` command line driven in-process, as a user types it, inside tmp_path.

Every test runs with its working directory in tmp_path and no AITRADER_* variable set, so
neither the repository nor the developer's environment can leak in or be written to. The `cli`
fixture calls `aitrader.entrypoints.cli.main` with `sys.argv` set, turns SystemExit into an
exit code and captures stdout and stderr with capsys. An exception that escapes `main` becomes
what the console script would show: a traceback on stderr and exit code 1.

Bar files are generated per test (`bar_files`): small, deterministic, written into tmp_path.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog

from aitrader.adapters.sample import sample_path
from aitrader.entrypoints import cli as cli_module
from aitrader.entrypoints.cli import main

DAILY_HEADER = ("date", "open", "high", "low", "close", "volume")
TRADES_HEADER = ["symbol", "direction", "entry_ts", "exit_ts", "quantity", "entry_px",
                 "exit_px", "gross_pnl", "commission", "net_pnl", "return", "return_pct"]
ORDERS_HEADER = ["client_order_id", "symbol", "side", "order_type", "time_in_force", "quantity",
                 "limit_price", "stop_price", "status", "filled_qty", "avg_px", "created_at",
                 "updated_at", "reason", "trail_amount", "oco_group"]
EQUITY_HEADER = ["ts", "equity", "cash"]


@dataclass(frozen=True)
class Outcome:
    """What one invocation did: its exit code and everything it printed."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The whole of stdout as one JSON value (fails if anything else was printed)."""
        return json.loads(self.stdout)

    def error_line(self) -> str:
        """The single line on stderr of a refused command; asserts it is alone and clean."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].strip(), self.stderr
        return lines[0]


class Cli:
    """The aitrader command, with a journal and an output directory of this test's own."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.db_path = tmp_path / "j.db"
        self.journal_url = f"sqlite:///{self.db_path}"
        self.out_dir = tmp_path / "out"
        self._monkeypatch = monkeypatch
        self._capsys = capsys

    def __call__(self, *args: str) -> Outcome:
        """Run `aitrader ARGS` exactly as given."""
        self._capsys.readouterr()
        self._monkeypatch.setattr(sys, "argv", ["aitrader", *args])
        code = 0
        try:
            main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except Exception:  # what the console script would do with an escaped exception
            captured = self._capsys.readouterr()
            return Outcome(1, captured.out, captured.err + traceback.format_exc())
        captured = self._capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def backtest(self, *args: str, out: Path | None = None) -> Outcome:
        """`aitrader backtest ARGS` on this test's journal and output directory."""
        return self("backtest", *args, "--journal", self.journal_url,
                    "--out", str(out or self.out_dir))

    def paper(self, *args: str, out: Path | None = None) -> Outcome:
        """`aitrader paper ARGS` on this test's journal and output directory."""
        return self("paper", *args, "--journal", self.journal_url,
                    "--out", str(out or self.out_dir))

    def runs(self, *args: str) -> Outcome:
        """`aitrader runs ARGS` on this test's journal."""
        return self("runs", *args, "--journal", self.journal_url)

    def backtest_json(self, *args: str, out: Path | None = None) -> dict[str, Any]:
        """A successful `backtest --json` run's document."""
        return _document(self.backtest(*args, "--json", out=out))

    def paper_json(self, *args: str, out: Path | None = None) -> dict[str, Any]:
        """A successful `paper --replay --json` run's document."""
        return _document(self.paper("--replay", *args, "--json", out=out))

    def journaled_runs(self) -> list[dict[str, Any]]:
        """`aitrader runs list --json`: the journal's runs, newest first (none if the journal
        was never created)."""
        if not self.db_path.exists():
            return []
        listed = self.runs("list", "--json")
        assert listed.code == 0, listed.stderr
        runs: list[dict[str, Any]] = listed.json()
        return runs


def _document(outcome: Outcome) -> dict[str, Any]:
    assert outcome.code == 0, outcome.stderr
    document: dict[str, Any] = outcome.json()
    return document


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in tmp_path, with no AITRADER_* variable from the developer's environment."""
    for name in list(os.environ):
        if name.startswith("AITRADER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def slow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every progress check look two seconds after the last, as on a long run."""
    ticks = iter(range(0, 10**9, 2))
    fake = SimpleNamespace(**{**vars(time), "monotonic": lambda: float(next(ticks))})
    monkeypatch.setattr(cli_module, "time", fake)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    # main() points structlog at this test's captured stderr, which closes after the test;
    # put the previous configuration back so later tests' log lines have somewhere to go.
    saved = structlog.get_config()
    yield Cli(tmp_path, monkeypatch, capsys)
    structlog.configure(**saved)


def read_csv(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV's header and rows."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="session")
def sample_rows() -> list[dict[str, str]]:
    """The bundled sample's rows (date, symbol, open, high, low, close, volume)."""
    return read_csv(sample_path() / "sample_daily.csv")[1]


def trading_days(start: date, count: int) -> Iterator[date]:
    """`count` weekdays from `start` on (holidays do not matter to the file adapter)."""
    day = start
    while count:
        if day.weekday() < 5:
            yield day
            count -= 1
        day += timedelta(days=1)


def daily_rows(count: int, start: date = date(2010, 1, 4), base: float = 50.0,
               phase: float = 0.0) -> list[list[str]]:
    """Valid daily bars: a smooth wave with a drift, so moving averages cross a few times."""
    rows: list[list[str]] = []
    previous = base
    for i, day in enumerate(trading_days(start, count)):
        close = round(base + 4 * math.sin(i / 5 + phase) + 0.05 * i, 2)
        opened = previous
        rows.append([day.isoformat(), f"{opened:.2f}", f"{max(opened, close) + 0.25:.2f}",
                     f"{min(opened, close) - 0.25:.2f}", f"{close:.2f}", str(1000 + 10 * i)])
        previous = close
    return rows


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    """Write a bar file as a user would hand it over (header on line 1)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
