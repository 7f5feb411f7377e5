"""Note → passages.

A note's body is parsed once into markdown-it tokens. `_blocks` walks the token stream and
turns every leaf (paragraph, heading, table cell, code, raw HTML) into a `_Block` of plain
text with its line span, timestamps, links and the callout it sits in. `_assemble` then
groups blocks into chunks: a new section at every top-level heading, one chunk per callout
(its text kept out of the enclosing section), and long sections cut at block boundaries.
Line numbers come from the tokens' line maps, never from re-scanning lines.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from . import timestamps as ts
from .links import slugify
from .notes import MAX_NOTE_BYTES, Note, parse_note, read_note

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Bump when chunk output changes for the same input: indexes built by another version are
# rebuilt rather than mixed.
CHUNKER_VERSION = 2
MAX_CHUNK_CHARS = 2000


class Timestamp(NamedTuple):
    """A video timestamp found in a chunk: `seconds` into the video, at `offset` in `text`."""

    seconds: int
    offset: int


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


# ---------------------------------------------------------------------------------------
# Public entry points


def chunk_markdown(text: str, path: str) -> list[Chunk]:
    """Chunks of a note given as text (frontmatter included); `path` names the note."""
    return chunk_note(parse_note(text, path))


def chunk_note(note: Note) -> list[Chunk]:
    return split_note(note)[1]


def load_note(
    root: str | os.PathLike[str], rel_path: str, *, max_bytes: int = MAX_NOTE_BYTES
) -> tuple[Note, list[Chunk]]:
    """Read and chunk one file of a vault. Raises `NoteError` when the file is skipped;
    softer problems are listed in the returned note's `warnings`."""
    return split_note(read_note(root, rel_path, max_bytes=max_bytes))


def split_note(note: Note) -> tuple[Note, list[Chunk]]:
    """The note (title and tags completed from its body) and its chunks."""
    tokens = _parser().parse(note.body)
    blocks, callouts = _blocks(tokens)
    title = note.title
    if not note.title_from_frontmatter:
        first_h1 = next((b.text for b in blocks if b.heading == 1 and b.text), None)
        title = first_h1 or title
    inline_tags = [t for b in blocks for t in b.tags]
    tags = tuple(dict.fromkeys([*note.tags, *inline_tags]))
    note = replace(note, title=title, tags=tags)
    drafts = _assemble(blocks, callouts)
    return note, _finish(note, drafts)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Imported here so that searching (which never parses markdown) does not pay for it.
    from markdown_it import MarkdownIt

    # CommonMark (raw HTML allowed, as Obsidian does) plus GFM tables and strikethrough.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


# ---------------------------------------------------------------------------------------
# Inline text: markdown-it children (or raw HTML) → plain text with timestamps and links

_WIKI_OPEN = re.compile(r"(!?)\[\[")
_BRACKET = re.compile(r"[\[\]]")
_INLINE_TAG = re.compile(r"(?<![\w#&/])#([\w/-]*[^\W\d][\w/-]*)")
_HTML_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
_BREAK_TAG = re.compile(r"<br\s*/?>|</?(p|div|li|tr|h[1-6])\b[^>]*>", re.IGNORECASE)
_ANCHOR_OPEN = re.compile(r"<a\b", re.IGNORECASE)
_ANCHOR_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
# An `<a attr=…` that markdown-it could not read as HTML and left in the text: real notes
# hold `<a class="yt="yt-timestamp" data-t="…">`, `data-t="00:29:29]` (quote never
# closed), `data=t="…"`, `\<a …>`. It ends at its `>`, before the next tag, or at the end
# of the text run; the length cap keeps a stray `<a x=` from swallowing a paragraph.
_BROKEN_ANCHOR = re.compile(r"<a\s+[\w:.-]+\s*=[^<>\n]{0,160}?(?:>|(?=<)|$)", re.IGNORECASE)
# What a stripped timestamp can leave behind: an empty `()`/`[]` (or one holding only
# separators), a run of separators, a separator before a sentence's end. Only removed
# where a timestamp was cut (see `_cut_junk`), so prose like `f()` or `a, b` stays.
_CUT_JUNK = re.compile(
    r"[ \t]*[(\[][\s,;/&–—-]*[)\]]"
    r"|[,;](?:[ \t]*[,;])+"
    r"|[ \t]*[,;](?=[ \t]*(?:[.!?)\]\n]|$))"
)
# Files whose name says nothing to a reader: an embedded image or recording is dropped
# from the text (its `|30` size suffix would otherwise read as a label).
_MEDIA = re.compile(
    r"\.(?:png|jpe?g|gif|svg|webp|bmp|ico|avif|tiff?|heic|mp[34]|webm|wav|ogg|m4a|mov|mkv)$",
    re.IGNORECASE,
)


