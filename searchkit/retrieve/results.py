"""What a search returns: `Passage` (one ranked passage, its snippet and links) and
`SearchResults` (a page of them with totals, suggestion and correction). Plain data: the
`--json`, HTTP and MCP shapes are their `to_dict()`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .links import Links


@dataclass(frozen=True)
class Passage:
    """One ranked passage, with everything needed to show and open it."""

    rank: int  # 1-based, counting from the first result of the whole search (offset included)
    score: float
    id: str  # chunk id
    path: str  # vault-relative note path
    title: str
    heading_path: tuple[str, ...]
    kind: str  # intro | section | callout
    callout_type: str | None
    callout_title: str | None
    line: int  # first line of the passage (its heading line), 1-based
    snippet: str  # a few sentences around the best match, plain text
    snippet_marked: str  # the same text HTML-escaped, matches in <mark>…</mark>
    highlights: tuple[tuple[int, int], ...]  # (start, end) match spans in `snippet`
    timestamp: int | None  # seconds: the video timestamp nearest the best match
    tags: tuple[str, ...]
    links: Links
    explanation: str | None = None  # only with explain=True: the score breakdown as text
    # The same breakdown structured: {"score", "parts": [{"word", "points"}],
    # "factors": [{"name", "value"}], "text"}.
    explanation_data: dict[str, Any] | None = None
    # The passage's document number in the searcher that found it (not in `to_dict`: it
    # changes as the index does); -1 when unknown. Maps a result of a search of several
    # indexes back to its own (api.search_many).
    docnum: int = field(default=-1, compare=False)
    # The other notes holding this very passage (same title, headings and text, e.g. a
    # page copied into version folders): shown once, here, instead of once per copy.
    also_in: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with stable keys (tuples as lists, links as an object)."""
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "heading_path": list(self.heading_path),
            "kind": self.kind,
            "callout_type": self.callout_type,
            "callout_title": self.callout_title,
            "line": self.line,
            "snippet": self.snippet,
            "snippet_marked": self.snippet_marked,
            "highlights": [list(s) for s in self.highlights],
            "timestamp": self.timestamp,
            "tags": list(self.tags),
            "links": {
                "file": self.links.file,
                "obsidian": self.links.obsidian,
                "web": self.links.web,
                "video": self.links.video,
            },
            "also_in": list(self.also_in),
            "explanation": self._explanation_dict(),
        }

    def _explanation_dict(self) -> dict[str, Any] | None:
        if self.explanation_data is not None:
            return self.explanation_data
        if self.explanation is None:
            return None
        # A passage with no score to break down (a filters-only search).
        return {"score": round(self.score, 4), "parts": [], "factors": [],
                "text": self.explanation}


class SearchResults(list):  # list[Passage]
    """The passages of one results page plus facts about the whole search."""

    def __init__(
        self,
        passages: Sequence[Passage] = (),
        *,
        query: str = "",
        total: int = 0,
        suggestion: str | None = None,
        offset: int = 0,
        total_exact: bool = True,
        available: int | None = None,
        corrected: Sequence[tuple[str, str]] = (),
        empty_filters: Sequence[str] = (),
        filters_empty_alone: bool = False,
    ) -> None:
        super().__init__(passages)
        # Nothing passed the filters: the ones that match no passage on their own (as
        # `path:x`, `tag:y`), or, when `filters_empty_alone` is False, all of them (each
        # matches something, together nothing).
        self.empty_filters = tuple(empty_filters)
        self.filters_empty_alone = filters_empty_alone
        self.query = query
        # Matching passages, before the per-note cap: exact when `total_exact`, else a
        # lower bound (filter-only searches sorted by date stop counting early).
        self.total = total
        self.total_exact = total_exact
        # How many results the whole search can show (after the per-note cap), when known:
        # there is a next page exactly when offset + len(self) < available.
        self.available = available
        self.suggestion = suggestion  # "did you mean": set when a word is not in the index
        # (typed word, correction) for each unknown word that was searched as its correction
        self.corrected = tuple(corrected)
        self.offset = offset
        # Search by meaning, when it took part: {"mode", "embedded", "passages", "share"}
        # (share < 1 while vectors are still being made); None for words alone.
        self.semantic: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"SearchResults({list.__repr__(self)}, query={self.query!r}, total={self.total}, "
            f"total_exact={self.total_exact}, suggestion={self.suggestion!r}, "
            f"offset={self.offset})"
        )
