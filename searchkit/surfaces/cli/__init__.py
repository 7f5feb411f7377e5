"""The `searchkit` command: thin click wrappers over `searchkit.api`.

Exit codes: 0 success; 1 a search found nothing; 2 bad usage, a bad query, or a missing,
foreign, outdated or damaged index; 3 the index is locked by another writer; 130
interrupted (Ctrl-C); 141 the reader of stdout went away.

One module per group of commands (indexing, searching, notes, settings, servers), each
importing only `base` (and `handoff`), never another command module.
"""

from __future__ import annotations

import click

from ... import __version__
from . import indexing, notes, searching, servers, settings
from .base import _Main


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchkit")
def main() -> None:
    """Ranked passage search for markdown note vaults.

    \b
    searchkit index ~/notes          build or update the vault's index
    searchkit search sleep memory    ranked passages with links
    searchkit status                 what is indexed and what is stale
    searchkit watch                  re-index as notes change
    searchkit config vault ~/notes   search ~/notes from any folder
    searchkit read notes/a.md:12     print a note's lines from line 12
    searchkit forget ~/notes         delete a vault's index (never the notes)

    Inside an indexed vault no --index is needed: its index is found from the current
    folder (indexes live in the per-user data folder, not in the vault).
    """


for command in (
    indexing.index_cmd, searching.search_cmd, indexing.status_cmd, servers.watch_cmd,
    settings.config_cmd, notes.read_cmd, indexing.forget_cmd, notes.chunks_cmd,
    servers.mcp_cmd, servers.serve_cmd,
):
    main.add_command(command)

__all__ = ["main"]