def wikilink_parts(inner: str) -> tuple[str, str]:
    """(target, display text) of the inside of `[[...]]`: `target|label`, `Note#Heading`,
    `Note#^block`; a table-escaped `\\|` counts as the pipe."""
    target, _, label = inner.replace("\\|", "|").partition("|")
    target, label = target.strip(), label.strip()
    return target, label or _link_name(target)


def _link_name(target: str) -> str:
    """What an unlabelled link shows: `Note#Heading` → "Note Heading", `#Heading` →
    "Heading"; a block id (`#^abc`) is not text."""
    parts = [p.strip() for p in target.split("#") if p.strip() and not p.strip().startswith("^")]
    return " ".join(parts)


def _link_scan(s: str, pos: int, depth: int) -> tuple[str, int, int]:
    """Look for the `]]` closing an open wiki-link in `s` from `pos`, with `depth` open
    single brackets of the label (`[[t | [source]]]`). Returns ("close", index after the
    `]]`, 0), ("reopen", index of a new `[[`, 0) when a link opens first (links do not
    nest: the open one was not a link), or ("open", len(s), depth)."""
    for m in _BRACKET.finditer(s, pos):
        i = m.start()
        double = s.startswith("[[", i) or s.startswith("]]", i)
        if s[i] == "[":
            if double and depth == 0:
                return "reopen", i, 0
            depth += 1
        elif depth:
            depth -= 1
        elif double:
            return "close", i + 2, 0
    return "open", len(s), depth


class _Tag(str):
    """An HTML tag held in an open wiki-link's buffer (a tag, not text, on replay)."""


