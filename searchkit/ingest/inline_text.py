"""Inline text: markdown-it inline tokens (or raw HTML) → plain text.

`TextBuilder` turns one leaf of a note (a paragraph, heading, table cell, HTML block) into
a `Piece`: the plain text a reader sees, where its video timestamps fall in it, the
wiki-links it holds and how many of its characters are link labels. Everything markup
leaves behind (link brackets, timestamp anchors, broken anchors, the `()` and `,,` a
removed timestamp leaves) is handled here, so `chunker.py` deals only in blocks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from . import timestamps as ts
from .notes import video_id_from_url

if TYPE_CHECKING:
    from markdown_it.token import Token


class Timestamp(NamedTuple):
    """A video timestamp found in a chunk: `seconds` into the video, at `offset` in `text`."""

    seconds: int
    offset: int




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


class TextBuilder:
    """Accumulates plain text while recording where timestamps fall in it.

    A wiki-link may span several inline tokens (`[[t | **Gaming**]]` is text, strong,
    text): from its `[[` on, tokens are buffered in `wiki` until its `]]`, then the label's
    tokens are replayed as link text. A link still open at a line break or at the end is
    read as a link that lost its `]]` (see `wiki_abort`).
    """

    def __init__(self, frames: bool | None = None) -> None:
        # How the note writes three-part stamps (timestamps.note_reads_frames).
        self.frames = frames
        self.parts: list[str] = []
        self.length = 0
        self.timestamps: list[Timestamp] = []
        self.cuts: list[int] = []  # offsets where a timestamp (or broken anchor) was removed
        self.links: list[str] = []
        self.tags: list[str] = []
        self.link_chars = 0
        self.videos: list[str] = []  # YouTube videos linked (a hub note's heading links one)
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
                seconds = ts.salvage_seconds(match.group(0), self.frames)
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
        if "[" in s or "(" in s:
            for match in ts.BARE.finditer(s):
                self._emit(s[pos : match.start()])
                self.mark_time(ts.parse_timestamp(match.group(1) or match.group(2), self.frames))
                pos = match.end()
        self._emit(s[pos:])

    def tag(self, tag: str) -> None:
        if _ANCHOR_OPEN.match(tag):
            seconds = ts.data_t_seconds(tag, self.frames)
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
            href = str(tok.attrGet("href") or "")
            video = video_id_from_url(href) if "youtu" in href else None
            if video:
                self.videos.append(video)
            seconds = ts.url_seconds(href, self.frames)
            self.mark_time(seconds)
            self.in_time_anchor = seconds is not None
            self.in_link = seconds is None
        elif kind == "link_close":
            self.in_time_anchor = False
            self.in_link = False

    def piece(self) -> Piece:
        piece = Piece(
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
class Piece:
    text: str
    timestamps: tuple[Timestamp, ...] = ()
    links: tuple[str, ...] = ()
    link_chars: int = 0

    def edit(self, edits: Sequence[tuple[int, int, str]]) -> Piece:
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
        return Piece(text, stamps, self.links, min(self.link_chars, len(text)))

    def strip(self) -> Piece:
        lead = len(self.text) - len(self.text.lstrip())
        text = self.text.strip()
        stamps = tuple(
            Timestamp(t.seconds, min(max(t.offset - lead, 0), len(text))) for t in self.timestamps
        )
        return Piece(text, stamps, self.links, min(self.link_chars, len(text)))

    def cut(self, at: int) -> tuple[Piece, Piece]:
        """Split at a character offset; timestamps go with their side."""
        head = Piece(
            self.text[:at], tuple(t for t in self.timestamps if t.offset < at), self.links
        )
        # Link characters are not tracked by position; the tail (the body, when a callout
        # title is cut off) keeps them, capped at its length.
        tail = Piece(
            self.text[at:],
            tuple(Timestamp(t.seconds, t.offset - at) for t in self.timestamps if t.offset >= at),
            (),
            self.link_chars,
        )
        return head.strip(), tail.strip()
