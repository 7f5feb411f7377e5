"""The `searchkit` command: thin click wrappers over `searchkit.api`.

Exit codes: 0 success; 1 a search found nothing; 2 bad usage, a bad query, or a missing,
foreign, outdated or damaged index; 3 the index is locked by another writer; 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import IndexLockedError, MassDeleteError, SearchkitError

EXIT_NO_RESULTS = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


# ---------------------------------------------------------------------------------------
# Shared options and helpers


def _index_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--vault",
        "vault_opt",
        envvar="SEARCHKIT_VAULT",
        type=click.Path(file_okay=False, path_type=Path),
        help="Vault folder (default: the one the index remembers). Env: SEARCHKIT_VAULT.",
    )(f)
    return click.option(
        "--index",
        "index_dir",
        envvar="SEARCHKIT_INDEX",
        default="index",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Index directory. Env: SEARCHKIT_INDEX.",
    )(f)


def _fail(exc: SearchkitError) -> click.exceptions.Exit:
    click.echo(f"Error: {exc}", err=True)
    return click.exceptions.Exit(EXIT_LOCKED if isinstance(exc, IndexLockedError) else EXIT_USAGE)


def _use_color(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _warn_all(warnings: Any) -> None:
    for w in warnings:
        click.echo(f"warning: {w.path}: {w.message}", err=True)


class _ProgressBar:
    """A click progress bar on a terminal (stderr); silent when stderr is not one."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.chunks = 0
        self.started = time.perf_counter()

    def __call__(self, p: Any) -> None:
        if not self.enabled or p.notes_total < 50:
            return  # a few notes finish before a bar is worth drawing
        if self.bar is None:
            self.bar = click.progressbar(
                length=p.notes_total, label="Indexing", file=sys.stderr,
                item_show_func=self._rate, show_eta=True,
            )
            self.bar.__enter__()
        self.chunks = p.chunks
        self.bar.update(p.notes_done - self.done, current_item=p)
        self.done = p.notes_done

    def _rate(self, _: Any) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        return f"{self.done / elapsed:,.0f} notes/s {self.chunks / elapsed:,.0f} chunks/s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _summary(report: Any) -> str:
    head = "Rebuilt" if report.rebuilt else "Updated"
    line = (
        f"{head} {report.notes:,} notes, {report.chunks:,} chunks in {report.seconds:.2f} s "
        f"({report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{report.unchanged} unchanged"
    )
    line += f"; {len(report.warnings)} warnings)" if report.warnings else ")"
    if report.rebuilt and report.reason:
        line += f" — {report.reason}"
    return line


def _list_removals(exc: MassDeleteError, shown: int = 20) -> None:
    click.echo(f"This update would remove {len(exc.would_remove)} of {exc.indexed} indexed "
               "notes:", err=True)  # fmt: skip
    for path in exc.would_remove[:shown]:
        click.echo(f"  {path}", err=True)
    if len(exc.would_remove) > shown:
        click.echo(f"  … and {len(exc.would_remove) - shown} more", err=True)


def _resolve_vault(vault_arg: Path | None, vault_opt: Path | None) -> Path | None:
    if vault_arg and vault_opt and vault_arg.resolve() != vault_opt.resolve():
        raise click.UsageError(f"two vaults given: {vault_arg} and --vault {vault_opt}")
    return vault_arg or vault_opt


def _open(index_dir: Path, vault: Path | None) -> Any:
    from .api import open_index  # Whoosh loads only for commands that use an index

    if vault is not None and not vault.is_dir():
        raise click.UsageError(f"vault not found or not a directory: {vault}")
    return open_index(index_dir, vault)


# ---------------------------------------------------------------------------------------
# Commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchkit")
def main() -> None:
    """Ranked passage search for markdown note vaults.

    \b
    searchkit index ~/notes          build or update the index (in ./index)
    searchkit search sleep memory    ranked passages with links
    searchkit status                 what is indexed and what is stale
    searchkit watch                  re-index as notes change
    """


