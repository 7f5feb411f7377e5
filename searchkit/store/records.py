"""What the index knows about each note and about its own files: the per-note record
(manifest or stored fields), the diff of a vault scan against it, and the checks that a
commit's files are still the ones written.

Split from `index.py` so that the build and update logic stays readable there.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError
from ..ingest.notes import (
    BINARY_SKIP,
    BINARY_WHY,
    IGNORE_FILE,
    SIZE_CAP_WHY,
    FileInfo,
    NoteWarning,
    ScanLog,
    content_hash,
    max_note_bytes,
    scan_vault,
)
from .indexdir import (
    REBUILD_HINT,
    Manifest,
    NoteRecord,
    digest_files,
    file_problems,
    read_manifest,
)


@dataclass(frozen=True)
class Diff:
    new: list[str]
    changed: list[str]
    removed: list[str]
    touched: dict[str, FileInfo]  # mtime differs, content identical: only the record moves
    unchanged: int


def hash_file(path: Path) -> str | None:
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return None


def unlisted(path: str, unreadable: Sequence[str]) -> bool:
    """Whether `path` lies in a folder the scan could not list (its fate is unknown)."""
    return any(path.startswith(folder) for folder in unreadable)


def diff_vault(
    vault: Path,
    records: dict[str, NoteRecord],
    scan: dict[str, FileInfo],
    unreadable: Sequence[str] = (),
) -> Diff:
    new, changed, touched, unchanged = [], [], {}, 0
    for path, info in scan.items():
        rec = records.get(path)
        if rec is None:
            new.append(path)
        elif rec.mtime_ns == info.mtime_ns and rec.size == info.size:
            unchanged += 1
        elif rec.size != info.size:
            changed.append(path)  # another size is another content: no need to hash
        elif hash_file(vault / path) == rec.hash:
            touched[path] = info
        else:
            changed.append(path)  # includes "cannot read now": loading reports why
    removed = [p for p in records if p not in scan and not unlisted(p, unreadable)]
    return Diff(new, changed, removed, touched, unchanged)


def scan_notes(vault: Path, follow_symlinks: bool, log: ScanLog) -> dict[str, FileInfo]:
    return {f.path: f for f in scan_vault(vault, follow_symlinks=follow_symlinks, log=log)}


def records_from_index(ix: Any) -> dict[str, NoteRecord]:
    """The per-note record read back from stored fields (slow path after a crash).

    Notes with no chunks leave no document; they come out as "new" and are re-read once.
    """
    seen: dict[str, tuple[int, int, str]] = {}
    counts: Counter[str] = Counter()
    with ix.reader() as reader:
        for stored in reader.all_stored_fields():
            src = stored["source"]
            counts[src] += 1
            seen[src] = (
                stored.get("note_mtime_ns", 0),
                stored.get("note_size", -1),
                stored.get("note_hash", ""),
            )
    return {p: NoteRecord(m, s, h, counts[p]) for p, (m, s, h) in seen.items()}


def current_records(
    ix: Any, index_dir: Path, name: str, manifest: Manifest | None = None
) -> tuple[dict[str, NoteRecord], Manifest | None]:
    """The per-note record, and the manifest (read here unless given) if it matches the
    index's latest commit; if not (crash after a commit) the record is rebuilt from the
    index itself."""
    manifest = manifest if manifest is not None else read_manifest(index_dir, name)
    if manifest is not None and manifest.generation == ix.latest_generation():
        return dict(manifest.notes), manifest
    return records_from_index(ix), None


def generation_files(ix: Any, name: str) -> list[str]:
    """The files the index's latest commit is made of: its TOC and its segments' files."""
    prefixes = tuple(f"{seg.segment_id()}." for seg in ix._segments())
    files = [n for n in ix.storage.list() if n.startswith(prefixes)]
    return [f"_{name}_{ix.latest_generation()}.toc", *sorted(files)]


def new_manifest(
    ix: Any,
    index_dir: Path,
    name: str,
    notes: dict[str, NoteRecord],
    old: Manifest | None,
    scan: Scan | None = None,
    skipped: Mapping[str, tuple[int, int, str]] | None = None,
) -> Manifest:
    files = digest_files(index_dir, generation_files(ix, name), old.files if old else {})
    stats, scanned = (scan.stats(notes), scan.started_ns) if scan is not None else ({}, 0)
    return Manifest(
        name, ix.latest_generation(), time.time(), notes, files, stats, scanned, skipped or {}
    )


@dataclass
class Scan:
    """One listing of the vault: its notes, what it skipped, and the folder mtimes that
    let the next refresh check skip listing (opening.needs_refresh)."""

    notes: dict[str, FileInfo]
    log: ScanLog
    started_ns: int
    vault: Path

    def stats(self, indexed: Mapping[str, NoteRecord]) -> dict[str, Any]:
        """The manifest's `stats`: empty (no shortcut) if a folder could not be listed."""
        if self.log.unreadable:
            return {}
        out: dict[str, Any] = dict(self.log.folders)
        try:
            st = os.stat(self.vault / IGNORE_FILE)
            out[IGNORE_FILE] = [st.st_mtime_ns, st.st_size]
        except OSError:
            pass  # no ignore file: creating one changes the root folder's mtime
        for path, info in self.notes.items():
            if path not in indexed:  # could not be read: its next edit must count
                out[path] = [info.mtime_ns, info.size]
        return out


