"""`searchkit search`: ranked passages, as text, JSON or lines for scripts and editors
(`--files`, `--jsonl`, `--vimgrep`, `--format`), in one vault or several at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ...errors import IndexNotFoundError, SearchkitError
from ..render import clean, print_results, results_json, terminal_width
from .base import (
    EXIT_NO_RESULTS,
    _echo_json,
    _fail,
    _index_options,
    _open,
    _use_color,
    allow_quick_exit,
    refresh_before_search,
)
from .handoff import search_on_server


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


@click.command("search", cls=_SearchCommand, short_help="Ranked passages for a query.")
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
@click.option("--after", metavar="DATE", help="Only notes dated after DATE (YYYY-MM-DD: "
              "from the next day; YYYY-MM, YYYY: that month or year on): frontmatter "
              "date/created, else modification time.")
@click.option("--before", metavar="DATE", help="Only notes dated before DATE.")
@click.option("--sort", type=click.Choice(["score", "modified", "created"]), default="score",
              show_default=True, help="Order: relevance, or newest first by modification "
              "time or by note date.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every result.")
@click.option("--jsonl", "mode", flag_value="jsonl", help="A passage's JSON a line, as each "
              "is ready (the keys of --json's results).")
@click.option("--files", "mode", flag_value="files", help="Paths of the matching notes, best "
              "first, once each (-n counts notes). A newline, tab or other control "
              "character in a path is written \\n, \\t, \\xNN and a backslash \\\\ (as ls -b); "
              "-0 for paths as they are.")
@click.option("--vimgrep", "mode", flag_value="vimgrep", help="path:line:col:text lines, for "
              "vim's quickfix list, fzf and editors (paths escaped as with --files).")
@click.option("--format", "template", metavar="TEMPLATE", help="A line per passage from the "
              "--json keys, e.g. '{path}:{line}\\t{title}' ({links[obsidian]} for nested ones, "
              "{shown_path} for the path from here, {vault} for the vault's folder path).")
@click.option("-0", "--null", is_flag=True, help="With --files, --vimgrep, --jsonl or "
              "--format: end each record with NUL instead of a newline and write paths "
              "exactly as they are, unescaped (for xargs -0, as find -print0 and rg -0).")
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
    mode: str | None, template: str | None, null: bool, explain: bool, rank_mode: str,
    no_refresh: bool, color: bool | None,
) -> None:
    """Search the index for QUERY and print ranked passages.

    \b
    Words:      sleep memory       every word counts; passages with all rank first
    Phrase:     "slow wave sleep"
    Boolean:    sleep OR rest, "sleep -caffeine", NOT caffeine, (a OR b) c
    Prefix:     consolid*          Fuzzy: memroy~
    Fields:     title: heading: tag: path: file: callout: kind: video: has:timestamp
    Obsidian:   file:Canvas (file name)  line:(mix flour) (one line)  section:(a b)
                content:x  match-case:HappyCat  ignore-case:x  /regex/ (/\\d{4}-\\d/)
                task:, task-todo:, task-done:, block:, [property]: not supported (exit 2)
    Dates:      after:2024 (2024 on) after:2024-05-31 (June on) before:2024-06-15
                (frontmatter date/created, else modification time)
    Output:     --json, --jsonl, --files, --vimgrep, --format '{path}:{line}', -0

    A word starting with - excludes it: quote the query, or put it after --.
    """
    allow_quick_exit()  # a search leaves nothing open: its process may end at once
    text = " ".join(query)
    if null and not (mode or template):
        raise click.UsageError("-0/--null goes with --files, --vimgrep, --jsonl or --format")
    vaults = list(dict.fromkeys(v.resolve() for v in vault_opt))
    if all_vaults or len(vaults) > 1:
        if index_dir is not None:
            raise click.UsageError("--index names one index: use --vault for several")
        if as_json and (mode or template):
            raise click.UsageError("choose one output: --json, --jsonl, --files, --vimgrep "
                                   "or --format")
        _search_many(vaults, all_vaults, text, as_json, mode or ("format" if template else None),
                     template, null, explain, color, no_refresh, limit=limit, offset=offset,
                     per_note=1 if mode == "files" else per_note, tag=list(tag), path=path_,
                     callout=callout, kind=kind, after=after, before=before, sort=sort,
                     rank_mode=rank_mode)
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
        _search_lines(index_dir, vault_opt, no_refresh, mode, template, null, q=text, limit=limit,
                      offset=offset, per_note=per_note, explain=explain, tag=list(tag),
                      path=path_, callout=callout, kind=kind, after=after, before=before,
                      sort=sort, mode=rank_mode)
        return
    dated = {k: v for k, v in (("after", after), ("before", before)) if v}
    # Dates and sorting are not among the warm hand-off's parameters: search here.
    no_server = bool(dated) or sort != "score"
    if not no_server:
        search_on_server(  # the warm CLI: returns only if no `searchkit serve` can answer
            index_dir, vault_opt, as_json, explain, color, q=text, limit=limit, offset=offset,
            per_note=per_note, tag=list(tag), path=path_, callout=callout, kind=kind,
            mode=rank_mode,
        )
    ix = _open(index_dir, vault_opt, as_json)
    try:
        ix.prepare(text, rank_mode, sort)  # the model starts while the refresh checks
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


def _search_many(
    vaults: list[Path], all_vaults: bool, q: str, as_json: bool, mode: str | None,
    template: str | None, null: bool, explain: bool, color: bool | None, no_refresh: bool,
    rank_mode: str = "hybrid", **params: Any,
) -> None:
    """`--vault A --vault B` / `--all-vaults`: one ranked list over several indexes."""
    from ...api import known_indexes, open_index, search_many
    from ..render import print_lines

    if template is not None:
        _check_template(template)
    if all_vaults:
        vaults = list(dict.fromkeys([*vaults, *(v for v, _ in known_indexes())]))
        if not vaults:
            raise _fail(IndexNotFoundError("no index yet: `searchkit index VAULT` builds one"),
                        as_json)
    for v in vaults:
        if not v.is_dir():
            raise click.UsageError(f"vault not found or not a directory: {v}")
    indexes = []
    try:
        for v in vaults:
            ix = open_index(None, v)
            indexes.append(ix)
            if not no_refresh:
                refresh_before_search(ix, str(v), show_warnings=not as_json)
        dated = {k: params.pop(k) for k in ("after", "before") if params.get(k)}
        params = {k: v for k, v in params.items() if k != "after" and k != "before"}
        results = search_many(indexes, q, explain=explain, mode=rank_mode, **params, **dated)
        for vault, why in results.skipped:  # the others were searched
            click.echo(clean(f"warning: {vault} was not searched: {why}"), err=True)
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        for ix in indexes:
            ix.close()
    if as_json:
        _echo_json(results_json(results))
    elif mode is not None:
        if results:
            print_lines(results, mode, None, template, null)
        else:
            print_results(results, False, False)
    else:
        print_results(results, _use_color(color), explain, None, terminal_width())
    if not results:
        raise click.exceptions.Exit(EXIT_NO_RESULTS)


def _check_template(template: str) -> None:
    from ...api import Links, Passage
    from ..render import TEMPLATE_ONLY_KEYS, fill_template, passage_json

    sample = Passage(
        rank=1, score=0.0, id="n.md#0", path="n.md", title="", heading_path=(),
        kind="section", callout_type=None, callout_title=None, line=1, snippet="",
        snippet_marked="", highlights=(), timestamp=None, tags=(),
        links=Links("", "", "", None),
    )
    try:
        fill_template(template, passage_json(sample, None))
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        keys = ", ".join([*TEMPLATE_ONLY_KEYS, *passage_json(sample, None)])
        raise click.UsageError(f"bad --format template ({exc!r}); keys: {keys}") from exc


def _search_lines(
    index_dir: Path, vault_opt: Path | None, no_refresh: bool, out: str,
    template: str | None, null: bool, *, q: str, **params: Any,
) -> None:
    """`--files`, `--jsonl`, `--vimgrep`, `--format`: a line per result, nothing else on
    stdout (messages on stderr); exit 1 when nothing matched."""
    from ..render import print_lines

    ix = _open(index_dir, vault_opt)
    try:
        # The model starts while the refresh checks and the words are scored.
        ix.prepare(q, params.get("mode", "hybrid"), params.get("sort", "score"))
        if not no_refresh:
            refresh_before_search(ix, "the index")
        results = ix.search(q, **params)
    except SearchkitError as exc:
        raise _fail(exc) from exc
    finally:
        ix.close()
    if not results:
        print_results(results, False, False, ix.vault)  # says why, on stderr
        raise click.exceptions.Exit(EXIT_NO_RESULTS)
    print_lines(results, out, ix.vault, template, null)
