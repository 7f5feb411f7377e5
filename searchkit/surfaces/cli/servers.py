"""The long-lived commands: `searchkit watch`, `mcp` and `serve`."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import click

from ...errors import IndexNotFoundError, SearchkitError, VaultError
from ..progress import embedded_summary, update_summary, warn_all
from ..render import clean
from .base import (
    EXIT_USAGE,
    _fail,
    _index_options,
    _open,
    _resolve_vault,
)


@click.command("watch", short_help="Re-index whenever notes change (Ctrl-C stops).")
@click.argument("vault", required=False, type=click.Path(file_okay=False, path_type=Path))
@_index_options
@click.option("--debounce", type=click.IntRange(50), default=500, show_default=True,
              help="Milliseconds of quiet before re-indexing.")
def watch_cmd(vault: Path | None, index_dir: Path, vault_opt: Path | None, debounce: int) -> None:
    """Keep the index fresh: update it whenever notes change (Ctrl-C stops)."""
    from ...api import watch_vault

    vault = _resolve_vault(vault, vault_opt)
    ix = _open(index_dir, vault)
    if ix.vault is None and not ix.exists():
        raise click.UsageError(f"no index at {ix.index_dir} yet: name the vault to watch")
    click.echo(f"Watching {ix.vault} (Ctrl-C to stop)…", err=True)

    from ..serving import BackgroundEmbedder

    def on_error(exc: Exception) -> None:
        click.echo(clean(f"Error: {exc}"), err=True)  # keep watching: the next change may fix it

    def on_embedded(n: int, remaining: int) -> None:  # when a change is found by meaning
        click.echo(time.strftime("%H:%M:%S ") + embedded_summary(n, remaining))

    # Vectors for new passages, in the background.
    embedder = BackgroundEmbedder(ix, on_error=on_error, on_embedded=on_embedded)

    def on_report(r: Any) -> None:
        warn_all(r.warnings)
        click.echo(time.strftime("%H:%M:%S ") + update_summary(r))
        embedder.poke()

    # watchfiles logs its own "KeyboardInterrupt caught, stopping watch" warning at Ctrl-C,
    # before ours: ours is enough.
    import logging

    logging.getLogger("watchfiles").setLevel(logging.ERROR)
    try:
        watch_vault(ix.index_dir, ix.vault, on_report, debounce_ms=debounce, on_error=on_error)
    except SearchkitError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass
    finally:
        embedder.close()
        ix.close()
    click.echo("Stopped watching.", err=True)


def _server_error(exc: Exception) -> None:
    click.echo(clean(f"warning: {exc}"), err=True)  # keep serving: the next change may fix it


def _server_embedded(n: int, remaining: int) -> None:
    click.echo(time.strftime("%H:%M:%S ") + embedded_summary(n, remaining), err=True)


def _server_report(report: Any) -> None:
    warn_all(report.warnings)  # each is new: a file skipped is warned about once
    if report.added or report.changed or report.removed:
        click.echo(time.strftime("%H:%M:%S ") + update_summary(report), err=True)


@click.command("mcp", short_help="Serve the index to AI agents over MCP (stdio).")
@_index_options
def mcp_cmd(index_dir: Path, vault_opt: Path | None) -> None:
    """Serve the index to AI agents over MCP (stdio): tools search, read, status.

    \b
    Add to an MCP client's config, e.g.:
      {"mcpServers": {"notes": {"command": "searchkit",
                                "args": ["mcp", "--vault", "/path/to/notes"]}}}
    """
    from ...api import open_index
    from ..mcp_server import run_stdio, run_stdio_unavailable

    try:
        if vault_opt is not None and not vault_opt.is_dir():
            raise VaultError(f"vault not found or not a directory: {vault_opt}")
        ix = open_index(index_dir, vault_opt)  # finds the index
        index_dir, vault_opt = ix.index_dir, ix.vault
        ix.close()
        run_stdio(index_dir, vault_opt, on_error=_server_error, on_report=_server_report)
    except SearchkitError as exc:
        # Desktop clients start servers from `/` and show only "Connection closed" when
        # one exits: stay up, say why on stderr (the client's log) and in every tool.
        if isinstance(exc, (IndexNotFoundError, VaultError)):
            reason = (f"searchkit mcp has no index: {exc}. Start it with --vault VAULT "
                      "(or --index INDEX) in the client's config, args "
                      '["mcp", "--vault", "/path/to/notes"].')
        else:  # e.g. a bad setting: say that, not "no index"
            reason = f"searchkit mcp cannot start: {exc}"
        click.echo(f"Error: {reason}", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            run_stdio_unavailable(reason)
    except KeyboardInterrupt:
        pass


@click.command("serve", short_help="Serve a read-only local HTTP JSON API.")
@_index_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (a non-loopback one needs --token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port (0: any free one).")
@click.option("--token", envvar="SEARCHKIT_TOKEN",
              help="Require `Authorization: Bearer TOKEN`. Env: SEARCHKIT_TOKEN (better: "
                   "a token on the command line shows in `ps`).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the token from this file (first line).")
@click.option("--allow-origin", "origins", multiple=True, metavar="ORIGIN",
              help="Serve browser requests from this web origin too, e.g. "
                   "https://notes.example (repeatable; by default only pages of this "
                   "server's own origin are served).")
def serve_cmd(
    index_dir: Path, vault_opt: Path | None, host: str, port: int, token: str | None,
    token_file: Path | None, origins: tuple[str, ...],
) -> None:
    """Serve a read-only local HTTP JSON API: /search, /read, /status (Ctrl-C stops),
    and a search page for a browser at / (http://127.0.0.1:8765/).

    While it runs, `searchkit search` on the same index asks it instead of opening the
    index itself (same output, a fraction of the time). The index stays fresh: the server
    watches the vault.
    """
    from ..http_server import is_loopback, origin_of, other_users, serve

    bad = [o for o in origins if origin_of(o) is None]
    if bad:
        raise click.UsageError(f"--allow-origin {bad[0]}: not an origin (scheme://host[:port])")

    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, UnicodeError, IndexError) as exc:
            raise click.UsageError(f"--token-file {token_file}: no token read ({exc})") from exc
    if not is_loopback(host) and not token:
        raise click.UsageError(f"--host {host} is reachable from other machines: add --token")
    ix = _open(index_dir, vault_opt)  # checks --vault, finds the index
    index_dir, vault_opt = ix.index_dir, ix.vault
    if not ix.exists():  # the fix names this index (--index DIR), as search's does
        ix.close()
        raise _fail(IndexNotFoundError(
            f"no index at {ix.index_dir}; build it with `{ix.fix_command('VAULT')}`"
        ))
    ix.close()
    try:
        serve(
            index_dir, vault_opt, host=host, port=port, token=token or None, origins=origins,
            on_ready=lambda url: click.echo(
                f"Serving {index_dir} on {url} (Ctrl-C stops)"
                + ("" if token or not other_users() else
                   "; no token: other users of this machine can read the notes through it"
                   " (set SEARCHKIT_TOKEN or --token-file)"),
                err=True),
            on_report=_server_report, on_error=_server_error, on_embedded=_server_embedded,
        )
    except SearchkitError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        click.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from exc
    except KeyboardInterrupt:
        pass
