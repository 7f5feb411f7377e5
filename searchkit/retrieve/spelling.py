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
    surface: str  # `best` as the notes most often write it ("psycholog" → "psychology")
    # Close enough to search for as well (`near_miss`); a far-fetched one is only offered
    # as "did you mean", so a word that is not in the notes still finds nothing.
    near: bool = True
    # A punctuated word (`Invok-Comand`): each part's term and the term it is corrected to,
    # in order; the corrected parts are searched as a phrase, as the word's are.
    parts: tuple[tuple[str, str], ...] = ()


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
    found = _close_found(reader, term, word)
    if not found:
        return None
    closest = min(found.values())
    return min((c for c in found if found[c] == closest), key=lambda c: (-_written(reader, c), c))


def _close_found(reader: Any, term: str, word: str | None = None) -> dict[str, int]:
    if not term or len(term) > MAX_WORD or not term[0].isalnum():
        return {}
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
    return found


def close_terms(reader: Any, term: str, word: str | None = None) -> list[tuple[str, int]]:
    """The indexed terms within two edits of `term` (as `closest_term` finds them), with
    their distance, closest first, then most written."""
    found = _close_found(reader, term, word)
    return sorted(found.items(), key=lambda kv: (kv[1], -_written(reader, kv[0]), kv[0]))


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
        if len(toks) > 1:
            fix = _name_correction(searcher, analyzer, word, toks)
            if fix is not None:
                out.append(fix)
            continue
        if len(toks) != 1 or known(reader, toks[0]):
            continue
        best = closest_term(reader, toks[0], word)
        if best is None:
            continue
        forms = written_forms(reader, analyzer, best)
        surface = (
            max(forms, key=lambda f: (forms[f], -len(f), f)) if forms
            else _surface(analyzer, word, toks[0], best) or best
        )
        written = _written(reader, best)
        out.append(Correction(word, toks[0], best, surface, near_miss(word, surface, written)))
    return out


# --- punctuated names (`Invok-Comand` → `Invoke-Command`) -----------------------------------

_PART_CANDIDATES = 4  # corrections tried per misspelt part of a punctuated word
_COMBINATIONS = 16  # combinations of them looked up as phrases, at most
_NAME_DOCS_READ = 5  # passages read for how the notes write the corrected name
_PUNCTUATED = re.compile(r"\w+(?:[^\w\s]\w+)+")


def _name_correction(
    searcher: Any, analyzer: Any, word: str, toks: list[str]
) -> Correction | None:
    """The correction of a punctuated word with a misspelt part: the parts corrected
    together, preferring names the notes write whole. "Invok-Comand" → "Invoke-Command",
    written as a name in the notes, rather than the closest part alone, which may be a
    word of another name ("Invoke-Expression … a command")."""
    reader = searcher.reader()
    typed = _WORD.findall(word)
    if len(typed) != len(toks):  # a part analysed away (a stop word): leave it
        return None
    if any(not part.isalpha() for part in typed):
        # A GUID, a hash with dashes, `ADR-016`: a code, not a misspelt name. Correcting
        # its letter parts ("ACBC" of a GUID → "abc") made a GUID no note holds list junk.
        return None
    options: list[list[tuple[str, int]]] = []
    for tok, part in zip(toks, typed, strict=True):
        if known(reader, tok) or not part.isalpha() or len(part) < 4:
            options.append([(tok, 0)])  # "ADR-016": a number or short code is a name
            continue
        cands = close_terms(reader, tok, part)[:_PART_CANDIDATES]
        if not cands:
            return None
        options.append(cands)
    if all(len(o) == 1 and o[0][1] == 0 for o in options):
        return None
    best: tuple[tuple[bool, int, int], tuple[str, ...], list[int]] | None = None
    for combo in itertools.islice(itertools.product(*options), _COMBINATIONS):
        terms = tuple(t for t, _ in combo)
        docs = _phrase_docs(searcher, terms)
        # Written whole somewhere first, then the fewest edits, then the most written.
        key = (bool(docs), -sum(d for _, d in combo), len(docs))
        if best is None or key > best[0]:
            best = (key, terms, docs)
    assert best is not None
    _, terms, docs = best
    surface = _name_surface(reader, analyzer, terms, docs) or _joined_surface(
        reader, analyzer, word, typed, toks, terms)
    near = all(
        near_miss(part, _part_surface(reader, analyzer, part, tok, new), _written(reader, new))
        for part, tok, new in zip(typed, toks, terms, strict=True) if tok != new
    )
    return Correction(word, " ".join(toks), " ".join(terms), surface, near,
                      tuple(zip(toks, terms, strict=True)))


