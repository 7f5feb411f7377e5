"""`searchkit index`, `status` and `forget`: building, inspecting and deleting an index."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from ...errors import (
    IndexLockedError,
    IndexWriteError,
    MassDeleteError,
    SearchkitError,
    SemanticUnavailableError,
)
from ..progress import (
    EmbedBar,
    ProgressBar,
    duration,
    embed_summary,
    list_removals,
    update_summary,
    warn_all,
)
from ..render import clean
from .base import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    _echo_json,
    _fail,
    _index_options,
    _open,
    _resolve_vault,
)


@click.command("index", short_help="Build or update the index of a vault.")
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
@click.option("--max-note-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              envvar="SEARCHKIT_MAX_NOTE_MB", show_envvar=True,
              help="Skip notes larger than this many MB (default 10); a note skipped for "
              "its size is read once the cap lets it through. Set the environment variable "
              "for searches, watch and serve too.")
def index_cmd(
    vault: Path | None, index_dir: Path, vault_opt: Path | None, rebuild: bool,
    as_json: bool, jobs: int | None, lock_timeout: float, follow_symlinks: bool | None,
    allow_mass_delete: bool, nested: bool, verify: bool, semantic: bool | None,
    max_note_mb: float | None,
) -> None:
    """Build or update the index of VAULT (default: the vault the index remembers).

    Only new and changed notes are read again; removed and renamed notes leave no trace.
    The notes are searchable by words as soon as that is done; then passages without a
    vector are embedded for search by meaning (Ctrl-C keeps what is done; the next run
    resumes).
    """
    if max_note_mb is not None:  # read by the indexer and its worker processes
        os.environ["SEARCHKIT_MAX_NOTE_MB"] = repr(max_note_mb)
    vault = _resolve_vault(vault, vault_opt)
    ix = _open(index_dir, vault, as_json, semantic)
    if ix.vault is None and not ix.exists():
        raise click.UsageError(
            f"no index at {ix.index_dir} yet: name the vault, e.g. "
            f"`{ix.fix_command('PATH/TO/VAULT')}`"
        )
    if vault is not None and index_dir is None and not nested and not ix.exists():
        from ...api import enclosing_vault

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
        embedded = _embed(ix, as_json, semantic, lock_timeout)
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
        left = getattr(meaning, "seconds_left", None)
        took = f" (about {duration(left)} at the last pass's pace)" if left is not None else ""
        line += f" — run `{index_cmd}` to embed the rest{took}"
    return line


def _embed(
    ix: Any, as_json: bool, asked: bool | None, lock_timeout: float
) -> dict[str, Any] | None:
    """The embedding pass after an update: vectors for passages that have none (all of
    them again when the index's vectors were made by another model)."""
    bar = EmbedBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        report = ix.embed(progress=bar, lock_timeout=lock_timeout)
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
    except IndexLockedError:
        # The words are indexed and searchable; only the vectors wait. The lock's holder is
        # a `watch`, `serve` or `mcp` embedding in the background (whose next pass takes
        # these passages too) or another `searchkit index`.
        bar.close()
        click.echo(
            "warning: not embedding now: another process is embedding this index's passages "
            f"(waited {lock_timeout:g} s); a running `searchkit watch`, `serve` or `mcp` "
            "embeds the new ones within a minute, else run "
            f"`{ix.fix_command()}` again when it is done", err=True,
        )
        return None
    except SearchkitError as exc:
        bar.close()
        if isinstance(exc, IndexWriteError):
            # The words are indexed; vectors can come on a later run.
            click.echo(f"warning: not embedding now: {exc}", err=True)
            return None
        raise _fail(exc) from exc
    bar.close()
    if not as_json:
        click.echo(embed_summary(report))
    return report.to_dict()


@click.command("status", short_help="What is indexed, and what is stale.")
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
        # Damaged vector files name their own fix (embed again); a rebuild of the words
        # would not touch them.
        if any(not p.endswith("to embed again") for p in result.problems):
            click.echo("Rebuild it with `searchkit index --rebuild`.", err=True)
    if not result.sound:
        raise click.exceptions.Exit(EXIT_USAGE)


# The long-lived commands (watch, mcp, serve) and the warm-CLI hand-off live in


@click.command("forget", short_help="Delete the index of a vault (never the notes).")
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
