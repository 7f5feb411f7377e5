"""Keep an index current while the vault changes (`searchkit watch`).

Built on `watchfiles` (already a dependency): its Rust `notify` backend uses the OS's
change events (inotify, FSEvents, ReadDirectoryChangesW) instead of polling 10k files,
it batches and debounces bursts itself (an editor's save, a `git checkout`), and it takes a
stop event, so this module is only a filter and a loop. Each batch runs one
`update_index`, which already diffs the vault against the index: the events only say
*when* to look, never *what* to index, so a missed or coalesced event cannot leave the
index wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SearchkitError, VaultError
from ..ingest.notes import IGNORE_FILE, NOTE_SUFFIXES
from ..store.index import UpdateReport, update_index
from ..store.indexdir import read_meta

DEFAULT_DEBOUNCE_MS = 500


class VaultChangeFilter:
    """Which file events can matter to the index: notes and folders outside hidden folders
    and outside the index directory (which may live inside the vault), plus the vault's
    `.searchkitignore`."""

    def __init__(self, vault: Path, index_dir: Path) -> None:
        self.vault = vault
        self.index_dir = index_dir

    def __call__(self, change: Any, path: str) -> bool:
        p = Path(path)
        if p == self.index_dir or self.index_dir in p.parents:
            return False
        try:
            rel = p.relative_to(self.vault)
        except ValueError:
            return False
        if rel.parts == (IGNORE_FILE,):
            return True
        if any(part.startswith(".") for part in rel.parts):
            return False
        # A folder event (rename, delete) has no suffix; other files can't be notes.
        return not p.suffix or p.suffix.lower() in NOTE_SUFFIXES


def watch_vault(
    index_dir: str | Path,
    vault: str | Path | None,
    on_report: Callable[[UpdateReport], None],
    *,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
    stop_event: threading.Event | None = None,
    lock_timeout: float = 10.0,
    on_error: Callable[[SearchkitError], None] | None = None,
) -> None:
    """Update the index now, then again after every (debounced) batch of vault changes.

    `on_report` gets each `UpdateReport`, the first one included. Returns when
    `stop_event` is set or on Ctrl-C (an update cut short by Ctrl-C leaves the last
    committed index, and the next update finishes the job). Errors of one update go to
    `on_error` and watching goes on; without `on_error` they are raised.
    """
    import watchfiles

    index_path = Path(index_dir).absolute()
    vault_path = _vault_of(index_path, vault)
    watch_filter = VaultChangeFilter(vault_path, index_path.resolve())
    try:
        _update(index_path, vault, on_report, lock_timeout, on_error)
        for _changes in watchfiles.watch(
            vault_path,
            watch_filter=watch_filter,
            debounce=debounce_ms,
            stop_event=stop_event,
            raise_interrupt=False,
        ):
            if stop_event is not None and stop_event.is_set():
                return
            _update(index_path, vault, on_report, lock_timeout, on_error)
    except KeyboardInterrupt:
        return


def _vault_of(index_dir: Path, vault: str | Path | None) -> Path:
    if vault is not None:
        return Path(vault).expanduser().resolve()
    meta = read_meta(index_dir)
    if meta is None:
        raise VaultError(f"no vault given, and {index_dir} does not record one")
    return Path(meta.vault)


def _update(
    index_dir: Path,
    vault: str | Path | None,
    on_report: Callable[[UpdateReport], None],
    lock_timeout: float,
    on_error: Callable[[SearchkitError], None] | None,
) -> None:
    try:
        report = update_index(index_dir, vault, lock_timeout=lock_timeout)
    except SearchkitError as exc:
        if on_error is None:
            raise
        on_error(exc)
        return
    on_report(report)
