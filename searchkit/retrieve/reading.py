"""Read a window of numbered lines of one indexed note, confined to the vault.

This is what an agent calls after a search hit (MCP `read`, HTTP `/read`): the lines around
`Passage.line`. Because the caller may be a model fed untrusted text, the path is checked
before anything is opened: no absolute paths, no `..`, no symlink whose target leaves the
vault, and only notes the index holds (so `.obsidian/…`, ignored and non-markdown files
stay closed even if they sit inside the vault).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import NoteError
from ..ingest.notes import (
    NOTE_SUFFIXES,
    decode_note_bytes,
    is_note_name,
    is_utf8_name,
    read_note_bytes,
    shown_name,
)

DEFAULT_MAX_LINES = 80
MAX_LINES_CAP = 500
# A transcript paragraph can be one 20 kB line: a window is also capped in characters so
# one read cannot flood an agent's context. The caller is told where to continue.
MAX_CHARS = 24_000
_DRIVE = re.compile(r"^[A-Za-z]:")  # C:/… is absolute on Windows


@dataclass(frozen=True)
class NoteLines:
    """Lines `start`..`end` (1-based, inclusive) of a note of `total` lines."""

    path: str
    start: int
    end: int
    total: int
    lines: tuple[str, ...]
    truncated: bool = False  # the last line was cut at MAX_CHARS

    @property
    def next_start(self) -> int | None:
        """Where the next window starts, or None at the end of the note."""
        return self.end + 1 if self.end < self.total else None

    def numbered(self, raw: bool = True) -> str:
        """The window as `cat -n`-style text: `  12  text`; `raw=False` shortens video
        timestamp links (`<a … data-t="00:01:40">[00:01:40]</a>`) to `[00:01:40]`."""
        width = len(str(max(self.end, 1)))
        lines = self.lines if raw else tuple(plain_timestamps(line) for line in self.lines)
        return "\n".join(
            f"{n:>{width}}  {line}" if line else f"{n:>{width}}"
            for n, line in enumerate(lines, self.start)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start": self.start,
            "end": self.end,
            "total_lines": self.total,
            "next_start": self.next_start,
            "truncated": self.truncated,
            "lines": list(self.lines),
        }


# A timestamp link as transcript tools write it; a fifth of a transcript's characters.
_STAMP_LINK = re.compile(
    r"""<a\b[^>]*?\bdata-t\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>(.*?)</a>""",
    re.IGNORECASE,
)


def plain_timestamps(line: str) -> str:
    """`line` with each timestamp link replaced by its label in brackets: `[00:01:40]`."""

    def label(m: re.Match[str]) -> str:
        text = m.group(4).strip().strip("[]").strip()
        return f"[{text or m.group(1) or m.group(2) or m.group(3)}]"

    return _STAMP_LINK.sub(label, line)


def vault_note_path(vault: Path, rel_path: str) -> tuple[str, Path]:
    """The normalised vault-relative path and the real file for `rel_path`.

    Raises `NoteError` for a path that is absolute, climbs out with `..`, is not a note
    name, or (after following symlinks) lands outside the vault.
    """
    shown = rel_path
    rel = rel_path.replace("\\", "/").strip()
    pure = PurePosixPath(rel)
    if "\x00" in rel:  # the OS refuses it with ValueError, not an error about the note
        raise NoteError(shown.replace("\x00", "\\0"), "not a note path (it holds a NUL)")
    if not is_utf8_name(rel):  # never indexed (the scan skips it); a surrogate cannot be printed
        raise NoteError(shown_name(rel), "not a note of the vault: the name is not valid UTF-8")
    if not rel or pure.is_absolute() or rel.startswith("~") or _DRIVE.match(rel):
        raise NoteError(shown, "not a vault-relative note path")
    if ".." in pure.parts:
        raise NoteError(shown, "refused: the path leaves the vault ('..')")
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts or not is_note_name(parts[-1]) or any(p.startswith(".") for p in parts):
        raise NoteError(shown, "not a note of the vault (markdown files outside hidden folders)")
    norm = "/".join(parts)
    root = vault.resolve()
    real = (root / norm).resolve()
    if real != root and root not in real.parents:
        raise NoteError(shown, "refused: a symlink that leads out of the vault")
    if any(p.startswith(".") for p in real.relative_to(root).parts):
        raise NoteError(shown, "refused: a symlink to a hidden file")
    return norm, real


def _by_file_name(name: str, paths: Iterable[str]) -> str | None:
    """The one note path whose file name is `name` (or `name` plus a note suffix), exact
    case first, else ignoring case; None when none is; NoteError when several are."""
    want = {name, *(name + s for s in NOTE_SUFFIXES)}
    folded = {w.casefold() for w in want}
    exact, loose = [], []
    for p in paths:
        file = p.rpartition("/")[2]
        if file in want:
            exact.append(p)
        elif file.casefold() in folded:
            loose.append(p)
    found = sorted(exact or loose)
    if len(found) > 1:
        shown = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        raise NoteError(name, f"ambiguous: {len(found)} notes have this name: {shown}; "
                        "give the path")
    return found[0] if found else None


def read_lines(
    vault: Path,
    rel_path: str,
    start_line: int = 1,
    max_lines: int = DEFAULT_MAX_LINES,
    *,
    is_indexed: Callable[[str], bool],
    note_paths: Callable[[], Iterable[str]] | None = None,
) -> NoteLines:
    """Up to `max_lines` lines of the note from `start_line` (clamped to the note).

    `is_indexed(path)` says whether the index holds the note; others are refused. A bare
    file name (`Embed files.md`, or `Embed files` as Obsidian links write it) that is not a
    note at the vault's top names the one indexed note of that name (`note_paths()` lists
    them); several are an error that lists them.
    Line numbers are file lines, frontmatter counted, as in `Passage.line`.
    """
    bare = rel_path.strip()
    if note_paths is not None and bare and is_utf8_name(bare) and "/" not in bare.replace(
        "\\", "/") and "\x00" not in bare and not (
        is_note_name(bare) and is_indexed(bare)
    ):
        rel_path = _by_file_name(bare, note_paths()) or rel_path
    norm, real = vault_note_path(vault, rel_path)
    if not is_indexed(norm):
        raise NoteError(norm, "not an indexed note (search first; paths are as results give them)")
    # Read as the indexer reads: a regular file only, opened without blocking (a FIFO
    # swapped in for a note would otherwise hang this request thread for good).
    data = read_note_bytes(real, norm)
    # The same decoding as the indexer, so line numbers match the search results'.
    text, _ = decode_note_bytes(data, norm)
    all_lines = text.split("\n")
    if all_lines and all_lines[-1] == "":
        all_lines.pop()  # a final newline ends the last line; it does not start another
    total = len(all_lines)
    max_lines = max(1, min(max_lines, MAX_LINES_CAP))
    start = min(max(1, start_line), max(total, 1))
    window: list[str] = []
    used, truncated = 0, False
    for line in all_lines[start - 1 : start - 1 + max_lines]:
        if used + len(line) > MAX_CHARS:
            if not window:  # always return at least (the start of) one line
                window.append(line[: MAX_CHARS] + "…")
                truncated = True
            break
        window.append(line)
        used += len(line) + 1
    end = start + len(window) - 1 if window else start - 1
    return NoteLines(norm, start, max(end, start - 1), total, tuple(window), truncated)
