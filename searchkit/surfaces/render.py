"""How the CLI shows results: the `--json` shape, text blocks with highlighted snippets,
the footer that says where a page sits, paths that open from the current folder. The CLI
commands (cli.py) and the warm hand-off to a server print through here, so both look the
same."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from ..retrieve.links import file_link

# Terminal escapes a note may hold (OSC 52 writes the clipboard, OSC 8 makes links, OSC 0
# sets the window title, CSI moves the cursor or clears the screen): a whole sequence goes,
# payload included, then any other control character. Newlines and tabs stay.
_ESCAPE_SEQ = re.compile(
    r"(?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c|$)"  # OSC … BEL/ST (or cut short)
    r"|(?:\x1b[P_^X]|[\x90\x9e\x9f]).*?(?:\x1b\\|\x9c|$)"  # DCS, APC, PM, SOS … ST
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?",  # other ESC sequences
    re.DOTALL,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1_OR_DEL = re.compile(r"[\x7f-\x9f]")


def clean(text: str) -> str:
    """`text` without terminal control: escape sequences and control characters removed
    (newlines and tabs kept), for everything printed as plain text."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub("", _ESCAPE_SEQ.sub("", text))


def json_text(data: Any, indent: int | None = 2) -> str:
    """JSON with every control character escaped: json.dumps escapes C0 ones, but with
    `ensure_ascii=False` writes DEL and C1 ones (an 8-bit CSI is U+009B) raw."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _C1_OR_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
        "empty_filters": list(getattr(results, "empty_filters", ())),
        "semantic": getattr(results, "semantic", None),
        "vault": str(vault) if vault is not None else None,
        "index": str(index_dir) if index_dir is not None else None,
        "results": [passage_json(p, v) for p, v in _each(results, vault)],
    }


def passage_json(p: Any, vault: Path | None) -> dict[str, Any]:
    """One result as `--json` and `--jsonl` give it: `Passage.to_dict()` plus `abs_path`
    (and `vault`, when several vaults were searched)."""
    data = {**p.to_dict(), "abs_path": str(vault / p.path) if vault is not None else None}
    if getattr(p, "_vault", None) is not None:
        data["vault"] = str(vault)
    return data


def _each(results: Any, vault: Path | None) -> Any:
    """(passage, its vault) for every result: one vault, or each passage's own after a
    search of several (`api.search_many`)."""
    vaults = getattr(results, "vaults", None)
    if vaults:
        for p, v in zip(results, vaults, strict=True):
            yield _Marked(p), v
    else:
        for p in results:
            yield p, vault


class _Marked:
    """A passage from a search of several vaults (its JSON names its vault)."""

    def __init__(self, p: Any) -> None:
        self._p = p
        self._vault = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)


# What a path written a line a record must not hold raw (a newline would cut the record;
# other control characters would act on a terminal). A backslash is doubled so that the
# escapes read back; on Windows it is the separator and stays as it is.
_PATH_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_PATH_ESCAPED = re.compile(r"[\x00-\x1f\x7f-\x9f\\]" if os.sep == "/" else r"[\x00-\x1f\x7f-\x9f]")


def escape_path(path: str) -> str:
    """`path` on one line, as `ls -b` writes it: `\\n`, `\\r`, `\\t`, other control
    characters as `\\xNN`, a backslash as `\\\\`; anything else as it is."""
    return _PATH_ESCAPED.sub(
        lambda m: _PATH_ESCAPES.get(m.group()) or f"\\x{ord(m.group()):02x}", path
    )


def print_lines(
    results: Any, mode: str, vault: Path | None = None, template: str | None = None,
    null: bool = False,
) -> None:
    """Results for scripts and editors, a record each, written as they are formatted:
    `files` (each note's path once, in rank order), `jsonl` (a passage's JSON a line),
    `vimgrep` (`path:line:col:text`, for quickfix lists and fzf), `format` (`template`
    filled with the JSON keys, `{shown_path}` and `{vault}`). Paths open from the current
    folder, as in the text output. A record ends with a newline and its path is escaped
    (`escape_path`), or with `null` it ends with a NUL and the path is written exactly as
    it is (`find -print0`, `rg -0`): a file name may hold anything but NUL and `/`.
    """
    end = "\0" if null else "\n"
    seen: set[str] = set()
    for p, vault in _each(results, vault):  # noqa: B020  (each passage's own vault)
        shown = _shown_path(vault, p.path)
        path = shown if null else escape_path(shown)
        if mode == "files":
            if shown not in seen:
                seen.add(shown)
                click.echo(path + end, nl=False, color=True)  # as it is: no ANSI stripping
        elif mode == "jsonl":
            click.echo(json_text(passage_json(p, vault), None) + end, nl=False)
        elif mode == "vimgrep":
            text = " ".join(p.snippet.split())
            where = " ".join(" › ".join(_crumbs(p)).split())  # a title from a file name
            line, col = _match_position(vault, p)
            click.echo(path + clean(f":{line}:{col}:{where}: {text}") + end, nl=False)
        else:
            data = passage_json(p, vault)
            filled = fill_template(template or "", data, shown, vault)
            click.echo(clean(filled) + end, nl=False)


_LINES_LOOKED_AT = 400  # lines of a passage searched for its first match, at most


def _match_position(vault: Path | None, p: Any) -> tuple[int, int]:
    """(line, byte column), 1-based, of the passage's first highlighted word in the note
    file, so a quickfix list jumps to the match; the passage's first line, column 1, when
    the file cannot be read or the word is not found (it was in the title, say)."""
    start = p.line or 1
    words = [p.snippet[a:b] for a, b in p.highlights if b > a]
    if vault is None or not words:
        return start, 1
    try:
        with open(vault / p.path, encoding="utf-8", errors="replace") as f:
            lines = f.read(4_000_000).split("\n")
    except OSError:
        return start, 1
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    for n in range(start - 1, min(len(lines), start - 1 + _LINES_LOOKED_AT)):
        m = pattern.search(lines[n])
        if m is not None:
            return n + 1, len(lines[n][: m.start()].encode("utf-8")) + 1
    return start, 1


TEMPLATE_ONLY_KEYS = ("shown_path", "vault")


def fill_template(
    template: str, data: dict[str, Any], shown: str = "", vault: Path | None = None
) -> str:
    """`template` with `{key}` (any `--json` key, `{links[file]}` for nested ones,
    `{shown_path}`: the path as it opens from here, and `{vault}`: the folder of the vault
    the passage is in, as in `--json`) filled in; `\\t` and `\\n` as a tab and a newline.
    Raises KeyError/IndexError/ValueError for a bad template."""
    text = template.replace("\\t", "\t").replace("\\n", "\n")
    values = {k: ("" if v is None else v) for k, v in data.items()}
    values.setdefault("vault", "" if vault is None else str(vault))
    return text.format_map({**values, "shown_path": shown})


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
    """The snippet on one line, or filled to `width` with `indent`; matches styled. Each
    piece is cleaned of terminal control after the spans cut it (they index the raw text)."""
    text = " ".join(snippet.split("\n"))  # same length: the spans stay valid
    rows = []
    for lo, hi in _wrap(text, None if width is None else max(20, width - len(indent))):
        if not color:
            rows.append(indent + clean(text[lo:hi]))
            continue
        out, pos = [], lo
        for start, end in spans:
            start, end = max(start, lo), min(end, hi)
            if start >= end:
                continue
            out.append(clean(text[pos:start]))
            out.append(click.style(clean(text[start:end]), fg="yellow", bold=True))
            pos = end
        out.append(clean(text[pos:hi]))
        rows.append(indent + "".join(out))
    return "\n".join(rows)


def _title_rows(head: str, crumbs: list[str], width: int | None, color: bool) -> list[str]:
    """`NN. title › heading › …` filled to `width`, continuation lines indented under the
    title, so a narrow terminal never cuts a word; the title bold with colour."""
    indent = " " * len(head)
    text = " › ".join(crumbs)
    bold = len(crumbs[0])
    rows = []
    for lo, hi in _wrap(text, None if width is None else max(20, width - len(indent))):
        row = text[lo:hi]
        if color and lo < bold:
            cut = min(bold, hi) - lo
            row = click.style(row[:cut], bold=True) + row[cut:]
        rows.append((head if not rows else indent) + row)
    return rows


def _link_rows(links: list[str], width: int | None, indent: str = "    ") -> list[str]:
    """The links on one line if it fits, else one a line: a link is never wrapped (one cut
    in two opens nothing)."""
    line = indent + "  ".join(links)
    if width is None or len(line) <= width:
        return [line]
    return [indent + link for link in links]


def _filters_message(labels: Any, alone: bool) -> str:
    """Why nothing came back when the filters let nothing through: name them, not the
    query (which was never searched)."""
    if not alone:
        return f"No passage matches all these filters together: {', '.join(labels)}."
    which = " and ".join(labels)
    msg = f"No passage matches the filter {which}" if len(labels) == 1 else (
        f"No passage matches the filters {which}")
    if any(label.startswith("path:") for label in labels):
        msg += " (path: matches any part of a note's path, ignoring case)"
    return msg + "."


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
        empty = getattr(results, "empty_filters", None)
        if empty is None:  # a server's answer (the warm CLI): its JSON may say
            empty = (getattr(results, "raw", None) or {}).get("empty_filters") or ()
        if empty:
            alone = getattr(results, "filters_empty_alone", True)
            click.echo(clean(_filters_message(empty, alone)), err=True)
            return
        msg = f"No passages match {results.query!r}."
        if results.suggestion:
            msg += f" Did you mean: {clean(results.suggestion)}"
        click.echo(msg, err=True)
        return
    for word, fixed in getattr(results, "corrected", ()):
        click.echo(f"No {word!r} in the notes: also searched for {fixed!r}.", err=True)
    for p, vault in _each(results, vault):  # noqa: B020  (each passage's own vault)
        crumbs = [clean(c) for c in _crumbs(p)]
        if p.kind == "callout":
            # A callout that is only its title shows the title as its snippet: once.
            title = p.callout_title if p.callout_title and " ".join(
                p.callout_title.split()) != " ".join(p.snippet.split()) else None
            label = f"[!{p.callout_type}]" + (f" {title}" if title else "")
            crumbs.append(clean(label))
        for row in _title_rows(f"{p.rank:>2}. ", crumbs, width, color):
            click.echo(row, color=color)
        click.echo(_highlight(p.snippet, p.highlights, color, width, "    "), color=color)
        links = [clean(file_link(_shown_path(vault, p.path), p.line))]
        links += [p.links.video] if p.links.video else []
        for line in _link_rows(links, width):
            click.echo(click.style(line, dim=True) if color else line, color=color)
        if p.also_in:  # the same passage in other notes (a page copied into versions)
            shown = [_shown_path(vault, x) for x in p.also_in]
            also = ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")
            line = clean(f"    also in {also}")
            click.echo(click.style(line, dim=True) if color else line, color=color)
        why = p.explanation
        if isinstance(why, dict):  # a server's JSON answer (the warm CLI)
            why = why.get("text")
        if explain and why:
            for row in str(why).splitlines():
                click.echo(clean(f"      {row}"))
        click.echo()
    footer = _footer(results)
    if footer:
        click.echo(footer, err=True)
    partial = semantic_note(getattr(results, "semantic", None))
    if partial:
        click.echo(partial, err=True)


def semantic_note(semantic: dict[str, Any] | None) -> str | None:
    """One line when search by meaning could not take part (damaged vector files) or saw
    only part of the passages."""
    if semantic and semantic.get("warning"):
        return clean(f"warning: {semantic['warning']}")
    if not semantic or semantic.get("share", 1.0) >= 1.0:
        return None
    return (
        f"semantic: {100 * semantic['share']:.0f} % of passages embedded "
        f"({semantic['embedded']:,} of {semantic['passages']:,}); `searchkit index` "
        "embeds the rest"
    )
