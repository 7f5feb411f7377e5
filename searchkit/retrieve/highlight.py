"""Snippets: a few sentences around the best match in a passage, with highlight spans.

The matches are found by analysing the stored passage text with the index's analyzer and
keeping the words whose terms the query asked for, so a stemmed match ("running" for "run")
is highlighted exactly as it is written, with no second search to learn the matched terms
and no character offsets in the index. We then cut the snippet at sentence boundaries
ourselves and produce the plain text, the `<mark>` form and (start, end) spans from the
same cut, so the three never disagree.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

# Matches closer than this merge into one fragment; the best fragment is the one with the
# most distinct terms, then the most matches.
_SURROUND = 60
BEFORE = 140  # max characters of context before the first match of the fragment
AFTER = 200  # max characters after its last match
MAX_SNIPPET = 360
LEAD = 240  # snippet length when nothing matched in the body (title/heading-only hits)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+|\n\s*\n|\n(?=\s*[-*+] )")
# A period after one of these (or after a single letter: "J. Smith", "e.g.") does not end
# a sentence. Decimals ("3.5") never match: the period must be followed by whitespace.
_ABBREVIATIONS = frozenset(
    ["e.g", "i.e", "vs", "cf", "al", "approx", "dr", "mr", "mrs", "ms", "prof", "st", "jr",
     "sr", "fig", "eq", "ca", "resp", "incl"]
)
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")
_WS = re.compile(r"\s+")
_SPACE = re.compile(r"\s")
# Table cells are joined by a tab in chunk text; a snippet shows them apart like this.
CELL = " · "


def _sentence_ends(text: str, lo: int, hi: int) -> list[re.Match[str]]:
    """Sentence boundaries in text[lo:hi], skipping the period of an abbreviation."""
    out = []
    for m in _SENTENCE_END.finditer(text, lo, hi):
        if text[m.start()] == ".":
            before = _WORD_BEFORE.search(text, max(0, m.start() - 12), m.start() + 1)
            word = before.group(1).lower() if before else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
            if word.count(".") and len(word.replace(".", "")) <= 3:  # "U.S.", "a.m."
                continue
        out.append(m)
    return out


@dataclass(frozen=True)
class Snippet:
    text: str  # plain, whitespace collapsed
    marked: str  # HTML-escaped text with matches in <mark>…</mark>
    spans: tuple[tuple[int, int], ...]  # match spans in `text`
    anchor: int | None  # offset in the body of the best match (None: no body match)


EMPTY = Snippet("", "", (), None)


# Candidate words for highlighting: the analyzer's words plus C++/C#/.NET forms.
_WORDLIKE = re.compile(r"\.?\w[\w.+#]*")


# Characters of a passage analysed for highlights, at most: a 990k-word paragraph is one
# passage, and analysing all of it for a snippet of 360 characters cost seconds. Past it,
# matches are looked for in the first MAX_ANALYSED characters only.
MAX_ANALYSED = 100_000
MAX_SPANS = 2_000  # matches kept per passage: enough for the best cluster


def match_spans(analyzer: Any, text: str, terms: set[str]) -> list[tuple[int, int]]:
    """(start, end) of each word of `text` that `analyzer` turns into one of `terms`
    (in its first MAX_ANALYSED characters, MAX_SPANS at most)."""
    if not text or not terms:
        return []
    text = text[:MAX_ANALYSED]
    # Stems keep the first letters of their words nearly always ("dreaming" -> "dream"), so
    # only words starting like a query term are analysed (a 2,000-character passage is
    # analysed in ~0.6 ms; this is a few times faster).
    heads = {t[:2] for t in terms}
    spans = []
    for m in _WORDLIKE.finditer(text):
        word = m.group()
        if word.isascii() and word[:2].lower() not in heads:
            continue  # accented words are always analysed: folding changes their letters
        for tok in analyzer(word, chars=True, mode="index", removestops=False):
            if tok.text in terms:
                spans.append((m.start() + tok.startchar, m.start() + tok.endchar))
        if len(spans) >= MAX_SPANS:
            break
    return spans


def _best_cluster(text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """Indices [i, j) of the run of nearby matches with the most distinct words."""
    best = (0, 1)
    best_key: tuple[int, int] = (0, 0)
    i = 0
    n = len(spans)
    while i < n:
        j = i + 1
        while j < n and spans[j][0] - spans[j - 1][1] <= _SURROUND:
            if spans[j][1] - spans[i][0] > MAX_SNIPPET - 40:
                break
            j += 1
        words = {text[a:b].lower() for a, b in spans[i:j]}
        key = (len(words), j - i)
        if key > best_key:
            best_key, best = key, (i, j)
        i = j
    return best


def _cut_start(text: str, first: int) -> tuple[int, bool]:
    lo = max(0, first - BEFORE)
    ends = _sentence_ends(text, lo, first)
    if ends:
        return ends[-1].end(), False
    if lo == 0:
        return 0, False
    if not text[lo - 1].isspace():  # cut at a word boundary, never inside a word
        sp = _SPACE.search(text, lo, first)
        lo = sp.end() if sp else first
    return lo, True


def _cut_end(text: str, last: int, start: int) -> tuple[int, bool]:
    hi = max(last, min(len(text), last + AFTER, start + MAX_SNIPPET))
    ends = _sentence_ends(text, last, hi)
    if ends:
        m = ends[0]
        return m.start() + len(m.group(0).rstrip()), False
    if hi >= len(text):
        return len(text), False
    return _word_end(text, last, hi), True


def _word_end(text: str, lo: int, hi: int) -> int:
    """The last word boundary in text[lo:hi] (hi itself if a space follows it); failing
    that the next one after hi, unless the word runs on past any sensible snippet (a
    pasted blob: then it is cut)."""
    if hi >= len(text) or text[hi].isspace():
        return hi
    for i in range(hi, lo, -1):
        if text[i - 1].isspace():
            return i - 1
    sp = _SPACE.search(text, hi, hi + MAX_SNIPPET)
    return sp.start() if sp else hi


def make_snippet(text: str, spans: list[tuple[int, int]]) -> Snippet:
    """The snippet of `text` around the best cluster of `spans` (offsets into `text`)."""
    if not text:
        return Snippet("", "", (), None)
    if not spans:
        end, _ = _cut_end(text, min(len(text), LEAD // 2), 0)
        if end > LEAD:
            end = _word_end(text, LEAD // 2, LEAD)
        return _render(text, 0, end, [], False, end < len(text), None)
    i, j = _best_cluster(text, spans)
    first, last = spans[i][0], spans[j - 1][1]
    start, pre = _cut_start(text, first)
    end, post = _cut_end(text, last, start)
    shown = [s for s in spans if s[0] >= start and s[1] <= end]
    return _render(text, start, end, shown, pre, post, first)


def _render(
    text: str,
    start: int,
    end: int,
    spans: list[tuple[int, int]],
    pre: bool,
    post: bool,
    anchor: int | None,
) -> Snippet:
    # Collapse whitespace while mapping body offsets to snippet offsets.
    out: list[str] = []
    marked: list[str] = []
    out_spans: list[tuple[int, int]] = []
    bounds = {a: b for a, b in spans}
    pos = start
    length = 0
    if pre:
        out.append("…")
        marked.append("…")
        length = 1
    segment = text[start:end].strip()
    pos = start + (len(text[start:end]) - len(text[start:end].lstrip()))
    seg_end = pos + len(segment)
    while pos < seg_end:
        if pos in bounds:
            b = min(bounds[pos], seg_end)
            word = _WS.sub(" ", text[pos:b])
            out.append(word)
            marked.append(f"<mark>{html.escape(word, quote=False)}</mark>")
            out_spans.append((length, length + len(word)))
            length += len(word)
            pos = b
            continue
        m = _WS.match(text, pos, seg_end)
        if m:
            gap = CELL if m.group(0) == "\t" else " "
            out.append(gap)
            marked.append(gap)
            length += len(gap)
            pos = m.end()
            continue
        nxt = min([p for p in bounds if pos < p < seg_end] or [seg_end])
        ws = _WS.search(text, pos, nxt)
        stop = ws.start() if ws else nxt
        chunk = text[pos:stop]
        out.append(chunk)
        marked.append(html.escape(chunk, quote=False))
        length += len(chunk)
        pos = stop
    if post:
        out.append("…")
        marked.append("…")
    return Snippet("".join(out), "".join(marked), tuple(out_spans), anchor)


def passage_snippet(
    text: str, spans: list[tuple[int, int]], callout_title: str | None = None
) -> Snippet:
    """A passage's snippet: around its matches, or, for a callout that is only a title
    ("> [!tip] Sleep before 11"), that title: it is what there is to show."""
    if not text.strip():
        title = (callout_title or "").strip()
        return Snippet(title, html.escape(title, quote=False), (), None)
    return make_snippet(text, spans)
