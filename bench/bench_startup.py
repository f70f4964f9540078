"""Command-line start-up: wall-clock time of light `aitrader` commands, each in a fresh process.

Run: .venv/bin/python bench/bench_startup.py [--repeat N]
Prints, for each command, the best and the median of N runs (default 5) of
`python -m aitrader.entrypoints.cli ...` in a new interpreter (imports included: that is the
figure), against a small fresh journal made once with `aitrader db upgrade`. The code measured
is whatever `aitrader` the interpreter imports: point PYTHONPATH at a checkout's src to time it.
There is no `db current`: `db upgrade` on a journal already at the newest revision stands for
the read-only database command; `aitrader --version` is timed only if the option exists.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def _aitrader(args: Sequence[str], cwd: Path) -> tuple[float, int]:
    """Seconds one `aitrader ARGS` took, start to exit, and its exit code."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "aitrader.entrypoints.cli", *args], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (best of N)")
    args = parser.parse_args()
    import aitrader  # noqa: PLC0415 - only to say which checkout is measured

    print(f"aitrader from {Path(aitrader.__file__).parent}, {sys.executable}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'journal.db'}"
        _, code = _aitrader(["db", "upgrade", "--journal", url], work)
        if code != 0:
            sys.exit(f"could not make the journal at {url} (exit {code})")
        commands = [["--help"], ["--version"], ["runs", "list", "--journal", url],
                    ["db", "upgrade", "--journal", url], ["risk", "status", "--journal", url],
                    ["backtest", "--help"]]
        print(f"{'command':<46} {'best':>8} {'median':>8}  (of {args.repeat})")
        for command in commands:
            shown = "aitrader " + " ".join("sqlite:///TMP" if a == url else a for a in command)
            timings = [_aitrader(command, work) for _ in range(args.repeat)]
            if command == ["--version"] and timings[0][1] != 0:
                print(f"{shown:<46} {'n/a':>8}  (no such option)")
                continue
            failed = sorted({code for _, code in timings if code != 0})
            seconds = [s for s, _ in timings]
            note = f"  exit {failed}" if failed else ""
            print(f"{shown:<46} {min(seconds) * 1000:>6.0f}ms "
                  f"{statistics.median(seconds) * 1000:>6.0f}ms{note}")


if __name__ == "__main__":
    main()