@main.command("index")
@click.argument("vault", required=False, type=click.Path(file_okay=False, path_type=Path))
@_index_options
@click.option("--rebuild", is_flag=True, help="Rebuild from scratch (the old index stays "
              "searchable until the new one is ready).")
@click.option("--json", "as_json", is_flag=True, help="Print the update report as JSON.")
@click.option("--jobs", type=click.IntRange(1), help="Worker processes for a full build.")
@click.option("--lock-timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for another writer.")
@click.option("--follow-symlinks/--no-follow-symlinks", default=None,
              help="Index notes behind symlinks that lead out of the vault (remembered; "
              "default off).")
@click.option("--allow-mass-delete", is_flag=True, help="Go on when the vault looks empty "
              "or more than half of the indexed notes are gone (refused otherwise).")
def index_cmd(
    vault: Path | None, index_dir: Path, vault_opt: Path | None, rebuild: bool,
    as_json: bool, jobs: int | None, lock_timeout: float, follow_symlinks: bool | None,
    allow_mass_delete: bool,
) -> None:
    """Build or update the index of VAULT (default: the vault the index remembers).

    Only new and changed notes are read again; removed and renamed notes leave no trace.
    """
    vault = _resolve_vault(vault, vault_opt)
    ix = _open(index_dir, vault)
    if vault is None and not ix.exists():
        raise click.UsageError(
            f"no index at {index_dir} yet: name the vault, e.g. `searchkit index PATH/TO/VAULT`"
        )
    bar = _ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        report = ix.update(
            rebuild=rebuild, progress=bar, lock_timeout=lock_timeout, jobs=jobs,
            follow_symlinks=follow_symlinks, allow_mass_delete=allow_mass_delete,
            verify=True,  # an explicit run reads the index once: never "unchanged" if damaged
        )
    except MassDeleteError as exc:
        _list_removals(exc)
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        # As a kill would: nothing half-done is live; the next update cleans up.
        click.echo("Interrupted; the last committed index is unchanged.", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except SearchkitError as exc:
        raise _fail(exc) from exc
    finally:
        bar.close()
        ix.close()
    if as_json:
        _echo_json(report.to_dict())
        return
    _warn_all(report.warnings)
    click.echo(_summary(report))


@main.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True, type=click.UNPROCESSED)
@_index_options
@click.option("-n", "--limit", type=click.IntRange(1), default=10, show_default=True,
              help="Passages to show.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many passages.")
@click.option("--per-note", type=click.IntRange(0), default=2, show_default=True,
              help="At most this many passages per note (0: no limit).")
@click.option("--tag", multiple=True, help="Only notes with this tag (repeatable: any).")
@click.option("--path", "path_", help="Only notes under this path prefix or glob.")
@click.option("--callout", help="Only callouts of this type (info, tip…).")
@click.option("--kind", type=click.Choice(["intro", "section", "callout"]),
              help="Only passages of this kind.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every result.")
@click.option("--explain", is_flag=True, help="Show why each passage scored as it did.")
@click.option("--no-refresh", is_flag=True, help="Do not update the index from the vault first.")
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal, "
              "unless NO_COLOR is set).")
