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

Pure numpy over arrays the API hands in (the docnum → vector-row map, and the float32
matrix or the int8 codes with a reader of exact rows), so this stage never reads the
vector files itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class HybridParams:
    """Fusion knobs, chosen on the notes dev sets and SciFact train (scripts/eval/eval.py;
    the measurements are in docs/DESIGN.md, "Ranking: fusion")."""

    weight: float = 1.0
    lexical_pool: int = 50
    vector_pool: int = 50
    # The lexical side counts as much as a passage holds of the query's idf mass, to this
    # power: a one-common-word match yields to a passage that means the query; a match of
    # every rare word keeps its place. 0: relative only (s / best). docs/DESIGN.md has the
    # variants measured.
    coverage_power: float = 1.0
    # Whether query words no passage holds count in that mass (as the rarest word could).
    # Leaving them out measured a little better on the big vaults (powershell 0.4605 ->
    # 0.4655, SciFact train 0.7232 -> 0.7257, tubegraph equal), but then in a small vault
    # the one query word it holds ("public" of "fear of public speaking") counts as the
    # whole query, and meaning never gets its turn.
    absent_words_count: bool = True
    # Whose share scales the words: "best" (the best lexical passage's, one factor for the
    # query) or "passage" (each passage's own).
    coverage_of: str = "passage"
    # How a cosine becomes closeness: "vault" measures it against the query's cosines over
    # the whole vault ((cos - mean) / (best - mean)); "minmax" over the candidates.
    closeness: str = "vault"
    # A passage found by meaning alone is listed only when it stands out from the vault:
    # its cosine at least `min_z` standard deviations above the query's mean cosine over
    # every passage, and at least `min_cosine`. Fitted on judged answers and on no-match
    # probes (scripts/eval/probes.py); a fixed cosine alone was no rule: MiniLM's cosines
    # of unrelated texts reach 0.3.
    min_z: float = 0.0
    min_cosine: float = 0.3
    # A passage holding every identifier the query has (`sshd_config`, a hash, a GUID,
    # `System.Collections.Hashtable`) ranks above every passage that does not.
    exact_first: bool = True


DEFAULT_HYBRID = HybridParams()


# Added to each row's error bound: the float32 rounding of an exact cosine (384 products
# and sums: a few 1e-6 at most), so that the bound holds for the numbers as computed.
_SLACK = 1e-4


@dataclass(frozen=True)
class Int8Scan:
    """The vectors as int8 codes, for a scan in two steps: the product of every row's
    codes with the query's codes, whose error is bounded row by row, then the exact
    cosine of the rows that the bounds cannot rule out (docs/DESIGN.md, "Vectors")."""

    # int8 (rows, dimension) blocks in row order, round(v / scale): the mapped codes of the
    # last finished pass, then those of the few segments written since (store.vectors)
    codes: tuple[np.ndarray, ...]
    bounds: np.ndarray  # float32 (rows, 2): scale = max |v| / 127; scale x sum |codes|
    mean: np.ndarray  # float64 (dimension,): the mean stored vector
    exact: Callable[[np.ndarray], np.ndarray]  # float32 rows by row number
    product: Callable[[np.ndarray, np.ndarray], np.ndarray]  # int8 codes · int8 q -> int32

    @property
    def rows(self) -> int:
        return sum(len(block) for block in self.codes)

    def products(self, q8: np.ndarray) -> np.ndarray:
        """Every row's codes · the query's codes, as float32."""
        parts = [self.product(block, q8) for block in self.codes if len(block)]
        if not parts:
            return np.zeros(0, np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)


