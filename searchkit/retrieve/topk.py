"""The top k of a ranked search: which scored passages make the page, best first.

`rank_top` adds the proximity and whole-query phrase bonuses only for passages that can
still reach the first k (an upper bound prunes the rest), `_dated_top` orders by date and
`_hybrid_top` fuses in meaning; all cap passages per note (`_cap_docs`). Apart from
search.py because this is the scale-sensitive part (numpy, posting reads, pruning rounds)
with its own tests (tests/test_topk.py); search.py assembles results around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import postings, ranking
from .deadline import NO_DEADLINE, Deadline
from .query import Compiled, Tuning
from .ranking import RankParams

if TYPE_CHECKING:  # numpy loads only when a search uses vectors
    from . import hybrid


def _dated_top(
    searcher: Any, scored: ranking.Scored, per_note: int, want: int, dated: Any
) -> list[tuple[float, float, int, float]]:
    """The first `want` passages by date (newest first; the BM25F score between equal
    dates, then the place in the vault), at most `per_note` per note."""
    import numpy as np

    docs, base = scored.docs, scored.scores
    dates = np.array([dated[int(d)] for d in docs], dtype=np.float64)
    order = ordered(searcher, docs, (-base, -dates))
    keys = postings.stats_for(searcher).column(postings.NOTE_COLUMN)
    top = _cap_docs(keys[docs[order]].tolist(), order.tolist(), per_note, want)
    return [(float(base[i]), 1.0, int(docs[i]), 1.0) for i in top]


def _hybrid_top(
    searcher: Any,
    scored: ranking.Scored,
    concepts: Sequence[ranking.Concept],
    comp: Compiled,
    params: RankParams,
    per_note: int,
    want: int,
    within: set[int] | None,
    exclude: set[int] | None,
    semantic: tuple[hybrid.SemanticSide, str],
    exact: set[int] | None = None,
    deadline: Deadline = NO_DEADLINE,
) -> tuple[list[tuple[float, float, int, float]], hybrid.Fused]:
    """`rank_top`'s result when meaning takes part: the lexical top `lexical_pool` (not
    capped per note: the fusion may reorder a note's passages) fused with the passages
    closest in meaning (hybrid.py), then capped per note. Deterministic, so pages still
    concatenate. `exact`: the passages holding every identifier of the query."""
    from . import hybrid

    side, mode = semantic
    pool = max(side.params.lexical_pool, want)
    lexical = rank_top(searcher, scored, concepts, comp, params, 0, pool, deadline=deadline)
    deadline.check("ranking by meaning")
    order = [d for _, _, d, _ in lexical]
    scores = {d: sc for sc, _, d, _ in lexical}
    bonus = {d: (mult, close) for _, mult, d, close in lexical}
    coverage = None
    shares = scored.coverage if side.params.absent_words_count else scored.coverage_held
    if shares is not None and order:
        at = scored.docs.searchsorted(order)
        coverage = dict(zip(order, shares[at].tolist(), strict=True))
    stats = postings.stats_for(searcher)
    fused = hybrid.fuse(
        order, scores, side, mode, text=hybrid.query_text(comp.concepts),
        n_docs=searcher.doc_count_all(), within=within, exclude=exclude, want=want,
        bring_in=not any(_word_form(c) for c in comp.concepts), coverage=coverage,
        exact=exact, hidden=postings.hidden_copies(searcher, within),
        anchored=_anchored(scored, comp), place=stats.place_of,
    )
    keys = stats.column(postings.NOTE_COLUMN)
    top = _cap_docs([int(keys[d]) for d in fused.order], fused.order, per_note, want)
    return [(scores[d], *bonus.get(d, (1.0, 1.0))[:1], d, bonus.get(d, (1.0, 1.0))[1])
            for d in top], fused  # fmt: skip


def _anchored(scored: ranking.Scored, comp: Compiled) -> bool:
    """Whether the query has a content word the notes hold or the model knows: without
    one (a hash, an ID, an invented or misspelt word) meaning alone lists nothing."""
    from ..embed.vocabulary import knows_word

    if scored.known:
        return True
    return any(knows_word(c.label) for c in comp.concepts if not c.function and c.label)


def _word_form(concept: ranking.Concept) -> bool:
    """Whether a query word asks for word forms (`memry~`, `consolid*`), not meaning."""
    return concept.kind != "terms" or concept.label.endswith(("~", "*"))


# Candidates given their proximity and phrase check in the first round of `rank_top`, at
# least; each further round takes twice as many.
FIRST_ROUND = 64


def rank_top(
    searcher: Any,
    scored: ranking.Scored,
    concepts: Sequence[ranking.Concept],
    comp: Compiled,
    params: RankParams,
    per_note: int,
    want: int,
    *,
    exhaustive: bool = False,
    deadline: Deadline = NO_DEADLINE,
) -> list[tuple[float, float, int, float]]:
    """The first `want` passages, best first, at most `per_note` per note (0: no cap), as
    (score, phrase multiplier, docnum, proximity multiplier).

    A passage's score is its BM25F score (ranking.py) x (1 + proximity x the share of
    neighbouring query words close together) x (1 + phrase_boost if its title, headings or
    body hold the query as a phrase). Both bonuses read positions, so they are computed
    only for passages that can still reach the first `want`: candidates are taken in
    order of an upper bound of their score (the BM25F score x the largest bonuses they
    could get: proximity needs two query words, the phrase all of them in one field) until
    the next bound is below the `want`-th score found. The result is the exhaustive
    ranking's first `want` (`exhaustive=True` computes that, reading positions for every
    match, for tests), so the first k
    results never depend on the page size and consecutive pages never repeat or skip.
    `deadline` is looked at in every round (and inside its position reads).
    """
    import numpy as np

    m = len(scored)
    if not m or want <= 0:
        return []
    base = scored.scores
    reader = searcher.reader()
    pairs = params.proximity > 0 and _has_pairs(concepts)
    toks = comp.phrase_tokens if comp.scoring and len(comp.phrase_tokens) >= 2 else []
    bound = base
    two = could = None
    if pairs:
        # Two query words close together need two concepts held (any passage, if a
        # phrase part's concept can be dropped from the mask).
        two = (
            (scored.masks & (scored.masks - 1)) != 0
            if params.part_weight > 0 else np.ones(m, bool)
        )
        bound = bound * np.where(two, 1.0 + params.proximity, 1.0)
    phrase_mult = 1.0 + comp.tuning.phrase_boost
    if toks:
        could = _could_phrase(searcher, toks, comp.tuning, scored.docs, deadline)
        bound = bound * np.where(could, phrase_mult, 1.0)
    if exhaustive:  # positions of every match: checks that the filters above lose none
        two = np.ones(m, bool) if pairs else None
        could = np.ones(m, bool) if toks else None
    keys = postings.stats_for(searcher).column(postings.NOTE_COLUMN)
    final = np.zeros(m)
    near = np.ones(m)  # proximity multiplier
    mults = np.ones(m)  # phrase multiplier
    done: list[Any] = []
    rest = np.arange(m)
    size = m if exhaustive else max(FIRST_ROUND, 4 * want)
    while True:
        deadline.check("ranking the best passages")
        if len(rest) <= size:
            take, rest, next_bound = rest, rest[:0], -1.0
        else:
            part = np.argpartition(-bound[rest], size)
            take, rest = rest[part[:size]], rest[part[size:]]
            next_bound = float(bound[rest].max())
        docs = scored.docs[take].tolist()
        # Positions are read only where the bonus is possible (the rest get none).
        close = (
            ranking.proximity(reader, concepts, scored.docs[take[two[take]]].tolist(),
                              params.window, deadline)
            if two is not None else {}
        )
        near_take = np.array([1.0 + params.proximity * close.get(d, 0.0) for d in docs])
        with_prox = base[take] * near_take
        near[take] = near_take
        found = (
            _phrase_docs(reader, toks, scored.docs[take[could[take]]].tolist(), comp.tuning,
                         deadline)
            if could is not None else set()
        )
        hit = np.array([d in found for d in docs], bool)
        mults[take] = np.where(hit, phrase_mult, 1.0)
        final[take] = np.where(hit, with_prox * phrase_mult, with_prox)
        done.append((take, with_prox))
        pos = np.concatenate([t for t, _ in done])
        wp = np.concatenate([w for _, w in done])
        # Ties keep the order of the steps before: proximity, then BM25F, then first met,
        # then the place in the vault.
        order = pos[ordered(searcher, scored.docs[pos],
                            (scored.first[pos], -base[pos], -wp, -final[pos]))]
        top = _cap_docs(keys[scored.docs[order]].tolist(), order.tolist(), per_note, want)
        if not len(rest):
            break
        if len(top) >= want and next_bound < final[top[want - 1]]:
            break
        size *= 2
    return [
        (float(final[i]), float(mults[i]), int(scored.docs[i]), float(near[i])) for i in top
    ]


def ordered(searcher: Any, docs: Any, keys: Sequence[Any]) -> Any:
    """`np.lexsort(keys)` (the last key first) over the passages `docs`, equal keys in the
    passages' place in the vault (postings.PLACE_COLUMN), never their document numbers,
    which depend on how the index was split into segments. The places are read only when
    two passages tie."""
    import numpy as np

    order = np.lexsort((docs, *keys))
    if len(order) > 1:
        same = np.ones(len(order) - 1, bool)
        for key in keys:
            k = key[order]
            same &= k[1:] == k[:-1]
        if same.any():
            order = np.lexsort((postings.stats_for(searcher).place_of(docs), *keys))
    return order


def _has_pairs(concepts: Sequence[ranking.Concept]) -> bool:
    words = [c for c in ranking._merged(concepts) if not c.function and len(c.terms) == 1]
    return len(words) >= 2


def _could_phrase(searcher: Any, toks: list[str], tuning: Tuning, docs: Any,
                  deadline: Deadline = NO_DEADLINE) -> Any:
    """For each of `docs`, whether one of the phrase fields holds every token (a phrase
    match needs that), from the cached posting lists."""
    import numpy as np

    stats = postings.stats_for(searcher)
    could = np.zeros(len(docs), bool)
    for fieldname in tuning.phrase_fields:
        inter = None
        for t in toks:
            deadline.check("checking the whole-query phrase")
            bt = t.encode("utf-8") if isinstance(t, str) else t
            held = np.concatenate(
                [stats.postings(seg, fieldname, bt)[0] + seg.offset for seg in stats.segments]
            ) if stats.segments else np.zeros(0, np.int64)
            inter = held if inter is None else np.intersect1d(inter, held, assume_unique=True)
            if not len(inter):
                break
        if inter is not None and len(inter):
            # kind='table': exact for integers, and no np.unique (which imports numpy.ma,
            # ~6 ms of a cold search)
            could |= np.isin(docs, inter, kind="table")
    return could


def _available(keys: Any, docs: Any, per_note: int) -> int:
    """How many of `docs` the per-note cap lets through (`keys`: each passage's note key)."""
    if per_note <= 0:
        return len(docs)
    import numpy as np

    if not len(docs):
        return 0
    # A note's passages mostly sit side by side: count runs of one key, then merge the
    # runs of a note (sorting runs, not passages).
    notes = keys[docs]
    starts = np.flatnonzero(np.concatenate(([True], notes[1:] != notes[:-1])))
    runs = np.diff(np.append(starts, len(notes)))
    run_keys, where = np.unique(notes[starts], return_inverse=True)
    counts = np.bincount(where.reshape(-1), weights=runs, minlength=len(run_keys))
    return int(np.minimum(counts, per_note).sum())


def _cap_docs(notes: list[Any], order: list[int], per_note: int, want: int) -> list[int]:
    """The first `want` items of `order` (all, if `want` is 0), at most `per_note` from
    any one note (`notes`: the note of each item of `order`, in the same order)."""
    if per_note <= 0:
        return order[:want] if want else list(order)
    per: dict[Any, int] = {}
    out = []
    for d, key in zip(order, notes, strict=True):
        n = per.get(key, 0)
        if n < per_note:
            per[key] = n + 1
            out.append(d)
            if want and len(out) >= want:
                break
    return out


def _phrase_docs(reader: Any, toks: list[str], docnums: list[int], tuning: Tuning,
                 deadline: Deadline = NO_DEADLINE) -> set[int]:
    found: set[int] = set()
    slop = max(1, tuning.phrase_slop)
    for fieldname in tuning.phrase_fields:
        try:
            matchers = [reader.postings(fieldname, t) for t in toks]
        except Exception:
            continue
        for k, doc in enumerate(sorted(set(docnums) - found)):
            if not k % 64:
                deadline.check("checking the whole-query phrase")
            positions = postings.positions_at(matchers, doc, ranking.MAX_POSITIONS)
            if positions is not None and _in_order(positions, slop):
                found.add(doc)
    return found


def _in_order(positions: list[Any], slop: int) -> bool:
    rest = [set(p) for p in positions[1:]]
    for start in positions[0]:
        prev = start
        for ps in rest:
            nxt = next((prev + d for d in range(1, slop + 1) if prev + d in ps), None)
            if nxt is None:
                break
            prev = nxt
        else:
            return True
    return False