def search_cmd(
    query: tuple[str, ...], index_dir: Path, vault_opt: Path | None, limit: int, offset: int,
    per_note: int, tag: tuple[str, ...], path_: str | None, callout: str | None,
    kind: str | None, as_json: bool, explain: bool, no_refresh: bool, color: bool | None,
) -> None:
    """Search the index for QUERY and print ranked passages.

    \b
    Words:      sleep memory       every word counts; passages with all rank first
    Phrase:     "slow wave sleep"
    Boolean:    sleep OR rest, sleep -caffeine, NOT caffeine, (a OR b) c
    Prefix:     consolid*          Fuzzy: memroy~
    Fields:     title: heading: tag: path: callout: kind: video: has:timestamp
    """
    text = " ".join(query)
    ix = _open(index_dir, vault_opt)
    try:
        if not no_refresh and ix.exists():
            try:
                report = ix.refresh()
            except SearchkitError as exc:  # a stale answer beats none: say so, search on
                click.echo(f"warning: could not refresh the index: {exc}", err=True)
                report = None
            if report is not None and not as_json:
                _warn_all(report.warnings)
        results = ix.search(
            text, limit=limit, offset=offset, per_note=per_note, explain=explain,
            tag=list(tag), path=path_, callout=callout, kind=kind,
        )
    except SearchkitError as exc:
        raise _fail(exc) from exc
    finally:
        ix.close()
    if as_json:
        _echo_json(results_json(results))
    else:
        _print_results(results, _use_color(color), explain)
    if not results:
        raise click.exceptions.Exit(EXIT_NO_RESULTS)


def results_json(results: Any) -> dict[str, Any]:
    """The documented `--json` shape: stable keys, absent values as null."""
    return {
        "query": results.query,
        "total": results.total,
        "offset": results.offset,
        "suggestion": results.suggestion,
        "results": [
            {
                "rank": p.rank,
                "score": round(p.score, 4),
                "path": p.path,
                "title": p.title,
                "heading": list(p.heading_path),
                "kind": p.kind,
                "callout": p.callout_type,
                "callout_title": p.callout_title,
                "line": p.line,
                "snippet": p.snippet,
                "snippet_marked": p.snippet_marked,
                "timestamp": p.timestamp,
                "tags": list(p.tags),
                "links": {
                    "file": p.links.file,
                    "obsidian": p.links.obsidian,
                    "web": p.links.web,
                    "video": p.links.video,
                },
                "id": p.id,
                **({"explanation": p.explanation} if p.explanation is not None else {}),
            }
            for p in results
        ],
    }


def _highlight(snippet: str, spans: Any, color: bool) -> str:
    text = " ".join(snippet.split("\n"))  # same length: the spans stay valid
    if not color:
        return text
    out, pos = [], 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(click.style(text[start:end], fg="yellow", bold=True))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _print_results(results: Any, color: bool, explain: bool) -> None:
    if not results:
        msg = f"No passages match {results.query!r}."
        if results.suggestion:
            msg += f" Did you mean: {results.suggestion}"
        click.echo(msg, err=True)
        return
    for p in results:
        crumbs = [click.style(p.title, bold=True) if color else p.title, *p.heading_path]
        if p.kind == "callout":
            label = f"[!{p.callout_type}]" + (f" {p.callout_title}" if p.callout_title else "")
            crumbs.append(label)
        click.echo(f"{p.rank:>2}. " + " › ".join(crumbs), color=color)
        click.echo("    " + _highlight(p.snippet, p.highlights, color), color=color)
        links = [p.links.file] + ([p.links.video] if p.links.video else [])
        line = "    " + "  ".join(links)
        click.echo(click.style(line, dim=True) if color else line, color=color)
        if explain and p.explanation:
            for row in p.explanation.splitlines():
                click.echo(f"      {row}")
        click.echo()
    shown = len(results)
    if results.total > results.offset + shown:
        click.echo(
            f"{shown} of about {results.total} matching passages; "
            f"--offset {results.offset + shown} for more",
            err=True,
        )


@main.command("status")
@_index_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--check", is_flag=True, help="Read every segment and checksum; exit 2 if the "
              "index is damaged.")