class _TextBuilder:
    """Accumulates plain text while recording where timestamps fall in it.

    A wiki-link may span several inline tokens (`[[t | **Gaming**]]` is text, strong,
    text): from its `[[` on, tokens are buffered in `wiki` until its `]]`, then the label's
    tokens are replayed as link text. A link still open at a line break or at the end is
    read as a link that lost its `]]` (see `wiki_abort`).
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.timestamps: list[Timestamp] = []
        self.cuts: list[int] = []  # offsets where a timestamp (or broken anchor) was removed
        self.links: list[str] = []
        self.tags: list[str] = []
        self.link_chars = 0
        self.in_link = False  # inside a markdown link that is not a timestamp
        # Inside a timestamp anchor its label ("[01:19:03]") is link chrome, not text.
        self.in_time_anchor = False
        self.glue = False  # the last thing seen was a timestamp
        self.wiki: list[str | Token] | None = None  # buffered tokens of an open wiki-link
        self.wiki_embed = False
        self.wiki_depth = 0

    def _emit(self, s: str) -> None:
        if not s:
            return
        if self.glue and self.parts and self.parts[-1].endswith(" "):
            # A removed timestamp anchor left "word <a…>[1:02]</a>. next": close the gap so
            # snippets read "word. next" and "word next", not "word ." or "word  next".
            if s[0] == " ":
                s = s[1:]
            elif s[0] in ".,;:!?)":
                self.parts[-1] = self.parts[-1][:-1]
                self.length -= 1
                # Only the marks at the very end can lie past the new length.
                stamps, cuts, n = self.timestamps, self.cuts, self.length
                i = len(stamps) - 1
                while i >= 0 and stamps[i].offset > n:
                    stamps[i] = Timestamp(stamps[i].seconds, n)
                    i -= 1
                i = len(cuts) - 1
                while i >= 0 and cuts[i] > n:
                    cuts[i] = n
                    i -= 1
        self.glue = False
        if s:
            self.parts.append(s)
            self.length += len(s)
            if self.in_link:
                self.link_chars += len(s.strip())

    def mark_time(self, seconds: int | None) -> None:
        if seconds is not None:
            stamp = Timestamp(seconds, self.length)
            if not self.timestamps or self.timestamps[-1] != stamp:  # `[1:02](<a …1:02`
                self.timestamps.append(stamp)
            self.cuts.append(self.length)
            self.glue = True

    def code(self, s: str) -> None:
        self._emit(s)

    def text(self, s: str) -> None:
        if self.wiki is None and "[[" not in s:  # the common case, kept cheap
            if "<" in s:
                self._plain(s)
            else:
                self._bare(s, True)
            return
        pos = 0
        while pos < len(s) or self.wiki is None:
            if self.wiki is not None:
                found, at, self.wiki_depth = _link_scan(s, pos, self.wiki_depth)
                self.wiki.append(s[pos : at - 2 if found == "close" else at])
                pos = at
                if found == "close":
                    self._wiki_close()
                elif found == "reopen":
                    self.wiki_abort()
                continue
            match = _WIKI_OPEN.search(s, pos) if "[[" in s else None
            if match is None:
                self._plain(s[pos:])
                return
            self._plain(s[pos : match.start()])
            self.wiki, self.wiki_embed, self.wiki_depth = [], bool(match.group(1)), 0
            pos = match.end()

    def _wiki_close(self, record: bool = True) -> None:
        items, self.wiki = self.wiki or [], None
        target_parts: list[str] = []
        label: list[str | Token] | None = None
        for item in items:
            if label is not None:
                label.append(item)
            elif isinstance(item, _Tag):
                continue
            elif isinstance(item, str):
                head, bar, rest = item.replace("\\|", "|").partition("|")
                target_parts.append(head)
                if bar:
                    label = [rest]
            elif item.type == "code_inline":
                target_parts.append(item.content)
            # other tokens inside the target (emphasis marks) add no characters to it
        if not record and label:
            label = _drop_unmatched_closer(label)
        target = "".join(target_parts).strip()
        if target and record:
            self.links.append(target)
        if self.wiki_embed and _MEDIA.search(target):
            self.glue = True  # "see ![[x.png]]." reads "see."
            return
        outer, self.in_link = self.in_link, True
        if label is None or all(isinstance(i, str) and not i.strip() for i in label):
            name = _link_name(target)
            self.glue = self.glue or not name  # "or [[#^id]]." reads "or."
            self._plain(name, tags=False)
        else:
            # "[[t | label ]]": the spaces around the label are part of the link syntax.
            if isinstance(label[0], str) and not isinstance(label[0], _Tag):
                label[0] = label[0].lstrip()
            if isinstance(label[-1], str) and not isinstance(label[-1], _Tag):
                label[-1] = label[-1].rstrip()
            self._replay(label)
        self.in_link = outer

    def wiki_abort(self) -> None:
        """A `[[` never closed on its line (`[[t | label` then the line ends, or another
        `[[` opens first): Obsidian would show it as written, but the author meant a link,
        so its label (or target) is the text; it is not recorded as a link."""
        if self.wiki is not None:
            self.glue = True  # "hydration [[t|. Avoid" reads "hydration. Avoid"
            self._wiki_close(record=False)

    def _replay(self, items: Sequence[str | Token], tags: bool = False) -> None:
        for item in items:
            if isinstance(item, _Tag):
                self.tag(item)
            elif isinstance(item, str):
                self._plain(item, tags=tags)
            else:
                self._token(item)

    def _plain(self, s: str, tags: bool = True) -> None:
        if "<" in s:
            pos = 0
            for match in _BROKEN_ANCHOR.finditer(s):
                self._bare(s[pos : match.start()], tags)
                seconds = ts.salvage_seconds(match.group(0))
                if seconds is None:
                    self.cuts.append(self.length)
                self.mark_time(seconds)
                self.in_time_anchor = seconds is not None
                pos = match.end()
            s = s[pos:]
        self._bare(s, tags)

    def _bare(self, s: str, tags: bool) -> None:
        if not s or (self.in_time_anchor and ts.LABEL.fullmatch(s)):
            return
        if tags and "#" in s:
            self.tags.extend(_INLINE_TAG.findall(s))
        if "]]" in s:
            s = _drop_stray_closers(s)
        pos = 0
        if "[" in s:
            for match in ts.BARE.finditer(s):
                self._emit(s[pos : match.start()])
                self.mark_time(ts.parse_timestamp(match.group(1)))
                pos = match.end()
        self._emit(s[pos:])

    def tag(self, tag: str) -> None:
        if _ANCHOR_OPEN.match(tag):
            seconds = ts.data_t_seconds(tag)
            self.mark_time(seconds)
            self.in_time_anchor = seconds is not None
        elif _ANCHOR_CLOSE.match(tag):
            self.in_time_anchor = False
        elif _BREAK_TAG.match(tag):
            self.wiki_abort()
            self._emit("\n")

    def raw_html(self, source: str) -> None:
        pos = 0
        for match in _HTML_TAG.finditer(source):
            self.text(html.unescape(source[pos : match.start()]))
            if self.wiki is not None:
                self.wiki.append(_Tag(match.group(0)))
            else:
                self.tag(match.group(0))
            pos = match.end()
        self.text(html.unescape(source[pos:]))
        self.wiki_abort()

    def inline(self, children: Sequence[Token], close: bool = True) -> None:
        for tok in children:
            if tok.type in ("text", "text_special"):
                self.text(tok.content)
            elif tok.type in ("softbreak", "hardbreak"):
                self.wiki_abort()  # wiki-links do not span lines
                self._emit("\n")
            elif self.wiki is not None and tok.type == "code_inline" and "]]" in tok.content:
                # `[[t | `async]]` …`: links are read before code, as Obsidian does.
                inside, _, rest = tok.content.partition("]]")
                self.wiki.append(inside)
                self._wiki_close()
                self.code(rest)
            elif self.wiki is not None:
                self.wiki.append(tok)
            else:
                self._token(tok)
        if close:
            self.wiki_abort()

    def _token(self, tok: Token) -> None:
        kind = tok.type
        if kind in ("text", "text_special"):
            self._plain(tok.content, tags=False)
        elif kind == "code_inline":
            self.code(tok.content)
        elif kind == "html_inline":
            self.tag(tok.content)
        elif kind == "image":
            self.text(tok.content)
        elif kind == "link_open":
            seconds = ts.url_seconds(str(tok.attrGet("href") or ""))
            self.mark_time(seconds)
            self.in_time_anchor = seconds is not None
            self.in_link = seconds is None
        elif kind == "link_close":
            self.in_time_anchor = False
            self.in_link = False

    def piece(self) -> _Piece:
        piece = _Piece(
            "".join(self.parts), tuple(self.timestamps), tuple(self.links), self.link_chars
        )
        if self.cuts:
            piece = piece.edit(_cut_junk(piece.text, self.cuts))
        return piece.strip()


def _drop_unmatched_closer(items: list[str | Token]) -> list[str | Token]:
    """A link missing its `]]` often has one `]` (`[[t | (stamp)].`): drop that one."""
    depth = 0
    for n, item in enumerate(items):
        if not isinstance(item, str) or isinstance(item, _Tag):
            continue
        for m in _BRACKET.finditer(item):
            if m.group(0) == "[":
                depth += 1
            elif depth:
                depth -= 1
            else:
                return [*items[:n], item[: m.start()] + item[m.end() :], *items[n + 1 :]]
    return items


def _drop_stray_closers(s: str) -> str:
    """Remove each `]` of a `]]` that closes nothing in its text (what a broken link
    leaves: `focus]] ()`, `([note]]`); brackets of the text's own (`[string[]]`) stay."""
    out: list[str] = []
    depth = 0
    pos = 0
    for m in _BRACKET.finditer(s):
        i = m.start()
        if s[i] == "[":
            depth += 1
        elif depth:
            depth -= 1
        elif s.startswith("]]", i) or (i and s[i - 1] == "]"):
            out.append(s[pos:i])
            pos = i + 1
    out.append(s[pos:])
    return "".join(out)


