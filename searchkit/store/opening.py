"""Opening a built index for search, and the refresh check: is it current?

`open_for_search` opens the last committed index (never blocked by a writer) after
checking its meta and versions; `needs_refresh` decides from stats alone (no hashing, no
Whoosh open, usually no folder listing) whether `update_index` would change anything.
Apart from index.py because this is the read side: every search and status call goes
through it, while index.py writes (full build and incremental update under the lock).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._fastimport import whoosh  # whoosh.index, imported without urllib.request
from ..errors import IndexCorruptError, IndexNotFoundError, IndexVersionError
from ..ingest.notes import ScanLog, scan_vault
from ..ingest.version import CHUNKER_VERSION
from .indexdir import META_FILE, REBUILD_HINT, IndexMeta, foreign_entries, read_manifest, read_meta
from .records import RACY_NS, latest_generation, unlisted
from .schema import SCHEMA_VERSION


def _open_whoosh(index_dir: Path, name: str) -> Any:
    try:
        return whoosh.index.open_dir(str(index_dir), indexname=name)
    except Exception as exc:  # EmptyIndexError, unpickling and struct errors, OSError…
        raise IndexCorruptError(
            f"cannot open the index in {index_dir} ({type(exc).__name__}: {exc}); {REBUILD_HINT}"
        ) from exc


def _version_problem(meta: IndexMeta) -> str | None:
    if meta.schema_version != SCHEMA_VERSION:
        return f"index schema version {meta.schema_version}, this searchkit writes {SCHEMA_VERSION}"
    if meta.chunker_version != CHUNKER_VERSION:
        return (
            f"index chunker version {meta.chunker_version}, this searchkit chunks with "
            f"version {CHUNKER_VERSION}"
        )
    return None


def _read_built_meta(index_dir: Path) -> IndexMeta:
    """The meta of a completed index, or the typed error saying why there is none."""
    if not index_dir.is_dir():
        raise IndexNotFoundError(f"no index at {index_dir}; build it with `searchkit index VAULT`")
    meta = read_meta(index_dir)
    if meta is None:
        if foreign_entries(index_dir):
            raise IndexCorruptError(
                f"{index_dir} is not a searchkit index (no {META_FILE}); point --index at "
                "an empty or new directory and build with `searchkit index VAULT`"
            )
        raise IndexNotFoundError(f"no index at {index_dir}; build it with `searchkit index VAULT`")
    if meta.index_name is None:
        raise IndexNotFoundError(
            f"the index at {index_dir} has not finished its first build; "
            f"run `searchkit index {meta.vault}`"
        )
    return meta


def open_for_search(index_dir: str | Path) -> tuple[Any, IndexMeta]:
    """Open the last committed index for reading (never blocked by a writer).

    Raises `IndexNotFoundError`, `IndexCorruptError` or `IndexVersionError`.
    """
    index_dir = Path(index_dir).absolute()
    meta = _read_built_meta(index_dir)
    problem = _version_problem(meta)
    if problem:
        raise IndexVersionError(
            f"the index at {index_dir} must be rebuilt ({problem}); run `searchkit index`"
        )
    try:
        return _open_whoosh(index_dir, meta.index_name or ""), meta
    except IndexCorruptError:
        # A rebuild may have swapped indexes between reading the meta and opening.
        again = read_meta(index_dir)
        if again is None or again == meta or again.index_name is None:
            raise
        return _open_whoosh(index_dir, again.index_name), again


def needs_refresh(index_dir: str | Path, vault: str | Path | None = None) -> bool:
    """Whether `update_index` would change anything: stat-only, no hashing, no Whoosh open.

    A touched-but-identical note counts as a change here (the update is then quick).
    """
    index_dir = Path(index_dir).absolute()
    try:
        meta = read_meta(index_dir)
    except IndexCorruptError:
        return True
    if meta is None or meta.index_name is None or _version_problem(meta):
        return True
    if vault is not None and str(Path(vault).expanduser().resolve()) != meta.vault:
        return True
    manifest = read_manifest(index_dir, meta.index_name, lazy=True)
    if manifest is None or manifest.generation != latest_generation(index_dir, meta.index_name):
        return True
    try:
        return _changed_in_vault(Path(meta.vault), meta.follow_symlinks, manifest)
    except (ValueError, TypeError, IndexError):  # a malformed manifest: the update says why
        return True


def _changed_in_vault(vault: Path, follow_symlinks: bool, manifest: Any) -> bool:
    quick = _changed_by_stat(vault, manifest)
    if quick is not None:
        return quick
    records = manifest.notes
    skipped = manifest.skipped
    count = 0
    log = ScanLog()
    for info in scan_vault(vault, follow_symlinks=follow_symlinks, log=log):
        rec = records.get(info.path)
        if rec is None and (s := skipped.get(info.path)) is not None and (
            s[0], s[1]) == (info.mtime_ns, info.size):
            continue  # skipped before, unchanged since: nothing to do
        if rec is None or rec.mtime_ns != info.mtime_ns or rec.size != info.size:
            return True
        count += 1
    if log.unreadable:  # notes in folders that could not be listed are kept as they are
        count += sum(1 for p in records if unlisted(p, log.unreadable))
    return count != len(records)


def _changed_by_stat(vault: Path, manifest: Any) -> bool | None:
    """Whether the vault changed since the manifest's scan, from one stat per folder and
    per note, without listing a folder or matching ignore rules (as git's untracked cache
    does): a note added, removed or renamed changes its folder's mtime; an edit changes
    the note's mtime or size. None when this cannot be decided so (an older manifest, a
    folder that could not be listed, or one modified just before the scan)."""
    stats = manifest.stats
    if not stats or not manifest.scanned_ns:
        return None
    root = str(vault)
    racy = manifest.scanned_ns - RACY_NS
    for rel, seen in stats.items():
        try:
            st = os.stat(f"{root}/{rel}" if rel else root)
        except OSError:
            return True
        if isinstance(seen, int):  # a folder
            if seen >= racy:
                return None
            if st.st_mtime_ns != seen:
                return True
        elif [st.st_mtime_ns, st.st_size] != seen:
            return True
    notes = manifest.notes
    items = (
        notes.stat_items() if hasattr(notes, "stat_items")
        else ((p, r.mtime_ns, r.size) for p, r in notes.items())
    )
    for path, mtime_ns, size in items:
        try:
            st = os.stat(f"{root}/{path}")
        except OSError:
            return True
        if st.st_mtime_ns != mtime_ns or st.st_size != size:
            return True
    return False
