"""The embeddable API: `open_index()` and the `SearchIndex` it returns.

Everything the CLI does goes through here. One `SearchIndex` keeps one Whoosh searcher per
thread and only refreshes it when the index changed on disk, because opening a searcher
costs 15-30 ms while a query costs a few (../shared/research/whoosh.md §4).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import index as _index
from . import status as _status
from .errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, SearchkitError
from .indexdir import META_FILE, REBUILD_HINT, read_meta
from .search import SearchResults, search

DEFAULT_INDEX_DIR = "index"
# A search-time refresh must not hang behind a long writer (e.g. `searchkit watch`); the
# last committed index is searched instead.
REFRESH_LOCK_TIMEOUT = 0.5

FilterValue = str | Sequence[str]


class SearchIndex:
    """An index directory and (optionally) the vault it indexes.

    Use as a context manager, or call `close()`. Safe to search from several threads.
    """

    def __init__(self, index_dir: str | os.PathLike[str], vault: str | os.PathLike[str] | None):
        self.index_dir = Path(index_dir).expanduser().absolute()
        self._vault = Path(vault).expanduser().resolve() if vault is not None else None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._current: _Opened | None = None  # the index the meta named at last look
        self._searchers: dict[int, Any] = {}  # thread id -> its current searcher
        self._closed = False

    # -- context manager ---------------------------------------------------------------

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every searcher this object opened. Idempotent."""
        with self._lock:
            self._close_searchers()
            self._current = None
            self._closed = True

    # -- facts ---------------------------------------------------------------------------

    @property
    def vault(self) -> Path | None:
        """The vault given to `open_index`, else the one the index remembers, else None."""
        if self._vault is not None:
            return self._vault
        meta = read_meta(self.index_dir) if self.index_dir.is_dir() else None
        return Path(meta.vault) if meta is not None else None

    @property
    def vault_name(self) -> str:
        """The vault's folder name, as Obsidian names vaults in its URIs."""
        vault = self.vault
        return vault.name if vault is not None else ""

    def exists(self) -> bool:
        """Whether a built index is present (it may still need an update)."""
        try:
            meta = read_meta(self.index_dir) if self.index_dir.is_dir() else None
        except SearchkitError:
            return True  # something is there; opening it will say what is wrong
        return meta is not None and meta.index_name is not None

    # -- writing -------------------------------------------------------------------------

    def update(
        self,
        *,
        rebuild: bool = False,
        progress: Callable[[_index.Progress], None] | None = None,
        lock_timeout: float = 10.0,
        jobs: int | None = None,
        follow_symlinks: bool | None = None,
        allow_mass_delete: bool = False,
        verify: bool = False,
    ) -> _index.UpdateReport:
        """Index new and changed notes, drop removed ones; build from scratch if needed.

        Raises `IndexLockedError` if another writer holds the index past `lock_timeout`.
        `follow_symlinks`: index notes behind symlinks that leave the vault (None: as the
        index remembers; off by default). An update that would empty the index or remove
        more than half of it raises `MassDeleteError` unless `allow_mass_delete`.
        `verify`: first compare the index files with their checksums (a full read).
        """
        self._check_open()
        return _index.update_index(
            self.index_dir, self._vault, rebuild=rebuild, progress=progress,
            lock_timeout=lock_timeout, jobs=jobs, follow_symlinks=follow_symlinks,
            allow_mass_delete=allow_mass_delete, verify=verify,
        )

    def needs_update(self) -> bool:
        """Cheap check (a stat of every note, no reads): would `update()` change anything?"""
        return _index.needs_refresh(self.index_dir, self._vault)

    def refresh(self) -> _index.UpdateReport | None:
        """Update the index if notes changed; None when nothing changed or another writer
        is busy (the last committed index stays searchable meanwhile).

        Never applies a mass removal: a vault that is missing, empty, or lost more than
        half of its notes raises `VaultError` or `MassDeleteError` and the last index
        stays; catch `SearchkitError` to warn and search on.
        """
        if not self.needs_update():
            return None
        try:
            return self.update(lock_timeout=REFRESH_LOCK_TIMEOUT)
        except IndexLockedError:
            return None

    def status(self) -> _index.IndexStatus:
        """Notes, chunks, size, last update and how many notes are stale right now."""
        self._check_open()
        return _status.index_status(self.index_dir, self._vault)

    def check(self) -> _status.IndexCheck:
        """Read every file of the index and say whether it is sound (`.sound`,
        `.problems`); a full read, for `searchkit status --check`."""
        self._check_open()
        return _status.check_index(self.index_dir)

    # -- reading -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        offset: int = 0,
        per_note: int = 2,
        *,
        explain: bool = False,
        **filters: FilterValue | None,
    ) -> SearchResults:
        """Ranked passages for `query` (a list of `Passage`, with `.total` and
        `.suggestion`).

        Filters (keyword arguments, a string or a list meaning any of them): `tag`, `path`,
        `title`, `heading`, `callout`, `kind`, `video`, `has` (e.g. `has="timestamp"`).
        Raises `QuerySyntaxError` for a query that cannot be understood even as text,
        `IndexNotFoundError` if nothing has been indexed yet.
        """
        clean = {k: v for k, v in filters.items() if v not in (None, "", (), [])}
        unknown = sorted(set(clean) - _FILTERS)
        if unknown:
            raise TypeError(f"unknown search filter(s): {', '.join(unknown)}")
        try:
            return self._search(query, limit, offset, per_note, explain, clean)
        except SearchkitError:
            raise
        except Exception as exc:
            # A raw EOFError or zlib.error from deep in Whoosh: if the index is damaged,
            # say so and how to fix it; if it is sound, this is a bug to show as it is.
            damage = _status.damage_behind(self.index_dir, exc)
            if not damage:
                raise
            more = f" and {len(damage) - 1} more problems" if len(damage) > 1 else ""
            raise IndexCorruptError(
                f"the index in {self.index_dir} is damaged ({damage[0]}{more}); {REBUILD_HINT}"
            ) from exc

    def _search(
        self, query: str, limit: int, offset: int, per_note: int, explain: bool,
        clean: dict[str, Any],
    ) -> SearchResults:  # fmt: skip
        for attempt in range(_ATTEMPTS):
            searcher, opened = self._searcher()
            # The meta read when the searcher was opened names the vault: no read per query.
            vault = self._vault or Path(opened.meta.vault)
            try:
                return search(
                    searcher, query, vault_name=vault.name, limit=limit, offset=offset,
                    per_note=per_note, filters=clean or None, explain=explain,
                )
            except SearchkitError:
                raise
            except Exception:
                # A rebuild may have switched indexes under this searcher: search the new
                # one. Anything else is not ours to hide.
                if attempt + 1 == _ATTEMPTS or self._meta_file_stamp() == opened.stamp:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_open(self) -> None:
        if self._closed:
            raise SearchkitError("this SearchIndex is closed")

    def _meta_file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self.index_dir / META_FILE).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _searcher(self) -> tuple[Any, _Opened]:
        """This thread's searcher of the current index, and that index.

        Each thread only ever closes its own searchers: a searcher another thread may be
        using is never closed under it (that gave `ReaderClosed` during rebuilds). A
        rebuild can delete the old index between reading the meta and opening a searcher;
        then the meta is read again, a few times.
        """
        self._check_open()
        for attempt in range(_ATTEMPTS):
            opened = self._opened(stale=None)
            try:
                return self._thread_searcher(opened), opened
            except SearchkitError:
                raise
            except Exception:
                if attempt + 1 == _ATTEMPTS:
                    raise
                self._opened(stale=opened)  # forget it, so the next try reads the meta
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _opened(self, stale: _Opened | None) -> _Opened:
        stamp = self._meta_file_stamp()
        with self._lock:
            if stale is not None:
                if self._current is stale:
                    self._current = None
                return stale
            if stamp is None:
                raise IndexNotFoundError(
                    f"no index at {self.index_dir}; build it with `searchkit index VAULT`"
                    + (f" --index {self.index_dir}" if self.index_dir.name != "index" else "")
                )
            if self._current is None or stamp != self._current.stamp:
                # First use, or a rebuild switched to another Whoosh index.
                ix, meta = _index.open_for_search(self.index_dir)
                self._current = _Opened(ix, meta, stamp)
            return self._current

    def _thread_searcher(self, opened: _Opened) -> Any:
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is not None and local.opened is not opened:
            # Ours alone, of an index that is no longer current: close it ourselves.
            with contextlib.suppress(Exception):
                searcher.close()
            searcher = None
        if searcher is None:
            searcher = opened.ix.searcher()
        elif not searcher.up_to_date():
            # Whoosh 2.7.4's refresh() reuses unchanged segment readers and is correct (the
            # forks' is not: research §1.3 A, which is why the version is pinned). The old
            # searcher is dropped, not closed: its segment readers live on in the new one.
            searcher = searcher.refresh()
        else:
            return searcher
        local.searcher, local.opened = searcher, opened
        with self._lock:
            self._searchers[threading.get_ident()] = searcher
        return searcher

    def _close_searchers(self) -> None:
        for s in self._searchers.values():
            # A searcher of an index a rebuild deleted may fail to close; that is harmless.
            with contextlib.suppress(Exception):
                s.close()
        self._searchers = {}


# Tries at opening or searching while a rebuild swaps indexes (each swap needs one).
_ATTEMPTS = 4


@dataclass(frozen=True)
class _Opened:
    """One Whoosh index as the meta named it, with the meta file's stamp at that time."""

    ix: Any
    meta: Any
    stamp: tuple[int, int, int]


_FILTERS = {"tag", "path", "title", "heading", "callout", "kind", "video", "has"}


def open_index(
    index_dir: str | os.PathLike[str] = DEFAULT_INDEX_DIR,
    vault: str | os.PathLike[str] | None = None,
) -> SearchIndex:
    """Open (or prepare to build) the index in `index_dir` for `vault`.

    Nothing is read until used: `update()` builds the index if it does not exist yet;
    `search()` needs a built index. `vault=None` means the vault the index remembers.
    """
    return SearchIndex(index_dir, vault)
