"""Guards that keep an update from destroying a good index: a vault that is empty,
unmounted or moved away looks exactly like one whose notes were all deleted, so an update
that would remove most of the index stops and asks instead.

Kept apart from `index.py` so the rules are easy to find and test on their own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .errors import MassDeleteError, VaultError

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
