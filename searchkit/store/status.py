"""Reading an index without changing it: what it holds, how stale it is, and whether
every segment can still be read (`searchkit status [--check]`)."""

from __future__ import annotations

import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, SearchkitError, VaultError
from ..ingest.notes import ScanLog
from .index import IndexStatus
from .indexdir import dir_size, file_problems, read_manifest
from .opening import _open_whoosh, _read_built_meta, _version_problem
from .records import (
    current_records,
    diff_vault,
    latest_generation,
    record_skips,
    scan_notes,
    unchanged_skips,
)


def index_status(index_dir: str | Path, vault: str | Path | None = None) -> IndexStatus:
    """What is indexed and how much of the vault is stale, without changing anything.

    Staleness costs a stat scan plus hashing the files whose mtime alone differs.
    """
    index_dir = Path(index_dir).absolute()
    meta = _read_built_meta(index_dir)
    if vault is not None and str(Path(vault).expanduser().resolve()) != meta.vault:
        raise VaultError(f"the index at {index_dir} belongs to vault {meta.vault}, not {vault}")
    ix = _open_whoosh(index_dir, meta.index_name or "")
    records, manifest = current_records(ix, index_dir, meta.index_name or "")
    written = manifest.updated if manifest is not None else None
    chunks = ix.doc_count()
    vault_path = Path(meta.vault)
    before = dict(manifest.skipped) if manifest is not None else {}
    skipped: dict[str, tuple[int, int, str]] = {}
    if vault_path.is_dir():
        log = ScanLog()
        scan = scan_notes(vault_path, meta.follow_symlinks, log)
        # Skipped files are listed apart, not counted as stale while they stay unchanged.
        known = unchanged_skips(scan, records, before)
        skipped = {p: before[p] for p in known}
        record_skips(vault_path, log.warnings, before, skipped, log.stats)
        diff = diff_vault(vault_path, records, {p: i for p, i in scan.items() if p not in known},
                          log.unreadable)
        new, changed, removed = len(diff.new), len(diff.changed), len(diff.removed)
    else:  # the vault is gone: everything indexed is stale
        new, changed, removed = 0, 0, len(records)
    if written is None:
        written = os.stat(index_dir / f"_{meta.index_name}_{ix.latest_generation()}.toc").st_mtime
    return IndexStatus(
        vault=meta.vault,
        index_dir=str(index_dir),
        notes=len(records),
        chunks=chunks,
        size_bytes=dir_size(index_dir),
        last_update=written,
        schema_version=meta.schema_version,
        chunker_version=meta.chunker_version,
        stale_new=new,
        stale_changed=changed,
        stale_removed=removed,
        needs_rebuild=_version_problem(meta),
        skipped=tuple((p, v[2]) for p, v in sorted(skipped.items())),
    )


# ---------------------------------------------------------------------------------------
# Integrity check


@dataclass(frozen=True)
class IndexCheck:
    """What `check_index` found. `sound` is False as soon as one problem was found."""

    index_dir: str
    segments: int
    documents: int
    files_checked: int  # files compared with the checksums written with them
    problems: tuple[str, ...] = ()

    @property
    def sound(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_dir": self.index_dir,
            "sound": self.sound,
            "segments": self.segments,
            "documents": self.documents,
            "files_checked": self.files_checked,
            "problems": list(self.problems),
        }


def check_index(index_dir: str | Path) -> IndexCheck:
    """Read every file and segment of the live index and say whether it is sound.

    Compares each file with the size and checksum written with it (this finds overwritten
    bytes no read would notice), then reads every stored document, term, posting list and
    column. Raises only `IndexNotFoundError`; every kind of damage is a problem listed in
    the result. Costs a full read of the index.
    """
    index_dir = Path(index_dir).absolute()
    try:
        meta = _read_built_meta(index_dir)
        ix = _open_whoosh(index_dir, meta.index_name or "")
    except IndexCorruptError as exc:
        return IndexCheck(str(index_dir), 0, 0, 0, (str(exc),))
    name = meta.index_name or ""
    problems: list[str] = []
    manifest = read_manifest(index_dir, name)
    checked = 0
    if manifest is not None and manifest.generation == ix.latest_generation():
        problems += file_problems(index_dir, manifest.files, checksums=True)
        checked = len(manifest.files)
    segments = documents = 0
    try:
        with ix.reader() as reader:
            for seg in reader.leaf_readers():
                segments += 1
                documents += _read_segment(seg[0], problems)
    except Exception as exc:  # the segments cannot even be opened
        problems.append(f"cannot open the segments: {type(exc).__name__}: {exc}")
    if manifest is not None and not problems and manifest.generation == ix.latest_generation():
        recorded = sum(r.chunks for r in manifest.notes.values())
        if recorded != documents:
            problems.append(f"{documents} documents, the manifest records {recorded}")
    return IndexCheck(str(index_dir), segments, documents, checked, tuple(problems))


def _read_segment(reader: Any, problems: list[str]) -> int:
    """Read everything in one segment; add what failed to `problems`. Returns its docs."""
    where = f"segment {getattr(reader, '_segment', None) and reader._segment.segment_id()}"
    docs = 0
    try:
        for _fields in reader.all_stored_fields():
            docs += 1
        for fieldname, text in reader.all_terms():
            for _id in reader.postings(fieldname, text).all_ids():
                pass
        for fieldname in reader.schema.names():
            if reader.has_column(fieldname):
                for _value in reader.column_reader(fieldname):
                    pass
    except Exception as exc:  # EOFError, zlib.error, struct.error, unpickling…
        problems.append(f"{where}: {type(exc).__name__}: {exc}")
    return docs


# Exception types that damaged index files raise from deep inside Whoosh; anything else
# from a search is more likely a bug, for which a full read of the index is not worth it.
_DAMAGE_TYPES: tuple[type[BaseException], ...] = (
    EOFError, OSError, struct.error, zlib.error, pickle.UnpicklingError, MemoryError,
    OverflowError,
)  # fmt: skip


def damage_behind(index_dir: str | Path, exc: BaseException) -> tuple[str, ...]:
    """The index damage that may explain `exc` raised by a search; empty if none found.

    Always compares file sizes with those recorded; reads the whole index (checksums and
    every segment) only for the exception types damaged files cause."""
    index_dir = Path(index_dir).absolute()
    if isinstance(exc, _DAMAGE_TYPES):
        return check_index(index_dir).problems
    try:
        meta = _read_built_meta(index_dir)
        manifest = read_manifest(index_dir, meta.index_name or "")
    except SearchkitError:
        return ()
    name = meta.index_name or ""
    if manifest is None or manifest.generation != latest_generation(index_dir, name):
        return ()
    return tuple(file_problems(index_dir, manifest.files, checksums=False))