@dataclass(frozen=True)
class SemanticSide:
    """What the vectors contribute to one search: `matrix` (float32, scanned whole) or
    `scan` (int8 codes, scanned in two steps)."""

    doc_rows: np.ndarray  # int64 per document number: its row in the vectors, -1 for none
    matrix: np.ndarray | None  # float32 (rows, dimension), L2-normalised
    query_vector: Callable[[str], np.ndarray]  # embeds a query's text
    params: HybridParams = DEFAULT_HYBRID
    # Starts embedding a query's text in the background, so that `query_vector` finds it
    # done (or under way) once the words are scored; None: embedded when asked.
    prefetch: Callable[[str], None] | None = None
    scan: Int8Scan | None = None

    @property
    def rows(self) -> int:
        return len(self.matrix) if self.matrix is not None else self.scan.rows  # type: ignore[union-attr]

    @property
    def dimension(self) -> int:
        held = self.matrix if self.matrix is not None else self.scan.codes[0]  # type: ignore[union-attr]
        return int(held.shape[1])

    def full_matrix(self) -> np.ndarray:
        """Every vector as float32 (read whole when they are codes: for joining vaults)."""
        if self.matrix is not None:
            return self.matrix
        assert self.scan is not None
        return self.scan.exact(np.arange(self.scan.rows))


@dataclass(frozen=True)
class SemanticPart:
    """One passage's share of a fused score (for --explain)."""

    lexical: float  # the lexical score (0 for a passage found by meaning alone)
    lexical_share: float  # the lexical side as fused: lexical / best x coverage^power
    cosine: float | None  # None: the passage has no vector yet
    closeness: float  # the cosine made comparable (see HybridParams.closeness)
    weight: float
    fused: float
    exact: bool = False  # holds every identifier of the query

    def to_dict(self) -> dict[str, float | bool | None]:
        return {
            "words": round(self.lexical_share, 4), "meaning": round(self.closeness, 4),
            "weight": self.weight,
            "cosine": None if self.cosine is None else round(self.cosine, 4),
            "exact": self.exact,
        }

    def describe(self) -> str:
        if self.cosine is None:
            meaning = "no vector yet (scored as the candidates' mean)"
        else:
            meaning = f"cosine {self.cosine:.3f}"
        exact = "; holds the query's identifiers" if self.exact else ""
        return (
            f"words {self.lexical_share:.3f} + meaning {self.closeness:.3f}"
            f" x{self.weight:g} ({meaning}){exact}"
        )


@dataclass(frozen=True)
class Fused:
    """The outcome of `fuse`: the new order, each fused passage's parts, and how many
    passages the search can list (the lexical matches and those meaning brought in)."""

    order: list[int]
    parts: dict[int, SemanticPart]
    brought_in: int = 0  # passages listed by meaning alone (no query word)


# Identifier-like: digits among letters, inner capitals, or parts joined by . _ - / :
# (`sshd_config`, `System.Collections.Hashtable`, `Get-ChildItem`, `0x80070005`, GUIDs,
# `ClassId` hashes, video IDs, file names).
_IDENT = re.compile(
    r"^(?=.*[A-Za-z0-9])(?:"
    r"(?=.*\d)(?=.*[A-Za-z])\S{3,}"  # letters and digits
    r"|[A-Za-z0-9]+(?:[._\-/:][A-Za-z0-9]+)+"  # joined parts
    r"|[a-z]+[A-Z]\w*|[A-Z]{2,}[a-z]\w*|[A-Z][a-z]+[A-Z]\w*"  # inner capitals
    r")$"
)


def is_identifier(label: str) -> bool:
    """Whether a query word, as typed, looks like an identifier rather than a word
    (`self-doubt`, lower-case words joined by dashes, is a word)."""
    word = label.strip().strip("\"'")
    if re.fullmatch(r"[a-z]+(?:-[a-z]+)+", word):
        return False
    return len(word) >= 3 and bool(_IDENT.match(word))


