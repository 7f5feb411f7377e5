"""Fixture notes and a vault writer shared by the test modules (imported as `vaults`:
pytest puts this folder on the import path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


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


def serving(index: Path, *args: str, preexec_fn: Any = None) -> Iterator[tuple[Any, int]]:
    """`searchkit serve --index INDEX --port 0 ARGS` in a subprocess: yields (process,
    port) once it listens, and stops it (SIGTERM) afterwards."""
    import json
    import signal
    import subprocess
    import sys
    import time

    import pytest

    from searchkit.surfaces.remote import SERVE_FILE

    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "serve", "--index", str(index), "--port", "0", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=preexec_fn,
    )
    info = index / SERVE_FILE
    deadline = time.monotonic() + 20
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"server did not start: {err}")
        time.sleep(0.05)
    try:
        yield proc, json.loads(info.read_text())["port"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()
