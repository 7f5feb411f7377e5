"""Where indexes live and what the user configured: the names every surface (CLI, HTTP,
MCP, an embedding tool) uses to find an index, read or write the config file and list the
indexed vaults, so none of them reaches into `store/` for it. The functions themselves
live with the index folder they describe (`store/locate.py`)."""

from __future__ import annotations

from ..store.locate import (
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

__all__ = [
    "Location",
    "config_path",
    "enclosing_vault",
    "find_from",
    "known_indexes",
    "locate",
    "read_config",
    "semantic_enabled",
    "write_config",
]