def _similarities(side: SemanticSide, text: str, n_docs: int, within: set[int] | None,
                  exclude: set[int] | None, hidden: np.ndarray | None, need: int,
                  also: list[int]) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """Cosine of the documents to the query (-inf where a document has no vector or breaks
    the query's constraints: see `_admissible`), and the mean and standard deviation of the
    query's cosines over every stored vector. Exact for the `need` best admissible
    documents and for `also`; with `side.scan`, the others hold a lower bound of theirs."""
    q = np.asarray(side.query_vector(text), dtype=np.float32).reshape(-1)
    if side.scan is not None:
        return _scanned(side, side.scan, q, n_docs, within, exclude, hidden, need, also)
    sims = np.full(n_docs, -np.inf, dtype=np.float32)
    rows = side.doc_rows[:n_docs]
    has = rows >= 0
    mean = std = 0.0
    if has.any() and side.matrix is not None and len(side.matrix):
        # One product per stored vector, then a gather: identical passages (a page copied
        # into several folders) share a vector, and gathering rows first would copy the
        # matrix once per passage.
        by_row = side.matrix @ q
        sims[: len(rows)][has] = by_row[rows[has]]
        mean, std = float(by_row.mean()), float(by_row.std())
    _admissible(sims, within, exclude, hidden)
    return sims, mean, std


def _scanned(side: SemanticSide, scan: Int8Scan, q: np.ndarray, n_docs: int,
             within: set[int] | None, exclude: set[int] | None, hidden: np.ndarray | None,
             need: int, also: list[int]) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """`_similarities` over int8 codes. Row r's cosine q·v is within
    scale_r / 2 x |q|_1 + q_scale / 2 x scale_r x |codes_r|_1 of the codes' product (the
    rounding of v and of q, each at most half a step), so every document whose upper
    bound reaches the `need`-th best exact cosine is re-scored exactly: the same
    documents, in the same order, as the float32 scan, with a few hundred rows read. The
    documents not re-scored stay -inf: none of them can be among the `need` best."""
    sims = np.full(n_docs, -np.inf, dtype=np.float32)
    rows = side.doc_rows[:n_docs]
    mean = float(q.astype(np.float64) @ scan.mean)  # the mean of the cosines, without a scan
    std = 0.0
    if scan.rows == 0 or not (rows >= 0).any():
        return sims, mean, std
    q_scale = float(np.abs(q).max()) / 127 or 1.0
    q8 = np.rint(q / q_scale).astype(np.int8)
    approx = scan.products(q8)
    approx *= scan.bounds[:, 0]
    approx *= np.float32(q_scale)
    if side.params.min_z:  # the spread of the cosines (for a z-score floor: off by default)
        std = float(approx.std())  # within 1e-4 of the exact spread
    upper_rows = scan.bounds[:, 0] * np.float32(float(np.abs(q).sum()) / 2)
    upper_rows += scan.bounds[:, 1] * np.float32(q_scale / 2)
    upper_rows += np.float32(_SLACK)
    upper_rows += approx
    upper = upper_rows[rows]  # n_docs; rows -1 take the last row's, set -inf here:
    upper[rows < 0] = -np.inf
    _admissible(upper, within, exclude, hidden)
    done = np.zeros(n_docs, dtype=bool)
    scored: list[np.ndarray] = []

    def rescore(docs: np.ndarray) -> None:
        docs = docs[np.isfinite(upper[docs]) & ~done[docs]]
        if len(docs) == 0:
            return
        unique, inverse = np.unique(rows[docs], return_inverse=True)
        exact = (scan.exact(unique) @ q)[inverse]
        sims[docs] = exact
        done[docs] = True
        scored.append(exact)

    if also:
        rescore(np.fromiter((d for d in also if 0 <= d < n_docs), dtype=np.int64))
    candidates = np.flatnonzero(upper > -np.inf)
    first = min(len(candidates), 2 * need + 16)
    if first < len(candidates):
        candidates = candidates[np.argpartition(-upper[candidates], first - 1)[:first]]
    while len(candidates):
        rescore(candidates)
        values = np.concatenate(scored) if scored else np.zeros(0, np.float32)
        if len(values) < need:  # fewer admissible documents than needed: all of them
            candidates = np.flatnonzero(upper > -np.inf)
        else:
            threshold = np.partition(values, len(values) - need)[len(values) - need]
            candidates = np.flatnonzero(upper >= threshold)
        candidates = candidates[~done[candidates]]
    return sims, mean, std


