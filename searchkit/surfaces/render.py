"""How the CLI shows results: the `--json` shape, text blocks with highlighted snippets,
the footer that says where a page sits, paths that open from the current folder. The CLI
commands (cli.py) and the warm hand-off to a server print through here, so both look the
same."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from ..retrieve.links import file_link


def terminal_width() -> int | None:
    """Width to wrap text output to: the terminal's, or $COLUMNS when set; None (no
    wrapping) when output goes to a pipe or file, so grep and scripts see whole lines."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) > 0 else None


def _shown_path(vault: Path | None, rel: str) -> str:
    """A note's path as it opens from the current folder: relative when the note is
    under it or both are in the same vault, absolute otherwise."""
    if vault is None:
        return rel
    full = vault / rel
    try:
        cwd = Path.cwd()
        inside = cwd.resolve().is_relative_to(vault) or full.is_relative_to(cwd)
    except OSError:  # the current folder is gone: only an absolute path opens
        return str(full)
    return os.path.relpath(full, cwd) if inside else str(full)


# ---------------------------------------------------------------------------------------
# Commands


def results_json(
    results: Any, vault: Path | None = None, index_dir: Path | None = None
) -> dict[str, Any]:
    """The documented `--json` shape: `Passage.to_dict()` per result plus `abs_path`;
    stable keys, absent values as null."""
    return {
        "query": results.query,
        "total": results.total,
        "total_exact": bool(getattr(results, "total_exact", False)),
        "offset": results.offset,
        "available": getattr(results, "available", None),
        "suggestion": results.suggestion,
        "corrected": [list(pair) for pair in getattr(results, "corrected", ())],
        "semantic": getattr(results, "semantic", None),
        "vault": str(vault) if vault is not None else None,
        "index": str(index_dir) if index_dir is not None else None,
        "results": [
            {**p.to_dict(), "abs_path": str(vault / p.path) if vault is not None else None}
            for p in results
        ],
    }


def _count(results: Any) -> str:
    exact = getattr(results, "total_exact", False)
    return f"{results.total:,}" if exact else f"at least {results.total:,}"


def _footer(results: Any) -> str | None:
    """Where this page sits in the whole result list; more is offered only when there is
    more. `available` counts what the search can show (after the per-note cap), `total`
    the passages that matched."""
    shown = len(results)
    first, last = results.offset + 1, results.offset + shown
    span = f"{first}–{last}" if last > first else f"{first}"
    available = getattr(results, "available", None)
    if available is None:  # only a lower bound is known
        if results.total > last:
            return f"{span} of {_count(results)} matching passages; --offset {last} for more"
        return f"{span} of {last:,} results; no more" if results.offset else None
    matched = ""
    if results.total != available:
        matched = f" ({results.total:,} matching passages, capped per note)"
    if available > last:
        return f"{span} of {available:,} results{matched}; --offset {last} for more"
    if results.offset:
        return f"{span} of {available:,} results{matched}; no more"
    return None


def _crumbs(p: Any) -> list[str]:
    """title › headings, without the first heading when it only repeats the title
    (a note whose title came from its H1)."""
    heads = list(p.heading_path)
    if heads and heads[0].strip().casefold() == p.title.strip().casefold():
        heads = heads[1:]
    return [p.title, *heads]


def _wrap(text: str, width: int | None) -> list[tuple[int, int]]:
    """(start, end) of each line when `text` is filled to `width` columns, breaking at
    spaces only; offsets into `text`, so highlight spans can be cut per line."""
    if width is None or len(text) <= width:
        return [(0, len(text))]
    lines: list[tuple[int, int]] = []
    start = end = None
    for m in re.finditer(r"\S+", text):
        if start is None:
            start, end = m.start(), m.end()
        elif m.end() - start <= width:
            end = m.end()
        else:
            lines.append((start, end))  # type: ignore[arg-type]
            start, end = m.start(), m.end()
    if start is not None:
        lines.append((start, end))  # type: ignore[arg-type]
    return lines or [(0, 0)]


def _highlight(
    snippet: str, spans: Any, color: bool, width: int | None = None, indent: str = ""
) -> str:
    """The snippet on one line, or filled to `width` with `indent`; matches styled."""
    text = " ".join(snippet.split("\n"))  # same length: the spans stay valid
    rows = []
    for lo, hi in _wrap(text, None if width is None else max(20, width - len(indent))):
        if not color:
            rows.append(indent + text[lo:hi])
            continue
        out, pos = [], lo
        for start, end in spans:
            start, end = max(start, lo), min(end, hi)
            if start >= end:
                continue
            out.append(text[pos:start])
            out.append(click.style(text[start:end], fg="yellow", bold=True))
            pos = end
        out.append(text[pos:hi])
        rows.append(indent + "".join(out))
    return "\n".join(rows)


def print_results(
    results: Any, color: bool, explain: bool, vault: Path | None = None,
    width: int | None = None,
) -> None:
    if not results:
        if results.offset and results.total:
            click.echo(
                f"Nothing at --offset {results.offset}: the results for {results.query!r} "
                f"end before that ({_count(results)} matching passages).",
                err=True,
            )
            return
        msg = f"No passages match {results.query!r}."
        if results.suggestion:
            msg += f" Did you mean: {results.suggestion}"
        click.echo(msg, err=True)
        return
    for word, fixed in getattr(results, "corrected", ()):
        click.echo(f"No {word!r} in the notes: also searched for {fixed!r}.", err=True)
    for p in results:
        crumbs = _crumbs(p)
        if color:
            crumbs[0] = click.style(crumbs[0], bold=True)
        if p.kind == "callout":
            label = f"[!{p.callout_type}]" + (f" {p.callout_title}" if p.callout_title else "")
            crumbs.append(label)
        click.echo(f"{p.rank:>2}. " + " › ".join(crumbs), color=color)
        click.echo(_highlight(p.snippet, p.highlights, color, width, "    "), color=color)
        # Never wrapped: a link cut in two opens nothing.
        links = [file_link(_shown_path(vault, p.path), p.line)]
        links += [p.links.video] if p.links.video else []
        line = "    " + "  ".join(links)
        click.echo(click.style(line, dim=True) if color else line, color=color)
        if explain and p.explanation:
            for row in p.explanation.splitlines():
                click.echo(f"      {row}")
        click.echo()
    footer = _footer(results)
    if footer:
        click.echo(footer, err=True)
    partial = semantic_note(getattr(results, "semantic", None))
    if partial:
        click.echo(partial, err=True)


def semantic_note(semantic: dict[str, Any] | None) -> str | None:
    """One line when search by meaning saw only part of the passages."""
    if not semantic or semantic.get("share", 1.0) >= 1.0:
        return None
    return (
        f"semantic: {100 * semantic['share']:.0f} % of passages embedded "
        f"({semantic['embedded']:,} of {semantic['passages']:,}); `searchkit index` "
        "embeds the rest"
    )
