"""Keep an index current while the vault changes (`searchkit watch`).

Built on `watchfiles` (already a dependency): its Rust `notify` backend uses the OS's
change events (inotify, FSEvents, ReadDirectoryChangesW) instead of polling 10k files,
it batches and debounces bursts itself (an editor's save, a `git checkout`), and it takes a
stop event, so this module is only a filter and a loop. Each batch runs one
`update_index`, which already diffs the vault against the index: the events only say
*when* to look, never *what* to index, so a missed or coalesced event cannot leave the
index wrong.

Events can still fail to come (a vault folder replaced under the watcher, a remount, an
event queue overflow) and an update can fail (another writer holds the lock). So the loop
keeps a dirty flag: an update that did not go through is retried with backoff until one
does, the vault's identity is checked every second (a new folder in its place re-arms the
watcher), and every `recheck_seconds` the vault is diffed by stat as a safety net. A
name that is not UTF-8 makes watchfiles fail (on an event, or while arming for a folder so
named): the batch is lost, so the vault is diffed, and a watcher that cannot arm is
replaced by the search refresh's stat check every 2 s until it can.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import IndexLockedError, SearchkitError, VaultError
from ..ingest.notes import IGNORE_FILE, NOTE_SUFFIXES
from ..store.index import UpdateReport, needs_refresh, update_index
from ..store.indexdir import read_meta

DEFAULT_DEBOUNCE_MS = 500


class VaultChangeFilter:
    """Which file events can matter to the index: anything that is or may contain a note,
    outside hidden folders and outside the index directory (which may live inside the
    vault), plus the vault's `.searchkitignore`.

    A folder may have a dot in its name (`Project v1.2`, `2024.05`), and once renamed or
    deleted a path cannot be asked whether it was a folder: only a path that exists now as
    a file of another kind is left out.
    """

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
        if p.suffix.lower() in NOTE_SUFFIXES:
            return True
        try:
            return not p.is_file() or p.is_dir()
        except OSError:
            return True


# The watcher wakes at least this often to retry, check the vault's identity and time.
WAKE_MS = 1000
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
# Another writer holds the lock: it is busy, not broken; its work may not cover what we
# saw, so try again soon.
LOCKED_RETRY_MAX_SECONDS = 2.0
DEFAULT_RECHECK_SECONDS = 60.0


def watch_vault(
    index_dir: str | Path,
    vault: str | Path | None,
    on_report: Callable[[UpdateReport], None],
    *,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
    stop_event: threading.Event | None = None,
    lock_timeout: float = 10.0,
    on_error: Callable[[SearchkitError], None] | None = None,
    recheck_seconds: float = DEFAULT_RECHECK_SECONDS,
    on_state: Callable[[bool], None] | None = None,
) -> None:
    """Update the index now, then again after every (debounced) batch of vault changes.

    `on_report` gets the first `UpdateReport` and each later one that changed something or
    warns about something new.
    Returns when `stop_event` is set or on Ctrl-C (an update cut short by Ctrl-C leaves the last
    committed index, and the next update finishes the job). Errors of one update go to
    `on_error`, and the update is retried (0.5 s, doubling to 30 s; at most 2 s while
    another writer holds the lock) until one succeeds;
    without `on_error` they are raised. `on_state(dirty)` is told whenever the index
    is known to lag the vault (True) or to match it again (False).
    """
    import watchfiles

    index_path = Path(index_dir).absolute()
    vault_path = _vault_of(index_path, vault)
    watch_filter = VaultChangeFilter(vault_path, index_path.resolve())
    state = _State(on_state)
    stop = stop_event or threading.Event()

    def update_now() -> None:
        _update(index_path, vault, on_report, lock_timeout, on_error, state)

    try:
        _update(index_path, vault, on_report, lock_timeout, on_error, state, first=True)
        while not stop.is_set():
            identity = _identity(vault_path)
            if identity is None:  # the vault is gone for now (moved, unmounted): wait
                state.mark()
                stop.wait(WAKE_MS / 1000)
                continue
            rearm = started = False
            last_check = time.monotonic()
            try:
                # raise_interrupt: with False, Ctrl-C only ends this one `watch` call, which
                # the loop around it would start again; raised, it ends `watch_vault`.
                for changes in watchfiles.watch(
                    vault_path, watch_filter=watch_filter, debounce=debounce_ms,
                    stop_event=stop, raise_interrupt=True, rust_timeout=WAKE_MS,
                    yield_on_timeout=True,
                ):  # fmt: skip
                    started = True
                    if stop.is_set():
                        return
                    now = time.monotonic()
                    if _identity(vault_path) != identity:
                        state.mark()  # another folder in its place: watch that one
                        rearm = True
                    if changes:
                        state.mark()
                    elif now - last_check >= recheck_seconds:
                        state.mark()  # the safety net: a stat diff finds what no event said
                    if state.dirty and now >= state.retry_at:
                        last_check = now
                        _update(index_path, vault, on_report, lock_timeout, on_error, state)
                    if rearm:
                        break
            except (OSError, RuntimeError) as exc:
                if _undecodable(exc):
                    # A name that is not UTF-8 (the scan skips it with a warning): the batch
                    # it came in is lost, so the update diffs the vault. Met while arming,
                    # it is a folder the OS watcher must walk: stat-check for a while.
                    state.mark()
                    if not started:
                        _poll(update_now, index_path, vault, vault_path, identity, state, stop,
                              recheck_seconds)  # fmt: skip
                elif _identity(vault_path) == identity and on_error is None:
                    raise  # the watch itself failed, and not because its root moved
                else:
                    state.mark()
                    stop.wait(WAKE_MS / 1000)
            if state.dirty and not stop.is_set():
                _update(index_path, vault, on_report, lock_timeout, on_error, state)
    except KeyboardInterrupt:
        return


def _undecodable(exc: BaseException) -> bool:
    """watchfiles' error for a path whose name is not UTF-8 (it has no other type for it)."""
    return isinstance(exc, RuntimeError) and "Unable to decode path" in str(exc)


