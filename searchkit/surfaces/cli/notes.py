"""More of the `searchkit` command: `read`, `forget`, `config` and `chunks`, the search
output modes for scripts and editors (`--files`, `--jsonl`, `--vimgrep`, `--format`), and
searching several vaults at once. Kept apart from cli.py, which imports this module last
so that these commands register on its `main` group."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..errors import IndexNotFoundError, SearchkitError
from .cli import (
    EXIT_NO_RESULTS,
    _echo_json,
    _fail,
    _index_options,
    _open,
    _resolve_vault,
    _use_color,
    main,
    refresh_before_search,
)
from .progress import warn_all
from .render import clean, json_text, print_results, results_json, terminal_width


def _search_many(
    vaults: list[Path], all_vaults: bool, q: str, as_json: bool, mode: str | None,
    template: str | None, explain: bool, color: bool | None, no_refresh: bool,
    **params: Any,
) -> None:
    """`--vault A --vault B` / `--all-vaults`: one ranked list over several indexes."""
    from ..api import open_index
    from ..multi import search_many
    from ..store.locate import known_indexes
    from .render import print_lines

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
        results = search_many(indexes, q, explain=explain, **params, **dated)
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        for ix in indexes:
            ix.close()
    if as_json:
        _echo_json(results_json(results))
    elif mode is not None:
        if results:
            print_lines(results, mode, None, template)
        else:
            print_results(results, False, False)
    else:
        print_results(results, _use_color(color), explain, None, terminal_width())
    if not results:
        raise click.exceptions.Exit(EXIT_NO_RESULTS)


def _check_template(template: str) -> None:
    from ..retrieve.links import Links
    from ..retrieve.results import Passage
    from .render import fill_template, passage_json

    sample = Passage(
        rank=1, score=0.0, id="n.md#0", path="n.md", title="", heading_path=(),
        kind="section", callout_type=None, callout_title=None, line=1, snippet="",
        snippet_marked="", highlights=(), timestamp=None, tags=(),
        links=Links("", "", "", None),
    )
    try:
        fill_template(template, passage_json(sample, None))
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        keys = ", ".join(["shown_path", *passage_json(sample, None)])
        raise click.UsageError(f"bad --format template ({exc!r}); keys: {keys}") from exc


def _search_lines(
    index_dir: Path, vault_opt: Path | None, no_refresh: bool, out: str,
    template: str | None, *, q: str, **params: Any,
) -> None:
    """`--files`, `--jsonl`, `--vimgrep`, `--format`: a line per result, nothing else on
    stdout (messages on stderr); exit 1 when nothing matched."""
    from .render import print_lines

    ix = _open(index_dir, vault_opt)
    try:
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
    print_lines(results, out, ix.vault, template)


@main.command("forget", short_help="Delete the index of a vault (never the notes).")
@click.argument("vault", required=False, type=click.Path(file_okay=False, path_type=Path))
@_index_options
def forget_cmd(vault: Path | None, index_dir: Path, vault_opt: Path | None) -> None:
    """Delete the index of VAULT (default: the vault you are in, or --vault/--index). The
    notes are never touched; `searchkit index VAULT` builds it again. `searchkit config`
    lists every index."""
    vault = _resolve_vault(vault, vault_opt)
    ix = _open(index_dir, vault)
    where = ix.vault
    try:
        freed = ix.forget()
    except SearchkitError as exc:
        raise _fail(exc) from exc
    name = f"the index of {where}" if where is not None else "the index"
    click.echo(f"Deleted {name} ({ix.index_dir}, {freed / 1e6:.1f} MB).")


@main.command("read", short_help="Print lines of an indexed note (PATH[:LINE]).")
@click.argument("target", metavar="PATH[:LINE]")
@_index_options
@click.option("-n", "--lines", "max_lines", type=click.IntRange(1), default=80,
              show_default=True, help="Lines to print (at most 500).")
@click.option("--raw", is_flag=True, help="Keep timestamp anchors as written (<a … "
              "data-t=…>…</a>) instead of [m:ss].")
@click.option("--json", "as_json", is_flag=True, help="The window as JSON (path, start, end, "
              "total_lines, next_start, truncated, lines).")
def read_cmd(
    target: str, index_dir: Path, vault_opt: Path | None, max_lines: int, raw: bool,
    as_json: bool,
) -> None:
    """Print lines of an indexed note from LINE on, numbered, as a search result names it
    (`searchkit read notes/sleep.md:17`). PATH is vault-relative, or a file path from
    here inside the vault. Timestamp anchors are shortened to [m:ss] unless --raw.
    """
    from ..ingest.timestamps import note_reads_frames, shorten_markup

    path, line = _split_line(target)
    ix = _open(index_dir, vault_opt, as_json)
    try:
        vault = ix.vault
        window = ix.read_note(_vault_relative(path, vault), line or 1, max_lines)
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        ix.close()
    lines = window.lines
    if not raw and vault is not None:
        try:
            frames = note_reads_frames((vault / window.path).read_text("utf-8", "replace"))
        except OSError:
            frames = None
        lines = tuple(shorten_markup(x, frames) for x in lines)
    window = replace(window, lines=lines)
    if as_json:
        _echo_json(window.to_dict())
        return
    click.echo(clean(window.numbered()))
    if window.next_start is not None:
        click.echo(f"lines {window.start}–{window.end} of {window.total}; more: searchkit "
                   f"read {shlex.quote(window.path + ':' + str(window.next_start))}", err=True)


def _split_line(target: str) -> tuple[str, int | None]:
    """`path:LINE` → (path, LINE); a path without a line number → (path, None)."""
    head, sep, tail = target.rpartition(":")
    if sep and head and tail.isdigit():
        return head, int(tail)
    return target, None


def _vault_relative(path: str, vault: Path | None) -> str:
    """A path as the user has it (relative to here, or absolute) → vault-relative; one
    that names no file from here is taken as vault-relative already."""
    if vault is None:
        return path
    here = Path(path).expanduser()
    try:
        if here.is_file():
            full = here.absolute()
            for root in (vault, vault.resolve()):
                if full.is_relative_to(root):
                    return full.relative_to(root).as_posix()
    except OSError:
        pass
    return path


def _note_in_vault(file: Path, vault: Path | None) -> tuple[Path, str]:
    """(vault root, vault-relative POSIX path) of a note file: in `vault` if given and the
    file is in it, else in the indexed vault that holds it, else in its own folder."""
    from ..store.locate import find_from

    full = file.resolve()
    roots = [vault.resolve()] if vault is not None else []
    found = find_from(full.parent)
    if found is not None:
        roots.append(found[0])
    for root in roots:
        if full.is_relative_to(root):
            return root, full.relative_to(root).as_posix()
    return full.parent, full.name


@main.command("config", short_help="Show or set the default vault (search from anywhere).")
@click.argument("key", required=False, type=click.Choice(["vault", "index", "semantic"]))
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove KEY from the config file.")
def config_cmd(key: str | None, value: str | None, unset: bool) -> None:
    """Show the config, or set KEY to VALUE in the per-user config file.

    \b
    searchkit config vault ~/notes    search ~/notes from any folder
    searchkit config vault            print it (exit 1 when not set)
    searchkit config index DIR        or name the index folder itself
    searchkit config semantic off     words only: no embedding, no search by meaning
    searchkit config vault --unset

    Inside another indexed vault, that vault's index still wins; --vault/--index and
    SEARCHKIT_VAULT/SEARCHKIT_INDEX override both.
    """
    from ..store.locate import config_path, known_indexes, read_config, write_config

    try:
        if key is None:
            if value is not None or unset:
                raise click.UsageError("name the KEY to set or unset (vault or index)")
            config = read_config()
            click.echo(f"config file  {config_path()}")
            for name in ("vault", "index", "semantic"):
                click.echo(f"{name:<12} {config.get(name, '(not set)')}")
            for vault, index_dir in known_indexes():
                click.echo(f"indexed      {vault}  ({index_dir})")
            return
        if value is None and not unset:
            # As `git config KEY`: print the value; exit 1 when it is not set.
            current = read_config().get(key)
            if current is None:
                raise click.exceptions.Exit(EXIT_NO_RESULTS)
            click.echo(current)
            return
        if unset and value is not None:
            raise click.UsageError("give a VALUE to set, or --unset, not both")
        if value is not None and key == "semantic":
            if value.strip().lower() not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
                raise click.UsageError(f"semantic takes on or off, not {value!r}")
            value = "off" if value.strip().lower() in ("off", "false", "no", "0") else "on"
        elif value is not None:
            folder = Path(value).expanduser()
            if key == "vault" and not folder.is_dir():
                raise click.UsageError(f"vault not found or not a directory: {value}")
            value = str(folder.resolve() if key == "vault" else folder.absolute())
        path = write_config({key: value})
    except SearchkitError as exc:
        raise _fail(exc) from exc
    click.echo(f"{key} = {value}  ({path})" if value is not None else f"{key} unset ({path})")


@main.command("chunks", short_help="Show how notes split into passages.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                  path_type=Path))
@click.option("--vault", "vault_opt", envvar="SEARCHKIT_VAULT",
              type=click.Path(file_okay=False, path_type=Path),
              help="The vault the notes are in (default: the indexed vault holding each "
              "file, else its folder): ids and paths are relative to it.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per chunk.")
def chunks_cmd(files: tuple[Path, ...], vault_opt: Path | None, as_json: bool) -> None:
    """Show how notes split into passages (what gets indexed), without indexing."""
    from ..errors import NoteError
    from ..ingest.chunker import load_note
    from .cli_more import _note_in_vault

    for file in files:
        root, rel = _note_in_vault(file, vault_opt)
        try:
            note, chunks = load_note(root, rel)
        except NoteError as exc:
            click.echo(f"warning: {file}: {exc.message}", err=True)
            continue
        warn_all(note.warnings)
        for c in chunks:
            if as_json:
                data = {
                    # Same names as Passage.to_dict() for the same facts; `id` and `path`
                    # are the vault-relative ones a search gives.
                    "id": c.id, "path": c.path, "abs_path": str(root / rel), "title": c.title,
                    "heading_path": list(c.heading_path), "kind": c.kind,
                    "callout_type": c.callout_type, "callout_title": c.callout_title,
                    "lines": [c.line_start, c.line_end], "anchor": c.anchor, "slug": c.slug,
                    "links": list(c.links), "timestamps": [list(t) for t in c.timestamps],
                    "tags": list(c.tags), "text": c.text,
                }
                click.echo(json_text(data, None))
                continue
            where = " › ".join([c.title, *c.heading_path])
            kind = f"callout [!{c.callout_type}]" if c.kind == "callout" else c.kind
            stamps = ", ".join(str(t.seconds) for t in c.timestamps[:5])
            click.echo(clean(f"{file}:{c.line_start}-{c.line_end}  {kind}  {where}"))
            if stamps:
                click.echo(f"    timestamps (s): {stamps}{' …' if len(c.timestamps) > 5 else ''}")
            preview = " ".join(clean(c.text).split())
            click.echo(f"    {preview[:160]}{'…' if len(preview) > 160 else ''}")
