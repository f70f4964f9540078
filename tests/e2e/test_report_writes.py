"""`backtest --out DIR`: the four CSV exports go into place together or not at all, also when
one of the moves fails or Ctrl-C arrives between two of them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli

NAMES = ["equity.csv", "exposure.csv", "orders.csv", "trades.csv"]


def _moves_stopping_at(monkeypatch: pytest.MonkeyPatch, target: Path,
                       stop: BaseException) -> None:
    """Make the move of a file onto `target` raise `stop`; every other move goes through."""
    replace = os.replace

    def stopping(source: Any, to: Any, **kwargs: Any) -> None:
        if Path(to) == target:
            raise stop
        replace(source, to, **kwargs)

    monkeypatch.setattr(os, "replace", stopping)


def _contents(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.iterdir())}


@pytest.mark.parametrize(("stop", "code"), [
    (PermissionError(13, "Permission denied"), 1), (KeyboardInterrupt(), 130)],
    ids=["move_fails", "ctrl_c"])
@pytest.mark.parametrize("existed", [False, True], ids=["new", "replacing"])
def test_when_the_third_report_cannot_be_moved_into_place_the_first_two_are_put_back(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool,
    stop: BaseException, code: int,
) -> None:
    # the reports were moved into place one after the other: the third move failing (or
    # Ctrl-C before it) left trades.csv and orders.csv of the new run beside the equity and
    # exposure of the previous one, a set that never went together
    out = tmp_path / "reports"
    args = ("--symbols", "KO", "--quiet")
    if existed:  # a different run's reports, there before
        assert cli.backtest(*args, "--cash", "5000", out=out).code == 0
        before = _contents(out)
        assert sorted(before) == NAMES
    _moves_stopping_at(monkeypatch, out / "equity.csv", stop)

    result = cli.backtest(*args, out=out)

    assert result.code == code, result.stderr
    if code == 1:
        line = result.error_line()
        assert "reports could not be written" in line
        assert "Permission denied" in line
        assert "equity.csv" in line  # the file that could not be written, not only its folder
    if existed:  # all four as they were
        assert _contents(out) == before
    else:  # none of them, and not the folder the run made for them either
        assert not out.exists()


def test_an_out_folder_that_cannot_be_made_leaves_none_of_its_parents_behind(
    cli: Cli, tmp_path: Path
) -> None:
    # (out/<a name too long> failed after making 'made/': the empty folder stayed)
    out = tmp_path / "made" / ("x" * 300)
    result = cli.backtest("--symbols", "KO", "--quiet", out=out)
    assert result.code == 1, result.stderr
    assert "reports could not be written" in result.error_line()
    assert not (tmp_path / "made").exists()
