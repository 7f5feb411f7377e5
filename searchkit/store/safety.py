"""Guards that keep an update from destroying a good index: a vault that is empty,
unmounted or moved away looks exactly like one whose notes were all deleted, so an update
that would remove most of the index stops and asks instead.

Kept apart from `index.py` so the rules are easy to find and test on their own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..errors import DiskFullError, IndexWriteError, MassDeleteError, SearchkitError, VaultError
from ..ingest.notes import scan_vault
from .indexdir import index_write_error, owner_name, read_meta, remove_stale

ALLOW_FLAG = "--allow-mass-delete"


def check_removals(
    vault: Path, indexed: int, remaining: int, removed: Sequence[str], allow: bool
) -> None:
    """Raise `MassDeleteError` unless `allow`, when an update would empty the index or
    remove more than half of its `indexed` notes at once (`remaining`: notes found)."""
    if allow or not removed or indexed == 0:
        return
    if remaining == 0:
        why = (
            f"the vault {vault} holds no notes now (an unmounted drive, or a sync folder "
            f"not filled yet?); removing all {indexed} indexed notes"
        )
    elif len(removed) * 2 > indexed:
        why = f"{len(removed)} of the {indexed} indexed notes vanished from {vault} at once"
    else:
        return
    raise MassDeleteError(
        f"{why} was refused; the index is unchanged. If the notes really are gone, run "
        f"`searchkit index {ALLOW_FLAG}`",
        tuple(sorted(removed)),
        indexed,
    )


def vault_identity(vault: Path) -> tuple[int, int]:
    """Device and inode of the vault root, to notice it moving away during an update."""
    try:
        st = os.stat(vault)
    except OSError as exc:
        raise VaultError(f"vault not found or not a directory: {vault}") from exc
    return (st.st_dev, st.st_ino)


def check_vault_still_there(vault: Path, identity: tuple[int, int]) -> None:
    """Raise `VaultError` if the vault root vanished or was replaced since `identity`:
    every note read after that point would look deleted."""
    try:
        same = vault_identity(vault) == identity
    except VaultError:
        same = False
    if not same:
        raise VaultError(
            f"the vault {vault} disappeared or was replaced during the update; nothing was "
            "changed (the last committed index stays). Run the update again once it is back."
        )


# ---------------------------------------------------------------------------------------
# A write that failed (full disk, read-only file system)


def write_failure(exc: OSError, index_dir: Path) -> IndexWriteError:
    """The typed error for an OS error during an update, after removing what the failed
    writer left behind. Call it while holding the write lock."""
    if exc.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return index_write_error(exc, index_dir)
    live = clean_after_failure(index_dir)
    needed = _space_needed(index_dir, live)
    try:
        free = shutil.disk_usage(index_dir).free
    except OSError:
        free = 0
    return DiskFullError(
        f"disk full while writing the index in {index_dir}: {_mb(free)} free, about "
        f"{_mb(needed)} needed; temporary files were removed and the last committed index "
        "is intact. Free some space and run `searchkit index` again.",
        needed,
        free,
    )


def clean_after_failure(index_dir: Path) -> str | None:
    """Remove every file of a failed write: other indexes' files (a half-built rebuild),
    temp files, and the live index's segments that its latest commit does not list.
    Returns the live index name."""
    try:
        meta = read_meta(index_dir)
    except SearchkitError:
        return None  # not ours to judge: leave the files for a rebuild
    live = meta.index_name if meta is not None else None
    remove_stale(index_dir, keep=live)
    if live is not None:
        with contextlib.suppress(Exception):  # best effort: the error already says enough
            import whoosh.index

            ix = whoosh.index.open_dir(str(index_dir), indexname=live)
            whoosh.index.clean_files(ix.storage, live, ix.latest_generation(), ix._segments())
    return live


def _space_needed(index_dir: Path, live: str | None) -> int:
    # A merge may rewrite the whole live index, and a rebuild writes one as big again;
    # with no index yet, the notes' own size is the best guess of what the build writes.
    size = 0
    for name in os.listdir(index_dir):
        if live is not None and owner_name(name) == live:
            with contextlib.suppress(OSError):
                size += os.stat(index_dir / name).st_size
    if size == 0:
        with contextlib.suppress(SearchkitError, OSError):
            meta = read_meta(index_dir)
            if meta is not None:
                size = 2 * sum(f.size for f in scan_vault(meta.vault))
    return size + (1 << 20)  # room for the manifest and lock


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
