"""Note → passages.

A note's body is parsed once into markdown-it tokens. `_blocks` walks the token stream and
turns every leaf (paragraph, heading, table cell, code, raw HTML) into a `_Block` of plain
text (made by `inline_text.TextBuilder`) with its line span, timestamps, links and the
callout it sits in. `_assemble` then
groups blocks into chunks: a new section at every top-level heading, one chunk per callout
(its text kept out of the enclosing section), and long sections cut at block boundaries.
Line numbers come from the tokens' line maps, never from re-scanning lines.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from .inline_text import Piece, TextBuilder, Timestamp
from .nesting import parse_within
from .notes import Note, NoteWarning, parse_note, read_note
from .slugs import slugify
from .timestamps import note_reads_frames
from .version import CHUNKER_VERSION as _CHUNKER_VERSION

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

NO_TEXT = Piece("")

# Bump (in version.py) when chunk output changes for the same input.
CHUNKER_VERSION = _CHUNKER_VERSION
MAX_CHUNK_CHARS = 2000


@dataclass(frozen=True)
class Chunk:
    """One passage of a note: the unit that is indexed, ranked and linked to."""

    id: str  # f"{path}#{ordinal}": stable while the note is unchanged, unique in a vault
    path: str  # vault-relative POSIX path of the note
    ordinal: int  # 0-based position of the chunk in its note
    title: str  # the note's title
    heading_path: tuple[str, ...]  # headings above the passage, outermost first
    kind: str  # "intro" (before the first heading) | "section" | "callout"
    text: str  # plain searchable text
    line_start: int  # 1-based file lines, frontmatter counted
    line_end: int
    anchor: str = ""  # Obsidian link subpath: "Heading" or "Parent#Heading"; "" for the top
    slug: str = ""  # web anchor of the heading, unique within the note; "" for the top
    callout_type: str | None = None  # lower-cased: "info", "note", "tip"…
    callout_title: str | None = None
    links: tuple[str, ...] = ()  # wiki-link targets, in order of appearance
    timestamps: tuple[Timestamp, ...] = ()
    # Characters of `text` that are the labels of links (wiki or markdown): a passage that
    # is mostly links is a table of contents, ranked below passages with content.
    link_chars: int = 0
    tags: tuple[str, ...] = ()  # the note's tags (frontmatter + inline)
    aliases: tuple[str, ...] = ()
    video_id: str | None = None
    mtime_ns: int = 0
    values: tuple[str, ...] = ()  # the note's other frontmatter values (searched as words)


# ---------------------------------------------------------------------------------------
# Public entry points


def chunk_markdown(text: str, path: str) -> list[Chunk]:
    """Chunks of a note given as text (frontmatter included); `path` names the note."""
    return chunk_note(parse_note(text, path))


def chunk_note(note: Note) -> list[Chunk]:
    return split_note(note)[1]


def load_note(
    root: str | os.PathLike[str], rel_path: str, *, max_bytes: int | None = None
) -> tuple[Note, list[Chunk]]:
    """Read and chunk one file of a vault. Raises `NoteError` when the file is skipped;
    softer problems are listed in the returned note's `warnings`."""
    return split_note(read_note(root, rel_path, max_bytes=max_bytes))


def split_note(note: Note) -> tuple[Note, list[Chunk]]:
    """The note (title and tags completed from its body) and its chunks."""
    tokens, flat = parse_within(_parser().parse, _defuse_brackets(note.body), MAX_NESTING)
    if flat is not None:
        # markdown-it drops everything past its nesting limit without a word: the text of
        # those lines is kept, flat (no list or quote structure), and the warning says where.
        where = _line_ranges([note.body_line + i for i in flat])
        warning = NoteWarning(note.path, f"nested deeper than {MAX_NESTING} levels (lists, "
                              f"quotes): {where} indexed as flat text")  # fmt: skip
        note = replace(note, warnings=(*note.warnings, warning))
    blocks, callouts = _blocks(tokens, note_reads_frames(note.body))
    title = note.title
    if not note.title_from_frontmatter:
        first_h1 = next((b.text for b in blocks if b.heading == 1 and b.text), None)
        title = first_h1 or title
    inline_tags = [t for b in blocks for t in b.tags]
    tags = tuple(dict.fromkeys([*note.tags, *inline_tags]))
    note = replace(note, title=title, tags=tags)
    drafts = _assemble(blocks, callouts)
    return note, _finish(note, drafts)


