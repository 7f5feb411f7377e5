"""One warm, self-refreshing index for the long-running skins (`searchkit mcp`, `serve`).

A `LiveIndex` keeps one `SearchIndex` open (searchers are reused, so a query costs
milliseconds instead of the ~0.2 s of a cold process) and keeps it current with the vault
watcher in a background thread. If the watcher cannot run (no inotify watches left, an
unsupported file system), every request falls back to the CLI's stat-scan refresh, so the
results are never older than the vault, only slower.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..api import (
    REFRESH_LOCK_TIMEOUT,
    IndexStatus,
    NoteLines,
    SearchIndex,
    SearchResults,
    UpdateReport,
    open_index,
)
from ..errors import IndexNotFoundError, SearchkitError

# Short: a change should reach the next search quickly; `watchfiles` still batches a burst
# (it yields after 50 ms without a new event).
WATCH_DEBOUNCE_MS = 200

# Requests run on this many threads, whatever the number of clients: each thread keeps its
# own Whoosh searcher (a searcher is not safe to share between threads), so this bounds
# the searchers, and the memory they hold, that 40 clients can make the server open.
SEARCH_THREADS = 2
RELEASE_WAIT_SECONDS = 5.0
# A search still running after this long is a costly one, and only one costly search runs
# at a time: another one stops there with `QueryTooCostlyError`. So a burst of costly
# queries holds one search thread for at most the search deadline (3 s) and the other
# for SLOW_AFTER each, and ordinary queries keep answering (issue 23, item 2: 8 costly
# requests used to make every /search answer 503 for minutes).
SLOW_AFTER = 0.25


class _Lane:
    """The cancel flag of one search on a shared server (`SearchIndex.search(cancel=)`):
    set when the caller calls it off (`cancel`, a client that left) or when the search
    runs past SLOW_AFTER while another costly search holds the lane."""

    def __init__(self, lane: threading.Semaphore, cancel: Any = None) -> None:
        self.lane = lane
        self.cancel = cancel
        self.start = time.monotonic()
        self.held = False
        self.reason: str | None = None

    def is_set(self) -> bool:
        if self.cancel is not None and self.cancel.is_set():
            return True
        if not self.held and time.monotonic() - self.start > SLOW_AFTER:
            if not self.lane.acquire(blocking=False):
                self.reason = (
                    "the query is too costly while the server answers another costly one "
                    f"(it ran past {SLOW_AFTER:g} s); try again shortly, or shorten it"
                )
                return True
            self.held = True
        return False

    def release(self) -> None:
        if self.held:
            self.held = False
            self.lane.release()


class LiveIndex:
    """A `SearchIndex` kept open and fresh. Thread-safe; `close()` stops the watcher."""

    def __init__(
        self,
        index_dir: str | Path,
        vault: str | Path | None = None,
        *,
        watch: bool = True,
        on_report: Callable[[UpdateReport], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_embedded: Callable[[int, int], None] | None = None,
    ) -> None:
        from ..api import semantic_enabled

        # Search by meaning as the CLI has it: on unless `semantic off` in the config or env.
        self.ix: SearchIndex = open_index(
            index_dir, vault, embedder="auto" if semantic_enabled() else None
        )
        if not self.ix.exists():
            raise IndexNotFoundError(  # the command that builds *this* index, as search says
                f"no index at {self.ix.index_dir}; build it with "
                f"`{self.ix.fix_command('VAULT')}`"
            )
        self._vault_arg = vault
        self._on_report = on_report
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # What a search must say about freshness (the warm CLI prints it as a local search
        # would): the last failed update's error, cleared by the next good one.
        self._problem: str | None = None
        self._pool = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="searchkit-search")
        self._costly = threading.Semaphore(1)  # see SLOW_AFTER
        self.watching = False
        # Passages get vectors in the background, a slice at a time, after every update.
        self.embedder = BackgroundEmbedder(self.ix, on_error=on_error, on_embedded=on_embedded)
        if watch:
            self.watching = True
            self._thread = threading.Thread(target=self._watch, name="searchkit-watch",
                                             daemon=True)
            self._thread.start()

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        self.embedder.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.ix.close()

    def __enter__(self) -> LiveIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def vault(self) -> Path | None:
        return self.ix.vault

    def _watch(self) -> None:
        from ..api import watch_vault

        def report(r: UpdateReport) -> None:
            self.embedder.poke()
            if r.added or r.changed or r.removed or r.rebuilt:
                self._release_stale_searchers()
            if self._on_report is not None:
                self._on_report(r)

        def error(exc: SearchkitError) -> None:
            self._problem = str(exc)
            if self._on_error is not None:
                self._on_error(exc)  # a locked or broken update: the watcher retries it

        def state(dirty: bool) -> None:
            if not dirty:
                self._problem = None

        try:
            watch_vault(
                self.ix.index_dir, self._vault_arg, report, debounce_ms=WATCH_DEBOUNCE_MS,
                stop_event=self._stop, lock_timeout=REFRESH_LOCK_TIMEOUT, on_error=error,
                on_state=state,
            )
        except Exception as exc:  # the watcher cannot run here: refresh per request instead
            self.watching = False
            if self._on_error is not None:
                self._on_error(exc)

    def _fresh(self) -> None:
        if not self.watching:
            try:
                if self.ix.refresh() is not None:
                    self.embedder.poke()
            except SearchkitError as exc:  # a stale answer beats none: say so, search on
                self._problem = str(exc)
            else:
                self._problem = None

    def warnings(self) -> list[str]:
        """What a search answered now must warn about, worded as the local CLI words it."""
        if self._problem is not None:
            return [f"could not refresh the index: {self._problem}"]
        return []

    # -- requests ------------------------------------------------------------------------

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._pool.submit(fn, *args, **kwargs).result()

    def _release_stale_searchers(self) -> None:
        """Have every pool thread close its searcher of an older index generation.

        One task per thread: each waits at a barrier until all have started, so no thread
        takes two. Runs in the background; a pool busy past RELEASE_WAIT_SECONDS gives up
        (its threads refresh their searchers on their next search anyway)."""
        barrier = threading.Barrier(SEARCH_THREADS)

        def release() -> None:
            try:
                barrier.wait(RELEASE_WAIT_SECONDS)
            except threading.BrokenBarrierError:
                return
            self.ix.release_stale_searcher()

        try:
            for _ in range(SEARCH_THREADS):
                self._pool.submit(release)
        except RuntimeError:  # shut down
            pass

    def search(self, query: str, *, cancel: Any = None, **kwargs: Any) -> SearchResults:
        """`SearchIndex.search` on a pool thread. `cancel` (an Event) calls it off; a
        costly search gives way as SLOW_AFTER says."""

        def run() -> SearchResults:
            if cancel is not None and cancel.is_set():  # the client left while it queued
                return self.ix.search(query, cancel=cancel, **kwargs)
            self._fresh()
            lane = _Lane(self._costly, cancel)
            try:
                return self.ix.search(query, cancel=lane, **kwargs)
            finally:
                lane.release()

        return self._run(run)

    def read(self, path: str, start_line: int = 1, max_lines: int = 80) -> NoteLines:
        def run() -> NoteLines:
            self._fresh()
            return self.ix.read_note(path, start_line, max_lines)

        return self._run(run)

    def status(self) -> IndexStatus:
        return self._run(self.ix.status)

    def line_ends(self, chunk_ids: list[str]) -> dict[str, int]:
        return self._run(self.ix.line_ends, chunk_ids)


class BackgroundEmbedder:
    """Gives new passages vectors in a background thread, `SLICE` seconds at a time, so a
    long first pass never holds up note updates or searches for long; `poke()` after an
    update starts the next pass. Stops for good when search by meaning is off."""

    SLICE = 10.0  # seconds of embedding before the thread looks up again
    RECHECK = 60.0  # seconds between passes with no poke (another process may have indexed)
    RETRY = 5.0  # seconds to wait when another process holds the embedding lock
    PROGRESS = 60.0  # seconds between `on_embedded` calls during a long pass

    def __init__(self, ix: SearchIndex,
                 on_error: Callable[[Exception], None] | None = None,
                 on_embedded: Callable[[int, int], None] | None = None) -> None:  # fmt: skip
        """`on_embedded(n, remaining)`: `n` passages got vectors since the last call; called
        when a pass ends (`remaining` 0: all searchable by meaning), and during a long
        pass at most every `PROGRESS` seconds."""
        self.ix = ix
        self._on_error = on_error
        self._on_embedded = on_embedded
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.remaining: int | None = None  # passages left without a vector, once known
        self._thread = threading.Thread(target=self._run, name="searchkit-embed", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.SLICE + 5)

    def _run(self) -> None:
        from ..errors import IndexLockedError, SemanticUnavailableError

        said = ""  # the last error reported: a damaged file fails every retry alike
        done = 0  # passages embedded and not yet reported
        told = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = self.ix.embed(max_seconds=self.SLICE, lock_timeout=0.5,
                                       stop=self._stop.is_set)
            except SemanticUnavailableError:
                return  # off, or not installed: nothing to do in this process
            except IndexLockedError:
                self._stop.wait(self.RETRY)  # `searchkit index` is embedding: let it
                continue
            except Exception as exc:  # the next update may fix it; say so (once) and go on
                if self._on_error is not None and str(exc) != said:
                    self._on_error(exc)
                said = str(exc)
                self._stop.wait(self.RETRY)
                continue
            said = ""
            self.remaining = report.remaining
            done += report.embedded
            if done and self._on_embedded is not None and (
                not report.remaining or time.monotonic() - told >= self.PROGRESS
            ):
                with contextlib.suppress(Exception):  # a closed stream must not stop it
                    self._on_embedded(done, report.remaining)
                done, told = 0, time.monotonic()
            if report.remaining:
                continue  # more to do: next slice (searches ran meanwhile)
            self._wake.wait(self.RECHECK)