def status_cmd(index_dir: Path, vault_opt: Path | None, as_json: bool, check: bool) -> None:
    """What is indexed, and how many notes changed since the last update."""
    ix = _open(index_dir, vault_opt)
    if check:
        _check(ix, as_json)
        return
    try:
        st = ix.status()
    except SearchkitError as exc:
        raise _fail(exc) from exc
    finally:
        ix.close()
    if as_json:
        _echo_json(st.to_dict())
        return
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.last_update))
        if st.last_update else "never"
    )
    rows = [
        ("vault", st.vault),
        ("index", f"{st.index_dir} ({st.size_bytes / 1e6:.1f} MB)"),
        ("notes", f"{st.notes:,}"),
        ("chunks", f"{st.chunks:,}"),
        ("last update", when),
        ("stale", f"{st.stale_new} new, {st.stale_changed} changed, {st.stale_removed} removed"
                  + (" — run `searchkit index` to update" if st.stale else "")),
    ]
    if st.needs_rebuild:
        rows.append(("rebuild", st.needs_rebuild))
    for key, value in rows:
        click.echo(f"{key:<12} {value}")


def _check(ix: Any, as_json: bool) -> None:
    try:
        result = ix.check()
    except SearchkitError as exc:
        raise _fail(exc) from exc
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


@main.command("watch")
@click.argument("vault", required=False, type=click.Path(file_okay=False, path_type=Path))
@_index_options
@click.option("--debounce", type=click.IntRange(50), default=500, show_default=True,
              help="Milliseconds of quiet before re-indexing.")
def watch_cmd(vault: Path | None, index_dir: Path, vault_opt: Path | None, debounce: int) -> None:
    """Keep the index fresh: update it whenever notes change (Ctrl-C stops)."""
    from .watch import watch_vault

    vault = _resolve_vault(vault, vault_opt)
    ix = _open(index_dir, vault)
    if vault is None and not ix.exists():
        raise click.UsageError(f"no index at {index_dir} yet: name the vault to watch")
    click.echo(f"Watching {ix.vault} (Ctrl-C to stop)…", err=True)

    def on_report(r: Any) -> None:
        _warn_all(r.warnings)
        click.echo(time.strftime("%H:%M:%S ") + _summary(r))

    def on_error(exc: SearchkitError) -> None:
        click.echo(f"Error: {exc}", err=True)  # keep watching: the next change may fix it

    try:
        watch_vault(index_dir, vault, on_report, debounce_ms=debounce, on_error=on_error)
    except SearchkitError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass
    finally:
        ix.close()
    click.echo("Stopped watching.", err=True)


@main.command("chunks")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                  path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per chunk.")
def chunks_cmd(files: tuple[Path, ...], as_json: bool) -> None:
    """Show how notes split into passages (what gets indexed), without indexing."""
    from .chunker import load_note
    from .errors import NoteError

    for file in files:
        try:
            note, chunks = load_note(file.parent, file.name)
        except NoteError as exc:
            click.echo(f"warning: {file}: {exc.message}", err=True)
            continue
        _warn_all(note.warnings)
        for c in chunks:
            if as_json:
                data = {
                    "id": c.id, "path": str(file), "title": c.title,
                    "heading": list(c.heading_path), "kind": c.kind,
                    "callout": c.callout_type, "callout_title": c.callout_title,
                    "lines": [c.line_start, c.line_end], "anchor": c.anchor, "slug": c.slug,
                    "links": list(c.links), "timestamps": [list(t) for t in c.timestamps],
                    "tags": list(c.tags), "text": c.text,
                }
                click.echo(json.dumps(data, ensure_ascii=False))
                continue
            where = " › ".join([c.title, *c.heading_path])
            kind = f"callout [!{c.callout_type}]" if c.kind == "callout" else c.kind
            stamps = ", ".join(str(t.seconds) for t in c.timestamps[:5])
            click.echo(f"{file}:{c.line_start}-{c.line_end}  {kind}  {where}")
            if stamps:
                click.echo(f"    timestamps (s): {stamps}{' …' if len(c.timestamps) > 5 else ''}")
            preview = " ".join(c.text.split())
            click.echo(f"    {preview[:160]}{'…' if len(preview) > 160 else ''}")
