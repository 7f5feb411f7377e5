"""The embeddable API: `open_index()` and the `SearchIndex` it returns, search over several
vaults, keeping an index fresh, and what every surface needs besides (finding an index,
the config file, a note's passages and lines, the result types).

Everything the CLI, the HTTP and MCP servers do goes through here: `surfaces/` imports
nothing from `store/`, `ingest/` or `embed/` (an import-linter contract).

Names load on first use: the warm CLI asks `locate` where the index is and hands the query
to a running server without ever importing Whoosh (a cold import of it costs ~0.2 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DEFAULT_DEADLINE": "index", "DEFAULT_PER_NOTE": "index", "KINDS": "index",
    "REFRESH_LOCK_TIMEOUT": "index",
    "SearchIndex": "index", "open_index": "index",
    "MultiResults": "multi", "search_many": "multi",
    "IGNORE_FILE": "notes", "NOTE_SUFFIXES": "notes", "load_note": "notes",
    "shorten_timestamps": "notes",
    "Location": "vaults", "config_path": "vaults", "enclosing_vault": "vaults",
    "find_from": "vaults", "known_indexes": "vaults", "locate": "vaults",
    "read_config": "vaults", "semantic_enabled": "vaults", "write_config": "vaults",
    "watch_vault": "watch",
    # the result types every surface shows
    "Links": "..retrieve.links", "NoteLines": "..retrieve.reading",
    "Passage": "..retrieve.results", "SearchResults": "..retrieve.results",
    "IndexStatus": "..store.index", "Progress": "..store.index", "UpdateReport": "..store.index",
}

if TYPE_CHECKING:
    from ..retrieve.links import Links
    from ..retrieve.reading import NoteLines
    from ..retrieve.results import Passage, SearchResults
    from ..store.index import IndexStatus, Progress, UpdateReport
    from .index import (
        DEFAULT_DEADLINE,
        DEFAULT_PER_NOTE,
        KINDS,
        REFRESH_LOCK_TIMEOUT,
        SearchIndex,
        open_index,
    )
    from .multi import MultiResults, search_many
    from .notes import IGNORE_FILE, NOTE_SUFFIXES, load_note, shorten_timestamps
    from .vaults import (
        Location,
        config_path,
        enclosing_vault,
        find_from,
        known_indexes,
        locate,
        read_config,
        semantic_enabled,
        write_config,
    )
    from .watch import watch_vault


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'searchkit.api' has no attribute {name!r}")
    from importlib import import_module

    if module.startswith(".."):
        from .. import _fastimport  # noqa: F401  # before Whoosh, as index.py does

        target = import_module(module[1:], "searchkit")
    else:
        target = import_module(f".{module}", __name__)
    value = getattr(target, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_PER_NOTE",
    "IGNORE_FILE",
    "KINDS",
    "NOTE_SUFFIXES",
    "REFRESH_LOCK_TIMEOUT",
    "IndexStatus",
    "Links",
    "Location",
    "MultiResults",
    "NoteLines",
    "Passage",
    "Progress",
    "SearchIndex",
    "SearchResults",
    "UpdateReport",
    "config_path",
    "enclosing_vault",
    "find_from",
    "known_indexes",
    "load_note",
    "locate",
    "open_index",
    "read_config",
    "search_many",
    "semantic_enabled",
    "shorten_timestamps",
    "watch_vault",
    "write_config",
]
