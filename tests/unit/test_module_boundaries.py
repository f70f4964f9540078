"""Modules share public names only: a leading underscore means 'this module's own'."""

from __future__ import annotations

import ast
from pathlib import Path

import aitrader

SOURCE = Path(aitrader.__file__).parent


def _private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{path.relative_to(SOURCE)}:{node.lineno}: {node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aitrader")
            for alias in node.names
            if alias.name.startswith("_") and not alias.name.startswith("__")]


def test_no_module_imports_another_modules_private_name() -> None:
    found = [hit for path in sorted(SOURCE.rglob("*.py")) for hit in _private_imports(path)]

    assert found == []
