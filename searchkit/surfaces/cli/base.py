"""The `searchkit` command: thin click wrappers over `searchkit.api`.

Exit codes: 0 success; 1 a search found nothing; 2 bad usage, a bad query, or a missing,
foreign, outdated or damaged index; 3 the index is locked by another writer; 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import (
    IndexLockedError,
    IndexWriteError,
    MassDeleteError,
    SearchkitError,
    SemanticUnavailableError,
)
from .progress import (
    EmbedBar,
    ProgressBar,
    embed_summary,
    list_removals,
    update_summary,
    warn_all,
)
from .render import clean, json_text, print_results, results_json, terminal_width

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
    from ..api import open_index  # Whoosh loads only for commands that use an index
    from ..store.locate import semantic_enabled

    if vault is not None and not vault.is_dir():
        raise click.UsageError(f"vault not found or not a directory: {vault}")
    try:
        on = semantic_enabled() if semantic is None else semantic
        return open_index(index_dir, vault, embedder="auto" if on else None)
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc


EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `git log | head -1`


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


@main.command("index", short_help="Build or update the index of a vault.")
@click.argument("vault", required=False, type=click.Path(file_okay=False, path_type=Path))
@_index_options
@click.option("--rebuild", is_flag=True, help="Rebuild from scratch (the old index stays "
              "searchable until the new one is ready).")
@click.option("--json", "as_json", is_flag=True, help="Print the update report as JSON.")
@click.option("--jobs", type=click.IntRange(1), show_default="CPU count, at most 2",
              help="Worker processes for a full build.")
@click.option("--lock-timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for another writer.")
@click.option("--follow-symlinks/--no-follow-symlinks", default=None,
              help="Index notes behind symlinks that lead out of the vault (remembered; "
              "default off).")
@click.option("--allow-mass-delete", is_flag=True, help="Go on when the vault looks empty "
              "or more than half of the indexed notes are gone (refused otherwise).")
@click.option("--nested", is_flag=True, help="Index a folder inside an indexed vault on its "
              "own (searches from that folder then see only its notes).")
@click.option("--verify", is_flag=True, help="First compare every index file with its "
              "checksum (reads the whole index; sizes and segments are always checked).")
@click.option("--semantic/--no-semantic", default=None,
              help="After the words, embed new passages for search by meaning (default: on "
              "when the semantic extra is installed; `searchkit config semantic off`).")
def index_cmd(
    vault: Path | None, index_dir: Path, vault_opt: Path | None, rebuild: bool,
    as_json: bool, jobs: int | None, lock_timeout: float, follow_symlinks: bool | None,
    allow_mass_delete: bool, nested: bool, verify: bool, semantic: bool | None,
) -> None:
    """Build or update the index of VAULT (default: the vault the index remembers).

    Only new and changed notes are read again; removed and renamed notes leave no trace.
    The notes are searchable by words as soon as that is done; then passages without a
    vector are embedded for search by meaning (Ctrl-C keeps what is done; the next run
    resumes).
    """
    vault = _resolve_vault(vault, vault_opt)
    ix = _open(index_dir, vault, as_json, semantic)
    if ix.vault is None and not ix.exists():
        raise click.UsageError(
            f"no index at {ix.index_dir} yet: name the vault, e.g. "
            f"`{ix.fix_command('PATH/TO/VAULT')}`"
        )
    if vault is not None and index_dir is None and not nested and not ix.exists():
        from ..store.locate import enclosing_vault

        outer = enclosing_vault(vault)
        if outer is not None:
            ix.close()
            here = vault.resolve()
            raise click.UsageError(
                f"{here} is inside the indexed vault {outer[0]}, whose searches already "
                "cover it; a nested index would make searches run from there see only "
                f"its own notes. Update the vault with "
                f"`searchkit index {shlex.quote(str(outer[0]))}`, or pass --nested to index "
                "this folder on its own."
            )
    bar = ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        report = ix.update(
            rebuild=rebuild, progress=bar, lock_timeout=lock_timeout, jobs=jobs,
            follow_symlinks=follow_symlinks, allow_mass_delete=allow_mass_delete,
            # Checksums read the whole index (1.45 GB at 90k notes): only when asked.
            verify=verify,
        )
    except MassDeleteError as exc:
        list_removals(exc)
        raise _fail(exc, as_json) from exc
    except KeyboardInterrupt:
        # As a kill would: nothing half-done is live; the next update cleans up. The bar
        # goes first, so the message starts a line of its own.
        bar.close(interrupted=True)
        click.echo("Interrupted; the last committed index is unchanged.", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except SearchkitError as exc:
        ix.close()
        raise _fail(exc, as_json) from exc
    finally:
        bar.close()
    if not as_json:
        warn_all(report.warnings)
        click.echo(update_summary(report))
    try:
        embedded = _embed(ix, as_json, semantic)
    finally:
        ix.close()
    if as_json:
        _echo_json({**report.to_dict(), "embedding": embedded})


def semantic_line(meaning: Any, index_cmd: str) -> str:
    """`status`'s line on search by meaning: on, with how far the vectors are, or off and
    how to turn it on."""
    if not meaning.enabled:
        return f"off: {meaning.reason}"
    line = (f"on ({meaning.model}): {meaning.embedded:,} of {meaning.passages:,} passages "
            f"embedded ({100 * meaning.share:.0f} %)")  # fmt: skip
    if meaning.embedded < meaning.passages:
        line += f" — run `{index_cmd}` to embed the rest"
    return line


def _embed(ix: Any, as_json: bool, asked: bool | None) -> dict[str, Any] | None:
    """The embedding pass after an update: vectors for passages that have none (all of
    them again when the index's vectors were made by another model)."""
    bar = EmbedBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        report = ix.embed(progress=bar)
    except SemanticUnavailableError as exc:  # off, or the extra is not installed
        bar.close()
        if asked and not as_json:  # asked for by --semantic, and it cannot run
            click.echo(f"warning: {exc}", err=True)
        return None
    except KeyboardInterrupt:
        bar.close()
        click.echo("\nInterrupted; the passages embedded so far are kept, and the next "
                   "`searchkit index` embeds the rest.", err=True)  # fmt: skip
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except SearchkitError as exc:
        bar.close()
        if isinstance(exc, (IndexLockedError, IndexWriteError)):
            # The words are indexed; vectors can come on a later run.
            click.echo(f"warning: not embedding now: {exc}", err=True)
            return None
        raise _fail(exc) from exc
    bar.close()
    if not as_json:
        click.echo(embed_summary(report))
    return report.to_dict()


class _SearchCommand(click.Command):
    """Strict options, free query words.

    A mistyped option (`--limt`) is an error with click's did-you-mean, not a query word.
    Query words go after the options or among them; a word starting with `-` (an
    exclusion) must be inside a quoted query (`"sleep -dreams"`) or after `--`. The
    arguments are reordered as options, `--`, words, so a quoted query that starts with
    `-` ("-dreams sleep") is taken as words too.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        opts: list[str] = []
        words: list[str] = []
        takes_value: set[str] = set()
        short: set[str] = set()
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                names = [*param.opts, *param.secondary_opts]
                short.update(n for n in names if not n.startswith("--"))
                if not param.is_flag and not param.count:
                    takes_value.update(names)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                words.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-" or any(c.isspace() for c in arg):
                words.append(arg)
            elif arg.startswith("--") or arg[:2] in short:
                opts.append(arg)
                if arg in takes_value and i < len(args):  # `--limit 3`, not `--limit=3`/`-n3`
                    opts.append(args[i])
                    i += 1
            else:
                typed = " ".join(words) or "WORDS"
                raise click.NoSuchOption(
                    arg,
                    message=(
                        f"No such option '{arg}'. To exclude a word, quote the query "
                        f"(searchkit search \"{typed} {arg}\") or put it after -- "
                        f"(searchkit search {typed} -- {arg})."
                    ),
                    ctx=ctx,
                )
        return super().parse_args(ctx, [*opts, "--", *words])


@main.command("search", cls=_SearchCommand, short_help="Ranked passages for a query.")
@click.argument("query", nargs=-1, required=True)
@lambda f: _index_options(f, multi=True)
@click.option("--all-vaults", is_flag=True, help="Search every indexed vault (`searchkit "
              "config` lists them) as one.")
@click.option("-n", "--limit", type=click.IntRange(1), default=10, show_default=True,
              help="Passages to show.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many passages.")
@click.option("--per-note", type=click.IntRange(0), default=3, show_default=True,
              help="At most this many passages per note (0: no limit).")
@click.option("--tag", multiple=True, help="Only notes with this tag (repeatable: any).")
@click.option("--path", "path_", help="Only notes whose path contains this text, ignoring "
              "case (as Obsidian's path:), or matches this glob.")
@click.option("--callout", help="Only callouts of this type (info, tip…).")
@click.option("--kind", type=click.Choice(["intro", "section", "callout"]),
              help="Only passages of this kind.")
@click.option("--after", metavar="DATE", help="Only notes dated after DATE (YYYY-MM-DD, "
              "YYYY-MM, YYYY): frontmatter date/created, else modification time.")
@click.option("--before", metavar="DATE", help="Only notes dated before DATE.")
@click.option("--sort", type=click.Choice(["score", "modified", "created"]), default="score",
              show_default=True, help="Order: relevance, or newest first by modification "
              "time or by note date.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every result.")
@click.option("--jsonl", "mode", flag_value="jsonl", help="A passage's JSON a line, as each "
              "is ready (the keys of --json's results).")
@click.option("--files", "mode", flag_value="files", help="Paths of the matching notes, best "
              "first, once each (-n counts notes).")
@click.option("--vimgrep", "mode", flag_value="vimgrep", help="path:line:col:text lines, for "
              "vim's quickfix list, fzf and editors.")
@click.option("--format", "template", metavar="TEMPLATE", help="A line per passage from the "
              "--json keys, e.g. '{path}:{line}\\t{title}' ({links[obsidian]} for nested ones, "
              "{shown_path} for the path from here).")
@click.option("--explain", is_flag=True, help="Show why each passage scored as it did.")
@click.option("--mode", "rank_mode", type=click.Choice(["hybrid", "lexical", "semantic"]),
              default="hybrid",
              show_default=True, help="Rank by words and meaning, words only, or meaning "
              "only (meaning needs the semantic extra and `searchkit index`).")
@click.option("--no-refresh", is_flag=True, help="Do not update the index from the vault first.")
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal, "
              "unless NO_COLOR is set).")
def search_cmd(
    query: tuple[str, ...], index_dir: Path, vault_opt: tuple[Path, ...], all_vaults: bool,
    limit: int, offset: int,
    per_note: int, tag: tuple[str, ...], path_: str | None, callout: str | None,
    kind: str | None, after: str | None, before: str | None, sort: str, as_json: bool,
    mode: str | None, template: str | None, explain: bool, rank_mode: str, no_refresh: bool,
    color: bool | None,
) -> None:
    """Search the index for QUERY and print ranked passages.

    \b
    Words:      sleep memory       every word counts; passages with all rank first
    Phrase:     "slow wave sleep"
    Boolean:    sleep OR rest, "sleep -caffeine", NOT caffeine, (a OR b) c
    Prefix:     consolid*          Fuzzy: memroy~
    Fields:     title: heading: tag: path: callout: kind: video: has:timestamp
    Dates:      after:2024-01 before:2024-06-15 (frontmatter date/created, else mtime)
    Output:     --json, --jsonl, --files, --vimgrep, --format '{path}:{line}'

    A word starting with - excludes it: quote the query, or put it after --.
    """
    from .cli_more import _check_template, _search_lines, _search_many

    text = " ".join(query)
    vaults = list(dict.fromkeys(v.resolve() for v in vault_opt))
    if all_vaults or len(vaults) > 1:
        if index_dir is not None:
            raise click.UsageError("--index names one index: use --vault for several")
        if as_json and (mode or template):
            raise click.UsageError("choose one output: --json, --jsonl, --files, --vimgrep "
                                   "or --format")
        _search_many(vaults, all_vaults, text, as_json, mode or ("format" if template else None),
                     template, explain, color, no_refresh, limit=limit, offset=offset,
                     per_note=1 if mode == "files" else per_note, tag=list(tag), path=path_,
                     callout=callout, kind=kind, after=after, before=before, sort=sort)
        return
    vault_opt = vaults[0] if vaults else None  # type: ignore[assignment]
    if template is not None:
        mode = mode or "format"
    if sum(bool(x) for x in (as_json, mode, template and mode != "format")) > 1:
        raise click.UsageError("choose one output: --json, --jsonl, --files, --vimgrep or --format")
    if template is not None:
        _check_template(template)
    if mode == "files":
        per_note = 1  # a note once: -n counts notes
    if mode is not None:
        _search_lines(index_dir, vault_opt, no_refresh, mode, template, q=text, limit=limit,
                      offset=offset, per_note=per_note, explain=explain, tag=list(tag),
                      path=path_, callout=callout, kind=kind, after=after, before=before,
                      sort=sort, mode=rank_mode)
        return
    dated = {k: v for k, v in (("after", after), ("before", before)) if v}
    # Dates and sorting are not among the warm hand-off's parameters: search here.
    no_server = bool(dated) or sort != "score"
    if not no_server:
        from .cli_servers import _search_on_server

        _search_on_server(  # the warm CLI: returns only if no `searchkit serve` can answer
            index_dir, vault_opt, as_json, explain, color, q=text, limit=limit, offset=offset,
            per_note=per_note, tag=list(tag), path=path_, callout=callout, kind=kind,
            mode=rank_mode,
        )
    ix = _open(index_dir, vault_opt, as_json)
    try:
        if not no_refresh:
            refresh_before_search(ix, "the index", show_warnings=not as_json)
        results = ix.search(
            text, limit=limit, offset=offset, per_note=per_note, explain=explain, mode=rank_mode,
            tag=list(tag), path=path_, callout=callout, kind=kind, sort=sort, **dated,
        )
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        ix.close()
    if as_json:
        _echo_json(results_json(results, ix.vault, ix.index_dir))
    else:
        print_results(results, _use_color(color), explain, ix.vault, terminal_width())
    if not results:
        raise click.exceptions.Exit(EXIT_NO_RESULTS)


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


@main.command("status", short_help="What is indexed, and what is stale.")
@_index_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--check", is_flag=True, help="Read every segment and checksum; exit 2 if the "
              "index is damaged.")
def status_cmd(index_dir: Path, vault_opt: Path | None, as_json: bool, check: bool) -> None:
    """What is indexed, and how many notes changed since the last update."""
    ix = _open(index_dir, vault_opt, as_json)
    if check:
        _check(ix, as_json)
        return
    try:
        st = ix.status()
        meaning = ix.semantic_status()
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        ix.close()
    if as_json:
        _echo_json({**st.to_dict(), "semantic": meaning.to_dict()})
        return
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.last_update))
        if st.last_update else "never"
    )
    rows = [
        ("vault", st.vault),
        ("index", f"{st.index_dir} ({st.size_bytes / 1e6:.1f} MB; found by "
                  f"{_FOUND_BY.get(ix.location.how, ix.location.how)})"),
        ("notes", f"{st.notes:,}"),
        ("chunks", f"{st.chunks:,}"),
        ("last update", when),
        ("stale", f"{st.stale_new} new, {st.stale_changed} changed, {st.stale_removed} removed"
                  + (f" — run `{ix.fix_command()}` to update" if st.stale else "")),
    ]
    if st.needs_rebuild:
        rows.append(("rebuild", st.needs_rebuild))
    rows.append(("semantic", semantic_line(meaning, ix.fix_command())))
    skipped = getattr(st, "skipped", ())
    if skipped:
        rows.append(("skipped", f"{len(skipped)} file{'s' if len(skipped) > 1 else ''} not "
                                "indexed (unchanged since; not stale):"))
    for key, value in rows:
        click.echo(clean(f"{key:<12} {value}"))
    for path, why in skipped[:50]:
        click.echo(clean(f"  {path}: {why}"))
    if len(skipped) > 50:
        click.echo(f"  … and {len(skipped) - 50} more (--json lists them all)")


_FOUND_BY = {
    "--index": "--index / SEARCHKIT_INDEX",
    "--vault": "--vault / SEARCHKIT_VAULT",
    "current folder": "the current folder",
    "./index": "./index in the current folder",
    "config": "the config file (searchkit config)",
    "only index": "being the only index",
}


def _check(ix: Any, as_json: bool) -> None:
    try:
        result = ix.check()
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        ix.close()
    if as_json:
        _echo_json(result.to_dict())
    elif result.sound:
        click.echo(f"index sound: {result.segments} segments, {result.documents:,} chunks read, "
                   f"{result.files_checked} files match their checksums")  # fmt: skip
    else:
        click.echo(f"index NOT sound: {len(result.problems)} problems", err=True)
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        click.echo("Rebuild it with `searchkit index --rebuild`.", err=True)
    if not result.sound:
        raise click.exceptions.Exit(EXIT_USAGE)


# The long-lived commands (watch, mcp, serve) and the warm-CLI hand-off live in
# cli_servers.py, the daily-use pass's (read, forget, output modes, several vaults) in
# cli_more.py; importing them registers their commands on `main`.
from . import cli_more, cli_servers  # noqa: E402, F401
