"""How far a first build got, for other processes: while no index is searchable yet, a
search says "the first build is in progress (1,234 of 8,904 notes)" instead of "no index"."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .indexdir import LOCK_FILE

# Written by the writer of a first build (the only time no index is searchable yet), so a
# search can say how far it got. The `.sktmp` suffix makes it one of the index's own files
# (indexdir.is_ours) that the writer's clean-up removes when the build commits.
PROGRESS_FILE = "first-build-progress.sktmp"
PROGRESS_EVERY = 0.5  # seconds between progress-file writes

class ProgressWriter:
    """Passes progress on, and records it in the index folder for other processes."""

    def __init__(self, index_dir: Path, then: Callable[[Any], None] | None) -> None:
        self.path = index_dir / PROGRESS_FILE
        self.then = then
        self.last = 0.0
        self.wrote = False

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY or p.notes_done == p.notes_total:
            self.last = now
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.sktmp")
            # No fsync: a lost progress record only makes a message vaguer.
            with contextlib.suppress(OSError):
                tmp.write_text(json.dumps([p.notes_done, p.notes_total]), encoding="utf-8")
                os.replace(tmp, self.path)
                self.wrote = True
        if self.then is not None:
            self.then(p)

    def remove(self) -> None:
        if self.wrote:
            with contextlib.suppress(OSError):
                self.path.unlink()


def read_progress(index_dir: Path) -> tuple[int, int] | None:
    try:
        done, total = json.loads((index_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
        return int(done), int(total)
    except (OSError, ValueError, TypeError):
        return None


def writer_alive(index_dir: Path) -> bool:
    """Whether a writer holds the index: the lock file names its pid while it does.

    A stat and a signal-0, no lock taken, so a reader never delays the writer."""
    try:
        pid = int((index_dir / LOCK_FILE).read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, another user's
    except OSError:
        return False
    return True
