"""Markdown nested past markdown-it's limit, kept as text.

markdown-it stops opening lists and quotes at `maxNesting` levels and skips the rest of
the enclosing container without a word; for a list that opens on one line with 50 inline
markers (`- - - … text`) that is the rest of the note, headings and all. So the lines
where it happens are flattened (their leading list and quote markers and indentation
removed) and the body is parsed again: those lines become plain paragraphs, every other
line keeps its structure. Line numbers do not move: lines are edited, never removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token

# The markers that open containers at a line's start: indentation, `>` (no space needed:
# `>>` is two quotes), and list bullets or numbers followed by a space or the line's end.
_MARKERS = re.compile(r"^(?:[ \t]*(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)))*[ \t]*", re.MULTILINE)
# Each pass flattens more lines and parses the note again; past this many, or on a note
# this big, the whole note is flattened at once (one more parse) to bound the cost.
MAX_PASSES = 8
WHOLE_NOTE_CHARS = 1_000_000


def flatten(text: str) -> str:
    """`text` with every line's leading container markers removed."""
    return _MARKERS.sub("", text)


def parse_within(
    parse: Callable[[str], list[Token]], body: str, limit: int
) -> tuple[list[Token], list[int] | None]:
    """The tokens of `body`, and the 0-based body lines flattened to keep them within
    `limit` levels: None when none had to be, every line when the whole note was."""
    tokens = parse(body)
    deep = _too_deep(tokens, limit)
    if deep is None:
        return tokens, None
    lines = body.split("\n")
    flat: set[int] = set()
    for _ in range(MAX_PASSES if len(body) <= WHOLE_NOTE_CHARS else 0):
        start, end = _block_start(tokens, deep), _run_end(lines, deep)
        todo = [i for i in range(start, end) if i not in flat]
        if not todo:
            break  # the lines there are flat already: the depth comes from elsewhere
        for i in todo:
            lines[i] = flatten(lines[i])
        flat.update(todo)
        tokens = parse("\n".join(lines))
        deep = _too_deep(tokens, limit)
        if deep is None:
            return tokens, sorted(flat)
    return parse(flatten(body)), list(range(len(lines)))


def _too_deep(tokens: Sequence[Token], limit: int) -> int | None:
    """The body line where the tokens reach the limit (where markdown-it starts dropping
    text), or None."""
    for tok in tokens:
        if tok.level >= limit - 1:
            return tok.map[0] if tok.map else 0
    return None


def _block_start(tokens: Sequence[Token], line: int) -> int:
    """The first line of the top-level block holding `line`: the containers that nest
    down to it may open there."""
    start = line
    for tok in tokens:
        if tok.level == 0 and tok.map and tok.map[0] <= line < tok.map[1]:
            start = min(start, tok.map[0])
    return start


def _run_end(lines: Sequence[str], line: int) -> int:
    """The line after the run of non-blank lines holding `line`."""
    end = line + 1
    while end < len(lines) and lines[end].strip():
        end += 1
    return end
