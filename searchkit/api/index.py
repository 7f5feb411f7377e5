"""The embeddable API: `open_index()` and the `SearchIndex` it returns.

Everything the CLI does goes through here. One `SearchIndex` keeps one Whoosh searcher per
thread and only refreshes it when the index changed on disk, because opening a searcher
costs 15-30 ms while a query costs a few (../shared/research/whoosh.md §4).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# First: Whoosh is imported without urllib.request and reads segments in place
# (_fastimport); the retrieve modules below import Whoosh too.
from .. import _fastimport  # noqa: F401
from ..errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    InvalidArgumentError,
    SearchkitError,
    SemanticUnavailableError,
    VaultError,
)
from ..retrieve import deadline as _deadline

# Re-exported: `searchkit.api.search_many` is the documented name (README "Python API").
from ..retrieve import reading as _reading
from ..retrieve.arguments import (  # KINDS stays importable as api.KINDS
    KINDS,  # noqa: F401
    SORTS,
    FilterValue,
    _check_search_args,
    _deadline_arg,
    _explain_nothing,
    check_mode,
)
from ..retrieve.deadline import DEFAULT_DEADLINE  # noqa: F401  # re-exported as api's
from ..retrieve.results import SearchResults
from ..retrieve.search import DEFAULT_PER_NOTE, meaning_text, search
from ..store import index as _index
from ..store import opening as _opening
from ..store import status as _status
from ..store.firstbuild import ProgressWriter, read_progress, writer_alive
from ..store.indexdir import META_FILE, REBUILD_HINT, IndexMeta, read_meta
from ..store.locate import Location, locate

# A search-time refresh must not hang behind a long writer (e.g. `searchkit watch`); the
# last committed index is searched instead.
REFRESH_LOCK_TIMEOUT = 0.5

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
        embedder: Any = "auto",
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
        if embedder is not None and not isinstance(embedder, str):
            from ..semantic import check_embedder

            check_embedder(embedder)  # a user's object: its shape, before anything runs
        self._embedder_choice = embedder
        self._meaning: Any = None  # semantic.Semantic, made on first use (numpy, models)

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
            writer = ProgressWriter(self.index_dir, progress) if first else None
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
        return _opening.needs_refresh(self.index_dir, self._vault)

    def refresh(
        self, *, on_locked: Callable[[IndexLockedError], None] | None = None
    ) -> _index.UpdateReport | None:
        """Update the index if notes changed; None when nothing changed or another writer
        is busy (the last committed index stays searchable meanwhile; `on_locked` is
        called then, so a caller can say its results may be stale).

        Never applies a mass removal: a vault that is missing, empty, or lost more than
        half of its notes raises `VaultError` or `MassDeleteError` and the last index
        stays; catch `SearchkitError` to warn and search on.
        """
        if not self.needs_update():
            return None
        try:
            return self.update(lock_timeout=REFRESH_LOCK_TIMEOUT)
        except IndexLockedError as exc:
            if on_locked is not None:
                on_locked(exc)
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
        result = _status.check_index(self.index_dir)
        try:
            store = self._semantic().store() if self._embedder_choice is not None else None
        except ImportError:  # no semantic extra: no vectors to read
            store = None
        except IndexCorruptError as exc:  # a damaged vectors/model.json
            return dataclasses.replace(result, problems=(*result.problems, str(exc)))
        if store is None:
            return result
        return dataclasses.replace(result, problems=(*result.problems, *store.check()))

    def forget(self) -> int:
        """Delete this index (never the notes) and close this object; the bytes freed.

        Raises `IndexNotFoundError` if there is no index, `IndexLockedError` while a
        writer works on it, `IndexCorruptError` if its folder holds files searchkit did
        not write (then nothing is deleted)."""
        from ..store.locate import forget_index

        self.close()
        return forget_index(self.index_dir)

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
        done = read_progress(self.index_dir)
        counts = f"{done[0]:,} of {done[1]:,} notes" if done else "scanning the vault"
        if writer_alive(self.index_dir):
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
        mode: str = "hybrid",
        sort: str = "score",
        deadline: float | str | None = "default",
        cancel: Any = None,
        **filters: FilterValue | None,
    ) -> SearchResults:
        """Ranked passages for `query` (a list of `Passage`, with `.total` and
        `.suggestion`).

        `mode`: "hybrid" (words and meaning, when the index has vectors; words alone
        otherwise), "lexical" (words only) or "semantic" (meaning only, within the query's
        filters; `SemanticUnavailableError` when there are no vectors).

        Filters (keyword arguments, a string or a list meaning any of them): `tag`, `path`,
        `title`, `heading`, `callout`, `kind`, `video`, `has` (e.g. `has="timestamp"`),
        `after`/`before` (`YYYY-MM-DD`, `YYYY-MM` or `YYYY`: the note's frontmatter `date`
        or `created`, else its modification time; after a day is from the next day, after
        a month or year from its first day). `sort`: `score` (relevance), `modified`
        or `created` (newest first, among the passages the query matches).
        Raises `InvalidArgumentError` for arguments the CLI refuses too (limit < 1,
        offset < 0, per_note < 0, an unknown filter or kind, a query that is not a
        string), `QuerySyntaxError` for a query that cannot be understood even as text or
        that has no searchable word (empty, or only stop words), `IndexNotFoundError` if
        nothing has been indexed yet.

        `deadline`: the search's budget in seconds of wall clock (None: no limit; by
        default `SEARCHKIT_DEADLINE` from the environment if set, else
        `DEFAULT_DEADLINE`, 3 s). Past it, or when `cancel` (anything with `is_set()`, such as a
        `threading.Event`) is set, the search stops and raises `QueryTooCostlyError`,
        whose message says what to shorten. Queries holding too many phrases, `-word`
        exclusions, OR alternatives or required words raise it before any work.
        """
        budget = _deadline_arg(deadline, cancel)
        clean = _check_search_args(query, limit, offset, per_note, filters)
        check_mode(mode)
        if sort not in SORTS:
            raise InvalidArgumentError(f"sort={sort!r}; use one of: {', '.join(SORTS)}")
        if sort != "score":
            clean["_sort"] = sort
        try:
            results = self._search(query, limit, offset, per_note, explain, clean, mode,
                                   budget)
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
            _explain_nothing(searcher, query, {k: v for k, v in clean.items() if k != "_sort"})
        return results

    def _search(
        self, query: str, limit: int, offset: int, per_note: int, explain: bool,
        clean: dict[str, Any], mode: str = "hybrid",
        budget: _deadline.Deadline = _deadline.NO_DEADLINE,
    ) -> SearchResults:  # fmt: skip
        for attempt in range(_ATTEMPTS):
            searcher, opened = self._searcher()
            # The meta read when the searcher was opened names the vault: no read per query.
            vault = self._vault or Path(opened.meta.vault)
            side, semantic = self._semantic_side(
                searcher, _meaning_mode(mode, clean.get("_sort", "score"))
            )
            filters = {k: v for k, v in clean.items() if k != "_sort"}
            try:
                results = search(
                    searcher, query, vault_name=vault.name, limit=limit, offset=offset,
                    per_note=per_note, filters=filters or None, explain=explain,
                    semantic=side, sort=clean.get("_sort", "score"), deadline=budget,
                )
                results.semantic = semantic
                return results
            except SearchkitError:
                raise
            except Exception:
                # A rebuild may have switched indexes under this searcher: search the new
                # one. Anything else is not ours to hide.
                if attempt + 1 == _ATTEMPTS or self._meta_file_stamp() == opened.stamp:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- meaning -------------------------------------------------------------------------

    def embed(
        self, *, progress: Callable[[Any], None] | None = None, lock_timeout: float = 10.0,
        max_seconds: float | None = None, stop: Callable[[], bool] | None = None,
    ) -> Any:
        """Give every indexed passage without a vector one (search by meaning); returns an
        `EmbedReport` (`embedded`, `passages`, `with_vectors`, `remaining`, `seconds`).
        Resumable: Ctrl-C keeps what was embedded, and only passages whose text changed
        are embedded again. `max_seconds` stops after about that long (`remaining` says
        what is left), for long-lived processes that embed between note changes; `stop()`
        returning True ends the pass after the current batch (a process shutting down). Raises
        `SemanticUnavailableError` when the `semantic` extra is missing or search by
        meaning was turned off, `IndexLockedError` when another process is embedding."""
        self._check_open()
        if self._embedder_choice is None:
            raise SemanticUnavailableError("search by meaning is turned off for this index")
        # The pass opens (and closes) a searcher of its own: none is left in this thread's
        # slot, which a server's threads release on their own schedule.
        self._opened(stale=None)  # the index must exist, with the usual messages
        return self._semantic().embed(
            lambda: self._opened(stale=None).ix.searcher(), progress=progress,
            lock_timeout=lock_timeout, max_seconds=max_seconds, stop=stop,
        )

    def semantic_status(self) -> Any:
        """`SemanticStatus`: on or off (and why), the model, passages embedded."""
        self._check_open()
        try:
            searcher = self._searcher()[0]
        except IndexNotFoundError:
            searcher = None
        return self._semantic().status(searcher)

    def prepare(self, query: str = "", mode: str = "hybrid", sort: str = "score") -> None:
        """Start, in the background, what a first search for `query` in `mode` (and
        `sort`) needs beyond the words, and return at once: loading the query model and
        embedding the query, when the index has vectors. A search that needs no model
        (words only, newest first) loads none.

        For a process that runs one search (the CLI): call it before `refresh()`, so the
        model's start-up overlaps the refresh check and the word scoring. A process that
        searches many times need not call it (the first search starts the model anyway).
        """
        self._check_open()
        if _meaning_mode(check_mode(mode), sort) == "lexical" or self._embedder_choice is None:
            return
        with contextlib.suppress(ImportError):  # no semantic extra: the search says so
            meaning = self._semantic()
            meaning.prepare(meaning_text(query, _schema()) if query else "")

    def _semantic(self) -> Any:
        if self._meaning is None:
            from ..semantic import Semantic

            self._meaning = Semantic(self.index_dir, self._embedder_choice)
        return self._meaning

    def _semantic_side(self, searcher: Any, mode: str) -> tuple[Any, dict[str, Any] | None]:
        """The vectors' part of a search (or None) and what results say about it."""
        if mode == "lexical":
            return None, None
        if self._embedder_choice is None:
            if mode == "semantic":
                raise SemanticUnavailableError("search by meaning is turned off for this index")
            return None, None
        try:
            return self._semantic().search_side(searcher, mode)
        except ImportError:  # numpy missing: no semantic extra, words only
            if mode == "semantic":
                raise SemanticUnavailableError(
                    "search by meaning needs the semantic extra: pip install "
                    "'searchkit[semantic]'"
                ) from None
            return None, None

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
            note_paths=lambda: (
                b.decode("utf-8", "surrogateescape")
                for b in searcher.reader().lexicon("source")
            ),
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
                    ix, meta = _opening.open_for_search(self.index_dir)
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


