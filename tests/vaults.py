"""Fixture notes and a vault writer shared by the test modules (imported as `vaults`:
pytest puts this folder on the import path)."""

from __future__ import annotations

from pathlib import Path


def write_vault(root: Path, notes: dict[str, str]) -> Path:
    """Write `notes` (vault-relative path -> text) under `root`; return `root`."""
    for rel, text in notes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# A podcast-style note and a programming note, for the server tests (MCP and HTTP).
SLEEP = """\
---
title: Sleep and memory
videoId: Kx3mP9vLq2E
---

Intro about the brain.

## Slow-wave sleep
During deep sleep the hippocampus replays the day <a data-t="00:01:40">[00:01:40]</a>.
Memory consolidation happens here.

## REM sleep
Dreams and emotional memory.
"""

RUST = "# Rust ownership\n\n## Borrowing\nReferences borrow values without taking ownership.\n"
