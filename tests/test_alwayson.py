"""The always-on path (issue 15): build workers that a server can always stop, watchers
that never drop an update, reads that cannot hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from searchkit.store import workers


def _worker_state(note: Any, chunks: list[Any]) -> list[dict[str, Any]]:
    """A `to_docs` that reports how the worker process was set up instead of documents."""
    return [{
        "sigterm": repr(signal.getsignal(signal.SIGTERM)),
        "pid": os.getpid(),
    }]


def _notes(root: Path, n: int) -> list[str]:
    root.mkdir(exist_ok=True)
    for i in range(n):
        (root / f"n{i:03}.md").write_text(f"# Note {i}\n\nbody {i}\n", encoding="utf-8")
    return [f"n{i:03}.md" for i in range(n)]


def test_build_workers_of_a_threaded_server_keep_no_foreign_sigterm_handler(tmp_path: Path):
    # uvicorn installs a SIGTERM handler that only sets a flag, and runs threads: a forked
    # pool worker inherits both, so Pool.terminate() could not stop one (issue 15 item 1).
    paths = _notes(tmp_path / "v", workers.POOL_MIN_NOTES)
    stop = threading.Event()
    flag_only = lambda signum, frame: None  # noqa: E731
    previous = signal.signal(signal.SIGTERM, flag_only)
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        loaded = list(workers.load_all(str(tmp_path / "v"), paths, 2, _worker_state))
    finally:
        stop.set()
        signal.signal(signal.SIGTERM, previous)
    states = [item.docs[0] for item in loaded]
    assert len(states) == len(paths)
    assert {s["pid"] for s in states} - {os.getpid()}, "the pool must have run"
    assert {s["sigterm"] for s in states} == {repr(signal.SIG_DFL)}


ABANDON = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from searchkit.store import workers

    def stubborn(note, chunks):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a worker that will not die politely
        if note.path >= "n016.md":  # past the first chunks (imap sends 8 at a time)
            time.sleep(600)
        return []

    vault = Path(sys.argv[1])
    paths = sorted(p.name for p in vault.iterdir())
    for _ in workers.load_all(str(vault), paths, 2, stubborn):
        break  # abandon the build while the workers are busy: its clean-up must end
    print("closed")
""")


def test_a_build_cut_short_never_waits_forever_on_its_workers(tmp_path: Path):
    _notes(tmp_path / "v", workers.POOL_MIN_NOTES)
    proc = subprocess.run(
        [sys.executable, "-c", ABANDON, str(tmp_path / "v")],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "closed" in proc.stdout