def _meaning_mode(mode: str, sort: str) -> str:
    """The mode as the vectors see it: a search newest first compares no vector, so it
    needs no model (words only)."""
    return "lexical" if sort != "score" else mode


@functools.cache
def _schema() -> Any:
    """The schema this version writes, for reading a query before an index is open."""
    from ..store.schema import build_schema

    return build_schema()


def open_index(
    index_dir: str | os.PathLike[str] | None = None,
    vault: str | os.PathLike[str] | None = None,
    *,
    embedder: Any = "auto",
) -> SearchIndex:
    """Open (or prepare to build) the index in `index_dir` for `vault`.

    Nothing is read until used: `update()` builds the index if it does not exist yet;
    `search()` needs a built index. `vault=None` means the vault the index remembers.
    `index_dir=None` finds the index the way the CLI does (`searchkit.locate.locate`): the
    vault's default index in the per-user data folder, the index of the vault the current
    folder is in, the configured default vault, or the only index; `IndexNotFoundError`
    if none applies.

    `embedder` (search by meaning, with the `semantic` extra): "auto" uses the model the
    index's vectors were made with, else all-MiniLM-L6-v2; "minilm" or "wordllama" names
    a shipped model; None turns it off; or pass your own object with `name`, `version`,
    `dimension`, `embed_passages(texts)` and `embed_query(text)` (L2-normalised rows).
    """
    loc = locate(index_dir, vault)
    return SearchIndex(loc.index_dir, loc.vault, location=loc, embedder=embedder)