def _phrase_docs(searcher: Any, terms: tuple[str, ...]) -> list[int]:
    from whoosh import query as Q

    q = Q.Or([Q.Phrase(f, list(terms)) for f in _FIELDS])
    try:
        return sorted(searcher.docs_for_query(q))
    except Exception:  # a field the index does not hold positions for
        return []


def _name_surface(
    reader: Any, analyzer: Any, terms: tuple[str, ...], docs: list[int]
) -> str | None:
    """How the first passages holding the name write it, most often ("Invoke-Command")."""
    counts: Counter[str] = Counter()
    verdict: dict[str, bool] = {}
    for d in docs[:_NAME_DOCS_READ]:
        fields = reader.stored_fields(d)
        text = " ".join(str(fields.get(f) or "") for f in ("title", "headings", "body"))
        for name in _PUNCTUATED.findall(text[:20_000]):
            if len(_WORD.findall(name)) != len(terms):
                continue
            ok = verdict.get(name)
            if ok is None:
                ok = verdict[name] = tuple(analyzer.process_text(name, mode="query")) == terms
            if ok:
                counts[name] += 1
    return max(counts, key=lambda n: (counts[n], n)) if counts else None


def _part_surface(reader: Any, analyzer: Any, part: str, tok: str, new: str) -> str:
    forms = written_forms(reader, analyzer, new)
    if forms:
        return max(forms, key=lambda f: (forms[f], -len(f), f))
    return _surface(analyzer, part, tok, new) or new


def _joined_surface(
    reader: Any, analyzer: Any, word: str, typed: list[str], toks: list[str],
    terms: tuple[str, ...],
) -> str:
    """The typed word with each corrected part written as the notes write it."""
    out, at = [], 0
    for part, tok, new in zip(typed, toks, terms, strict=True):
        start = word.index(part, at)
        out.append(word[at:start])
        out.append(part if tok == new else _part_surface(reader, analyzer, part, tok, new))
        at = start + len(part)
    out.append(word[at:])
    return "".join(out)


NEAR_WRITTEN = 3  # a two-edit correction must be written at least this often


def near_miss(typed: str, surface: str, written: float) -> bool:
    """Whether a correction is a likely typo fix rather than a far-fetched neighbour: one
    edit from the word as written in the notes ("dopmaine" → "dopamine", "Zuckerburg" →
    "Zuckerberg"), or two in a long word that the notes write more than once or twice.
    "xylophonic" → "Xenophon" (four edits) is not: a word absent from the notes then finds
    nothing rather than something unrelated."""
    d = edit_distance(typed.lower(), surface.lower(), MAX_EDITS)
    return d <= 1 or (d == MAX_EDITS and len(typed) >= 8 and written >= NEAR_WRITTEN)


_FORMS_READ = 20  # passages read for a stem's written forms, at most


def written_forms(reader: Any, analyzer: Any, stem: str) -> Counter[str]:
    """How often each written word that analyses to `stem` occurs in the first passages
    holding it, in lower case: "zuckerberg" → {"zuckerberg": 12, "zuckerbergs": 1}."""
    counts: Counter[str] = Counter()
    try:
        m = reader.postings("body", stem.encode("utf-8"))
    except Exception:  # not in any body (a title-only word)
        return counts
    head = stem[: max(1, len(stem) - 1)]
    verdict: dict[str, bool] = {}
    seen = 0
    while m.is_active() and seen < _FORMS_READ:
        body = reader.stored_fields(m.id()).get("body") or ""
        for w in _WORD.findall(body[:20_000]):
            low = w.lower()
            if not low.startswith(head):
                continue
            ok = verdict.get(low)
            if ok is None:
                ok = verdict[low] = list(analyzer.process_text(low, mode="query")) == [stem]
            if ok:
                counts[low] += 1  # lower case: a capital often only starts a sentence
        seen += 1
        m.next()
    return counts


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


# --- fuzzy words (`memroy~`) ------------------------------------------------------------

MAX_FUZZY = 8  # index terms a fuzzy word expands to, at most
_FUZZY_READ = 40  # candidate stems whose written forms are read, at most
_FORM_PASSAGES = 3  # passages read per candidate stem for its written forms
_RARE_SHARE = 0.25  # a candidate written under this share of the best one is dropped


@dataclass(frozen=True)
class FuzzyMatch:
    term: str  # the index term (a stem)
    form: str  # the written word it was matched on
    dist: int  # edits from the typed word to `form`
    written: float  # occurrences in the notes


