"""The code's version: the package version plus a digest of its source, so a run's manifest
(and `aitrader --version`) pins the exact code, edits not yet released included."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import aitrader


def code_version() -> str:
    """Package version plus a digest of its source, so a manifest pins the exact code."""
    h = hashlib.sha256()
    root = resources.files(aitrader)
    for path in sorted(_python_files(root), key=str):
        h.update(path.read_bytes())
    return f"{aitrader.__version__}+{h.hexdigest()[:12]}"


def _python_files(root: Any) -> list[Any]:
    found = []
    for entry in root.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            found.extend(_python_files(entry))
        elif entry.name.endswith(".py"):
            found.append(entry)
    return found
