"""`searchkit read` and `searchkit chunks`: a note's lines as a result names them, and how
a note splits into passages."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

import click

from ...errors import SearchkitError
from ..progress import warn_all
from ..render import clean, json_text
from .base import (
    _echo_json,
    _fail,
    _index_options,
    _open,
)


@click.command("read", short_help="Print lines of an indexed note (PATH[:LINE]).")
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
    from ...api import shorten_timestamps

    path, line = _split_line(target)
    ix = _open(index_dir, vault_opt, as_json)
    try:
        vault = ix.vault
        window = ix.read_note(_vault_relative(path, vault), line or 1, max_lines)
    except SearchkitError as exc:
        raise _fail(exc, as_json) from exc
    finally:
        ix.close()
    if not raw and vault is not None:
        window = replace(window, lines=shorten_timestamps(window.lines, vault / window.path))
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
    from ...api import find_from

    full = file.resolve()
    roots = [vault.resolve()] if vault is not None else []
    found = find_from(full.parent)
    if found is not None:
        roots.append(found[0])
    for root in roots:
        if full.is_relative_to(root):
            return root, full.relative_to(root).as_posix()
    return full.parent, full.name


@click.command("chunks", short_help="Show how notes split into passages.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                  path_type=Path))
@click.option("--vault", "vault_opt", envvar="SEARCHKIT_VAULT",
              type=click.Path(file_okay=False, path_type=Path),
              help="The vault the notes are in (default: the indexed vault holding each "
              "file, else its folder): ids and paths are relative to it.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per chunk.")
def chunks_cmd(files: tuple[Path, ...], vault_opt: Path | None, as_json: bool) -> None:
    """Show how notes split into passages (what gets indexed), without indexing."""
    from ...api import load_note
    from ...errors import NoteError

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