def fuzzy_terms(reader: Any, analyzer: Any, word: str, dist: int) -> list[FuzzyMatch]:
    """The index terms of the words written in the notes within `dist` edits of `word`,
    closest first, then most written.

    The index holds stems, and a typo is an edit of the word as written, not of its stem:
    "memroy" is one edit (a swap) from "memory" but two from its stem "memori", and "memry"
    is one edit from the stem "metri" of a rare "metry". So candidate stems are found
    loosely, and each is judged by the words that analyse to it in the notes. Only the
    closest candidates are kept, and of those the ones written at least a quarter as
    often as the best: the scorer gives a rare term a high weight, so a rare near miss kept
    beside the common word would outrank it.
    """
    from whoosh.support.charset import accent_map

    typed = word.lower().translate(accent_map)
    if not typed or len(typed) > MAX_WORD or not typed[0].isalnum():
        return []
    stems = list(analyzer.process_text(word, mode="query"))
    stem = stems[0] if len(stems) == 1 else typed
    names = _first_letter_terms(reader, typed[0])
    loose = _loose_candidates(typed, stem, names, dist)
    loose.sort(key=lambda c: (loose_dist(typed, stem, c), -_written(reader, c)))
    found: list[FuzzyMatch] = []
    for cand in loose[:_FUZZY_READ]:
        forms = _forms(reader, analyzer, cand)
        best = min(forms, key=lambda f: (edit_distance(typed, f, dist), f))
        d = edit_distance(typed, best, dist)
        if d <= dist:
            found.append(FuzzyMatch(cand, best, d, _written(reader, cand)))
    if not found:
        return []
    exact = [m for m in found if m.dist == 0]
    near = [m for m in found if m.dist > 0]
    keep = list(exact)
    if near:
        closest = min(m.dist for m in near)
        tier = sorted((m for m in near if m.dist == closest), key=lambda m: (-m.written, m.term))
        top = max([tier[0].written, *(m.written for m in exact)])
        keep += [m for m in tier if m.written >= _RARE_SHARE * top]
    return keep[:MAX_FUZZY]


def loose_dist(typed: str, stem: str, cand: str) -> int:
    """A cheap lower-ish bound of how far `cand` (a stem) is from what was typed: the
    closer of the typed word and its stem, or of the typed word cut to the stem's length
    (a long suffix: "organizational" → "organiz")."""
    limit = MAX_EDITS + 2
    d = min(edit_distance(typed, cand, limit), edit_distance(stem, cand, limit))
    if len(cand) >= 4 and len(typed) > len(cand):
        d = min(d, edit_distance(typed[: len(cand)], cand, limit))
    return d


def _first_letter_terms(reader: Any, letter: str) -> set[str]:
    names: set[str] = set()
    for leaf, _offset in reader.leaf_readers():
        for fieldname in ("body", "title"):
            try:
                terms = leaf.expand_prefix(fieldname, letter)
                for btext in itertools.islice(terms, MAX_SCANNED):
                    names.add(btext.decode("utf-8", "replace"))
            except Exception:  # a field this segment does not have
                continue
    return names


def _loose_candidates(typed: str, stem: str, names: set[str], dist: int) -> list[str]:
    """Stems that some written form within `dist` edits of `typed` could have: within
    dist + 2 edits of the typed word or its stem (suffixes come and go), or whose length in
    letters of the typed word is within `dist` (long suffixes)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    cut = dist + 2
    lo = max(1, min(len(typed), len(stem)) - cut)
    near = [c for c in names if lo <= len(c) <= len(typed) + cut]
    out: set[str] = set()
    for key in {typed, stem}:
        for cand, _d, _ in process.extract(
            key, near, scorer=OSA.distance, score_cutoff=cut, limit=None
        ):
            out.add(cand)
    by_len: dict[int, list[str]] = {}
    for c in names:
        if 4 <= len(c) < len(typed):
            by_len.setdefault(len(c), []).append(c)
    for n, group in by_len.items():
        for cand, _d, _ in process.extract(
            typed[:n], group, scorer=OSA.distance, score_cutoff=dist, limit=None
        ):
            out.add(cand)
    return sorted(out)


def _forms(reader: Any, analyzer: Any, stem: str) -> set[str]:
    """Words written in the notes that analyse to `stem`: read from the first few passages
    that hold it (a stem stands for itself too, for words like "git" written as is)."""
    forms = {stem}
    try:
        m = reader.postings("body", stem.encode("utf-8"))
    except Exception:  # a title-only word: the stem will do
        return forms
    from whoosh.support.charset import accent_map

    head = stem[: max(1, len(stem) - 1)]
    seen = 0
    while m.is_active() and seen < _FORM_PASSAGES:
        body = reader.stored_fields(m.id()).get("body") or ""
        for w in set(_WORD.findall(body[:20_000].lower())):
            # Snowball keeps all but a word's last letter or so ("memory" → "memori").
            if (
                w.startswith(head) and w not in forms
                and list(analyzer.process_text(w, mode="query")) == [stem]
            ):
                forms.add(w.translate(accent_map))
        seen += 1
        m.next()
    return forms