# markdown-it looks for the `]` of every `[` to the end of its paragraph, through every
# `[` in between (parseLinkLabel → skipToken): 80 kB of unclosed `[` took 11 s to chunk.
# A `[` that no `]` closes can never open a link, so past this many of them in a note,
# they are escaped (`\[`) before parsing: the same text, read in linear time. Fenced code
# is left as it is (an escape there would show); an inline `code span` would show it.
MAX_UNCLOSED_BRACKETS = 256
_BRACKET = re.compile(r"\\.|[\[\]]", re.DOTALL)


def _defuse_brackets(text: str) -> str:
    """`text` with its unclosed `[` escaped, when there are more than
    MAX_UNCLOSED_BRACKETS of them (the line count is unchanged, so line maps hold)."""
    if text.count("[") <= MAX_UNCLOSED_BRACKETS:
        return text
    open_at: list[int] = []
    fenced = _fenced(text)
    for m in _BRACKET.finditer(text):
        if fenced and _inside(fenced, m.start()):
            continue
        c = m.group()
        if c == "[":
            open_at.append(m.start())
        elif c == "]" and open_at:
            open_at.pop()
    if len(open_at) <= MAX_UNCLOSED_BRACKETS:
        return text
    parts = []
    prev = 0
    for at in open_at:
        parts.append(text[prev:at])
        parts.append("\\[")
        prev = at + 1
    parts.append(text[prev:])
    return "".join(parts)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)


def _fenced(text: str) -> list[tuple[int, int]]:
    """(start, end) of each fenced code block of `text` (to its end if unclosed)."""
    spans: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for m in _FENCE.finditer(text):
        mark = m.group(1)
        if opened is None:
            opened = (m.start(), mark)
        elif mark[0] == opened[1][0] and len(mark) >= len(opened[1]):
            spans.append((opened[0], m.end()))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text)))
    return spans


def _inside(spans: list[tuple[int, int]], at: int) -> bool:
    import bisect

    i = bisect.bisect_right([a for a, _ in spans], at) - 1
    return i >= 0 and spans[i][0] <= at < spans[i][1]


# markdown-it's CommonMark preset stops at 20 levels: a list nested 10 deep (two levels
# each) loses the rest of the note. 100 holds what notes use, and keeps its recursion
# well inside Python's limit.
MAX_NESTING = 100


def _line_ranges(lines: list[int]) -> str:
    """"line 7", "lines 7–9, 12": the file lines a warning is about."""
    spans: list[list[int]] = []
    for n in lines:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    shown = [f"{a}" if a == b else f"{a}–{b}" for a, b in spans[:5]]
    more = ", …" if len(spans) > 5 else ""
    one = len(spans) == 1 and spans[0][0] == spans[0][1]
    return f"line{'' if one else 's'} {', '.join(shown)}{more}"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Imported here so that searching (which never parses markdown) does not pay for it.
    from .fast_inline import speed_up

    # CommonMark (raw HTML allowed, as Obsidian does) plus GFM tables and strikethrough,
    # with the same inline pass done cheaper (fast_inline.py).
    return speed_up(_stock_parser())


def _stock_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable(
        ["table", "strikethrough"]
    )


# ---------------------------------------------------------------------------------------
# Token stream → blocks


