"""The embeddable API: `open_index()` and the `SearchIndex` it returns.

Everything the CLI does goes through here. One `SearchIndex` keeps one Whoosh searcher per
thread and only refreshes it when the index changed on disk, because opening a searcher
costs 15-30 ms while a query costs a few (../shared/research/whoosh.md §4).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    InvalidArgumentError,
    QuerySyntaxError,
    SearchkitError,
    VaultError,
)
from .retrieve import reading as _reading
from .retrieve.results import SearchResults
from .retrieve.search import DEFAULT_PER_NOTE, search
from .store import index as _index
from .store import status as _status
from .store.indexdir import LOCK_FILE, META_FILE, REBUILD_HINT, IndexMeta, read_meta
from .store.locate import Location, locate

# Passage kinds, shared with the CLI's --kind choices so both refuse the same values.
KINDS = ("intro", "section", "callout")
# Written by the writer of a first build (the only time no index is searchable yet), so a
# search can say how far it got. The `.sktmp` suffix makes it one of the index's own files
# (indexdir.is_ours) that the writer's clean-up removes when the build commits.
PROGRESS_FILE = "first-build-progress.sktmp"
PROGRESS_EVERY = 0.5  # seconds between progress-file writes
# A search-time refresh must not hang behind a long writer (e.g. `searchkit watch`); the
# last committed index is searched instead.
REFRESH_LOCK_TIMEOUT = 0.5

FilterValue = str | Sequence[str]


class SearchIndex:
    """An index directory and (optionally) the vault it indexes.

    Use as a context manager, or call `close()`. Safe to search from several threads.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        vault: str | os.PathLike[str] | None,
        *,
        location: Location | None = None,
    ):
        self.index_dir = Path(index_dir).expanduser().absolute()
        self._vault = Path(vault).expanduser().resolve() if vault is not None else None
        # How the index was found; decides whether suggested commands need `--index DIR`.
        self.location = location or Location(self.index_dir, self._vault, "--index", True)
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

        Raises `IndexLockedError` if another writer holds the index past `lock_timeout`,
        `VaultError` (before creating anything) if the vault is missing or unknown.
        `follow_symlinks`: index notes behind symlinks that leave the vault (None: as the
        index remembers; off by default). An update that would empty the index or remove
        more than half of it raises `MassDeleteError` unless `allow_mass_delete`.
        `verify`: first compare the index files with their checksums (a full read).
        """
        self._check_open()
        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
            raise InvalidArgumentError(f"jobs must be a whole number >= 1, not {jobs!r}")
        if self._vault is not None and not self._vault.is_dir():
            raise VaultError(f"vault not found or not a directory: {self._vault}")
        with self._hints():
            try:
                meta = self._read_meta()
            except IndexCorruptError:
                if not rebuild:
                    raise
                meta = None  # a rebuild replaces an unreadable record (index.py decides)
            if self._vault is None and meta is None and not rebuild:
                raise VaultError(
                    f"no vault given, and {self.index_dir} does not record one; "
                    f"run `searchkit index VAULT`"
                )
            first = meta is None or meta.index_name is None
            writer = _ProgressWriter(self.index_dir, progress) if first else None
            try:
                return _index.update_index(
                    self.index_dir, self._vault, rebuild=rebuild,
                    progress=writer or progress, lock_timeout=lock_timeout, jobs=jobs,
                    follow_symlinks=follow_symlinks, allow_mass_delete=allow_mass_delete,
                    verify=verify,
                )
            finally:
                if writer is not None:
                    writer.remove()

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
        with self._hints():
            self._check_built()
            return _status.index_status(self.index_dir, self._vault)

    def check(self) -> _status.IndexCheck:
        """Read every file of the index and say whether it is sound (`.sound`,
        `.problems`); a full read, for `searchkit status --check`."""
        self._check_open()
        return _status.check_index(self.index_dir)

    def fix_command(self, args: str = "") -> str:
        """The `searchkit index` command line that acts on this index, for messages:
        `args` as given (`VAULT` replaced by the vault when known), plus `--index DIR` when
        the index is not the vault's default one."""
        try:
            vault = self.vault
        except SearchkitError:  # an unreadable record: the message keeps `VAULT`
            vault = None
        if vault is not None:
            args = re.sub(r"(?<!\S)VAULT(?!\S)", lambda _m: shlex.quote(str(vault)), args)
        cmd = "searchkit index" + (f" {args.strip()}" if args.strip() else "")
        if self.location.explicit_index and "--index" not in args:
            cmd += f" --index {shlex.quote(str(self.index_dir))}"
        return cmd

    # -- messages ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _hints(self) -> Iterator[None]:
        """Rewrite the `searchkit index …` fixes suggested by index.py's errors so that
        following them reaches this index (its --index DIR, its vault)."""
        try:
            yield
        except (IndexNotFoundError, IndexVersionError, IndexCorruptError, VaultError) as exc:
            text = str(exc)
            fixed = re.sub(
                r"`searchkit index([^`]*)`", lambda m: f"`{self.fix_command(m.group(1))}`", text
            )
            if fixed == text:
                raise
            raise type(exc)(fixed) from exc

    def _read_meta(self) -> IndexMeta | None:
        return read_meta(self.index_dir) if self.index_dir.is_dir() else None

    def _check_built(self) -> None:
        """Raise the `IndexNotFoundError` that says what to do when nothing is searchable
        yet: no index, or a first build that is running or was interrupted."""
        meta = self._read_meta()
        if meta is None:
            if self.index_dir.is_dir():
                return  # let index.py say whether the folder is someone else's
            raise IndexNotFoundError(
                f"no index at {self.index_dir}; build it with `{self.fix_command('VAULT')}`"
            )
        if meta.index_name is not None:
            return
        done = _read_progress(self.index_dir)
        counts = f"{done[0]:,} of {done[1]:,} notes" if done else "scanning the vault"
        if _writer_alive(self.index_dir):
            raise IndexNotFoundError(
                f"the first build of {meta.vault} is in progress ({counts}); "
                "search again when it finishes"
            )
        stopped = f" (it stopped at {counts})" if done else ""
        raise IndexNotFoundError(
            f"the first build of {meta.vault} did not finish{stopped}; "
            f"run `{self.fix_command('VAULT')}` to finish it"
        )

    # -- reading -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        offset: int = 0,
        per_note: int = DEFAULT_PER_NOTE,
        *,
        explain: bool = False,
        **filters: FilterValue | None,
    ) -> SearchResults:
        """Ranked passages for `query` (a list of `Passage`, with `.total` and
        `.suggestion`).

        Filters (keyword arguments, a string or a list meaning any of them): `tag`, `path`,
        `title`, `heading`, `callout`, `kind`, `video`, `has` (e.g. `has="timestamp"`).
        Raises `InvalidArgumentError` for arguments the CLI refuses too (limit < 1,
        offset < 0, per_note < 0, an unknown filter or kind, a query that is not a
        string), `QuerySyntaxError` for a query that cannot be understood even as text or
        that has no searchable word (empty, or only stop words), `IndexNotFoundError` if
        nothing has been indexed yet.
        """
        clean = _check_search_args(query, limit, offset, per_note, filters)
        try:
            results = self._search(query, limit, offset, per_note, explain, clean)
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
        if not results and results.suggestion is None:
            searcher, _opened = self._searcher()
            _explain_nothing(searcher, query, clean)
        return results

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

    def read_note(
        self, path: str, start_line: int = 1, max_lines: int = 80
    ) -> _reading.NoteLines:
        """Numbered lines of an indexed note, e.g. around a hit's `Passage.line`.

        Raises `NoteError` for a path outside the vault (`..`, absolute, a symlink out)
        or a file the index does not hold.
        """
        searcher, opened = self._searcher()
        vault = self._vault or Path(opened.meta.vault)
        return _reading.read_lines(
            vault, path, start_line, max_lines,
            is_indexed=lambda p: searcher.document_number(source=p) is not None,
        )

    def line_ends(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """Last line of each passage (by `Passage.id`), for showing line ranges."""
        searcher, _opened = self._searcher()
        ends: dict[str, int] = {}
        for cid in chunk_ids:
            docnum = searcher.document_number(id=cid)
            if docnum is not None:
                ends[cid] = int(searcher.stored_fields(docnum).get("line_end") or 0)
        return ends

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
        if stale is None and (
            stamp is None or self._current is None or stamp != self._current.stamp
        ):
            # Nothing searchable yet, or a new index: say what to do (first build running,
            # interrupted, or never run) rather than a bare "not found".
            with self._hints():
                self._check_built()
        with self._lock:
            if stale is not None:
                if self._current is stale:
                    self._current = None
                return stale
            if stamp is None:
                raise IndexNotFoundError(
                    f"no index at {self.index_dir}; build it with `{self.fix_command('VAULT')}`"
                )
            if self._current is None or stamp != self._current.stamp:
                # First use, or a rebuild switched to another Whoosh index.
                with self._hints():
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

    def release_stale_searcher(self) -> bool:
        """Close the calling thread's searcher if the index changed since it was opened
        (its next search opens a current one). An idle thread's old searcher would keep
        the files of replaced segments open, deleted but still on disk and in memory.
        Only the calling thread's: another thread may be searching with its own."""
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is None:
            return False
        try:
            current = local.opened is self._current and searcher.up_to_date()
        except Exception:  # its files are gone: stale for sure
            current = False
        if current:
            return False
        with contextlib.suppress(Exception):
            searcher.close()
        local.searcher = local.opened = None
        with self._lock:
            self._searchers.pop(threading.get_ident(), None)
        return True

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


def _check_search_args(
    query: Any, limit: Any, offset: Any, per_note: Any, filters: dict[str, Any]
) -> dict[str, Any]:
    """The CLI's option checks, for API callers: same limits, typed errors."""
    if not isinstance(query, str):
        raise InvalidArgumentError(f"query must be a string, not {type(query).__name__}")
    for name, value, least in (("limit", limit, 1), ("offset", offset, 0),
                               ("per_note", per_note, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidArgumentError(f"{name} must be a whole number >= {least}, not {value!r}")
    clean = {k: v for k, v in filters.items() if v not in (None, "", (), [])}
    unknown = sorted(set(clean) - _FILTERS)
    if unknown:
        raise InvalidArgumentError(
            f"unknown search filter(s): {', '.join(unknown)}; known: {', '.join(sorted(_FILTERS))}"
        )
    for key, value in clean.items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            raise InvalidArgumentError(f"filter {key}= takes a string or a list of strings")
        if key == "kind":
            bad = [v for v in values if v.strip().lower() not in (*KINDS, "*")]
            if bad:
                raise InvalidArgumentError(
                    f"kind={bad[0]!r} is not a passage kind; use one of: {', '.join(KINDS)}"
                )
    return clean


def _explain_nothing(searcher: Any, query: str, filters: dict[str, Any]) -> None:
    """Raise `QuerySyntaxError` when a query found nothing because it has nothing to look
    for: no words at all, or only words the index does not keep (stop words, 1 letter)."""
    from whoosh import query as Q

    from .retrieve.query import compile_query

    comp = compile_query(query, searcher.schema, filters or None)
    if comp.primary is not Q.NullQuery:
        return
    if comp.has_text:
        raise QuerySyntaxError(
            f"nothing to search for in {query!r}: every word is too common or too short to "
            "be indexed (the, of, a…); add a more specific word"
        )
    raise QuerySyntaxError("the query is empty: type at least one word or a filter such as tag:x")


class _ProgressWriter:
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


def _read_progress(index_dir: Path) -> tuple[int, int] | None:
    try:
        done, total = json.loads((index_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
        return int(done), int(total)
    except (OSError, ValueError, TypeError):
        return None


def _writer_alive(index_dir: Path) -> bool:
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


def open_index(
    index_dir: str | os.PathLike[str] | None = None,
    vault: str | os.PathLike[str] | None = None,
) -> SearchIndex:
    """Open (or prepare to build) the index in `index_dir` for `vault`.

    Nothing is read until used: `update()` builds the index if it does not exist yet;
    `search()` needs a built index. `vault=None` means the vault the index remembers.
    `index_dir=None` finds the index the way the CLI does (`searchkit.locate.locate`): the
    vault's default index in the per-user data folder, the index of the vault the current
    folder is in, the configured default vault, or the only index; `IndexNotFoundError`
    if none applies.
    """
    loc = locate(index_dir, vault)
    return SearchIndex(loc.index_dir, loc.vault, location=loc)