# A folder changed this close before the scan that recorded it may change again within
# the same timestamp tick unseen (git's "racily clean" entries): such a folder is listed.
RACY_NS = 2_000_000_000


def stat_scan(vault: Path, manifest: Manifest | None) -> Scan | None:
    """The notes as a listing would find them, from one stat per recorded folder and note,
    when no folder changed since the manifest's scan (an edit in place changes the note,
    not its folder); None when a listing is needed (a folder or the ignore file changed,
    a note is gone, or the manifest has no folder record)."""
    if manifest is None or not manifest.stats or not manifest.scanned_ns:
        return None
    root = str(vault)
    racy = manifest.scanned_ns - RACY_NS
    log = ScanLog()
    notes: dict[str, FileInfo] = {}
    try:
        for rel, seen in manifest.stats.items():
            st = os.stat(f"{root}/{rel}" if rel else root)
            if isinstance(seen, int):  # a folder
                if seen >= racy or st.st_mtime_ns != seen:
                    return None
                log.folders[rel] = seen
            elif rel == IGNORE_FILE:
                if [st.st_mtime_ns, st.st_size] != seen:
                    return None
            else:  # a note that could not be read last time
                notes[rel] = FileInfo(rel, st.st_mtime_ns, st.st_size)
        for path in manifest.notes:
            st = os.stat(f"{root}/{path}")
            notes[path] = FileInfo(path, st.st_mtime_ns, st.st_size)
    except OSError:
        return None
    return Scan(dict(sorted(notes.items())), log, manifest.scanned_ns, vault)


def scan(vault: Path, follow_symlinks: bool) -> Scan:
    log = ScanLog()
    started = time.time_ns()
    return Scan(scan_notes(vault, follow_symlinks, log), log, started, vault)


def unchanged_skips(
    scan: Mapping[str, FileInfo], records: Mapping[str, NoteRecord],
    skipped: Mapping[str, tuple[int, int, str]],
) -> set[str]:
    """Files of `scan` that were skipped before and have not changed since: not new (a
    note skipped for its size that the cap now lets through is new again, and so is one
    skipped as binary by a version that did not read UTF-16 by its BOM)."""
    cap = max_note_bytes()
    return {
        p for p, info in scan.items()
        if p not in records and (s := skipped.get(p)) is not None
        and (s[0], s[1]) == (info.mtime_ns, info.size)
        and not (SIZE_CAP_WHY in s[2] and info.size <= cap)
        and not (BINARY_WHY in s[2] and s[2] != BINARY_SKIP)
    }


def record_skips(
    vault: Path, warnings: Sequence[NoteWarning], before: Mapping[str, tuple[int, int, str]],
    into: dict[str, tuple[int, int, str]], scan: Mapping[str, FileInfo] | None = None,
) -> list[NoteWarning]:
    """Add to `into` the files `warnings` name as skipped, with their stat now, and return
    the warnings worth showing: those about a file that was not skipped before for the
    same reason at the same stat."""
    shown = []
    for w in warnings:
        info = scan.get(w.path) if scan is not None else None
        if info is not None:
            stat_now = (info.mtime_ns, info.size)
        else:
            try:
                st = os.lstat(vault / w.path)
                stat_now = (st.st_mtime_ns, st.st_size)
            except OSError:
                shown.append(w)
                continue
        into[w.path] = (*stat_now, w.message)
        if before.get(w.path) != into[w.path]:
            shown.append(w)
    return shown


def refuse_damaged(
    ix: Any, index_dir: Path, manifest: Manifest | None, checksums: bool
) -> None:
    """Cheap check before an update: the files the manifest recorded for the latest
    commit present at their sizes, and every segment opens. An update must not call a
    truncated index "unchanged"."""
    problems: list[str] = []
    if manifest is not None and manifest.generation == ix.latest_generation():
        problems = file_problems(index_dir, manifest.files, checksums=checksums)
    if not problems:
        try:
            with ix.reader():
                pass
        except Exception as exc:  # EOFError, struct.error, zlib.error, unpickling…
            problems.append(f"{type(exc).__name__}: {exc}")
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise IndexCorruptError(
            f"the index in {index_dir} is damaged ({problems[0]}{more}); {REBUILD_HINT}"
        )


def latest_generation(index_dir: Path, name: str) -> int:
    # Whoosh's own rule (highest TOC number) without importing the index machinery.
    pattern = re.compile(rf"^_{name}_([0-9]+)\.toc$")
    gens = [int(m.group(1)) for n in os.listdir(index_dir) if (m := pattern.match(n))]
    return max(gens, default=-1)


