"""Hybrid ranking: the lexical ranking fused with passage vectors (search by meaning).

The lexical ranking (ranking.py) finds the words; most of what it misses are paraphrases
("stage fright" for "fear of public speaking"). Fusion, measured on the judged sets
(scripts/eval/eval.py): the lexical top `lexical_pool` plus the vector top `vector_pool`, each
scored `lexical / best lexical + weight · minmax(cosine)` over that union. A linear fusion
of normalised scores beat reciprocal-rank fusion for every model tried
(../shared/research/agents-and-hybrid-2026.md §A4), and bringing in the vector top-k is
what finds answers that share no word with the query.

The exact-match guard is the candidate set: vector candidates must pass the same
constraints as lexical ones (phrases, field clauses, words joined by AND, `-word`,
`path:`/`tag:` and the other filters); only bare words are soft.

Pure numpy over arrays the API hands in (the docnum → vector-row map and the matrix), so
this stage never reads the vector files itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MODES = ("hybrid", "lexical", "semantic")


@dataclass(frozen=True)
class HybridParams:
    """Fusion knobs, chosen on the notes dev sets and SciFact train (scripts/eval/eval.py)."""

    weight: float = 1.0
    lexical_pool: int = 50
    vector_pool: int = 50
    # A passage found by meaning alone must be at least this close to the query. For both
    # shipped models, unrelated texts stay under ~0.2 and paraphrases reach 0.3-0.6; without
    # a floor every query would "find" something and "no match" would never be said.
    min_cosine: float = 0.3


DEFAULT_HYBRID = HybridParams()


@dataclass(frozen=True)
class SemanticSide:
    """What the vectors contribute to one search."""

    doc_rows: np.ndarray  # int64 per document number: its row in `matrix`, -1 for none
    matrix: np.ndarray  # float32 (rows, dimension), L2-normalised
    query_vector: Callable[[str], np.ndarray]  # embeds a query's text
    params: HybridParams = DEFAULT_HYBRID


@dataclass(frozen=True)
class SemanticPart:
    """One passage's share of a fused score (for --explain)."""

    lexical: float  # the lexical score (0 for a passage found by meaning alone)
    lexical_share: float  # lexical / best lexical of the candidates
    cosine: float | None  # None: the passage has no vector yet
    closeness: float  # cosine min-max normalised over the candidates
    weight: float
    fused: float

    def to_dict(self) -> dict[str, float | None]:
        return {
            "words": round(self.lexical_share, 4), "meaning": round(self.closeness, 4),
            "weight": self.weight,
            "cosine": None if self.cosine is None else round(self.cosine, 4),
        }

    def describe(self) -> str:
        if self.cosine is None:
            meaning = "no vector yet (scored as the candidates' mean)"
        else:
            meaning = f"cosine {self.cosine:.3f}"
        return (
            f"words {self.lexical_share:.3f} (of the best) + meaning {self.closeness:.3f}"
            f" x{self.weight:g} ({meaning})"
        )


def _similarities(side: SemanticSide, text: str, n_docs: int) -> np.ndarray:
    """Cosine of every document to the query; -inf where a document has no vector."""
    q = np.asarray(side.query_vector(text), dtype=np.float32).reshape(-1)
    sims = np.full(n_docs, -np.inf, dtype=np.float32)
    rows = side.doc_rows[:n_docs]
    has = rows >= 0
    if has.any() and len(side.matrix):
        # One product per stored vector, then a gather: identical passages (a page copied
        # into several folders) share a vector, and gathering rows first would copy the
        # matrix once per passage.
        by_row = side.matrix @ q
        sims[: len(rows)][has] = by_row[rows[has]]
    return sims


