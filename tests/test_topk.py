"""Top-k ranking at scale (issue 16) and stable paging (issue 17, item 2), on a generated
vault of many similar passages, so that scores are close, ties happen and the proximity
and phrase bonuses reorder the top.

- the numpy scorer gives exactly the scores and order of the scalar BM25F formula (a
  straightforward per-posting reference written here, reading postings through Whoosh's
  own matcher interface);
- the pruned top k (`rank_top`) equals the exhaustive ranking's first k;
- the first k results never depend on the page size, and pages concatenate to one long
  page (a property over generated queries and page sizes, through the API).
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vaults import write_vault

import searchkit
from searchkit.retrieve import ranking, topk
from searchkit.retrieve.query import compile_query

WORDS = [
    "sleep", "memory", "dream", "cortex", "tide", "harbor", "violin", "granite", "lantern",
    "orchard", "bakery", "ferry", "signal", "garden", "chess", "river", "copper", "winter",
]
QUERY_WORDS = [*WORDS[:12], "how", "does", "the", "sle*", "memory-cortex", "nosuchword"]


def _vault_notes(seed: int = 7, notes: int = 45) -> dict[str, str]:
    rnd = random.Random(seed)
    out: dict[str, str] = {}
    weights = [1 / (i + 1) for i in range(len(WORDS))]  # Zipf-like: some words common
    for n in range(notes):
        lines = [f"# {' '.join(rnd.choices(WORDS, weights, k=2)).title()} {n}", ""]
        for s in range(rnd.randint(1, 5)):
            lines.append(f"## {rnd.choice(WORDS).title()} part {s}")
            words = rnd.choices(WORDS, weights, k=rnd.randint(4, 30))
            if rnd.random() < 0.3:  # a whole-query phrase some queries will look for
                words[rnd.randrange(len(words))] = "sleep memory"
            lines.append(" ".join(words) + ".")
            if rnd.random() < 0.1:  # a table of contents: mostly link labels
                lines.append(" ".join(f"[[n{k}|{rnd.choice(WORDS)}]]" for k in range(6)))
            lines.append("")
        # Identical passages in two notes: exact score ties.
        if n % 9 == 0:
            lines += ["## Shared", "sleep memory dream river copper.", ""]
        out[f"f{n % 4}/note{n:02d}.md"] = "\n".join(lines)
    return out


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    root = tmp_path_factory.mktemp("topk")
    vault = write_vault(root / "vault", _vault_notes())
    index = searchkit.open_index(root / "ix", vault)
    index.update(jobs=1)
    # A second segment with deleted documents in the first: edited and new notes.
    extra = _vault_notes(seed=8, notes=12)
    for i, (rel, text) in enumerate(extra.items()):
        target = vault / (rel if i % 2 else rel.replace("note", "more"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    index.update(jobs=1)
    yield index
    index.close()


FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # the module's index is read-only here
queries = st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=4).map(" ".join)


# --- the numpy scorer equals the scalar formula ----------------------------------------


def _reference(searcher, concepts, params, within=None, exclude=None, phrase_docs=None):
    """The BM25F of ranking.score_concepts, one posting at a time (the code it replaced),
    as (docnum, score) best first, ties in the order passages were first met."""
    from whoosh.util.numeric import byte_to_length  # noqa: F401  (lengths come decoded)

    n = max(1, searcher.doc_count_all())
    reader = searcher.reader()
    ndocs = reader.doc_count_all()
    avg = {}
    for f in ranking.SCORED_FIELDS:
        having = sum(1 for d in range(ndocs) if reader.doc_field_length(d, f, 0))
        total = searcher.field_length(f) or 0
        avg[f] = (total / having) if having and total else 1.0
    hub = ranking.stats_for(searcher).column(ranking.HUB_COLUMN).tolist()

    def postings(f, bt):
        if (f, bt) not in reader:
            return []
        m = reader.postings(f, bt)
        out = []
        while m.is_active():
            out.append((m.id(), m.weight()))
            m.next()
        return out

    concepts = ranking._merged(ranking.expand(searcher, concepts))
    only_function = all(c.function for c in concepts)
    gating = [only_function or not c.function for c in concepts]
    weights = [params.function_weight if c.function else 1.0 for c in concepts]
    order = sorted(range(len(concepts)), key=lambda i: not gating[i])
    acc: dict[int, float] = {}
    mask: dict[int, int] = {}
    masses = [0.0] * len(concepts)
    k1 = params.k1
    for i in order:
        c = concepts[i]
        bterms = [t.encode("utf-8") for t in c.terms]
        dfs = [max((searcher.doc_frequency(f, bt) for f in c.fields), default=0) for bt in bterms]
        present = [(bt, df) for bt, df in zip(bterms, dfs, strict=True) if df]
        if not present:
            continue
        best: dict[int, float] = {}
        for bt, df in present:
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            mult = weights[i] * idf * (k1 + 1)
            # Segment by segment, field by field, as the index stores them.
            for sub, off in searcher.subsearchers or [(searcher, 0)]:
                lo, hi = off, off + sub.reader().doc_count_all()
                tfp: dict[int, float] = {}
                for f in c.fields:
                    w_f = params.field_weights.get(f, 0.0)
                    if w_f <= 0:
                        continue
                    b = params.field_b.get(f, 0.75)
                    for d, w in postings(f, bt):
                        if lo <= d < hi:
                            norm = w_f / (1 - b + b * reader.doc_field_length(d, f, 0) / avg[f])
                            tfp[d] = tfp.get(d, 0.0) + w * norm
                for d, x in tfp.items():
                    s = mult * x / (x + k1)
                    if s > best.get(d, 0.0):
                        best[d] = s
        masses[i] = weights[i] * max(
            math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for _, df in present
        )
        bit = 1 << i
        if c.phrase:
            inside = (phrase_docs or {}).get(c.phrase, set())
            best = {d: s if d in inside else s * params.part_weight for d, s in best.items()}
        for d, s in best.items():
            if gating[i]:
                if (within is not None and d not in within) or (exclude and d in exclude):
                    continue
                acc[d] = acc.get(d, 0.0) + s
                mask[d] = mask.get(d, 0) | bit
            elif d in acc:
                acc[d] += s
                mask[d] |= bit
    groups = [c.group or -1 - i for i, c in enumerate(concepts)]
    best_mass: dict[int, float] = {}
    for g, m in zip(groups, masses, strict=True):
        best_mass[g] = max(best_mass.get(g, 0.0), m)
    total_mass = sum(best_mass.values())
    for d, bits in mask.items():
        got: dict[int, float] = {}
        for i, m in enumerate(masses):
            if bits >> i & 1:
                got[groups[i]] = max(got.get(groups[i], 0.0), m)
        acc[d] *= (sum(got.values()) / total_mass) ** params.coordination
        share = hub[d]
        if share > min(max(params.hub_start, 0.0), 0.99) * 255:
            acc[d] *= ranking.hub_factor(share / 255.0, params)
    return sorted(acc.items(), key=lambda kv: kv[1], reverse=True)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(query=queries, filtered=st.booleans())
def test_numpy_scores_equal_the_scalar_formula(ix, query, filtered):
    searcher, _ = ix._searcher()
    comp = compile_query(query, searcher.schema)
    if not comp.concepts:
        return
    concepts = ranking.expand(searcher, comp.concepts)
    within = set(range(0, searcher.doc_count_all(), 2)) if filtered else None
    exclude = {1, 5, 9} if filtered else None
    phrase_docs = {pid: set(searcher.docs_for_query(q)) for pid, q in comp.phrases.items()}
    got = ranking.score_concepts(
        searcher, concepts, within=within, exclude=exclude, phrase_docs=phrase_docs
    )
    want = _reference(searcher, concepts, ranking.DEFAULT_PARAMS, within, exclude, phrase_docs)
    order = got.ranked()
    assert [(int(got.docs[i]), float(got.scores[i])) for i in order] == want


# --- the pruned top k equals the exhaustive ranking -------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(query=queries, want=st.integers(1, 40), per_note=st.sampled_from([0, 1, 3]))
def test_pruned_top_k_equals_exhaustive(ix, query, want, per_note):
    searcher, _ = ix._searcher()
    comp = compile_query(query, searcher.schema)
    if not comp.concepts:
        return
    concepts = ranking.expand(searcher, comp.concepts)
    scored = ranking.score_concepts(searcher, concepts)
    args = (searcher, scored, concepts, comp, ranking.DEFAULT_PARAMS, per_note, want)
    pruned = topk.rank_top(*args)
    full = topk.rank_top(*args, exhaustive=True)
    assert pruned == full
    # `available` (results after the per-note cap) counts what paging can reach.
    everything = topk.rank_top(*args[:-1], 10**9, exhaustive=True)
    keys = ranking.stats_for(searcher).column(ranking.NOTE_COLUMN)
    assert topk._available(keys, scored.docs, per_note) == len(everything)


def test_pruning_skips_candidates(ix, monkeypatch):
    """The bound does its job: a one-result page checks positions for a few candidates,
    not for every match."""
    checked: list[int] = []
    real = ranking.proximity

    def counting(reader, concepts, docnums, window, *rest):
        checked.extend(docnums)
        return real(reader, concepts, docnums, window, *rest)

    monkeypatch.setattr(topk, "FIRST_ROUND", 4)
    monkeypatch.setattr(ranking, "proximity", counting)
    res = ix.search("sleep memory", limit=1)
    assert res.total > 40 and 0 < len(checked) < res.total


# --- paging (issue 17, item 2) ----------------------------------------------------------


def _ids(results) -> list[tuple[str, float]]:
    return [(p.id, round(p.score, 9)) for p in results]


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    query=queries,
    short=st.integers(1, 12),
    page=st.integers(1, 9),
    per_note=st.sampled_from([0, 1, 2, 3]),
)
def test_first_results_do_not_depend_on_page_size(ix, query, short, page, per_note):
    try:
        long = ix.search(query, limit=40, per_note=per_note)
    except searchkit.QuerySyntaxError:
        return
    head = ix.search(query, limit=short, per_note=per_note)
    assert _ids(head) == _ids(long)[:short]
    pages = []
    for offset in range(0, 40, page):
        got = ix.search(query, limit=min(page, 40 - offset), offset=offset, per_note=per_note)
        pages += _ids(got)
        if len(got) < min(page, 40 - offset):
            break
    assert pages == _ids(long)
    assert [p.rank for p in long] == list(range(1, len(long) + 1))
    if long.available is not None:
        assert len(long) == min(40, long.available)


