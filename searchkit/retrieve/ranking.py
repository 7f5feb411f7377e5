"""Ranking rules: how much a passage answers a query.

One BM25F score per passage (Robertson & Zaragoza's "simple BM25F"): each query concept's
frequencies in the note title, aliases, heading path and body are weighted, normalised by
each field's length, summed, and saturated *once*. Summing separately saturated fields (what
Whoosh's BM25F does) counts a word that is in a title and its text twice and forced the
title and heading boosts down to 0.2; with one saturation a heading that names the subject
can weigh 3x the body without flooding the ranking.

On top of it, each a rule with a reason (and a test in tests/test_ranking.py):
- function and question words (how, why, does, my…) weigh little and never bring a passage
  in on their own, so "why do we dream" is decided by "dream";
- coordination: the score is scaled by the share of the query's weight a passage holds, so
  passages with every word come first unless a partial match is much stronger;
- hub penalty: a passage that is mostly link labels (a channel's list of episodes) is a
  table of contents, not an answer.

Scoring is term-at-a-time over decoded posting blocks, as numpy vector operations: on
tubegraph (73k passages) the Python version of this loop was already about 10x faster than
Whoosh's matcher tree for the same OR query; numpy takes the per-passage Python work out of
it, which is what keeps scoring every passage that holds a query word affordable at 100k
notes. What is bounded by the page (proximity, the whole-query phrase) is computed in
topk.py only for the passages that can still reach the page. The statistics and posting
lists scoring reads, and their caches shared between searchers, are in postings.py.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .deadline import NO_DEADLINE, Deadline

# NOTE_COLUMN is re-exported: tests read it as ranking.NOTE_COLUMN.
from .postings import NOTE_COLUMN, SCORED_FIELDS, _numpy, _Segment, _Stats, stats_for  # noqa: F401

__all__ = [
    "DEFAULT_PARAMS",
    "FUNCTION_WORDS",
    "Concept",
    "RankParams",
    "explain_doc",
    "score_concepts",
]

HUB_COLUMN = "hub"  # per passage: share of its text that is link labels, 0..255

# Words that carry the grammar of a question, not its subject. Whoosh's analyzer already
# drops a few stop words at index time (a, the, of…); these stay indexed (they matter in
# phrases and titles) but only ever add a little to a passage that matched something else.
FUNCTION_WORDS = frozenset(
    [
        "how", "why", "what", "when", "where", "who", "whom", "which", "whose", "whats",
        "hows", "whys", "do", "does", "did", "doing", "done", "is", "are", "was", "were",
        "be", "been", "being", "am", "can", "could", "should", "would", "will", "shall",
        "may", "might", "must", "have", "has", "had", "having", "get", "gets", "got", "i",
        "me", "my", "mine", "you", "your", "yours", "we", "our", "ours", "they", "them",
        "their", "theirs", "he", "him", "his", "she", "her", "hers", "it", "its", "a", "an",
        "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "about", "into",
        "onto", "than", "then", "so", "too", "very", "just", "there", "here", "this",
        "that", "these", "those", "and", "or", "not", "no", "nor", "if", "also", "any",
        "some", "much", "many", "often", "way", "ways", "thing", "things", "really",
        "actually", "vs", "versus",
    ]
)


@dataclass(frozen=True)
class RankParams:
    """The knobs of the ranking, chosen on the notes dev set and SciFact train
    (scripts/eval/eval.py runs both, beside the FTS5 peer)."""

    k1: float = 2.0
    field_weights: Mapping[str, float] = field(
        # `meta` (the other frontmatter values) counts half of body: it finds a pasted ID,
        # but a channel name on every note of the channel must not outweigh the text.
        default_factory=lambda: {"title": 3.0, "aliases": 3.0, "headings": 3.0, "body": 1.0,
                                 "meta": 0.5}
    )
    field_b: Mapping[str, float] = field(
        default_factory=lambda: {"title": 0.5, "aliases": 0.5, "headings": 0.5, "body": 0.75,
                                 "meta": 0.5}
    )
    function_weight: float = 0.2  # a function word's share of a content word's weight
    coordination: float = 1.0  # exponent on the matched share of the query's weight; 0 = off
    # A passage made only of links keeps 30% of its score. The penalty grows from nothing at
    # `hub_start` (prose with inline links is content) to full at 100% link text.
    hub_penalty: float = 0.7
    hub_start: float = 0.5
    # Proximity: a passage where neighbouring query words stand within `window` words of
    # each other gets up to this share more (all neighbouring pairs close).
    proximity: float = 0.2
    window: int = 8
    # A part of a punctuated word (`Rad53` of `Rad53-dependent`) found apart from the
    # others counts this much (0: not at all, the word is searched as a phrase only).
    part_weight: float = 0.5


DEFAULT_PARAMS = RankParams()


@dataclass(frozen=True)
class Concept:
    """One thing the query asks for: a word (one index term), or a prefix or fuzzy word
    (several terms, of which a passage's best counts)."""

    terms: tuple[str, ...]
    # A function word weighs `RankParams.function_weight` and only adds to passages that
    # other concepts brought in (unless the query has nothing else).
    function: bool = False
    fields: tuple[str, ...] = SCORED_FIELDS
    label: str = ""  # what the user typed, for explanations
    kind: str = "terms"  # "prefix"/"fuzzy": `terms` are expanded against the index first
    group: int = 0  # concepts of one OR share a group (non-zero): they count once
    phrase: int = 0  # non-zero: scores only passages in `score_concepts(phrase_docs=…)[id]`
    dist: int = 1  # fuzzy: edit distance


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


# --- scoring -----------------------------------------------------------------------------


@dataclass
class Scored:
    """Every passage that matched, before paging: numpy arrays, aligned, `docs` ascending."""

    docs: Any  # global docnums (int64)
    scores: Any  # float64
    masks: Any  # int64: bitmask of the concepts each passage holds
    # The order in which a term-at-a-time pass meets each passage first (concept, term,
    # field): the tie-break between equal scores, as the dict-based scorer this replaced
    # ordered them; then the passage's place in the vault (postings.PLACE_COLUMN).
    first: Any
    # float64: the share of the query's idf mass each passage holds, words the vault does
    # not hold counting as the rarest (the fusion reads lexical strength from it: one
    # common word of four is weak evidence however high its BM25F).
    coverage: Any = None
    # The label of each concept, in bit order of `masks` (what the user typed).
    labels: tuple[str, ...] = ()
    # As `coverage`, but of the words the vault holds only.
    coverage_held: Any = None
    # How many of the query's content words (not function words) the vault holds: with
    # none, the query names nothing the notes know, and meaning alone lists nothing.
    known: int = 0

    def __len__(self) -> int:
        return len(self.docs)

    def score_of(self, docnum: int) -> float:
        i = int(self.docs.searchsorted(docnum))
        if i < len(self.docs) and int(self.docs[i]) == docnum:
            return float(self.scores[i])
        return 0.0

    def only(self, keep: Any) -> Scored:
        """The passages where the boolean array `keep` (aligned with `docs`) is True."""
        cov = None if self.coverage is None else self.coverage[keep]
        held = None if self.coverage_held is None else self.coverage_held[keep]
        return Scored(self.docs[keep], self.scores[keep], self.masks[keep], self.first[keep],
                      cov, self.labels, held, self.known)

    def ranked(self) -> Any:
        """Positions into the arrays, best score first (ties: first met first)."""
        return _numpy().lexsort((self.docs, self.first, -self.scores))


def _dense_set(np: Any, size: int, docs: Any) -> Any:
    out = np.zeros(size, bool)
    if docs:
        ids = np.fromiter(docs, np.int64, len(docs))
        out[ids[(ids >= 0) & (ids < size)]] = True
    return out


MAX_CONCEPTS = 62


def score_concepts(
    searcher: Any,
    concepts: Sequence[Concept],
    params: RankParams = DEFAULT_PARAMS,
    *,
    within: set[int] | None = None,
    exclude: set[int] | None = None,
    phrase_docs: Mapping[int, set[int]] | None = None,
    deadline: Deadline = NO_DEADLINE,
) -> Scored:
    """BM25F of every passage holding a gating concept (only those `within`, if given;
    none in `exclude`), with coordination and the hub penalty applied.

    Term-at-a-time over decoded posting arrays with numpy: the work per query is a few
    vector operations per posting list, not Python code per matching passage (which cost
    83 % of a query at 90k notes). The floating-point operations are the ones of the
    scalar formula, in the same order, so scores are bit-identical to it.

    The clock (`deadline`) is looked at between concepts and between posting blocks (one
    term of one segment): past it, `QueryTooCostlyError`."""
    np = _numpy()
    st = stats_for(searcher)
    n, size = st.n, st.ndocs
    k1 = params.k1
    # Each concept is one bit of a passage's int64 mask: a query of more words (a pasted
    # paragraph) is scored by its first MAX_CONCEPTS, which also bounds its cost.
    concepts = _merged(expand(searcher, concepts, deadline))[:MAX_CONCEPTS]
    only_function = all(c.function for c in concepts)
    gating = [only_function or not c.function for c in concepts]
    weights = [params.function_weight if c.function else 1.0 for c in concepts]
    # Gating concepts first: they build the candidate set the others only add to.
    order = sorted(range(len(concepts)), key=lambda i: not gating[i])
    allow = _dense_set(np, size, within) if within is not None else None
    if exclude:
        if allow is None:
            allow = np.ones(size, bool)
        allow &= ~_dense_set(np, size, exclude)
    acc = np.zeros(size)
    mask = np.zeros(size, np.int64)
    inacc = np.zeros(size, bool)
    first = np.zeros(size, np.int64)
    step = (max((len(c.terms) for c in concepts), default=1) + 1) * 8
    masses: list[float] = [0.0] * len(concepts)
    # As `masses`, but a word no passage holds weighs as the rarest word could.
    asked: list[float] = [weights[i] * _idf(n, 0) for i in range(len(concepts))]
    # How many of the query's content words the vault holds (Scored.known).
    known = 0
    for pos, i in enumerate(order):
        deadline.check("scoring words")
        c = concepts[i]
        bterms = [t.encode("utf-8") for t in c.terms]
        # A multi-term concept (prefix, fuzzy) is as rare as its rarest member that occurs.
        dfs = [max((searcher.doc_frequency(f, bt) for f in c.fields), default=0) for bt in bterms]
        present = [(bt, df) for bt, df in zip(bterms, dfs, strict=True) if df]
        if not present:
            continue
        known += not c.function
        asked[i] = weights[i] * max(_idf(n, df) for _, df in present)
        met: list[tuple[Any, Any, int]] = []  # (global docnums, scores, first-met key)
        for t, (bt, df) in enumerate(present):
            idf = _idf(n, df)
            mult = weights[i] * idf * (k1 + 1)
            for seg in st.segments:
                deadline.check("scoring words")
                ids, x, fpos = _field_sum(st, seg, c.fields, bt, params)
                if not len(ids):
                    continue
                # Not the segment: which one a passage is in must not order it.
                met.append((ids + seg.offset, mult * x / (x + k1), t * 8 + fpos))
        if not met:
            continue
        if len(met) == 1:
            docs, best, seen = met[0]
            best = best.copy()
        else:
            # A passage's best member counts (prefix, fuzzy, corrections); max and min do
            # not depend on the order they are taken in.
            docs, where = np.unique(np.concatenate([g for g, _, _ in met]), return_inverse=True)
            where = where.reshape(-1)
            best = np.zeros(len(docs))
            np.maximum.at(best, where, np.concatenate([b for _, b, _ in met]))
            seen = np.full(len(docs), np.iinfo(np.int64).max)
            np.minimum.at(seen, where, np.concatenate([k for _, _, k in met]))
        masses[i] = asked[i]
        bit = 1 << i
        if c.phrase:
            inside = _dense_set(np, size, (phrase_docs or {}).get(c.phrase, set()))[docs]
            if params.part_weight <= 0:
                docs, best, seen = docs[inside], best[inside], seen[inside]
            else:
                # A part found without its neighbours still counts, for less: "Rad53" in
                # a passage that never writes "Rad53-dependent" is still about Rad53.
                best = np.where(inside, best, best * params.part_weight)
        if gating[i]:
            keep = np.ones(len(docs), bool) if allow is None else allow[docs]
            sel = docs[keep]
            fresh = ~inacc[sel]
            first[sel[fresh]] = pos * step + seen[keep][fresh]
            inacc[sel] = True
        else:
            # Function words only add to passages already in.
            keep = inacc[docs]
            sel = docs[keep]
        acc[sel] = acc[sel] + best[keep]
        mask[sel] |= bit
    docs = np.flatnonzero(inacc)
    labels = tuple(c.label for c in concepts)
    if not len(docs):
        empty = np.zeros(0)
        return Scored(empty.astype(np.int64), empty, empty.astype(np.int64),
                      empty.astype(np.int64), empty, labels, empty, known)
    scores = acc[docs]
    masks = mask[docs]
    coord = params.coordination
    hub = params.hub_penalty
    groups = [c.group or -1 - i for i, c in enumerate(concepts)]
    coverage = _coverage(np, masks, asked, groups)
    held_share = _coverage(np, masks, masses, groups)
    if coord > 0 and any(masses):
        # The share of what was asked that a passage holds: a concept's weight is its idf
        # (so a rare word missing costs more than a common one); alternatives of one OR
        # count as their best member.
        scores = scores * held_share ** coord
    if hub > 0:
        start = min(max(params.hub_start, 0.0), 0.99) * 255  # in link-share bytes
        shares = st.column(HUB_COLUMN)[docs]
        linky = shares > start
        if linky.any():
            table = np.array([hub_factor(v / 255.0, params) for v in range(256)])
            scores[linky] = scores[linky] * table[shares[linky]]
    return Scored(docs, scores, masks, first[docs], coverage, labels, held_share, known)


def _coverage(np: Any, masks: Any, masses: Sequence[float], groups: Sequence[int]) -> Any:
    """Each passage's share of the query's mass (`masses` per concept; the concepts of one
    OR group count as their best member)."""
    best: dict[int, float] = {}
    for g, m in zip(groups, masses, strict=True):
        best[g] = max(best.get(g, 0.0), m)
    total = sum(best.values())
    if total <= 0 or not len(masks):
        return np.zeros(len(masks))
    kinds, inverse = np.unique(masks, return_inverse=True)
    shares = []
    for bits in kinds.tolist():
        got: dict[int, float] = {}
        for i, m in enumerate(masses):
            if bits >> i & 1:
                got[groups[i]] = max(got.get(groups[i], 0.0), m)
        shares.append(sum(got.values()) / total)
    return np.array(shares)[inverse.reshape(-1)]


def _field_sum(
    st: _Stats, seg: _Segment, fields: Sequence[str], bterm: bytes, params: RankParams
) -> tuple[Any, Any, Any]:
    """Segment-local docnums holding the term in any of `fields`, the term's weighted,
    length-normalised frequency summed over those fields (BM25F's pseudo frequency), and
    the index in `fields` of the first field holding it (for the tie order)."""
    np = _numpy()
    parts = []
    for fpos, f in enumerate(fields):
        w_f = params.field_weights.get(f, 0.0)
        if w_f <= 0:
            continue
        ids, ws = st.postings(seg, f, bterm)
        if not len(ids):
            continue
        lengths = st.column(f"_{f}_len")
        table = st.norm_table(f, w_f, params.field_b.get(f, 0.75))
        parts.append((fpos, ids, ws.astype(np.float64) * table[lengths[ids + seg.offset]]))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    if len(parts) == 1:  # most terms are in the body only
        fpos, ids, x = parts[0]
        return ids, x, np.full(len(ids), fpos, np.int64)
    docs, at = np.unique(np.concatenate([p[1] for p in parts]), return_inverse=True)
    at = at.reshape(-1)
    x = np.zeros(len(docs))
    where = np.full(len(docs), len(fields), np.int64)
    start = 0
    for fpos, ids, v in parts:  # in field order: the sum's order is the scalar one's
        idx = at[start : start + len(ids)]  # distinct: a term is once per field and doc
        start += len(ids)
        x[idx] = x[idx] + v
        where[idx] = np.minimum(where[idx], fpos)
    return docs, x, where


# Positions of one word in one passage read for the proximity and phrase checks, at most:
# a 990k-word paragraph is one passage, and its positions would be read in full per word.
MAX_POSITIONS = 20_000


def proximity(
    reader: Any, concepts: Sequence[Concept], docnums: Sequence[int], window: int,
    deadline: Deadline = NO_DEADLINE,
) -> dict[int, float]:
    """For each passage, the share of neighbouring pairs of (non-function, single-term)
    query words that stand within `window` words of each other in its body (within the
    first MAX_POSITIONS occurrences of each)."""
    terms = [c.terms[0] for c in _merged(concepts) if not c.function and len(c.terms) == 1]
    pairs = list(itertools.pairwise(terms))
    if not pairs or not docnums:
        return {}
    wanted = sorted(set(docnums))
    positions: dict[str, dict[int, list[int]]] = {}
    for t in set(terms):
        deadline.check("checking which words stand close together")
        found: dict[int, list[int]] = {}
        try:
            m = reader.postings("body", t.encode("utf-8"))
        except Exception:  # not in the body of any passage
            positions[t] = found
            continue
        for k, d in enumerate(wanted):
            if not m.is_active():
                break
            if not k % 256:
                deadline.check("checking which words stand close together")
            if m.id() < d:
                m.skip_to(d)
            if m.is_active() and m.id() == d:
                found[d] = list(itertools.islice(m.value_as("positions"), MAX_POSITIONS))
        positions[t] = found
    out: dict[int, float] = {}
    for k, d in enumerate(wanted):
        if not k % 256:
            deadline.check("checking which words stand close together")
        close = 0
        for a, b in pairs:
            pa, pb = positions[a].get(d), positions[b].get(d)
            if pa and pb and _within(pa, pb, window):
                close += 1
        if close:
            out[d] = close / len(pairs)
    return out


def _within(pa: list[int], pb: list[int], window: int) -> bool:
    i = j = 0
    while i < len(pa) and j < len(pb):
        if abs(pa[i] - pb[j]) <= window:
            return True
        if pa[i] < pb[j]:
            i += 1
        else:
            j += 1
    return False


def _merged(concepts: Sequence[Concept]) -> list[Concept]:
    """One concept per distinct set of terms: "billing … bills" both stem to `bill`, and
    counting it twice would double its weight."""
    out: dict[tuple[tuple[str, ...], tuple[str, ...], int], Concept] = {}
    for c in concepts:
        key = (c.terms, c.fields, c.phrase)
        seen = out.get(key)
        if seen is None:
            out[key] = c
        elif seen.function and not c.function:
            out[key] = replace(c, label=f"{seen.label}/{c.label}")
        elif seen.label != c.label:
            out[key] = replace(seen, label=f"{seen.label}/{c.label}")
    return list(out.values())


def explain_doc(
    searcher: Any, docnum: int, concepts: Sequence[Concept], params: RankParams = DEFAULT_PARAMS,
    deadline: Deadline = NO_DEADLINE,
) -> list[tuple[str, float]]:
    """(label, points) of each concept for one passage, before coordination and the hub
    penalty: `--explain` shows where a score comes from."""
    plain = RankParams(params.k1, params.field_weights, params.field_b, 1.0, 0.0, 0.0)
    parts: list[tuple[str, float]] = []
    for c in _merged(expand(searcher, concepts, deadline)):
        s = score_concepts(searcher, [replace(c, function=False, phrase=0)], plain,
                           within={docnum}, deadline=deadline)
        points = s.score_of(docnum)
        if c.function:
            points *= params.function_weight
        if points:
            parts.append((c.label or " ".join(c.terms), points))
    return parts


MAX_PREFIX_TERMS = 16
MAX_FUZZY_TERMS = 8


def top_prefix_terms(reader: Any, fieldname: str, prefix: str, limit: int = MAX_PREFIX_TERMS
                     ) -> list[bytes]:
    """The `limit` most frequent indexed words starting with `prefix`.

    `comp*` matches thousands of words on a large vault; the most frequent are the ones a
    person means, and the cap bounds the cost (scoring the union took 1.6 s on tubegraph).
    """
    found = itertools.islice(reader.iter_prefix(fieldname, prefix), 20_000)
    top = heapq.nlargest(limit, found, key=lambda ti: ti[1].doc_frequency())
    return [text for text, _ in top]


def expand(searcher: Any, concepts: Sequence[Concept], deadline: Deadline = NO_DEADLINE
           ) -> list[Concept]:
    """Prefix and fuzzy concepts with their index terms filled in (others unchanged)."""
    out: list[Concept] = []
    reader = searcher.reader()
    for c in concepts:
        if c.kind != "terms":
            deadline.check("expanding prefix* and fuzzy~ words")
        if c.kind == "prefix":
            found: dict[bytes, int] = {}
            for key in c.terms:
                for bt in top_prefix_terms(reader, "body", key):
                    found[bt] = reader.doc_frequency("body", bt)
            top = heapq.nlargest(MAX_PREFIX_TERMS, found, key=found.__getitem__)
            terms = tuple(t.decode("utf-8") for t in top)
            out.append(replace(c, terms=terms, kind="terms"))
        elif c.kind == "fuzzy":
            near = list(itertools.islice(
                reader.terms_within("body", c.terms[0], c.dist, prefix=1), 200))
            near.sort(key=lambda t: -reader.doc_frequency("body", t))
            terms = tuple(dict.fromkeys([c.terms[0], *near[:MAX_FUZZY_TERMS]]))
            out.append(replace(c, terms=terms, kind="terms"))
        else:
            out.append(c)
    return out


def hub_share(searcher: Any, docnum: int) -> float:
    """The share (0..1) of a passage's text that is link labels."""
    hub = stats_for(searcher).column(HUB_COLUMN)
    return int(hub[docnum]) / 255.0 if 0 <= docnum < len(hub) else 0.0


def hub_factor(share: float, params: RankParams = DEFAULT_PARAMS) -> float:
    """What the hub rule leaves of a score, for a passage whose link share is `share`."""
    start = min(max(params.hub_start, 0.0), 0.99)
    if share <= start:
        return 1.0
    return 1.0 - params.hub_penalty * (share - start) / (1 - start)