_JUNK_CHARS = frozenset("()[],;")


def _cut_junk(text: str, cuts: list[int]) -> list[tuple[int, int, str]]:
    """Edits that remove what stripped timestamps left: `()`, `[ , ]`, `,,,`, `, .`."""
    edits: list[tuple[int, int, str]] = []
    # Most cuts sit between a word and its full stop: look closer only where a bracket
    # or separator is next to one (the scan below is the costly part).
    if not any(_JUNK_CHARS.intersection(text[max(0, c - 2) : c + 2]) for c in cuts):
        return edits
    for m in _CUT_JUNK.finditer(text):
        a, b = m.span()
        if any(a <= c <= b for c in cuts):
            junk = m.group(0)
            # A run of separators keeps one, unless a sentence end or the text's end follows.
            keep = junk[0] if junk[0] in ",;" and len(junk) > 1 else ""
            if keep and text[b:].lstrip(" \t")[:1] in ("", ".", "!", "?", ")", "]", "\n"):
                keep = ""
            edits.append((a, b, keep))
    return edits


@dataclass(frozen=True)
class _Piece:
    text: str
    timestamps: tuple[Timestamp, ...] = ()
    links: tuple[str, ...] = ()
    link_chars: int = 0

    def edit(self, edits: Sequence[tuple[int, int, str]]) -> _Piece:
        """Replace `text[a:b]` by `new` for each (a, b, new), in order and not overlapping;
        timestamps move with the text around them."""
        if not edits:
            return self
        out: list[str] = []
        pos = 0
        for a, b, new in edits:
            out.append(self.text[pos:a])
            out.append(new)
            pos = b

        def moved(offset: int) -> int:
            shift = 0  # characters removed before `offset` so far
            for a, b, new in edits:
                if offset <= a:
                    break
                if offset < b:  # inside an edited span: clamp into its replacement
                    return a - shift + min(offset - a, len(new))
                shift += (b - a) - len(new)
            return offset - shift

        out.append(self.text[pos:])
        text = "".join(out)
        stamps = tuple(Timestamp(t.seconds, moved(t.offset)) for t in self.timestamps)
        return _Piece(text, stamps, self.links, min(self.link_chars, len(text)))

    def strip(self) -> _Piece:
        lead = len(self.text) - len(self.text.lstrip())
        text = self.text.strip()
        stamps = tuple(
            Timestamp(t.seconds, min(max(t.offset - lead, 0), len(text))) for t in self.timestamps
        )
        return _Piece(text, stamps, self.links, min(self.link_chars, len(text)))

    def cut(self, at: int) -> tuple[_Piece, _Piece]:
        """Split at a character offset; timestamps go with their side."""
        head = _Piece(
            self.text[:at], tuple(t for t in self.timestamps if t.offset < at), self.links
        )
        # Link characters are not tracked by position; the tail (the body, when a callout
        # title is cut off) keeps them, capped at its length.
        tail = _Piece(
            self.text[at:],
            tuple(Timestamp(t.seconds, t.offset - at) for t in self.timestamps if t.offset >= at),
            (),
            self.link_chars,
        )
        return head.strip(), tail.strip()