def _admissible(sims: np.ndarray, within: set[int] | None, exclude: set[int] | None,
                hidden: np.ndarray | None = None) -> None:
    """Set -inf where a document breaks the query's hard constraints or is `hidden` (a
    copy of another passage), in place."""
    if within is not None:
        keep = np.zeros(len(sims), dtype=bool)
        idx = np.fromiter((d for d in within if d < len(sims)), dtype=np.int64)
        keep[idx] = True
        sims[~keep] = -np.inf
    if exclude:
        idx = np.fromiter((d for d in exclude if d < len(sims)), dtype=np.int64)
        sims[idx] = -np.inf
    if hidden is not None:
        n = min(len(sims), len(hidden))
        sims[:n][hidden[:n]] = -np.inf


def _top(sims: np.ndarray, k: int, floor: float, place: Place | None = None) -> list[int]:
    finite = np.flatnonzero(sims >= floor)
    if len(finite) == 0 or k <= 0:
        return []
    if len(finite) > k:
        # The k-th best's ties all go in, so the place decides between them below.
        kth = np.partition(-sims[finite], k - 1)[k - 1]
        finite = finite[-sims[finite] <= kth]
    # Ties broken by the place in the vault (never the document number, which depends on
    # the segments), so a page never depends on the page size or the build.
    return _sorted(finite.tolist(), lambda d: (-float(sims[d]),), place)[:k]


# Each passage's place in the vault (postings.PLACE_COLUMN), for the documents given.
Place = Callable[[np.ndarray], np.ndarray]


def _sorted(docs: list[int], key: Callable[[int], tuple[Any, ...]],
            place: Place | None) -> list[int]:
    """`docs` sorted by `key`, equal keys by their place (by number without `place`);
    the places are read only when two keys are equal."""
    keys = {d: key(d) for d in docs}
    if len(set(keys.values())) == len(keys):
        return sorted(docs, key=keys.__getitem__)
    where = dict(zip(docs, docs, strict=True))
    if place is not None and docs:
        at = np.asarray(place(np.asarray(docs, dtype=np.int64))).tolist()
        where = dict(zip(docs, at, strict=True))
    return sorted(docs, key=lambda d: (*keys[d], where[d]))


