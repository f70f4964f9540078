"""Light commands import only what they use: `aitrader --help`, `runs list` or `risk status`
never load the signal kernels (numba), the model fits (scipy), pandas or the exchange calendar.

Structural, not a timing: each command runs in a fresh interpreter, which then reports the
heavy packages it imported (see bench/bench_startup.py for the figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperCommand

import aitrader
from aitrader.entrypoints import cli

HEAVY = ("numba", "pandas", "scipy", "pandas_market_calendars")
SRC = Path(aitrader.__file__).parents[1]

_PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["aitrader", *json.loads(sys.argv[1])]
from aitrader.entrypoints.cli import main
try:
    main()
except SystemExit:
    pass
print("HEAVY=" + json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def _heavy_imported(args: list[str], cwd: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env = {k: v for k, v in env.items() if not k.startswith("AITRADER_")}
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    assert lines, done.stdout + done.stderr
    found: list[str] = json.loads(lines[-1].removeprefix("HEAVY="))
    return found


@pytest.mark.parametrize("args", [
    ["--help"], ["--version"], ["backtest", "--help"], ["paper", "--help"], ["db", "--help"],
    ["runs", "--help"], ["risk", "--help"], ["db", "upgrade", "--journal", "JOURNAL"],
    ["runs", "list", "--journal", "JOURNAL"], ["runs", "show", "nope", "--journal", "JOURNAL"],
    ["risk", "status", "--journal", "JOURNAL"],
])
def test_a_light_command_loads_no_heavy_stack(args: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    if "JOURNAL" in args:
        assert _heavy_imported(["db", "upgrade", "--journal", url], tmp_path) == []

    assert _heavy_imported([url if a == "JOURNAL" else a for a in args], tmp_path) == []


def test_a_command_that_needs_the_stack_still_loads_it(tmp_path: Path) -> None:
    # the probe can tell: `strategies` describes the strategies, whose kernels are numba's
    assert "numba" in _heavy_imported(["strategies"], tmp_path)


def test_the_root_lists_each_lazy_command_by_its_own_help() -> None:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, cli.LazyGroup)
    ctx = typer.Context(group)
    listed = group.list_commands(ctx)

    for name, lazy in group.lazy.items():
        command = group.get_command(ctx, name)
        assert command is not None, name
        declared = TyperCommand(name, help=lazy.help).get_short_help_str(200)
        assert command.get_short_help_str(200) == declared, name
    assert sorted(listed) == sorted({*group.commands, *group.lazy})
