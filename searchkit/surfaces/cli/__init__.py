"""The `searchkit` command: thin click wrappers over `searchkit.api`.

Exit codes: 0 success; 1 a search found nothing; 2 bad usage, a bad query, or a missing,
foreign, outdated or damaged index; 3 the index is locked by another writer; 130
interrupted (Ctrl-C); 141 the reader of stdout went away.

One module per group of commands (indexing, searching, notes, settings, servers), each
importing only `base` (and `handoff`), never another command module.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from ... import __version__
from .base import _Main

# Each command's module is imported when that command runs (or help lists it): a cold
# `searchkit search` does not import the indexing, notes, settings and server commands.
_COMMANDS = {
    "index": ("indexing", "index_cmd"), "search": ("searching", "search_cmd"),
    "status": ("indexing", "status_cmd"), "watch": ("servers", "watch_cmd"),
    "config": ("settings", "config_cmd"), "read": ("notes", "read_cmd"),
    "forget": ("indexing", "forget_cmd"), "chunks": ("notes", "chunks_cmd"),
    "mcp": ("servers", "mcp_cmd"), "serve": ("servers", "serve_cmd"),
}


class _LazyMain(_Main):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module, name = _COMMANDS[cmd_name]
            self.add_command(getattr(import_module(f".{module}", __name__), name))
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyMain, context_settings={"help_option_names": ["-h", "--help"]})
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


def run() -> None:
    """The `searchkit` executable: `main`, then, after a search, an exit without the
    interpreter's teardown (see `base.allow_quick_exit`), once stdout and stderr are
    flushed and no other thread runs. Tests drive `main` itself (click's CliRunner)."""
    import os
    import sys
    import threading

    from .base import quick_exit_allowed

    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if (code is not None and not isinstance(code, int)) or not quick_exit_allowed():
            raise
        if threading.active_count() > 1 or (code or 0) not in (0, 1):
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: the usual exit path handles it
            raise exc from None
        os._exit(code or 0)


__all__ = ["main", "run"]
