"""Which passages a compiled Whoosh query matches, from the cached posting lists.

The required part of a query (`a OR b OR …`, `a AND b AND …`, field words, phrases) and
its exclusions used to be run through Whoosh's matcher tree: a Python object per clause
per field, advanced one document at a time. A 600-word OR chain (3,000 term matchers)
then cost 26 s of CPU and 300 `-word` exclusions 12.6 s on tubegraph. Here words are
read as numpy arrays (postings.py, shared by every searcher of the same segments) and
combined with array operations; a phrase is checked by positions only in the passages
that hold all its words and that the rest of its AND allows. Anything else (prefixes,
fuzzy words, ranges) still goes through Whoosh, looking at the clock as documents come.
Every step looks at the search's `Deadline`.
"""

from __future__ import annotations

from typing import Any

from whoosh import query as Q

from . import postings
from .deadline import Deadline

# Documents read from a Whoosh matcher between two looks at the clock.
CHECK_EVERY = 2048
# Positions of one word in one passage read for a phrase check, at most (a 990k-word
# paragraph is one passage).
MAX_POSITIONS = 20_000


def docs(searcher: Any, q: Any, deadline: Deadline, doing: str, within: Any = None) -> Any:
    """The sorted numpy array of the documents `q` matches (only those in the sorted array
    `within`, if given)."""
    np = postings._numpy()
    deadline.check(doing)
    if within is not None and not len(within):
        return within
    if q is Q.NullQuery or isinstance(q, Q.NullQuery.__class__):
        return np.zeros(0, np.int64)
    if isinstance(q, Q.ConstantScoreQuery):
        return docs(searcher, q.child, deadline, doing, within)
    if isinstance(q, Q.Term) and type(q) is Q.Term:
        return _limit(np, _term(searcher, q.fieldname, q.text), within)
    if isinstance(q, Q.Or) and type(q) is Q.Or and not q.minmatch:
        parts = [docs(searcher, sub, deadline, doing, within) for sub in q.subqueries]
        return _unique(np, np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    if isinstance(q, Q.And) and type(q) is Q.And:
        # Words first (cheap, and they narrow what the phrases are checked in).
        subs = sorted(q.subqueries, key=lambda s: not _words_only(s))
        found = within
        for sub in subs:
            found = docs(searcher, sub, deadline, doing, found)
            if not len(found):
                break
        return found if found is not None else _all(searcher)
    if isinstance(q, Q.AndNot) and type(q) is Q.AndNot:
        kept = docs(searcher, q.a, deadline, doing, within)
        if not len(kept):
            return kept
        return np.setdiff1d(kept, docs(searcher, q.b, deadline, doing, kept),
                            assume_unique=True)
    if type(q) is Q.Phrase and q.slop == 1 and not q.char_ranges and _positions(searcher, q):
        return _phrase(searcher, q, deadline, doing, within)
    found = np.array(sorted(whoosh_docs(searcher, q, deadline, doing)), np.int64)
    return _limit(np, found, within)


def whoosh_docs(searcher: Any, q: Any, deadline: Deadline, doing: str) -> set[int]:
    """The documents `q` matches, through Whoosh, looking at the clock as they come."""
    deadline.check(doing)
    out: set[int] = set()
    for n, d in enumerate(searcher.docs_for_query(q), 1):
        out.add(d)
        if not n % CHECK_EVERY:
            deadline.check(doing)
    deadline.check(doing)
    return out


def _limit(np: Any, found: Any, within: Any) -> Any:
    if within is None:
        return found
    return np.intersect1d(found, within, assume_unique=True)


def _all(searcher: Any) -> Any:
    np = postings._numpy()
    reader = searcher.reader()
    return np.array([d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)]
                    if reader.has_deletions() else range(reader.doc_count_all()), np.int64)


def _positions(searcher: Any, q: Any) -> bool:
    if q.fieldname not in searcher.schema:
        return False
    field = searcher.schema[q.fieldname]
    return bool(field.format and field.format.supports("positions"))


def _words_only(q: Any) -> bool:
    if isinstance(q, Q.ConstantScoreQuery):
        return _words_only(q.child)
    if type(q) is Q.Term:
        return True
    if type(q) in (Q.Or, Q.And):
        return all(_words_only(s) for s in q.subqueries)
    return False


def _term(searcher: Any, fieldname: str, text: Any) -> Any:
    """The live documents holding one word in one field (sorted, unique)."""
    np = postings._numpy()
    if fieldname not in searcher.schema:
        return np.zeros(0, np.int64)
    btext = text if isinstance(text, bytes) else searcher.schema[fieldname].to_bytes(text)
    stats = postings.stats_for(searcher)
    parts = [stats.postings(seg, fieldname, btext)[0] + seg.offset for seg in stats.segments]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _phrase(searcher: Any, q: Any, deadline: Deadline, doing: str, within: Any) -> Any:
    """The documents holding `q.words` side by side in `q.fieldname`: the passages that
    hold every word (from the cached postings), then their positions."""
    np = postings._numpy()
    words = list(q.words)
    cand = within
    for w in words:
        cand = _limit(np, _term(searcher, q.fieldname, w), cand)
        if not len(cand):
            return cand
    if len(words) < 2:
        return cand if cand is not None else np.zeros(0, np.int64)
    field = searcher.schema[q.fieldname]
    reader = searcher.reader()
    try:
        matchers = [reader.postings(q.fieldname, field.to_bytes(w)) for w in words]
    except Exception:  # a word no passage holds in this field
        return np.zeros(0, np.int64)
    found = []
    for k, doc in enumerate(cand.tolist()):
        if not k % 64:
            deadline.check(doing)
        positions = postings.positions_at(matchers, doc, MAX_POSITIONS)
        if positions is not None and _adjacent(positions):
            found.append(doc)
    return np.array(found, np.int64)


def _adjacent(positions: list[list[int]]) -> bool:
    """Whether some position of the first word is followed by the second at +1, and so on."""
    rest = [set(p) for p in positions[1:]]
    for start in positions[0]:
        at = start
        for ps in rest:
            at += 1
            if at not in ps:
                break
        else:
            return True
    return False


def _unique(np: Any, a: Any) -> Any:
    """`np.unique(a)` for a 1-d array, without the `numpy.ma` import that numpy's own makes
    on first use (~6 ms of a cold search)."""
    if len(a) == 0:
        return a
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))]