# ---------------------------------------------------------------------------------------
# Token stream → blocks


@dataclass(frozen=True)
class _Block:
    piece: _Piece
    start: int  # 0-based body line
    end: int  # exclusive
    callout: int | None  # innermost callout holding the block
    heading: int = 0  # heading level for a document heading, else 0
    tags: tuple[str, ...] = ()
    sep: str = "\n"  # joiner before this block inside a chunk

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


def _without_markers(piece: _Piece) -> _Piece:
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


def _blocks(tokens: Sequence[Token]) -> tuple[list[_Block], list[_Callout]]:
    blocks: list[_Block] = []
    callouts: list[_Callout] = []
    quotes: list[int | None] = []  # one entry per open blockquote: its callout or None
    nesting = 0  # open blockquotes and lists: headings inside them do not split
    title_pending: int | None = None  # callout whose first paragraph holds its marker
    span = (0, 0)
    first_cell = True
    held: tuple[_TextBuilder, str, int] | None = None  # a cell whose wiki-link is still open

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
                builder, start = _TextBuilder(), span[0]
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
            blocks.append(
                _Block(piece, start, span[1], current(), level, tuple(builder.tags), sep)
            )
        elif kind in ("fence", "code_block"):
            blocks.append(_Block(_Piece(tok.content).strip(), span[0], span[1], current()))
        elif kind == "html_block":
            builder = _TextBuilder()
            builder.raw_html(tok.content)
            piece = _without_markers(builder.piece())
            blocks.append(_Block(piece, span[0], span[1], current(), tags=tuple(builder.tags)))
    return blocks, callouts


