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
from ..errors import InvalidArgumentError
from ..retrieve.arguments import SORTS, FilterValue, _check_search_args
from ..retrieve.results import SearchResults
from ..retrieve.search import DEFAULT_PER_NOTE, search

if TYPE_CHECKING:  # annotations only: api.py imports this module
    from .api import SearchIndex


class MultiResults(SearchResults):
    """`search_many`'s page: `SearchResults` plus `vaults`, the vault of each passage."""

    vaults: tuple[Path, ...] = ()


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
    **filters: FilterValue | None,
) -> MultiResults:
    """One ranked list over several indexes, as if their vaults were one: the segments of
    all of them are searched together, so word rarity, passage lengths and so scores are
    on one scale. Each passage's vault is in `.vaults`; its links name that vault.

    A note path found in two vaults counts as one note for `per_note`.
    """
    from whoosh.reading import MultiReader
    from whoosh.searching import Searcher

    if not indexes:
        raise InvalidArgumentError("search_many needs at least one index")
    clean = _check_search_args(query, limit, offset, per_note, filters)
    if sort not in SORTS:
        raise InvalidArgumentError(f"sort={sort!r}; use one of: {', '.join(SORTS)}")
    leaves: list[Any] = []
    spans: list[tuple[int, int, Path]] = []  # docnums [start, end) of each vault
    base = 0
    for ix in indexes:
        searcher, opened = ix._searcher()
        vault = ix._vault or Path(opened.meta.vault)
        start = base
        for leaf, _offset in searcher.reader().leaf_readers():
            leaves.append(leaf)
            base += leaf.doc_count_all()
        spans.append((start, base, vault))
    # The leaves stay owned by each index's searcher: this searcher must not close them.
    combined = Searcher(MultiReader(leaves), closereader=False)
    # A passage copied into several notes of one vault is one result; the same notes in
    # two vaults are two (retrieve/postings.py reads these ranges).
    combined.vault_spans = [(lo, hi) for lo, hi, _v in spans]
    results = search(
        combined, query, vault_name=_PLACEHOLDER_VAULT, limit=limit, offset=offset,
        per_note=per_note, filters=clean or None, explain=explain, sort=sort,
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
    return out
