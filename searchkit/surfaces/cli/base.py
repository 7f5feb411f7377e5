"""What every `searchkit` command shares: exit codes, how errors are said, the options
naming an index, opening it, JSON output and the refresh before a search.

Command modules import this one and never each other (an import-linter contract in
pyproject.toml), so any command can be read alone.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ...errors import IndexLockedError, SearchkitError
from ..progress import warn_all
from ..render import clean, json_text

EXIT_NO_RESULTS = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


# ---------------------------------------------------------------------------------------
# Shared options and helpers


def _index_options(f: Callable[..., Any], multi: bool = False) -> Callable[..., Any]:
    f = click.option(
        "--vault",
        "vault_opt",
        envvar="SEARCHKIT_VAULT",
        multiple=multi,
        type=click.Path(file_okay=False, path_type=Path),
        help="Vault folder; its index is found without --index. Env: SEARCHKIT_VAULT."
        + (" Repeat it to search several vaults as one." if multi else ""),
    )(f)
    return click.option(
        "--index",
        "index_dir",
        envvar="SEARCHKIT_INDEX",
        type=click.Path(file_okay=False, path_type=Path),
        help="Index directory (default: the index of the vault you are in, of --vault, or "
        "the default vault; see `searchkit config`). Env: SEARCHKIT_INDEX.",
    )(f)


def _fail(exc: SearchkitError | click.UsageError, as_json: bool = False) -> click.exceptions.Exit:
    """Say what went wrong on stderr (and, with --json, as `{"error", "kind"}` on stdout, so
    a script reading stdout sees it too); the exit code for it."""
    message = exc.message if isinstance(exc, click.ClickException) else str(exc)
    if as_json:
        _echo_json({"error": message, "kind": error_kind(exc)})
    if isinstance(exc, click.UsageError):
        return exc  # type: ignore[return-value]  # click prints it with the usage line
    click.echo(clean(f"Error: {message}"), err=True)
    return click.exceptions.Exit(EXIT_LOCKED if isinstance(exc, IndexLockedError) else EXIT_USAGE)


def error_kind(exc: BaseException) -> str:
    """A stable name for an error in JSON: `usage` for bad options and arguments, else the
    searchkit exception's name in snake case without `Error` (`query_syntax`,
    `index_not_found`, `index_locked`, `invalid_argument`, …)."""
    if isinstance(exc, click.UsageError):
        return "usage"
    name = type(exc).__name__.removesuffix("Error") or "searchkit"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _use_color(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _echo_json(data: Any) -> None:
    click.echo(json_text(data))


def _resolve_vault(vault_arg: Path | None, vault_opt: Path | None) -> Path | None:
    if vault_arg and vault_opt and vault_arg.resolve() != vault_opt.resolve():
        raise click.UsageError(f"two vaults given: {vault_arg} and --vault {vault_opt}")
    return vault_arg or vault_opt


def _open(
    index_dir: Path | None, vault: Path | None, as_json: bool = False,
    semantic: bool | None = None,
) -> Any:
    """The index the options name, else the one `searchkit.locate` finds from here.
    `semantic`: search by meaning on or off (None: as configured, on by default)."""
    from ...api import open_index, semantic_enabled  # Whoosh loads only for index commands

    if vault is not None and not vault.is_dir():
        raise click.UsageError(f"vault not found or not a directory: {vault}")
    try:
        on = semantic_enabled() if semantic is None else semantic
        return open_index(index_dir, vault, embedder="auto" if on else None)
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc


EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `git log | head -1`

# Commands after which the `searchkit` executable may end without the interpreter's
# teardown (`cli.run`): set by the command itself, read once it has returned.
_QUICK_EXIT = {"allowed": False}


def allow_quick_exit() -> None:
    """Say that this command holds no open writer and leaves no work to finish at exit
    (a search): once its output is flushed, the process may end at once. Freeing the
    model runtime, the index's caches and every module cost ~75 ms of a ~450 ms cold
    hybrid search on 9k notes (bench.py cold), for memory the system frees anyway."""
    _QUICK_EXIT["allowed"] = True


def quick_exit_allowed() -> bool:
    return _QUICK_EXIT["allowed"]


class _Main(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["searchkit.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # Bad options never reach the command: with --json, say so on stdout as well.
            if "--json" in ctx.meta.get("searchkit.argv", ()):
                _fail(exc, as_json=True)
            raise
        except OSError as exc:
            # The reader of our output went away (`searchkit search x | head -1`): not "no
            # result" (click's exit 1), but what other tools do: stop quietly with 141. Any
            # other broken pipe (a worker process's) is a real error and goes on up.
            if exc.errno != errno.EPIPE or not _stdout_closed():
                raise
            _quiet_stdout()
            raise click.exceptions.Exit(EXIT_PIPE) from None


def _stdout_closed() -> bool:
    """Whether stdout is a pipe nobody reads any more (poll reports an error on it)."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _fd, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), no real descriptor
        return False


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass

def refresh_before_search(ix: Any, what: str, *, show_warnings: bool = True) -> None:
    """Bring the index up to date with its vault before a search; a refresh that fails is
    one warning line, and the last committed index is searched (a stale answer beats
    none)."""
    if not ix.exists():
        return
    try:
        report = ix.refresh(on_locked=_warn_stale)
    except SearchkitError as exc:
        click.echo(clean(f"warning: could not refresh {what}: {exc}"), err=True)
        return
    if report is not None and show_warnings:
        warn_all(report.warnings)


def _warn_stale(exc: SearchkitError) -> None:
    click.echo(
        "warning: notes changed but another process is updating the index; these results "
        "may be stale", err=True,
    )