@dataclass(frozen=True)
class _Block:
    piece: Piece
    start: int  # 0-based body line
    end: int  # exclusive
    callout: int | None  # innermost callout holding the block
    heading: int = 0  # heading level for a document heading, else 0
    tags: tuple[str, ...] = ()
    sep: str = "\n"  # joiner before this block inside a chunk
    video: str | None = None  # a YouTube video the block links (the first one)
    raw: str = ""  # a heading's markdown source: Obsidian links headings by it

    @property
    def text(self) -> str:
        return self.piece.text


@dataclass(frozen=True)
class _Callout:
    type: str
    title: str | None
    start: int
    end: int
    parent: int | None


_CALLOUT = re.compile(r"^\[!([\w-]+)\]([+-]?)[ \t]*(.*)$")
# A callout marker where no callout can start (no `>` before it, a later line of the
# paragraph): Obsidian shows it as written, but it is markup, not words. A `>` after it
# is the rest of a quote marker that lost its line break.
_STRAY_MARKER = re.compile(r"\[![A-Za-z][\w-]*\][+-]?[ \t]*(?:>[ \t]+)?")


def _without_markers(piece: Piece) -> Piece:
    if "[!" not in piece.text:
        return piece
    return piece.edit([(*m.span(), "") for m in _STRAY_MARKER.finditer(piece.text)]).strip()


def _callout_marker(tokens: Sequence[Token], i: int) -> re.Match[str] | None:
    """The `[!type]` marker if the blockquote opening at `i` is an Obsidian callout."""
    if i + 2 >= len(tokens) or tokens[i + 1].type != "paragraph_open":
        return None
    inline = tokens[i + 2]
    first_line = inline.content.split("\n", 1)[0].strip()
    return _CALLOUT.match(first_line)


def _blocks(
    tokens: Sequence[Token], frames: bool | None = None
) -> tuple[list[_Block], list[_Callout]]:
    blocks: list[_Block] = []
    callouts: list[_Callout] = []
    quotes: list[int | None] = []  # one entry per open blockquote: its callout or None
    nesting = 0  # open blockquotes and lists: headings inside them do not split
    title_pending: int | None = None  # callout whose first paragraph holds its marker
    span = (0, 0)
    first_cell = True
    held: tuple[TextBuilder, str, int] | None = None  # a cell whose wiki-link is still open

    def current() -> int | None:
        return next((c for c in reversed(quotes) if c is not None), None)

    for i, tok in enumerate(tokens):
        if tok.map is not None:
            span = (tok.map[0], tok.map[1])
        kind = tok.type
        if kind == "blockquote_open":
            marker = _callout_marker(tokens, i)
            if marker is None:
                quotes.append(None)
            else:
                callouts.append(
                    _Callout(marker.group(1).lower(), None, span[0], span[1], current())
                )
                quotes.append(len(callouts) - 1)
                title_pending = len(callouts) - 1
            nesting += 1
        elif kind == "blockquote_close":
            quotes.pop()
            nesting -= 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            nesting += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            nesting -= 1
        elif kind == "tr_open":
            first_cell = True
        elif kind == "tr_close" and held is not None:
            builder, sep, start = held
            held = None
            builder.wiki_abort()
            blocks.append(
                _Block(builder.piece(), start, span[1], current(), 0, tuple(builder.tags), sep)
            )
        elif kind == "inline":
            before = tokens[i - 1].type if i else ""
            cell = before in ("td_open", "th_open")
            if cell and held is not None:
                # GFM split the row at the pipe of `[[t | label]]`: the link goes on here.
                builder, sep, start = held
                held = None
                builder.text("|")
            else:
                builder, start = TextBuilder(frames), span[0]
                sep = "\n"
                if cell:
                    # Cells are joined by a tab, not " | ": shell pipes in code look the same.
                    sep = "\n" if first_cell else "\t"
                    first_cell = False
            builder.inline(tok.children or [], close=not cell)
            if cell and builder.wiki is not None:
                held = (builder, sep, start)
                continue
            builder.wiki_abort()
            piece = builder.piece()
            level = 0
            if before == "heading_open" and nesting == 0:
                level = int(tokens[i - 1].tag[1:])
            if title_pending is not None and before == "paragraph_open":
                piece = _take_callout_title(piece, callouts, title_pending)
                title_pending = None
            if "[!" in piece.text:
                piece = _without_markers(piece)
            video = builder.videos[0] if builder.videos else None
            blocks.append(
                _Block(
                    piece, start, span[1], current(), level, tuple(builder.tags), sep, video,
                    tok.content if level else "",
                )
            )
        elif kind in ("fence", "code_block"):
            blocks.append(_Block(Piece(tok.content).strip(), span[0], span[1], current()))
        elif kind == "html_block":
            builder = TextBuilder(frames)
            builder.raw_html(tok.content)
            piece = _without_markers(builder.piece())
            blocks.append(_Block(piece, span[0], span[1], current(), tags=tuple(builder.tags)))
    return blocks, callouts


