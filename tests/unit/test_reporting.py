"""The CSV exports: all four or none, as ordinary files."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import attrs
import numpy as np
import pytest

from aitrader.application.run import RunResult
from aitrader.domain.metrics import Metrics
from aitrader.domain.values import Symbol
from aitrader.entrypoints.reporting import REPORTS, export, metrics_table, unwritable_report

NAMES = ["equity.csv", "exposure.csv", "orders.csv", "trades.csv"]


def _result() -> RunResult:
    zero = dict.fromkeys((f for f in Metrics.__annotations__), 0)
    return RunResult(run_id="r1", mode="backtest", strategy="sma_cross",
                     symbols=(Symbol.parse("AAPL"),), bars=2, digest="d", decisions_digest="d",
                     metrics=Metrics(**zero), trades=(), orders=(), fills=(),
                     ts_ns=np.array([0, 86_400 * 10**9], dtype=np.int64),
                     equity=np.array([100.0, 101.0]), cash=np.array([100.0, 101.0]))


def test_the_four_reports_are_written_with_the_umask_like_any_file(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        export(_result(), tmp_path)
    finally:
        os.umask(previous)

    assert sorted(p.name for p in tmp_path.iterdir()) == NAMES
    for name in NAMES:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_a_report_that_cannot_be_written_leaves_none_of_them(tmp_path: Path) -> None:
    (tmp_path / "exposure.csv").mkdir()  # the last one written

    with pytest.raises(OSError, match=r"exposure.csv is a directory"):
        export(_result(), tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == ["exposure.csv"]


def test_a_directory_where_a_report_goes_is_named_before_anything_runs(tmp_path: Path) -> None:
    assert unwritable_report(tmp_path) is None
    (tmp_path / "orders.csv").mkdir()

    assert unwritable_report(tmp_path) == "orders.csv is a directory, not a file"
    assert sorted(REPORTS) == sorted(n.removesuffix(".csv") for n in NAMES)


def test_a_directory_that_takes_no_files_is_said_once(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr("aitrader.entrypoints.reporting.tempfile.TemporaryFile", refused)

    assert unwritable_report(tmp_path) == "Permission denied"


def test_the_table_shows_an_infinite_profit_factor_as_inf_not_as_missing() -> None:
    """No losing trade: the profit factor is unbounded, 'inf'; 'n/a' is for a figure there is
    too little data for (JSON has null for both)."""
    zero = dict.fromkeys((f for f in Metrics.__annotations__), 0)
    metrics = Metrics(**{**zero, "trades": 2, "win_rate": 1.0, "profit_factor": math.inf})
    table = metrics_table(attrs.evolve(_result(), metrics=metrics))
    line = next(x for x in table.splitlines() if "Profit factor" in x)
    assert line.split()[-1] == "inf"