def _admissible(sims: np.ndarray, within: set[int] | None, exclude: set[int] | None) -> None:
    """Set -inf where a document breaks the query's hard constraints (in place)."""
    if within is not None:
        keep = np.zeros(len(sims), dtype=bool)
        idx = np.fromiter((d for d in within if d < len(sims)), dtype=np.int64)
        keep[idx] = True
        sims[~keep] = -np.inf
    if exclude:
        idx = np.fromiter((d for d in exclude if d < len(sims)), dtype=np.int64)
        sims[idx] = -np.inf


def _top(sims: np.ndarray, k: int, floor: float) -> list[int]:
    finite = np.flatnonzero(sims >= floor)
    if len(finite) == 0 or k <= 0:
        return []
    if len(finite) > k:
        part = np.argpartition(-sims[finite], k - 1)[:k]
        finite = finite[part]
    # Ties broken by document number, so a page never depends on the page size.
    return sorted(finite.tolist(), key=lambda d: (-float(sims[d]), d))


def fuse(
    order: list[int],
    scores: dict[int, float],
    side: SemanticSide,
    mode: str,
    *,
    text: str,
    n_docs: int,
    within: set[int] | None,
    exclude: set[int] | None,
    want: int,
    bring_in: bool = True,
) -> tuple[list[int], dict[int, SemanticPart]]:
    """Re-rank `order` (documents by lexical score, best first) by meaning as well.

    Updates `scores` in place to the fused scores and returns the new order and each
    fused passage's parts. `mode` "semantic" ranks by cosine alone (still within the
    query's hard constraints); "hybrid" fuses. `bring_in=False` re-ranks the lexical
    candidates only: a query that asks for word forms (`memry~`, `consolid*`) wants passages
    holding such a word, not passages that merely mean something alike.
    """
    p = side.params
    sims = _similarities(side, text, n_docs)
    _admissible(sims, within, exclude)
    if mode == "semantic":
        ranked = _top(sims, max(want * 3, p.vector_pool, 100), p.min_cosine)
        parts = {}
        for d in ranked:
            cos = float(sims[d])
            scores[d] = cos
            parts[d] = SemanticPart(0.0, 0.0, cos, cos, 1.0, cos)
        for d in [d for d in scores if d not in parts]:
            del scores[d]
        return ranked, parts

    lexical = order[: p.lexical_pool]
    found = _top(sims, p.vector_pool, p.min_cosine) if bring_in else []
    candidates = list(dict.fromkeys([*lexical, *found]))
    if not candidates:
        return order, {}
    best = max((scores.get(d, 0.0) for d in lexical), default=0.0) or 1.0
    cos = np.array([sims[d] for d in candidates], dtype=np.float64)
    known = np.isfinite(cos)
    closeness = np.zeros(len(candidates))
    if known.any():
        lo, hi = cos[known].min(), cos[known].max()
        span = hi - lo
        closeness[known] = (cos[known] - lo) / span if span > 1e-9 else 1.0
        # A passage not embedded yet (vectors still being made) is neither helped nor
        # hurt: it gets the candidates' mean closeness.
        closeness[~known] = closeness[known].mean()
    parts = {}
    for i, d in enumerate(candidates):
        lex = scores.get(d, 0.0)
        share = lex / best
        fused = share + p.weight * float(closeness[i])
        scores[d] = fused
        parts[d] = SemanticPart(
            lex, share, float(cos[i]) if known[i] else None, float(closeness[i]), p.weight,
            fused,
        )
    # Equal fused scores: the passage holding more of the query's words first.
    head = sorted(candidates, key=lambda d: (-scores[d], -parts[d].lexical_share, d))
    chosen = set(candidates)
    rest = [d for d in order[p.lexical_pool :] if d not in chosen]
    for d in rest:
        scores[d] = scores[d] / best
    return head + rest, parts


def query_text(labels: list[str]) -> str:
    """What of a query is embedded: the words it ranks by, as typed, in order, without
    operators, field filters or excluded words (those are constraints, not meaning)."""
    return " ".join(dict.fromkeys(w for w in labels if w)).strip()