def _take_callout_title(piece: Piece, callouts: list[_Callout], index: int) -> Piece:
    """Remove the `[!type]- Title` line from a callout's first paragraph; keep the title."""
    newline = piece.text.find("\n")
    first = piece.text if newline < 0 else piece.text[:newline]
    match = _CALLOUT.match(first.strip())
    title = match.group(3).strip() if match else ""
    callouts[index] = replace(callouts[index], title=title or None)
    if newline < 0:
        # Title-only paragraph: its timestamps belong to the callout as a whole.
        return Piece("", tuple(Timestamp(t.seconds, 0) for t in piece.timestamps), piece.links)
    head, body = piece.cut(newline + 1)
    stamps = tuple(Timestamp(t.seconds, 0) for t in head.timestamps) + body.timestamps
    return Piece(body.text, stamps, piece.links, body.link_chars)


# ---------------------------------------------------------------------------------------
# Blocks → chunk drafts


@dataclass
class _Draft:
    kind: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    anchor: str = ""
    slug: str = ""
    callout: _Callout | None = None
    blocks: list[_Block] = field(default_factory=list)
    lead: Piece = NO_TEXT  # timestamps and links of the heading line itself
    # A video the heading links: a channel note's "### [Episode](youtube…)" sections are
    # about that video, not the note's.
    video: str | None = None

    def add(self, block: _Block) -> None:
        self.blocks.append(block)
        self.end = max(self.end, block.end)


def _assemble(blocks: list[_Block], callouts: list[_Callout]) -> list[_Draft]:
    headings = [b.text for b in blocks if b.heading and b.callout is None]
    repeated = {h for h, n in Counter(headings).items() if n > 1}
    slugs: Counter[str] = Counter()
    stack: list[tuple[int, str, str]] = []
    section = _Draft("intro", (), 0, 0)
    drafts = [section]
    by_callout: dict[int, _Draft] = {}
    for block in blocks:
        if block.heading and block.callout is None:
            while stack and stack[-1][0] >= block.heading:
                stack.pop()
            stack.append((block.heading, block.text, block.raw or block.text))
            path = tuple(h for _, h, _ in stack)
            raws = [r for _, _, r in stack]
            base = slugify(block.text)
            slug = base if not slugs[base] else f"{base}-{slugs[base]}"
            slugs[base] += 1
            anchor = "#".join(map(_obsidian_anchor, raws if block.text in repeated else raws[-1:]))
            section = _Draft(
                "section", path, block.start, block.end, anchor, slug,
                lead=block.piece, video=block.video,
            )
            drafts.append(section)
        elif block.callout is None:
            if section.kind == "intro" and not section.blocks:
                section.start = block.start
            section.add(block)
        else:
            draft = by_callout.get(block.callout)
            if draft is None:
                info = callouts[block.callout]
                draft = _Draft(
                    "callout", section.heading_path, info.start, info.end, section.anchor,
                    section.slug, callout=info, video=section.video,
                )
                by_callout[block.callout] = draft
                drafts.append(draft)
            draft.add(block)
    drafts.sort(key=lambda d: d.start)  # stable: a section precedes callouts starting later
    return drafts


