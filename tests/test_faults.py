"""Faults real machines and vaults have (issue #8): each test reproduces one and checks
that the index survives it with a typed, one-line error or warning.

Slow versions (many kills, long reader/writer runs) live in scripts/torture.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import searchkit


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):  # nested (function-level) imports count too
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_workers_does_not_import_index():
    mods = _imported_modules(Path(searchkit.__file__).parent / "workers.py")
    assert not {".index", "searchkit.index"} & mods
