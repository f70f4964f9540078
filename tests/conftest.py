"""The tests run against this checkout's src/, in this process and in the processes they start.

The shared virtualenv installs aitrader in editable mode from one checkout, so in any other
checkout (a worktree) `pytest` without PYTHONPATH=src imported that other checkout's code and
tested this checkout's tests against it: test_strategy_semantics.py reported 5 failures that
the next runs (with PYTHONPATH set) did not. pyproject's `pythonpath = ["src"]` puts src/ first;
this refuses to run at all if aitrader still comes from elsewhere, and hands src/ to
subprocesses (the installed console script, `python -c` helpers) through PYTHONPATH.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import aitrader

SRC = Path(__file__).resolve().parents[1] / "src"


def pytest_configure(config: pytest.Config) -> None:
    imported = Path(aitrader.__file__).resolve()
    if SRC not in imported.parents:
        raise pytest.UsageError(f"aitrader is imported from {imported.parent}, not from this "
                                f"checkout's {SRC}: the tests would test other code")
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(SRC) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, paths)])