# What Obsidian's `stripHeadingForLink` turns into spaces when it writes a heading link.
_LINK_UNSAFE = re.compile(r"[:#|^\\\r\n]|%%|\[\[|\]\]")


def _obsidian_anchor(raw: str) -> str:
    """The `Note#Heading` subpath Obsidian writes for a heading: its markdown source (not
    the text shown: `[[Target|label]]` keeps its target, `**`, `_` and backticks stay) with
    link-breaking characters as spaces. Obsidian resolves a subpath by comparing both sides
    with all punctuation removed, so the source's words must all be there."""
    return " ".join(_LINK_UNSAFE.sub(" ", raw).split())


# ---------------------------------------------------------------------------------------
# Drafts → chunks


def _join(blocks: Sequence[_Block], lead: Piece) -> Piece:
    parts: list[str] = []
    stamps = [Timestamp(t.seconds, 0) for t in lead.timestamps]
    links = list(lead.links)
    link_chars = 0
    length = 0
    for block in blocks:
        piece = block.piece
        if not piece.text and not piece.timestamps and not piece.links:
            continue
        if parts and piece.text:
            parts.append(block.sep)
            length += len(block.sep)
        stamps.extend(Timestamp(t.seconds, t.offset + length) for t in piece.timestamps)
        links.extend(piece.links)
        link_chars += piece.link_chars
        parts.append(piece.text)
        length += len(piece.text)
    return Piece("".join(parts), tuple(stamps), tuple(dict.fromkeys(links)), link_chars)


def _parts(draft: _Draft, limit: int) -> list[tuple[list[_Block], int]]:
    """Cut a draft's blocks into runs of at most `limit` characters, at block boundaries.

    Each run comes with its first line. A single block over the limit stays whole: a
    paragraph is the smallest unit a reader can take in.
    """
    if draft.kind == "callout" or sum(len(b.text) + 1 for b in draft.blocks) <= limit:
        return [(draft.blocks, draft.start)]
    runs: list[tuple[list[_Block], int]] = []
    current: list[_Block] = []
    size = 0
    for block in draft.blocks:
        if current and size + len(block.text) > limit:
            runs.append((current, current[0].start))
            current, size = [], 0
        current.append(block)
        size += len(block.text) + 1
    if current:
        runs.append((current, current[0].start))
    first_blocks, _ = runs[0]
    runs[0] = (first_blocks, draft.start)  # the first part opens at the heading line
    return runs


def _finish(note: Note, drafts: list[_Draft]) -> list[Chunk]:
    chunks: list[Chunk] = []
    offset = note.body_line  # body line 0 is this file line
    for draft in drafts:
        for n, (blocks, start) in enumerate(_parts(draft, MAX_CHUNK_CHARS)):
            lead = draft.lead if n == 0 else NO_TEXT
            piece = _join(blocks, lead)
            callout = draft.callout
            has_title = callout is not None and callout.title
            if not piece.text and not has_title:
                continue  # a heading with no text of its own lives on in heading paths
            end = max([start + 1, *(b.end for b in blocks)]) if blocks else draft.end
            if callout is not None:
                end = callout.end
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    id=f"{note.path}#{ordinal}",
                    path=note.path,
                    ordinal=ordinal,
                    title=note.title,
                    heading_path=draft.heading_path,
                    kind=draft.kind,
                    text=piece.text,
                    line_start=start + offset,
                    line_end=end - 1 + offset,
                    anchor=draft.anchor,
                    slug=draft.slug,
                    callout_type=callout.type if callout else None,
                    callout_title=callout.title if callout else None,
                    links=piece.links,
                    timestamps=piece.timestamps,
                    link_chars=piece.link_chars,
                    tags=note.tags,
                    aliases=note.aliases,
                    video_id=draft.video or note.video_id,
                    mtime_ns=note.mtime_ns,
                    values=note.values,
                )
            )
    return chunks
