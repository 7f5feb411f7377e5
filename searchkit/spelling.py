"""Corrections for words the index does not hold ("dopmaine" → "dopamine").

A candidate is an indexed word that shares the first letter and is within two edits,
where swapping two neighbouring letters counts as one edit (optimal string alignment), so
"dopmaine" is one edit from "dopamine", as close as "domaine". Among the closest, the most
frequent word wins: people misspell common words more often than they mean rare ones.

The cost is bounded whatever is typed: words longer than `MAX_WORD` are not corrected,
only terms within two letters of the word's length are compared, and each comparison stops
as soon as it exceeds two edits (a 4,000-letter word used to spend 12 s in Whoosh's
unbounded edit distance over every term with its first letter).
"""

from __future__ import annotations

import itertools
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
    """Optimal string alignment distance, or `limit + 1` as soon as it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else limit + 1


def known(reader: Any, term: str) -> bool:
    return any(reader.doc_frequency(f, term) for f in _FIELDS)


def closest_term(reader: Any, term: str) -> str | None:
    """The indexed term closest to `term` (most frequent among the closest), or None."""
    if not term or len(term) > MAX_WORD or not term[0].isalnum():
        return None
    best: tuple[int, int, str] | None = None  # (distance, -frequency, term)
    lo, hi = len(term) - MAX_EDITS, len(term) + MAX_EDITS
    seen: set[str] = set()
    for fieldname in ("body", "title"):
        try:
            terms = reader.iter_prefix(fieldname, term[0])
        except Exception:  # a field this index does not have
            continue
        for btext, info in itertools.islice(terms, MAX_SCANNED):
            cand = btext.decode("utf-8", "replace") if isinstance(btext, bytes) else btext
            if not lo <= len(cand) <= hi or cand == term or cand in seen:
                continue
            seen.add(cand)
            d = edit_distance(term, cand)
            if d > MAX_EDITS:
                continue
            key = (d, -info.doc_frequency(), cand)
            if best is None or key < best:
                best = key
    return best[2] if best is not None else None


def corrections(searcher: Any, words: list[str]) -> list[Correction]:
    """A correction for each typed word whose single term is not in the index."""
    reader = searcher.reader()
    analyzer = searcher.schema["body"]
    out: list[Correction] = []
    for word in dict.fromkeys(words):
        toks = list(analyzer.process_text(word, mode="query"))
        if len(toks) != 1 or known(reader, toks[0]):
            continue
        best = closest_term(reader, toks[0])
        if best is None:
            continue
        out.append(Correction(word, toks[0], best, _surface(analyzer, word, toks[0], best)))
    return out


def _surface(analyzer: Any, word: str, term: str, best: str) -> str:
    """The index holds stems ("psycholog"): re-attach the typed suffix when that analyses
    to the suggested stem ("psycology" → "psychology"), else show the stem."""
    low = word.lower()
    if low.startswith(term):
        cand = best + low[len(term) :]
        if list(analyzer.process_text(cand, mode="query")) == [best]:
            return cand
    return best
