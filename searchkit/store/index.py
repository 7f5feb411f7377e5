"""The on-disk Whoosh index of a vault: build and incremental update (schema.py holds
the fields, status.py the status, opening.py opening for search and the refresh check).

All Whoosh use lives here, in `opening.py` and in `search.py`, so a later engine change
stays local.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .._fastimport import whoosh  # whoosh.index, imported without urllib.request
from ..errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexReadOnlyError,
    SearchkitError,
    VaultError,
)
from ..ingest.notes import NoteWarning
from ..ingest.version import CHUNKER_VERSION
from .indexdir import (
    META_FILE,
    IndexMeta,
    NoteRecord,
    foreign_entries,
    index_write_error,
    make_private_dir,
    make_private_files,
    new_index_name,
    read_manifest,
    read_meta,
    remove_stale,
    write_lock,
    write_manifest,
    write_meta,
)

# open_for_search is re-exported: tests and scripts import it from here.
from .opening import _open_whoosh, _version_problem, needs_refresh, open_for_search  # noqa: F401
from .records import (
    current_records,
    diff_vault,
    new_manifest,
    record_skips,
    refuse_damaged,
    scan,
    stat_scan,
    unchanged_skips,
    unlisted,
)
from .safety import check_removals, check_vault_still_there, vault_identity, write_failure
from .schema import SCHEMA_VERSION, build_schema, note_documents

# ---------------------------------------------------------------------------------------
# Public results


@dataclass(frozen=True)
class Progress:
    """Where a build or update is: passed to the `progress` callback."""

    notes_done: int
    notes_total: int
    chunks: int
    # "reading" the notes, then "committing": segments written and merged, of how many
    # (0: not known ahead, as for the segments an update merges).
    phase: str = "reading"
    segments_done: int = 0
    segments_total: int = 0


@dataclass(frozen=True)
class UpdateReport:
    added: int
    changed: int
    removed: int
    unchanged: int
    notes: int  # notes in the index after the update
    chunks: int  # chunks in the index after the update
    seconds: float
    warnings: tuple[NoteWarning, ...] = ()
    rebuilt: bool = False
    reason: str | None = None  # why the index was rebuilt (or first built)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "notes": self.notes,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "warnings": [{"path": w.path, "message": w.message} for w in self.warnings],
            "rebuilt": self.rebuilt,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class IndexStatus:
    vault: str
    index_dir: str
    notes: int
    chunks: int
    size_bytes: int
    last_update: float | None  # epoch seconds of the last write
    schema_version: int
    chunker_version: int
    stale_new: int  # notes in the vault, not in the index
    stale_changed: int  # notes whose content differs from the indexed version
    stale_removed: int  # indexed notes gone from the vault
    needs_rebuild: str | None = None  # why the next update will rebuild, if it will
    # Files not indexed (binary, too big, not a regular file…): path -> why. Not stale.
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def stale(self) -> int:
        return self.stale_new + self.stale_changed + self.stale_removed

    def to_dict(self) -> dict[str, Any]:
        return {
            "vault": self.vault,
            "index_dir": self.index_dir,
            "notes": self.notes,
            "chunks": self.chunks,
            "size_bytes": self.size_bytes,
            "last_update": self.last_update,
            "schema_version": self.schema_version,
            "chunker_version": self.chunker_version,
            "stale": {
                "new": self.stale_new,
                "changed": self.stale_changed,
                "removed": self.stale_removed,
            },
            "needs_rebuild": self.needs_rebuild,
            "skipped": [{"path": p, "why": why} for p, why in self.skipped],
        }


class _Ticker:
    """Calls `progress` at most every 0.1 s, and always at the end."""

    def __init__(self, progress: Callable[[Progress], None] | None, total: int) -> None:
        self.progress, self.total, self.done, self.chunks, self.last = progress, total, 0, 0, 0.0

    def step(self, chunks: int) -> None:
        self.done += 1
        self.chunks += chunks
        now = time.monotonic()
        if self.progress is not None and (now - self.last >= 0.1 or self.done == self.total):
            self.last = now
            self.progress(Progress(self.done, self.total, self.chunks))

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(Progress(self.done, self.total, self.chunks))

    def committing(self, writer: Any) -> None:
        """Report the commit as it goes: the segments `writer` writes and merges."""
        if self.progress is None:
            return
        self.progress(Progress(self.done, self.total, self.chunks, "committing"))
        report = self._segment
        if hasattr(writer, "on_segment"):  # DyingMpWriter: one segment per sub-writer
            writer.on_segment = report
        else:  # one writer: each older segment merged into the new one (MERGE_SMALL)
            add_reader, merged = writer.add_reader, [0]

            def counted(reader: Any) -> None:
                add_reader(reader)
                merged[0] += 1
                report(merged[0], 0)

            writer.add_reader = counted

    def _segment(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(Progress(self.done, self.total, self.chunks, "committing", done, total))


# ---------------------------------------------------------------------------------------
# Build and update

# Posting memory of a build, in MB of packed postings (store/pool.py), shared out among
# its writer processes: past its share a writer moves its postings to a sorted run file,
# merged term by term when the segment is written. At 9k notes the postings take ~130 MB;
# bounded at 48 (24 a writer with two), a build's peak RSS was 126 MB with one writer and
# 268-276 MB with two (the whole process tree), at the same CPU as holding them all.
# scripts/bench/bench_index.py sets other values to compare.
WRITER_LIMITMB = 48


def update_index(
    index_dir: str | Path,
    vault: str | Path | None = None,
    *,
    rebuild: bool = False,
    progress: Callable[[Progress], None] | None = None,
    lock_timeout: float = 10.0,
    jobs: int | None = None,
    follow_symlinks: bool | None = None,
    allow_mass_delete: bool = False,
    verify: bool = False,
) -> UpdateReport:
    """Bring the index in `index_dir` up to date with `vault` (default: the vault the index
    remembers), building it if the directory is empty or missing.

    Only new and changed notes are re-chunked, in one commit. A version mismatch or
    `rebuild=True` builds a fresh index next to the old one, which stays searchable until
    the new one is committed. Raises `IndexLockedError` after `lock_timeout` seconds if
    another writer holds the index, `VaultError`, `IndexCorruptError`.

    `follow_symlinks`: also index notes reached through symlinks that leave the vault;
    None keeps what the index remembers (default off).

    An update that would leave the index empty or remove more than half of its notes at
    once raises `MassDeleteError` and changes nothing, unless `allow_mass_delete`: an
    unmounted or not-yet-synced vault looks just like a deleted one. A vault root that
    vanishes while the update runs raises `VaultError`, also before any commit.

    Before an incremental update the index's files are compared with the sizes recorded
    when they were written and every segment is opened (`IndexCorruptError` if damaged);
    `verify` also compares their checksums (reads the whole index once).
    """
    # Multiprocessing and Whoosh's writers load only when writing (cold search start).
    from .workers import default_jobs

    started = time.perf_counter()
    index_dir = Path(index_dir).absolute()
    _refuse_foreign(index_dir)
    try:
        try:
            make_private_dir(index_dir)
            lock = write_lock(index_dir, lock_timeout)
        except OSError as exc:
            raise index_write_error(exc, index_dir) from exc
        with lock:
            try:
                report = _update_locked(
                    index_dir, vault, rebuild, progress, lock_timeout, jobs or default_jobs(),
                    follow_symlinks, allow_mass_delete, verify, started,
                )  # fmt: skip
                make_private_files(index_dir)
                return report
            except OSError as exc:
                # Still under the lock: the failed writer's files can go safely.
                raise write_failure(exc, index_dir) from exc
    except IndexReadOnlyError:
        # Nothing to do needs no write: say "unchanged" rather than fail on the lock.
        quiet = None if rebuild or follow_symlinks is not None else _no_change(index_dir, vault)
        if quiet is None:
            raise
        return replace(quiet, seconds=time.perf_counter() - started)


def _no_change(index_dir: Path, vault: str | Path | None) -> UpdateReport | None:
    """The report of an update with nothing to do, or None if there is something to do."""
    try:
        if needs_refresh(index_dir, vault):
            return None
        meta = read_meta(index_dir)
        manifest = read_manifest(index_dir, meta.index_name) if meta and meta.index_name else None
    except SearchkitError:
        return None
    if manifest is None:
        return None
    notes = manifest.notes
    chunks = sum(r.chunks for r in notes.values())
    return UpdateReport(0, 0, 0, len(notes), len(notes), chunks, 0.0)


def _update_locked(
    index_dir: Path,
    vault: str | Path | None,
    rebuild: bool,
    progress: Callable[[Progress], None] | None,
    lock_timeout: float,
    jobs: int,
    follow_symlinks: bool | None,
    allow_mass_delete: bool,
    verify: bool,
    started: float,
) -> UpdateReport:
    try:
        meta = read_meta(index_dir)
    except IndexCorruptError:
        if not rebuild:
            raise
        meta = None
    vault_path = _choose_vault(index_dir, meta, vault, rebuild)
    if meta is None or (meta.index_name is None and meta.vault != str(vault_path)):
        # Mark the directory as ours before any Whoosh file appears in it.
        meta = IndexMeta(str(vault_path), SCHEMA_VERSION, CHUNKER_VERSION, None, time.time())
        write_meta(index_dir, meta)
    follow = meta.follow_symlinks if follow_symlinks is None else follow_symlinks
    if follow != meta.follow_symlinks:
        meta = replace(meta, follow_symlinks=follow)
        write_meta(index_dir, meta)
    reason = _rebuild_reason(meta, rebuild, vault_path)
    job = _Job(
        index_dir, vault_path, progress, jobs, lock_timeout, started, follow,
        allow_mass_delete, vault_identity(vault_path), verify,
    )  # fmt: skip
    if reason is not None:
        return _full_build(job, meta, reason)
    ix = _open_whoosh(index_dir, meta.index_name or "")
    remove_stale(index_dir, keep=meta.index_name)
    return _incremental(job, meta.index_name or "", ix)


@dataclass(frozen=True)
class _Job:
    index_dir: Path
    vault: Path
    progress: Callable[[Progress], None] | None
    jobs: int
    lock_timeout: float
    started: float
    follow_symlinks: bool
    allow_mass_delete: bool
    vault_id: tuple[int, int]  # device and inode of the vault root when the update began
    verify: bool  # compare index files with their checksums before updating


def _refuse_foreign(index_dir: Path) -> None:
    if (index_dir / META_FILE).exists():
        return
    foreign = foreign_entries(index_dir)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise IndexCorruptError(
            f"{index_dir} is not empty and is not a searchkit index (it holds {shown}); "
            "refusing to write there. Use an empty or new index directory."
        )


def _choose_vault(
    index_dir: Path, meta: IndexMeta | None, vault: str | Path | None, rebuild: bool
) -> Path:
    if vault is None:
        if meta is None:
            raise VaultError(f"no vault given, and {index_dir} does not record one")
        chosen = Path(meta.vault)
    else:
        chosen = Path(vault).expanduser().resolve()
        if meta is not None and meta.index_name and meta.vault != str(chosen) and not rebuild:
            raise VaultError(
                f"the index at {index_dir} belongs to vault {meta.vault}, not {chosen}; "
                f"rebuild it for the new vault (`searchkit index --rebuild {chosen}`) "
                "or use another index directory"
            )
    if not chosen.is_dir():
        raise VaultError(f"vault not found or not a directory: {chosen}")
    return chosen


def _rebuild_reason(meta: IndexMeta, rebuild: bool, vault: Path) -> str | None:
    if meta.index_name is None:
        return "new index"
    if rebuild:
        return "rebuild requested" + (
            f" (vault changed from {meta.vault})" if meta.vault != str(vault) else ""
        )
    return _version_problem(meta)


def _writer(ix: Any, job: _Job, procs: int = 1) -> Any:
    from .workers import DyingMpWriter, FastSegmentWriter  # kept off the search path

    try:
        if procs > 1:
            # Each process writes its own segment (multisegment): no merge at commit.
            return DyingMpWriter(
                ix, procs=procs, multisegment=True, timeout=job.lock_timeout,
                limitmb=WRITER_LIMITMB / procs,
            )  # fmt: skip
        return FastSegmentWriter(ix, timeout=job.lock_timeout, limitmb=WRITER_LIMITMB)
    except whoosh.index.LockError as exc:
        # Our own lock is held, so this is some other program writing with Whoosh directly.
        raise IndexLockedError(
            f"the Whoosh index in {job.index_dir} is locked by another program"
        ) from exc


def _abort(writer: Any) -> None:
    # MpWriter.cancel() only flags its worker processes in *this* process; they would wait
    # on their queue forever and block interpreter exit. Stop them for real.
    for task in getattr(writer, "tasks", ()):
        with contextlib.suppress(Exception):
            task.terminate()
            task.join(1)
            if task.is_alive():  # a bounded wait: a stuck sub-writer must not keep the lock
                task.kill()
                task.join(1)
    with contextlib.suppress(Exception):
        writer.cancel()


def _full_build(job: _Job, meta: IndexMeta, reason: str) -> UpdateReport:
    """Build a fresh index under a new name, then switch the meta to it.

    Until `write_meta` the old index (if any) stays the live one; a crash anywhere before
    leaves it untouched, and the half-built files are removed by the next writer.
    """
    from .workers import POOL_MIN_NOTES, fork_is_safe, load_all  # kept off the search path

    old: dict[str, NoteRecord] = {}
    if meta.index_name:
        manifest = read_manifest(job.index_dir, meta.index_name)
        old = dict(manifest.notes) if manifest else {}
    listing = scan(job.vault, job.follow_symlinks)
    log = listing.log
    paths = list(listing.notes)
    if meta.vault != str(job.vault):
        old_kept: dict[str, NoteRecord] = {}  # another vault: nothing of the old one stays
    else:
        old_kept = old
        found = set(paths)
        gone = [p for p in old if p not in found and not unlisted(p, log.unreadable)]
        check_removals(job.vault, len(old), len(paths), gone, job.allow_mass_delete)
    name = new_index_name()
    ix = whoosh.index.create_in(str(job.index_dir), build_schema(), indexname=name)
    parallel = job.jobs > 1 and len(paths) >= POOL_MIN_NOTES
    # Whoosh's sub-writers are forked processes: in a server (threads, its own signal
    # handlers) one writer process does it, the chunking pool still runs in parallel.
    writer = _writer(ix, job, procs=job.jobs if parallel and fork_is_safe() else 1)
    records: dict[str, NoteRecord] = {}
    skipped: dict[str, tuple[int, int, str]] = {}
    warnings: list[NoteWarning] = record_skips(job.vault, log.warnings, {}, skipped, log.stats)
    ticker = _Ticker(job.progress, len(paths))
    try:
        for item in load_all(str(job.vault), paths, job.jobs if parallel else 1, note_documents):
            warnings.extend(item.warnings)
            if item.record is None and not item.gone:
                record_skips(job.vault, item.warnings[:1], {}, skipped)
            if item.record is not None:
                records[item.path] = item.record
                with writer.group():  # one note's passages in one segment, in order
                    for doc in item.docs:
                        writer.add_document(**doc)
            ticker.step(len(item.docs))
        check_vault_still_there(job.vault, job.vault_id)
        missing = [p for p in old_kept if p not in records]
        check_removals(job.vault, len(old_kept), len(records), missing, job.allow_mass_delete)
        ticker.committing(writer)
        writer.commit()
    except BaseException:
        _abort(writer)
        raise
    ticker.finish()
    write_manifest(
        job.index_dir, new_manifest(ix, job.index_dir, name, records, None, listing, skipped)
    )
    write_meta(
        job.index_dir,
        replace(
            meta,
            vault=str(job.vault),
            index_name=name,
            schema_version=SCHEMA_VERSION,
            chunker_version=CHUNKER_VERSION,
        ),
    )
    remove_stale(job.index_dir, keep=name)
    same = [p for p in records if p in old]
    changed = sum(1 for p in same if old[p].hash != records[p].hash)
    return UpdateReport(
        added=len(records) - len(same),
        changed=changed,
        removed=sum(1 for p in old if p not in records),
        unchanged=len(same) - changed,
        notes=len(records),
        chunks=sum(r.chunks for r in records.values()),
        seconds=time.perf_counter() - job.started,
        warnings=tuple(warnings),
        rebuilt=meta.index_name is not None,
        reason=reason,
    )


def _incremental(job: _Job, name: str, ix: Any) -> UpdateReport:
    from .workers import load_all  # kept off the search path

    recorded = read_manifest(job.index_dir, name)
    refuse_damaged(ix, job.index_dir, recorded, job.verify)
    records, manifest = current_records(ix, job.index_dir, name, recorded)
    # No folder changed (notes edited in place): a stat per note instead of a listing.
    listing = stat_scan(job.vault, manifest) or scan(job.vault, job.follow_symlinks)
    log = listing.log
    before = dict(manifest.skipped) if manifest is not None else {}
    # Files skipped before and unchanged since are neither new nor warned about again.
    known = unchanged_skips(listing.notes, records, before)
    skipped = {p: before[p] for p in known}
    diff = diff_vault(job.vault, records,
                      {p: i for p, i in listing.notes.items() if p not in known},
                      log.unreadable)  # fmt: skip
    check_removals(
        job.vault, len(records), len(listing.notes), diff.removed, job.allow_mass_delete
    )
    todo = diff.new + diff.changed
    new_records = dict(records)
    for path, info in diff.touched.items():
        new_records[path] = replace(records[path], mtime_ns=info.mtime_ns)
    warnings: list[NoteWarning] = record_skips(job.vault, log.warnings, before, skipped, log.stats)
    counts = Counter[str]()
    if todo or diff.removed:
        ticker = _Ticker(job.progress, len(todo))
        writer = _writer(ix, job)
        try:
            # One searcher for every delete: 0.2 ms each instead of 7 ms (research §1.3 D).
            with writer.searcher() as searcher:
                for path in diff.removed:
                    writer.delete_by_term("source", path, searcher=searcher)
                    del new_records[path]
                    counts["removed"] += 1
                for item in load_all(str(job.vault), todo, job.jobs, note_documents):
                    if item.record is None and not item.gone and item.path not in records:
                        # Never indexed: remember it, so it is not retried until it changes.
                        record_skips(job.vault, item.warnings[:1], before, skipped, listing.notes)
                    warnings.extend(item.warnings)
                    ticker.step(len(item.docs))
                    if item.record is None and not item.gone:
                        continue  # unreadable now: keep its old chunks and record
                    # Delete by source before adding, so a half-applied state converges.
                    writer.delete_by_term("source", item.path, searcher=searcher)
                    if item.record is None:
                        counts["removed"] += item.path in records
                        new_records.pop(item.path, None)
                        continue
                    with writer.group():
                        for doc in item.docs:
                            writer.add_document(**doc)
                    new_records[item.path] = item.record
                    counts["changed" if item.path in records else "added"] += 1
            # Notes that vanished while being read count too (a vault moved away mid-run).
            check_vault_still_there(job.vault, job.vault_id)
            gone = [p for p in records if p not in new_records]
            check_removals(job.vault, len(records), len(new_records), gone, job.allow_mass_delete)
            if counts:
                ticker.committing(writer)
                writer.commit()
            else:  # only notes that failed to load: keep the generation as it is
                writer.cancel()
        except BaseException:
            _abort(writer)
            raise
        ticker.finish()
    stats = listing.stats(new_records)
    if (todo or diff.removed or diff.touched or manifest is None or stats != manifest.stats
            or skipped != before):
        new = new_manifest(ix, job.index_dir, name, new_records, manifest, listing, skipped)
        write_manifest(job.index_dir, new, manifest)
    return UpdateReport(
        added=counts["added"],
        changed=counts["changed"],
        removed=counts["removed"],
        unchanged=diff.unchanged + len(diff.touched),
        notes=len(new_records),
        chunks=sum(r.chunks for r in new_records.values()),
        seconds=time.perf_counter() - job.started,
        warnings=tuple(warnings),
    )
