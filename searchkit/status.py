"""Reading an index without changing it: what it holds, how stale it is, and whether
every segment can still be read (`searchkit status [--check]`)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import VaultError
from .index import (
    IndexStatus,
    _diff,
    _open_whoosh,
    _read_built_meta,
    _records,
    _scan,
    _version_problem,
)
from .indexdir import dir_size
from .notes import ScanLog


def index_status(index_dir: str | Path, vault: str | Path | None = None) -> IndexStatus:
    """What is indexed and how much of the vault is stale, without changing anything.

    Staleness costs a stat scan plus hashing the files whose mtime alone differs.
    """
    index_dir = Path(index_dir).absolute()
    meta = _read_built_meta(index_dir)
    if vault is not None and str(Path(vault).expanduser().resolve()) != meta.vault:
        raise VaultError(f"the index at {index_dir} belongs to vault {meta.vault}, not {vault}")
    ix = _open_whoosh(index_dir, meta.index_name or "")
    records, written = _records(ix, index_dir, meta.index_name or "")
    chunks = ix.doc_count()
    vault_path = Path(meta.vault)
    if vault_path.is_dir():
        log = ScanLog()
        diff = _diff(vault_path, records, _scan(vault_path, meta.follow_symlinks, log),
                     log.unreadable)  # fmt: skip
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
    )
