"""Ranked passage search over an open Whoosh searcher → `[Passage]` with snippets and links.

The query language lives in `query.py`, snippet cutting in `highlight.py`, link forms in
`links.py`, the choice of the top k in `topk.py`; this module scores, pages and assembles
results. It never opens, refreshes or closes the searcher it is given (the API owns it),
and keeps no per-call state in module globals, so threads with their own searchers can
call it concurrently.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from whoosh import query as Q
from whoosh import sorting

from ..errors import SearchkitError
from ..ingest.timestamps import nearest_timestamp
from . import highlight, matching, operators, postings, ranking, spelling
from .deadline import NO_DEADLINE, Deadline
from .links import make_links
from .query import (
    DEFAULT_TUNING,
    Compiled,
    PathMatch,
    Tuning,
    compile_query,
    filter_label,
    parse_query,
)
from .ranking import DEFAULT_PARAMS, RankParams
from .results import Passage, SearchResults
from .topk import _available, _cap_docs, _dated_top, _hybrid_top, rank_top

if TYPE_CHECKING:  # numpy loads only when a search uses vectors
    from . import hybrid

__all__ = [
    "Passage",
    "SearchResults",
    "Tuning",
    "nearest_timestamp",
    "parse_query",
    "search",
    "suggest",
]


# --- search ------------------------------------------------------------------------------

# Passages per note on a page, at most. A long note (a 50-section podcast transcript) must
# not fill the page, but a note with three good sections should show them: Pagefind shows
# three sub-results per page, and on the notes dev set 3 kept the answer's sibling passages
# (nDCG@10 0.828 with 2, 0.840 with 3; top-3 unchanged).
DEFAULT_PER_NOTE = 3


def search(
    searcher: Any,
    query: str,
    *,
    vault_name: str,
    limit: int = 10,
    offset: int = 0,
    per_note: int = DEFAULT_PER_NOTE,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    explain: bool = False,
    tuning: Tuning | None = None,
    snippets: bool = True,
    params: RankParams | None = None,
    semantic: tuple[hybrid.SemanticSide, str] | None = None,
    sort: str = "score",
    deadline: Deadline = NO_DEADLINE,
) -> SearchResults:
    """Rank passages for `query`. Raises QuerySyntaxError for a query it cannot understand,
    QueryTooCostlyError when the work runs past `deadline` (deadline.py) or the query
    holds more of a costly shape than query.py allows.

    `per_note` caps passages per note (0 or less: no cap). `filters` keys: tag, path, title,
    heading, callout, kind, video, has; a list value means any of them. `tuning` and
    `params` exist for scripts/eval/eval.py; the defaults are the tuned ones.
    `snippets=False` skips snippet building (empty snippet, first timestamp) for callers
    that only rank. `semantic` (the vectors' side and a mode, "hybrid" or "semantic")
    re-ranks by meaning as well (hybrid.py); None ranks by words alone.
    """
    limit = max(0, int(limit))
    offset = max(0, int(offset))
    comp = compile_query(
        query, searcher.schema, filters, tuning or DEFAULT_TUNING, reader=searcher.reader()
    )
    if comp.primary is Q.NullQuery or limit == 0:
        suggestion = suggest(searcher, query, comp) if limit else None
        return SearchResults(query=query, total=0, suggestion=suggestion, offset=offset)

    # Computed once for the AND, OR and collapse passes below.
    allowed = _filter_docs(searcher, comp.filter) if comp.filter is not None else None
    if allowed is not None and not allowed:  # Whoosh reads an empty set as "no filter"
        parts = comp.filter.subqueries if isinstance(comp.filter, Q.And) else [comp.filter]
        empty = [filter_label(p) for p in parts if not _filter_docs(searcher, p)]
        return SearchResults(
            query=query, total=0, offset=offset,
            empty_filters=empty or [filter_label(p) for p in parts],
            filters_empty_alone=bool(empty),
        )

    if comp.checks:  # line:, match-case:, /regex/: the candidates' stored text is read
        allowed = operators.checked_docs(searcher, comp, allowed)
        if not allowed:
            return SearchResults(query=query, total=0, offset=offset)

    want = offset + limit
    deadline.check("searching")
    if comp.scoring and comp.concepts:
        if semantic is not None and semantic[0].prefetch is not None and sort == "score":
            # The query's vector is made while its words are scored (a cold process builds
            # the model meanwhile too): the fusion then waits for little or nothing.
            from .hybrid import query_text

            semantic[0].prefetch(query_text(comp.concepts))
        return _ranked(
            searcher, query, comp, allowed, want, offset, per_note, vault_name, explain,
            snippets, params or DEFAULT_PARAMS, semantic, sort, deadline,
        )
    # Filters and exclusions only: every passage they let through, newest first.
    hits, total = _run(searcher, comp.primary, comp, want, per_note, allowed,
                       "created" if sort == "created" else "mtime")
    page = [(_sort_value(h.score), 1.0, h) for h in hits][offset:want]
    passages = [
        replace(
            _passage(hit.fields(), [], sc, mult, offset + i + 1, vault_name, explain, comp,
                     snippets),
            docnum=hit.docnum,
        )
        for i, (sc, mult, hit) in enumerate(page)
    ]
    exact = len(hits) < want
    return SearchResults(
        passages, query=query, total=max(total, len(hits)), offset=offset,
        total_exact=exact, available=len(hits) if exact else None,
    )


def _sort_value(key: Any) -> float:
    """A filter-only hit's score: its date key (the first of the keys it is sorted by)."""
    if isinstance(key, tuple):
        key = key[0] if key else None
    return float(key or 0.0)


def meaning_text(query: str, schema: Any) -> str:
    """What a hybrid search embeds for `query` (its ranking words as typed, without
    operators, filters or excluded words: `hybrid.query_text`), found without the index,
    so the query's vector can be started before the words are scored; "" for a query that
    ranks by no word or does not parse (the search says why)."""
    from .hybrid import query_text

    try:
        comp = compile_query(query, schema)
    except SearchkitError:
        return ""
    if not (comp.scoring and comp.concepts):
        return ""
    return query_text(comp.concepts)


def _ranked(
    searcher: Any,
    query: str,
    comp: Compiled,
    allowed: set[int] | None,
    want: int,
    offset: int,
    per_note: int,
    vault_name: str,
    explain: bool,
    snippets: bool,
    params: RankParams,
    semantic: tuple[hybrid.SemanticSide, str] | None = None,
    sort: str = "score",
    deadline: Deadline = NO_DEADLINE,
) -> SearchResults:
    """Score every passage the query matches (ranking.py), cap per note, rerank the top by
    the whole-query phrase, and build the page (`sort`: by score, or newest first)."""
    # A word the index does not hold is searched as its correction too ("dopmaine" finds
    # dopamine), and the correction is offered as "did you mean".
    fixes = spelling.corrections(searcher, comp.words)
    concepts, applied = _corrected(comp.concepts, fixes, comp.phrase_terms)
    phrases = _corrected_phrases(comp, fixes)
    # Prefix and fuzzy words read the term dictionary to expand: once, for scoring,
    # snippets and explanations alike.
    concepts = ranking.expand(searcher, concepts, deadline)
    exclude = _docs(searcher, comp.mask, deadline) if comp.mask is not None else None
    within = allowed
    if comp.required is not None:
        required = _matching(searcher, comp.required, deadline, "matching the required words")
        within = required if within is None else within & required
    phrase_docs = {pid: _matching(searcher, q, deadline, "matching phrases")
                   for pid, q in phrases.items()}
    scored = ranking.score_concepts(
        searcher, concepts, params, within=within, exclude=exclude, phrase_docs=phrase_docs,
        deadline=deadline,
    )
    # A passage written twice (a page copied into version folders) is one result, shown
    # as its first copy among the passages the query's filters keep, saying where the
    # others are: before the top k, so a page never shows one answer five times and the
    # totals count answers.
    copies = postings.hidden_copies(searcher, among=scored.docs)  # scored: within only
    if len(scored) and copies[scored.docs].any():
        scored = scored.only(~copies[scored.docs])
    fused: dict[int, hybrid.SemanticPart] = {}
    listed: list[int] | None = None  # what the search can list, when meaning alone decides
    brought_in = 0
    dated = _dates(searcher, sort)
    if dated is not None:  # newest first; the score still decides between equal dates
        ranked = _dated_top(searcher, scored, per_note, want, dated)
    elif semantic is None:
        ranked = rank_top(searcher, scored, concepts, comp, params, per_note, want,
                          deadline=deadline)
    else:
        ranked, outcome = _hybrid_top(
            searcher, scored, concepts, comp, params, per_note, want, within, exclude,
            semantic, _holding_identifiers(searcher, query, comp, within, exclude),
            deadline=deadline,
        )
        fused = outcome.parts
        if semantic[1] == "semantic":
            listed = outcome.order
        brought_in = outcome.brought_in
    page = ranked[offset:want]
    terms = {t for c in concepts for t in c.terms} if snippets else set()
    analyzer = searcher.schema["body"].analyzer
    passages = []
    for i, (sc, mult, d, close) in enumerate(page):
        deadline.check("cutting snippets")
        fields = searcher.stored_fields(d)
        spans = highlight.match_spans(analyzer, fields.get("body") or "", terms)
        passage = replace(
            _passage(fields, spans, sc, mult, offset + i + 1, vault_name, False, comp, snippets),
            docnum=d, also_in=_also_in(searcher, d),
        )
        if explain:
            part = fused.get(d)
            if part is None:
                why = _explain(searcher, d, concepts, params, sc / mult, mult, close, deadline)
            else:
                why = _explain(searcher, d, concepts, params, part.lexical / mult if
                               part.lexical else 0.0, mult, close, deadline)  # fmt: skip
                if not part.lexical:
                    why = {**why, "parts": [], "factors": [], "text": "no query word"}
                why = {
                    **why, "score": round(sc, 4), "hybrid": part.to_dict(),
                    "text": f"{sc:.2f} = hybrid: {part.describe()}\nwords: {why['text']}",
                }
            passage = replace(passage, explanation=why["text"], explanation_data=why)
        passages.append(passage)
    keys = postings.stats_for(searcher).column(postings.NOTE_COLUMN)
    if listed is not None:  # meaning alone: what passed its listing floor
        import numpy as np

        total = len(listed)
        available = _available(keys, np.sort(np.array(listed, np.int64)), per_note)
    else:  # the word matches, and the passages meaning brought in beside them
        total = len(scored) + brought_in
        available = _available(keys, scored.docs, per_note) + brought_in
    return SearchResults(
        passages,
        query=query,
        total=total,
        suggestion=suggest(searcher, query, comp, fixes),
        offset=offset,
        total_exact=True,
        corrected=applied,
        available=available,
    )


def _holding_identifiers(
    searcher: Any, query: str, comp: Compiled, within: set[int] | None,
    exclude: set[int] | None,
) -> set[int] | None:
    """The passages holding every identifier-like word of the query verbatim
    (`sshd_config`, `Get-ChildItem`, a hash), or None when it has none."""
    from .hybrid import is_identifier

    tokens = [t.strip("\"'+") for t in query.split()]
    idents = [t for t in tokens if is_identifier(t) and ":" not in t and "/" not in t]
    if not idents:
        return None
    held: set[int] | None = None
    for token in dict.fromkeys(idents):
        one = compile_query(f'"{token}"', searcher.schema, None, comp.tuning,
                            reader=searcher.reader())
        q = one.required if one.required is not None else one.primary
        if q is Q.NullQuery:
            return set()
        docs = set(searcher.docs_for_query(q))
        held = docs if held is None else held & docs
        if not held:
            return set()
    if within is not None:
        held &= within
    return held - exclude if exclude else held


def _also_in(searcher: Any, docnum: int) -> tuple[str, ...]:
    """The notes holding the same passage as `docnum` (its other copies), by path."""
    paths = {searcher.stored_fields(d).get("source") for d in postings.copies_of(searcher, docnum)}
    return tuple(sorted(p for p in paths if p))


def _corrected(
    concepts: list[ranking.Concept], fixes: list[spelling.Correction],
    phrase_terms: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> tuple[list[ranking.Concept], list[tuple[str, str]]]:
    """The concepts with each unknown word's correction added to its terms, and the
    (word, correction) pairs applied."""
    # Only words that look like words: "topic1" or "k8s" is a name, not a typo of another.
    usable = [f for f in fixes if f.word.isalpha() and len(f.word) >= 4 and f.near]
    names = [f for f in fixes if f.parts and f.near]  # `Invok-Comand`: by part, in its phrase
    if not usable and not names:
        return concepts, []
    better = {f.term: f.best for f in usable}
    by_name = {tuple(f.term.split()): dict(f.parts) for f in names}
    in_phrase = {pid: by_name[toks] for pid, (toks, _) in (phrase_terms or {}).items()
                 if toks in by_name}
    out = []
    for c in concepts:
        if c.kind == "terms" and len(c.terms) == 1 and c.terms[0] in better:
            c = replace(c, terms=(*c.terms, better[c.terms[0]]))
        elif c.kind == "terms" and len(c.terms) == 1 and c.phrase in in_phrase:
            new = in_phrase[c.phrase].get(c.terms[0], c.terms[0])
            if new != c.terms[0]:
                c = replace(c, terms=(*c.terms, new))
        out.append(c)
    return out, [(f.word, f.surface) for f in (*usable, *names)]


def _corrected_phrases(
    comp: Compiled, fixes: list[spelling.Correction]
) -> dict[int, Q.Query]:
    """The query's phrases, each punctuated word with a corrected name (`Invok-Comand`)
    matching where the corrected parts stand together too (`invoke command`)."""
    names = {tuple(f.term.split()): tuple(new for _, new in f.parts)
             for f in fixes if f.parts and f.near}
    if not names:
        return comp.phrases
    phrases = dict(comp.phrases)
    for pid, (toks, fields) in comp.phrase_terms.items():
        new = names.get(toks)
        if new is not None and pid in phrases:
            phrases[pid] = Q.Or([phrases[pid], *(Q.Phrase(f, list(new)) for f in fields)])
    return phrases


def _dates(searcher: Any, sort: str) -> Any:
    """Each passage's date for `sort` ("modified": the note's mtime, "created": its
    frontmatter date, else mtime), indexable by docnum; None for sorting by score."""
    if sort == "score":
        return None
    field = "created" if sort == "created" else "mtime"
    reader = searcher.reader()
    if not reader.has_column(field):  # an index from before `created` existed
        field = "mtime"
    return reader.column_reader(field)


def _run(
    searcher: Any,
    q: Q.Query,
    comp: Compiled,
    want: int,
    per_note: int,
    allowed: set[int] | None,
    date: str = "mtime",
) -> tuple[list[Any], int]:
    """Top hits of a Whoosh query (filter-only searches, sorted by `date`), per-note
    capped."""
    if per_note > 0:
        # Whoosh's collapse collector costs ~40% of a query; most pages fill from a few
        # times `want` plain hits grouped here. Only when they do not is collapse used.
        hits, total, exhausted = _search(searcher, q, comp, want * 3, None, allowed, date)
        keys = postings.stats_for(searcher).column(postings.NOTE_COLUMN)
        docnums = [h.docnum for h in hits]
        keep = set(_cap_docs(keys[docnums].tolist(), docnums, per_note, want))
        grouped = [h for h in hits if h.docnum in keep]
        if len(grouped) >= want or exhausted:
            return grouped, total
        # The plain search's match count stands: Whoosh 2.7.4 cannot count collapsed
        # results (CollapseCollector.count() raises AttributeError).
        hits, _, _ = _search(searcher, q, comp, want, per_note, allowed, date)
        return hits, total
    hits, total, _ = _search(searcher, q, comp, want, None, allowed, date)
    return hits, total


def _search(
    searcher: Any,
    q: Q.Query,
    comp: Compiled,
    limit: int,
    collapse: int | None,
    allowed: set[int] | None,
    date: str = "mtime",
) -> tuple[list[Any], int, bool]:
    """Top `limit` hits (only `allowed` documents, if given), the estimated match count,
    and whether every match was returned."""
    kwargs: dict[str, Any] = {"limit": limit}
    if collapse:
        kwargs["collapse"] = sorting.FieldFacet("source")
        kwargs["collapse_limit"] = collapse
    if not comp.scoring:
        # Only filters/negations: every score is 0, so show the most recently edited first.
        if date != "mtime" and not searcher.reader().has_column(date):
            date = "mtime"  # an index from before `created` existed
        # Equal dates in the passages' place in the vault, not by document number (which
        # depends on how the index was split into segments).
        place = postings.stats_for(searcher).column(postings.PLACE_COLUMN)
        kwargs["sortedby"] = sorting.MultiFacet([
            sorting.FieldFacet(date, reverse=True),
            sorting.FunctionFacet(lambda _s, docnum: int(place[docnum])),
        ])
    if comp.mask is not None:
        kwargs["mask"] = comp.mask
    if allowed is not None:
        kwargs["filter"] = allowed
    try:
        results = searcher.search(q, **kwargs)
    except (IndexError, AssertionError):
        # Whoosh 2.7.4 matcher bugs under block-quality skipping (AndNot, nested Not):
        # exhaustive scoring gives the same ranking, just slower.
        results = searcher.search(q, optimize=False, **kwargs)
    # Not list(results): that asks len(), which counts every match (slow for OR queries).
    n = results.scored_length()
    return [results[i] for i in range(n)], _estimate(searcher, q, n, limit), n < limit


def _filter_docs(searcher: Any, q: Q.Query) -> set[int]:
    """The documents a structural filter lets through, as a set.

    A `path:` prefix expands to every note path under it; Whoosh unions those postings
    through a tree of matchers (1.2 s for a 1,000-note folder on tubegraph). Reading each
    term's short posting list straight into a set costs a few milliseconds.
    """
    if isinstance(q, Q.And):
        sets = [_filter_docs(searcher, sub) for sub in q.subqueries]
        return set.intersection(*sets) if sets else set()
    if isinstance(q, Q.Or):
        return set().union(*(_filter_docs(searcher, sub) for sub in q.subqueries))
    if isinstance(q, PathMatch):
        # Note paths: one pass over the per-searcher array of every passage's note (a
        # folder of 1,000 notes is 1,000 posting lists otherwise: ~100 ms).
        stats = postings.stats_for(searcher)
        notes = stats.notes(searcher)
        key = (type(q).__name__, q.text)
        found = stats.memo.get(key)
        if found is None:
            hit = {note for note in set(notes) if q.matches(note)}
            found = {d for d, note in enumerate(notes) if note in hit}
            stats.remember(key, found)
        return set(found)
    if isinstance(q, (Q.Prefix, Q.Wildcard)) and q.fieldname == "source":
        # Note paths: one pass over the per-searcher array of every passage's note (a
        # folder of 1,000 notes is 1,000 posting lists otherwise: ~100 ms).
        stats = postings.stats_for(searcher)
        notes = stats.notes(searcher)
        key = (type(q).__name__, q.text)
        found = stats.memo.get(key)
        if found is None:
            if isinstance(q, Q.Prefix):
                prefix = q.text
                found = {d for d, note in enumerate(notes) if note.startswith(prefix)}
            else:
                match = re.compile(fnmatch.translate(q.text)).match
                found = {d for d, note in enumerate(notes) if match(note)}
            stats.remember(key, found)
        return set(found)
    if isinstance(q, Q.Term):
        return _docs(searcher, q)
    if isinstance(q, (Q.Prefix, Q.Wildcard)):
        docs: set[int] = set()
        for sub, offset in searcher.subsearchers or [(searcher, 0)]:
            reader = sub.reader()
            for text in q._btexts(reader):
                docs.update(offset + d for d in reader.postings(q.fieldname, text).all_ids())
        return docs
    return set(searcher.docs_for_query(q))


def _docs(searcher: Any, q: Q.Query, deadline: Deadline = NO_DEADLINE) -> set[int]:
    """The documents a query matches (what `-word` excludes), from the cached posting
    lists where it can (matching.py)."""
    return _matching(searcher, q, deadline, "reading the excluded words")


def _matching(searcher: Any, q: Q.Query, deadline: Deadline, doing: str) -> set[int]:
    return set(matching.docs(searcher, q, deadline, doing).tolist())


def _estimate(searcher: Any, q: Q.Query, n: int, limit: int) -> int:
    """How many passages match, roughly. Whoosh's own count walks every match (3 s for a
    `path:` filter on tubegraph) and cannot count collapsed results at all; the query's
    posting-list estimate costs nothing and is exact when fewer than `limit` matched."""
    if n < limit:
        return n
    try:
        return max(n, int(q.estimate_size(searcher.reader())))
    except Exception:  # an estimate is never worth failing a search
        return n


def _passage(
    f: Mapping[str, Any],
    spans: list[tuple[int, int]],
    score: float,
    mult: float,
    rank: int,
    vault: str,
    explain: bool,
    comp: Compiled,
    snippets: bool = True,
) -> Passage:
    body = f.get("body", "") or ""
    if comp.checks:
        spans = operators.with_check_spans(comp.checks, body, spans)
    snip = (
        highlight.passage_snippet(body, spans, f.get("callout_title"))
        if snippets
        else highlight.EMPTY
    )
    stamps = f.get("timestamps") or []
    seconds = nearest_timestamp(stamps, snip.anchor, body)
    tags = tuple(t.strip() for t in (f.get("tags") or "").split(",") if t.strip())
    video = f.get("video") or None
    return Passage(
        rank=rank,
        score=score if comp.scoring else 0.0,
        id=f.get("id", ""),
        path=f.get("source", ""),
        title=f.get("title", "") or "",
        heading_path=tuple(f.get("heading_path") or ()),
        kind=f.get("kind", "") or "",
        callout_type=f.get("callout") or None,
        callout_title=f.get("callout_title") or None,
        line=int(f.get("line") or 0),
        snippet=snip.text,
        snippet_marked=snip.marked,
        highlights=snip.spans,
        timestamp=seconds,
        tags=tags,
        links=make_links(
            vault=vault,
            path=f.get("source", ""),
            line=int(f.get("line") or 0) or None,
            anchor=f.get("anchor", "") or "",
            slug=f.get("slug", "") or "",
            video_id=video,
            seconds=seconds,
        ),
        explanation=(
            "filters only: no relevance score; sorted by modification time"
            if explain and not comp.scoring
            else None
        ),
    )


# --- did you mean --------------------------------------------------------------------------


def suggest(
    searcher: Any,
    query: str,
    comp: Compiled | None = None,
    fixes: list[spelling.Correction] | None = None,
) -> str | None:
    """The query with each word the index does not hold replaced by its closest frequent
    word (spelling.py), or None when every word is known or nothing close exists."""
    if comp is None:
        comp = compile_query(query, searcher.schema)
    if fixes is None:
        fixes = spelling.corrections(searcher, comp.words)
    new = query
    for fix in fixes:
        new = re.sub(
            rf"(?<!\w){re.escape(fix.word)}(?!\w)", lambda _m, s=fix.surface: s, new, count=1
        )
    return new if new != query else None


# --- explain -------------------------------------------------------------------------------


def _explain(
    searcher: Any,
    docnum: int,
    concepts: list[ranking.Concept],
    params: RankParams,
    total: float,
    mult: float,
    close: float = 1.0,
    deadline: Deadline = NO_DEADLINE,
) -> dict[str, Any]:
    """Where one passage's score comes from: each query word's BM25F points over title,
    aliases, headings and body (`parts`), then the rules of ranking.py that scale them
    (`factors`), and the same as one line of text, e.g.
    `14.20 = (dream 12.31 + why 0.52) x0.95 coordination x1.2 words close x3 phrase bonus`."""
    parts = ranking.explain_doc(searcher, docnum, concepts, params, deadline)
    parts.sort(key=lambda p: -p[1])
    raw = sum(points for _, points in parts)
    terms = " + ".join(f"{label} {points:.2f}" for label, points in parts) or "no scored word"
    text = f"({terms})" if len(parts) > 1 else terms
    factors: list[dict[str, Any]] = []
    factor = total / close / raw if raw else 1.0
    if abs(factor - 1.0) > 0.005:
        hub = ranking.hub_factor(ranking.hub_share(searcher, docnum), params)
        if hub < 0.995:
            factors += [{"name": "coordination", "value": round(factor / hub, 4)},
                        {"name": "mostly links", "value": round(hub, 4)}]
            text = f"{text} x{factor / hub:.2f} coordination x{hub:.2f} mostly links"
        else:
            factors.append({"name": "coordination", "value": round(factor, 4)})
            text = f"{text} x{factor:.2f} coordination"
    if close > 1.0:
        factors.append({"name": "words close together", "value": round(close, 4)})
        text = f"{text} x{close:.2f} words close together"
    if mult != 1.0:
        factors.append({"name": "whole-query phrase bonus", "value": mult})
        text = f"{text} x{mult:g} whole-query phrase bonus"
    return {
        "score": round(total * mult, 4),
        "parts": [{"word": label, "points": round(points, 4)} for label, points in parts],
        "factors": factors,
        "text": f"{total * mult:.2f} = {text}",
    }
