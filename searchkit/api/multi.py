"""Search several vaults as one: `search_many` and its page, `MultiResults`.

The segments of every index are searched together by one Whoosh searcher, so word
rarity, passage lengths and so scores are on one scale. Apart from api.py because it
works across `SearchIndex` objects rather than inside one; api.py re-exports both names
(`searchkit.api.search_many` is the documented one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

# First: Whoosh is imported without urllib.request and reads segments in place.
from .. import _fastimport  # noqa: F401
from ..errors import IndexNotFoundError, InvalidArgumentError
from ..retrieve.arguments import (
    SORTS,
    FilterValue,
    _check_search_args,
    _deadline_arg,
    check_mode,
)
from ..retrieve.results import SearchResults
from ..retrieve.search import DEFAULT_PER_NOTE, search

if TYPE_CHECKING:  # annotations only: api.py imports this module
    from .api import SearchIndex


class MultiResults(SearchResults):
    """`search_many`'s page: `SearchResults` plus `vaults`, the vault of each passage."""

    vaults: tuple[Path, ...] = ()
    # (vault, why) of each index left out because nothing in it is searchable yet (a first
    # build in progress or interrupted, no index at all): the others were searched.
    skipped: tuple[tuple[Path, str], ...] = ()


_PLACEHOLDER_VAULT = "\x00searchkit-vault\x00"


def search_many(
    indexes: Sequence[SearchIndex],
    query: str,
    limit: int = 10,
    offset: int = 0,
    per_note: int = DEFAULT_PER_NOTE,
    *,
    explain: bool = False,
    sort: str = "score",
    mode: str = "hybrid",
    deadline: float | str | None = "default",
    cancel: Any = None,
    **filters: FilterValue | None,
) -> MultiResults:
    """One ranked list over several indexes, as if their vaults were one: the segments of
    all of them are searched together, so word rarity, passage lengths and so scores are
    on one scale. Each passage's vault is in `.vaults`; its links name that vault.

    A note path found in two vaults counts as one note for `per_note`. `mode` as in
    `SearchIndex.search`: meaning takes part when the indexes' vectors come from one
    model (cosines are then on one scale too); otherwise words alone, or, for "semantic",
    `SemanticUnavailableError`. `deadline` and `cancel` as in `SearchIndex.search`.

    An index with nothing searchable yet (its first build running or interrupted, or no
    index at all) is left out and named in `.skipped` with the reason; when every one is,
    its `IndexNotFoundError` is raised.
    """
    from whoosh.reading import MultiReader
    from whoosh.searching import Searcher

    if not indexes:
        raise InvalidArgumentError("search_many needs at least one index")
    budget = _deadline_arg(deadline, cancel)
    clean = _check_search_args(query, limit, offset, per_note, filters)
    if sort not in SORTS:
        raise InvalidArgumentError(f"sort={sort!r}; use one of: {', '.join(SORTS)}")
    check_mode(mode)
    leaves: list[Any] = []
    spans: list[tuple[int, int, Path]] = []  # docnums [start, end) of each vault
    sides: list[Any] = []
    base = 0
    skipped: list[tuple[Path, str]] = []
    missing: IndexNotFoundError | None = None
    for ix in indexes:
        try:
            searcher, opened = ix._searcher()
        except IndexNotFoundError as exc:
            missing = missing or exc
            skipped.append((ix._vault or ix.index_dir, str(exc)))
            continue
        vault = ix._vault or Path(opened.meta.vault)
        start = base
        for leaf, _offset in searcher.reader().leaf_readers():
            leaves.append(leaf)
            base += leaf.doc_count_all()
        spans.append((start, base, vault))
        sides.append(ix._semantic_side(searcher, mode)[0] if mode != "lexical" else None)
    if not spans and missing is not None:
        raise missing
    # The leaves stay owned by each index's searcher: this searcher must not close them.
    combined = Searcher(MultiReader(leaves), closereader=False)
    # A passage copied into several notes of one vault is one result; the same notes in
    # two vaults are two (retrieve/postings.py reads these ranges).
    combined.vault_spans = [(lo, hi) for lo, hi, _v in spans]
    meaning = _joined_side(sides, spans, mode)
    results = search(
        combined, query, vault_name=_PLACEHOLDER_VAULT, limit=limit, offset=offset,
        per_note=per_note, filters=clean or None, explain=explain, sort=sort,
        semantic=meaning, deadline=budget,
    )
    out = MultiResults(
        [], query=results.query, total=results.total, suggestion=results.suggestion,
        offset=results.offset, total_exact=results.total_exact, available=results.available,
        corrected=results.corrected, empty_filters=results.empty_filters,
        filters_empty_alone=results.filters_empty_alone,
    )
    vaults = []
    placeholder = quote(_PLACEHOLDER_VAULT, safe="")
    for p in results:
        docnum = p.docnum if p.docnum >= 0 else combined.document_number(id=p.id)
        vault = next((v for lo, hi, v in spans if docnum is not None and lo <= docnum < hi),
                     spans[0][2])
        obsidian = p.links.obsidian.replace(placeholder, quote(vault.name, safe=""), 1)
        out.append(replace(p, links=replace(p.links, obsidian=obsidian)))
        vaults.append(vault)
    out.vaults = tuple(vaults)
    out.skipped = tuple(skipped)
    if meaning is not None:
        rows = meaning[0].doc_rows
        out.semantic = {"mode": mode, "embedded": int((rows >= 0).sum()), "passages": len(rows),
                        "share": round(float((rows >= 0).mean()), 4) if len(rows) else 0.0}
    return out


# The last joined vector matrix, by the matrices it joins: several vaults searched again
# and again (a server, an agent) copy their vectors once, not per query.
_JOINED: dict[tuple[int, ...], Any] = {}


def _joined_side(sides: list[Any], spans: list[tuple[int, int, Path]], mode: str) -> Any:
    """One vectors' side over several indexes (document numbers as the combined searcher
    numbers them), or None: words alone."""
    import numpy as np

    from ..errors import SemanticUnavailableError
    from ..retrieve.hybrid import SemanticSide

    present = [s[0] for s in sides if s is not None]
    if mode == "lexical" or not present:
        if mode == "semantic":
            raise SemanticUnavailableError("none of these vaults has vectors to search by meaning")
        return None
    if len({side.dimension for side in present}) > 1:
        if mode == "semantic":
            raise SemanticUnavailableError("these vaults' vectors come from different models")
        return None  # cosines of two models are not on one scale: words alone
    key = tuple((id(side.matrix if side.scan is None else side.scan.codes), side.rows)
                for side in present)
    joined = _JOINED.get(key)
    if joined is None:
        joined = np.vstack([side.full_matrix() for side in present]).astype(np.float32,
                                                                            copy=False)
        _JOINED.clear()
        _JOINED[key] = joined
    rows = np.full(spans[-1][1] if spans else 0, -1, np.int64)
    offset = 0
    for (lo, hi, _v), s in zip(spans, sides, strict=True):
        if s is None:
            continue
        own = s[0].doc_rows[: hi - lo]
        rows[lo : lo + len(own)] = np.where(own >= 0, own + offset, -1)
        offset += s[0].rows
    first = present[0]
    return SemanticSide(rows, joined, first.query_vector, first.params), mode
