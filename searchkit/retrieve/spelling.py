"""Corrections for words the index does not hold ("dopmaine" → "dopamine").

A candidate is an indexed word that shares the first letter and is within two edits,
where swapping two neighbouring letters counts as one edit (optimal string alignment), so
"dopmaine" is one edit from "dopamine", as close as "domaine". Among the closest, the word
written most often in the notes wins (occurrences in text, titles and headings): people
misspell common words more often than they mean rare ones. The index holds stems, and a
misspelt word's suffix often defeats the stemmer ("motivaton" stays "motivaton" while
"motivation" is "motiv"), so a stem that the typed word starts with, give or take one
edit, is a candidate too, as two edits.

The cost is bounded whatever is typed: words longer than `MAX_WORD` are not corrected,
only terms within two letters of the word's length are compared, and each comparison stops
as soon as it exceeds two edits (a 4,000-letter word used to spend 12 s in Whoosh's
unbounded edit distance over every term with its first letter).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

MAX_WORD = 32  # longer "words" are pasted tokens, hashes or URLs, not typos
MAX_EDITS = 2
MAX_SCANNED = 50_000  # terms sharing a first letter, at most, per field
_FIELDS = ("body", "title", "headings")


@dataclass(frozen=True)
class Correction:
    word: str  # as typed
    term: str  # the index term it was analysed to (absent from the index)
    best: str  # the index term suggested instead
    surface: str  # `best` as a word to show ("psycholog" + "y" → "psychology")


def edit_distance(a: str, b: str, limit: int = MAX_EDITS) -> int:
    """Optimal string alignment distance, or `limit + 1` when it exceeds `limit`.

    RapidFuzz computes it in C with a cut-off: the Python version took ~30 µs a pair, and a
    correction compares the word with a few thousand index terms. (Imported here: most
    searches never correct a word, and a cold start should not pay for it.)"""
    from rapidfuzz.distance import OSA

    return int(OSA.distance(a, b, score_cutoff=limit))


def known(reader: Any, term: str) -> bool:
    return any(reader.doc_frequency(f, term) for f in _FIELDS)


def closest_term(reader: Any, term: str, word: str | None = None) -> str | None:
    """The indexed term closest to `term` (the typed `word` analysed), the most often
    written among the closest, or None."""
    if not term or len(term) > MAX_WORD or not term[0].isalnum():
        return None
    typed = (word or term).lower()
    lo, hi = len(term) - MAX_EDITS, len(term) + MAX_EDITS
    names: set[str] = set()
    # Each segment's term list, without the per-term statistics: merging those across
    # segments (Whoosh's iter_prefix on a multi-segment index) cost ~100 ms a word.
    for leaf, _offset in reader.leaf_readers():
        for fieldname in ("body", "title"):
            try:
                terms = leaf.expand_prefix(fieldname, term[0])
                for btext in itertools.islice(terms, MAX_SCANNED):
                    names.add(btext.decode("utf-8", "replace"))
            except Exception:  # a field this segment does not have
                continue
    names.discard(term)
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    near = [c for c in names if lo <= len(c) <= hi]
    found: dict[str, int] = {}
    for cand, d, _ in process.extract(
        term, near, scorer=OSA.distance, score_cutoff=MAX_EDITS, limit=None
    ):
        found[cand] = int(d)
    for cand in names:
        if cand not in found and _stem_of(typed, cand):
            found[cand] = MAX_EDITS
    if not found:
        return None
    closest = min(found.values())
    return min((c for c in found if found[c] == closest), key=lambda c: (-_written(reader, c), c))


def _stem_of(typed: str, cand: str) -> bool:
    """Whether `cand` (a stem of 5+ letters, at least half the word) is how the typed word
    starts, give or take one edit, with a suffix left over."""
    n = len(cand)
    return n >= 5 and 2 * n >= len(typed) and len(typed) > n + 1 and (
        edit_distance(typed[:n], cand, 1) <= 1
    )


def _written(reader: Any, term: str) -> float:
    return sum(reader.frequency(f, term) for f in _FIELDS)


def corrections(searcher: Any, words: list[str]) -> list[Correction]:
    """A correction for each typed word whose single term is not in the index."""
    reader = searcher.reader()
    analyzer = searcher.schema["body"]
    out: list[Correction] = []
    for word in dict.fromkeys(words):
        toks = list(analyzer.process_text(word, mode="query"))
        if len(toks) != 1 or known(reader, toks[0]):
            continue
        best = closest_term(reader, toks[0], word)
        if best is None:
            continue
        surface = _surface(analyzer, word, toks[0], best) or _written_form(searcher, best)
        out.append(Correction(word, toks[0], best, surface or best))
    return out


def _surface(analyzer: Any, word: str, term: str, best: str) -> str | None:
    """The index holds stems ("psycholog"): re-attach the typed suffix when that analyses
    to the suggested stem ("psycology" → "psychology")."""
    low = word.lower()
    if low.startswith(term) and len(low) > len(term):
        cand = best + low[len(term) :]
        if list(analyzer.process_text(cand, mode="query")) == [best]:
            return cand
    return None


_WORD = re.compile(r"\w+")


def _written_form(searcher: Any, stem: str) -> str | None:
    """The stem as a word people wrote: the most common word of one passage holding it
    that analyses to it ("motiv" → "motivation")."""
    reader = searcher.reader()
    analyzer = searcher.schema["body"]
    try:
        m = reader.postings("body", stem.encode("utf-8"))
        body = searcher.stored_fields(m.id()).get("body") or ""
    except Exception:  # not in any body (a title-only word): the stem will do
        return None
    words = Counter(w.lower() for w in _WORD.findall(body[:20_000]) if w.lower()[:2] == stem[:2])
    for w, _ in words.most_common():
        if list(analyzer.process_text(w, mode="query")) == [stem]:
            return w
    return None