# How often the vault is stat-checked while the OS watcher cannot watch it.
POLL_SECONDS = 2.0


def _poll(
    update: Callable[[], None],
    index_dir: Path,
    vault: str | Path | None,
    vault_path: Path,
    identity: tuple[int, int],
    state: _State,
    stop: threading.Event,
    seconds: float,
) -> None:
    """Keep the index current for `seconds` by the search refresh's stat check (a stat per
    recorded folder and note) instead of change events, then let the caller arm the OS
    watcher again (the folder that stopped it may have been renamed). Returns at once if
    the vault moved: the caller waits for it."""
    until = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < until:
        if _identity(vault_path) != identity:
            return
        if time.monotonic() >= state.retry_at and (state.dirty or _changed(index_dir, vault)):
            update()
        stop.wait(POLL_SECONDS)


def _changed(index_dir: Path, vault: str | Path | None) -> bool:
    """Whether an update would change anything; True when that cannot be told (the update
    then says why)."""
    try:
        return needs_refresh(index_dir, vault)
    except (SearchkitError, OSError):
        return True


class _State:
    """The dirty flag and the retry backoff of one watcher."""

    def __init__(self, on_state: Callable[[bool], None] | None) -> None:
        self.dirty = True
        self.retry_at = 0.0
        self.backoff = RETRY_FIRST_SECONDS
        self._on_state = on_state

    def mark(self) -> None:
        if not self.dirty and self._on_state is not None:
            self._on_state(True)
        self.dirty = True

    def failed(self, locked: bool = False) -> None:
        wait = min(self.backoff, LOCKED_RETRY_MAX_SECONDS) if locked else self.backoff
        self.retry_at = time.monotonic() + wait
        self.backoff = min(self.backoff * 2, RETRY_MAX_SECONDS)
        if self._on_state is not None:
            self._on_state(True)

    def done(self) -> None:
        self.dirty = False
        self.retry_at = 0.0
        self.backoff = RETRY_FIRST_SECONDS
        if self._on_state is not None:
            self._on_state(False)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


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
    state: _State,
    first: bool = False,
) -> None:
    # A change made while the diff runs arrives as an event after it and marks the flag
    # again: nothing made during an update is lost.
    try:
        report = update_index(index_dir, vault, lock_timeout=lock_timeout)
    except SearchkitError as exc:
        state.failed(locked=isinstance(exc, IndexLockedError))
        if on_error is None:
            raise
        on_error(exc)
        return
    state.done()
    # Retries and safety-net checks that found nothing stay quiet; a new warning (a file
    # skipped) is said once: the next updates do not repeat it.
    if (first or report.added or report.changed or report.removed or report.rebuilt
            or report.warnings):
        on_report(report)
