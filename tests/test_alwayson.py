"""The always-on path (issue 15): build workers that a server can always stop, watchers
that never drop an update, reads that cannot hang."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import searchkit
from searchkit.store import workers
from searchkit.store.indexdir import write_lock
from searchkit.surfaces.serving import LiveIndex
from searchkit.surfaces.watch import VaultChangeFilter


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


# ---------------------------------------------------------------------------------------
# Watchers: nothing dropped, nothing missed (items 2, 3, 4)


def _built(tmp_path: Path, notes: dict[str, str]) -> tuple[Path, Path]:
    vault = tmp_path / "vault"
    for rel, text in notes.items():
        (vault / rel).parent.mkdir(parents=True, exist_ok=True)
        (vault / rel).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    with searchkit.open_index(index, vault) as ix:
        ix.update()
    return vault, index


def _eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.1)


def _paths(live: LiveIndex, query: str) -> list[str]:
    return [p.path for p in live.search(query)]


NOTES = {"a.md": "# Alpha\n\nherons fish\n", "b.md": "# Beta\n\nowls hunt\n",
         "c.md": "# Gamma\n\nbats fly\n"}


def test_an_update_the_lock_refused_is_retried_until_it_lands(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)  # the watcher's first update
        with write_lock(index.absolute(), 1.0):  # another writer, busy for a while
            (vault / "a.md").write_text("# Alpha\n\nherons fish by a zeppelin\n")
            _eventually(live.warnings)  # the refused update says why answers may be stale
        # No further edit: the watcher must retry by itself.
        assert _eventually(lambda: _paths(live, "zeppelin")) == ["a.md"]
        assert live.warnings() == []
        assert live.status().stale == 0


def test_a_folder_with_a_dot_in_its_name_renamed_is_seen(tmp_path: Path):
    vault, index = _built(tmp_path, {"Project v1.2/plan.md": "# Plan\n\nzeppelin\n", **NOTES})
    flt = VaultChangeFilter(vault.resolve(), index.resolve())
    assert flt(None, str(vault.resolve() / "Project v1.3"))  # gone or a folder: may hold notes
    (vault / "pic.png").write_bytes(b"\x89PNG")
    assert not flt(None, str(vault.resolve() / "pic.png"))  # an existing non-note file
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)
        (vault / "Project v1.2").rename(vault / "Project v1.3")
        assert _eventually(lambda: _paths(live, "zeppelin") == ["Project v1.3/plan.md"])


def test_a_vault_folder_replaced_under_the_watcher_is_watched_again(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)
        # `mv vault vault.old && cp -a vault.old vault`: the old inode is watched no more.
        vault.rename(tmp_path / "vault.old")
        shutil.copytree(tmp_path / "vault.old", vault, symlinks=True)
        time.sleep(1.5)
        (vault / "b.md").write_text("# Beta\n\nowls hunt a zeppelin\n")
        assert _eventually(lambda: _paths(live, "zeppelin")) == ["b.md"]


def test_the_warm_cli_warns_of_a_refused_refresh_as_the_local_cli_does(tmp_path: Path):
    from test_http import cli, start_server

    for server in start_server(tmp_path):
        time.sleep(0.5)
        for name in ("sleep.md", "rust.md"):  # every note gone: the update is refused
            (server.vault / name).unlink()
        _eventually(lambda s=server: "warnings" in s.get("/search", q="memory")[1])
        cold = cli(server, "memory", warm=False)
        warm = cli(server, "memory", warm=True)
        assert cold[3] is True and warm[3] is False
        warned = [line for line in cold[2].splitlines() if line.startswith("warning:")]
        assert warned and "could not refresh" in warned[0]
        assert [line for line in warm[2].splitlines() if line.startswith("warning:")] == warned
        assert warm[:2] == cold[:2]