def _take_callout_title(piece: _Piece, callouts: list[_Callout], index: int) -> _Piece:
    """Remove the `[!type]- Title` line from a callout's first paragraph; keep the title."""
    newline = piece.text.find("\n")
    first = piece.text if newline < 0 else piece.text[:newline]
    match = _CALLOUT.match(first.strip())
    title = match.group(3).strip() if match else ""
    callouts[index] = replace(callouts[index], title=title or None)
    if newline < 0:
        # Title-only paragraph: its timestamps belong to the callout as a whole.
        return _Piece("", tuple(Timestamp(t.seconds, 0) for t in piece.timestamps), piece.links)
    head, body = piece.cut(newline + 1)
    stamps = tuple(Timestamp(t.seconds, 0) for t in head.timestamps) + body.timestamps
    return _Piece(body.text, stamps, piece.links, body.link_chars)


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
    lead: _Piece = _Piece("")  # timestamps and links of the heading line itself

    def add(self, block: _Block) -> None:
        self.blocks.append(block)
        self.end = max(self.end, block.end)


def _assemble(blocks: list[_Block], callouts: list[_Callout]) -> list[_Draft]:
    headings = [b.text for b in blocks if b.heading and b.callout is None]
    repeated = {h for h, n in Counter(headings).items() if n > 1}
    slugs: Counter[str] = Counter()
    stack: list[tuple[int, str]] = []
    section = _Draft("intro", (), 0, 0)
    drafts = [section]
    by_callout: dict[int, _Draft] = {}
    for block in blocks:
        if block.heading and block.callout is None:
            while stack and stack[-1][0] >= block.heading:
                stack.pop()
            stack.append((block.heading, block.text))
            path = tuple(h for _, h in stack)
            base = slugify(block.text)
            slug = base if not slugs[base] else f"{base}-{slugs[base]}"
            slugs[base] += 1
            anchor = "#".join(map(_obsidian_anchor, path if block.text in repeated else path[-1:]))
            section = _Draft(
                "section", path, block.start, block.end, anchor, slug,
                lead=block.piece,
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
                    section.slug, callout=info,
                )
                by_callout[block.callout] = draft
                drafts.append(draft)
            draft.add(block)
    drafts.sort(key=lambda d: d.start)  # stable: a section precedes callouts starting later
    return drafts


def _obsidian_anchor(heading: str) -> str:
    # Obsidian drops these characters when it resolves `Note#Heading` links.
    return " ".join(re.sub(r"[#|^:\[\]]", " ", heading).split())


# ---------------------------------------------------------------------------------------
# Drafts → chunks


def _join(blocks: Sequence[_Block], lead: _Piece) -> _Piece:
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
    return _Piece("".join(parts), tuple(stamps), tuple(dict.fromkeys(links)), link_chars)


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
            lead = draft.lead if n == 0 else _Piece("")
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
                    video_id=note.video_id,
                    mtime_ns=note.mtime_ns,
                )
            )
    return chunks