def listing_floor(p: HybridParams, mean: float, std: float) -> float:
    """The cosine a passage found by meaning alone must reach to be listed."""
    return max(p.min_cosine, mean + p.min_z * std)


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
    coverage: dict[int, float] | None = None,
    exact: set[int] | None = None,
    hidden: np.ndarray | None = None,
    anchored: bool = True,
    place: Place | None = None,
) -> Fused:
    """Re-rank `order` (documents by lexical score, best first) by meaning as well.

    Updates `scores` in place to the fused scores. `mode` "semantic" ranks by cosine
    alone (still within the query's hard constraints); "hybrid" fuses. `bring_in=False`
    re-ranks the lexical candidates only: a query that asks for word forms (`memry~`,
    `consolid*`) wants passages holding such a word, not passages that merely mean
    something alike. `coverage`: each lexical candidate's share of the query's idf mass;
    `exact`: the passages holding every identifier of the query (None: it has none);
    `hidden`: per document, True for copies never to list. `anchored=False` (no word of
    the query is in the vault: a hash, an ID, a word the notes never use) lists nothing
    by meaning alone: what it would list is the model's guess at an unknown string.
    `place`: each document's place in the vault, which decides ties (None: its number).
    """
    p = side.params
    if mode == "semantic":
        need = max(want * 3, p.vector_pool, 100)
    else:  # the vector top, and the best admissible cosine (closeness's top)
        need = p.vector_pool if bring_in else 1
    sims, mean, std = _similarities(side, text, n_docs, within, exclude, hidden, need,
                                    [] if mode == "semantic" else order[: p.lexical_pool])
    floor = listing_floor(p, mean, std) if anchored else np.inf
    if mode == "semantic":
        ranked = _top(sims, max(want * 3, p.vector_pool, 100), floor, place)
        parts = {}
        for d in ranked:
            cos = float(sims[d])
            scores[d] = cos
            parts[d] = SemanticPart(0.0, 0.0, cos, cos, 1.0, cos)
        for d in [d for d in scores if d not in parts]:
            del scores[d]
        return Fused(ranked, parts, len(ranked))

    lexical = order[: p.lexical_pool]
    lexset = set(order)
    found = ([d for d in _top(sims, p.vector_pool, floor, place) if d not in lexset]
             if bring_in else [])
    candidates = [*lexical, *found]
    if not candidates:
        return Fused(order, {})
    best = max((scores.get(d, 0.0) for d in lexical), default=0.0) or 1.0
    # How strong the words are, in absolute terms: what the best lexical passage holds of
    # the query (its idf share), not merely that it is the best there is.
    strength = 1.0
    if coverage and lexical and p.coverage_power > 0:
        strength = float(coverage.get(lexical[0], 1.0)) ** p.coverage_power
    cos = np.array([sims[d] for d in candidates], dtype=np.float64)
    known = np.isfinite(cos)
    closeness = np.zeros(len(candidates))
    if known.any():
        if p.closeness == "minmax":
            lo, hi = cos[known].min(), cos[known].max()
        else:  # against the vault: the query's mean cosine is 0, its best passage 1
            lo, hi = mean, max(float(sims.max()), cos[known].max())
        span = hi - lo
        closeness[known] = np.clip((cos[known] - lo) / span, 0.0, 1.0) if span > 1e-9 else 1.0
        # A passage not embedded yet (vectors still being made) is neither helped nor
        # hurt: it gets the candidates' mean closeness.
        closeness[~known] = closeness[known].mean()
    parts = {}
    for i, d in enumerate(candidates):
        lex = scores.get(d, 0.0)
        share = lex / best * _strength(p, coverage, d, strength)
        fused = share + p.weight * float(closeness[i])
        scores[d] = fused
        parts[d] = SemanticPart(
            lex, share, float(cos[i]) if known[i] else None, float(closeness[i]), p.weight,
            fused, exact is not None and d in exact,
        )
    # Identifiers first: a passage holding the `sshd_config` asked for outranks every
    # passage found by meaning alone (one that ranks above the last holder is placed just
    # after it). Then equal fused scores: the passage holding more of the query's words.
    rank_as = dict(scores)
    held = [scores[d] for d in candidates if parts[d].exact] if p.exact_first else []
    if held:
        lowest = min(held)
        for d in candidates:
            if not parts[d].lexical and not parts[d].exact:
                rank_as[d] = min(scores[d], lowest)
    head = _sorted(candidates, lambda d: (
        -rank_as[d], not parts[d].exact, -scores[d], -parts[d].lexical_share), place)
    chosen = set(candidates)
    rest = [d for d in order[p.lexical_pool :] if d not in chosen]
    for d in rest:
        scores[d] = scores[d] / best * _strength(p, coverage, d, strength)
    return Fused(head + rest, parts, len(found))


def _strength(p: HybridParams, coverage: dict[int, float] | None, d: int, best: float) -> float:
    """The factor on a passage's lexical share (see HybridParams.coverage_of)."""
    if p.coverage_of != "passage" or not coverage or p.coverage_power <= 0:
        return best
    return float(coverage.get(d, 0.0)) ** p.coverage_power


def query_text(concepts: Sequence[Any]) -> str:
    """What of a query is embedded: the words it ranks by (its concepts' labels), as
    typed, in order, without operators, field filters or excluded words (those are
    constraints, not meaning). One definition: the cold path starts embedding this text
    before the search asks for it, so both must agree."""
    return " ".join(dict.fromkeys(c.label for c in concepts if c.label)).strip()
