"""searchkit: ranked passage search for markdown note vaults.

    >>> import searchkit
    >>> with searchkit.open_index("index", vault="examples/vault") as ix:
    ...     ix.update()
    ...     for passage in ix.search("sleep memory", limit=3):
    ...         print(passage.title, passage.links.file)
"""

from .api import SearchIndex, open_index
from .chunker import Chunk, Timestamp, chunk_markdown, load_note
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
from .index import IndexStatus, Progress, UpdateReport
from .links import Links
from .notes import Note, NoteWarning
from .search import Passage, SearchResults

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
