"""The on-disk Whoosh index of a vault: schema, build, incremental update, status.

All Whoosh use lives here and in `search.py`, so a later engine change stays local.
"""

from __future__ import annotations

from typing import Any

from whoosh import fields
from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.lang import stemmer_for_language
from whoosh.support.charset import accent_map

from .chunker import Chunk

# Bump when the fields below change: an index with another version is rebuilt.
SCHEMA_VERSION = 1


def text_analyzer() -> Any:
    # Snowball, not Whoosh's default Porter: the latter never undoubles consonants
    # ("running" -> "runn"), see ../shared/research/whoosh.md §1.3 B.
    return StemmingAnalyzer(stemfn=stemmer_for_language("en")) | CharsetFilter(accent_map)


def build_schema() -> fields.Schema:
    ana = text_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        source=fields.ID(stored=True, sortable=True),  # note path; collapse/delete key
        title=fields.TEXT(analyzer=ana, stored=True),
        aliases=fields.TEXT(analyzer=ana, stored=True),
        headings=fields.TEXT(analyzer=ana, stored=True),  # heading path + callout title
        body=fields.TEXT(analyzer=ana, stored=True, chars=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        kind=fields.ID(stored=True),
        callout=fields.ID(stored=True),  # callout type, lower-case
        video=fields.ID(stored=True),
        timestamp=fields.NUMERIC(int, stored=True),  # seconds of the first timestamp
        line=fields.NUMERIC(int, stored=True),
        mtime=fields.NUMERIC(int, stored=True, sortable=True),  # note mtime, seconds
        ordinal=fields.STORED,
        heading_path=fields.STORED,  # list of headings
        callout_title=fields.STORED,
        line_end=fields.STORED,
        anchor=fields.STORED,
        slug=fields.STORED,
        timestamps=fields.STORED,  # list of [seconds, offset in body]
        links=fields.STORED,
    )


def chunk_document(chunk: Chunk) -> dict[str, Any]:
    """The Whoosh document for one chunk (fields with no value are left out)."""
    doc: dict[str, Any] = {
        "id": chunk.id,
        "source": chunk.path,
        "title": chunk.title,
        "headings": " \n".join(
            [*chunk.heading_path, *([chunk.callout_title] if chunk.callout_title else [])]
        ),
        "body": chunk.text,
        "kind": chunk.kind,
        "line": chunk.line_start,
        "mtime": chunk.mtime_ns // 1_000_000_000,
        "ordinal": chunk.ordinal,
        "heading_path": list(chunk.heading_path),
        "line_end": chunk.line_end,
        "anchor": chunk.anchor,
        "slug": chunk.slug,
        "timestamps": [list(t) for t in chunk.timestamps],
        "links": list(chunk.links),
    }
    if chunk.aliases:
        doc["aliases"] = "\n".join(chunk.aliases)
    if chunk.tags:
        doc["tags"] = ",".join(t.replace(",", " ") for t in chunk.tags)
    if chunk.callout_type:
        doc["callout"] = chunk.callout_type
        doc["callout_title"] = chunk.callout_title or ""
    if chunk.video_id:
        doc["video"] = chunk.video_id
    if chunk.timestamps:
        doc["timestamp"] = chunk.timestamps[0].seconds
    return doc
