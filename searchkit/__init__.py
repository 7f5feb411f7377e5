"""searchkit: ranked passage search for markdown note vaults.

    >>> import searchkit
    >>> with searchkit.open_index("store.index", vault="examples/vault") as ix:
    ...     ix.update()
    ...     for passage in ix.search("sleep memory", limit=3):
    ...         print(passage.title, passage.links.file)
"""

from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562): `import searchkit.cli` must not pay ~130 ms
# for Whoosh when `searchkit search` hands the query to a running `searchkit serve`.
_EXPORTS = {
    "SearchIndex": "api", "open_index": "api",
    "Chunk": "ingest.chunker", "Timestamp": "ingest.chunker", "chunk_markdown": "ingest.chunker",
    "load_note": "ingest.chunker",
    "ConfigError": "errors", "InvalidArgumentError": "errors",
    "IndexCorruptError": "errors", "IndexLockedError": "errors",
    "IndexNotFoundError": "errors", "IndexVersionError": "errors", "NoteError": "errors",
    "QuerySyntaxError": "errors", "SearchkitError": "errors", "VaultError": "errors",
    "IndexStatus": "store.index", "Progress": "store.index", "UpdateReport": "store.index",
    "Links": "retrieve.links",
    "Note": "ingest.notes", "NoteWarning": "ingest.notes",
    "Passage": "retrieve.results", "SearchResults": "retrieve.results",
}

if TYPE_CHECKING:
    from .api import SearchIndex, open_index
    from .errors import (
        ConfigError,
        IndexCorruptError,
        IndexLockedError,
        IndexNotFoundError,
        IndexVersionError,
        InvalidArgumentError,
        NoteError,
        QuerySyntaxError,
        SearchkitError,
        VaultError,
    )
    from .ingest.chunker import Chunk, Timestamp, chunk_markdown, load_note
    from .ingest.notes import Note, NoteWarning
    from .retrieve.links import Links
    from .retrieve.results import Passage, SearchResults
    from .store.index import IndexStatus, Progress, UpdateReport


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'searchkit' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"

__all__ = [
    "Chunk",
    "ConfigError",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexStatus",
    "IndexVersionError",
    "InvalidArgumentError",
    "Links",
    "Note",
    "NoteError",
    "NoteWarning",
    "Passage",
    "Progress",
    "QuerySyntaxError",
    "SearchIndex",
    "SearchResults",
    "SearchkitError",
    "Timestamp",
    "UpdateReport",
    "VaultError",
    "chunk_markdown",
    "load_note",
    "open_index",
]
