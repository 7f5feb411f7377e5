"""The Whoosh schema of a passage: its fields, the text analyzer, and the document each
chunk becomes. Kept apart from `index.py` (which builds and updates indexes) because the
search side needs the analyzer and the schema version without the writing machinery."""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any

from whoosh import columns, fields
from whoosh.analysis import (
    STOP_WORDS,
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.support.charset import accent_map

from ..embed.text import passage_text, text_key

if TYPE_CHECKING:  # the search side imports this module without the chunker
    from ..ingest.chunker import Chunk
    from ..ingest.notes import Note

# Bump when the fields below change: an index with another version is rebuilt.
# 2: note_mtime_ns/note_size/note_hash stored on every chunk (manifest recovery).
# 3: numbers without range tiers; `line` stored only.
# 4: C++/C#/.NET and one-letter words kept; PyStemmer; `hub` column (link share).
# 5: `headings` leaves out a first heading that repeats the title.
# 6: the analyzer's stem function lives in schema.py (Whoosh pickles it by module path).
# 7: `body` without character offsets (positions only): snippets re-analyse the text.
# 8: modules moved into stage folders: the stem function is now
#    `searchkit.store.schema.stem_word`, and an index pickled with the old path cannot load.
# 9: `notekey` column (64 bits of a hash of the note path) for the per-note cap.
# 10: `ekey` column, the key of each passage's vector (the semantic layer).
# 11: `created` (frontmatter date/created, else the note's mtime), for --after/--before/--sort.
# 12: `meta`, the note's other frontmatter values as words (a videoId, a Module GUID).
SCHEMA_VERSION = 12

# Whoosh's word pattern, preceded by the programming-language names it would cut to one
# letter or drop (`C++` -> `c`, `.NET` -> `net`, `F#` -> `f`).
_TOKEN_PATTERN = r"(?i:(?<![\w.])\.net\b|\b[a-z]\+\+|\b[a-z]#(?![\w#]))|\w+(?:\.?\w+)*"
# Whoosh's stop words, less the ones that are also names people search for (the US, Will,
# May). Question and function words stay indexed and are weighed down at query time
# (ranking.FUNCTION_WORDS).
_STOP_WORDS = frozenset(STOP_WORDS - {"us", "will", "may"})

_stemmers = threading.local()


def stem_word(word: str) -> str:
    """Snowball English, from PyStemmer (C): 1.45x faster analysis than Whoosh's pure
    Python Snowball, same stems for 99.6% of words. A stemmer object per thread, because
    PyStemmer's are not thread-safe; a module function, because the analyzer is pickled
    into writer processes."""
    stemmer = getattr(_stemmers, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


def text_analyzer() -> Any:
    # Snowball, not Whoosh's default Porter: the latter never undoubles consonants
    # ("running" -> "runn"), see ../shared/research/whoosh.md §1.3 B. Minimum length 1:
    # "R" in "what does the R in RWKV stand for" and "1" in "top 1%" are what is asked.
    return (
        RegexTokenizer(_TOKEN_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=_STOP_WORDS, minsize=1)
        | StemFilter(stemfn=stem_word, cachesize=-1)
        | CharsetFilter(accent_map)
    )


def build_schema() -> fields.Schema:
    ana = text_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        source=fields.ID(stored=True, sortable=True),  # note path; collapse/delete key
        title=fields.TEXT(analyzer=ana, stored=True),
        aliases=fields.TEXT(analyzer=ana, stored=True),
        headings=fields.TEXT(analyzer=ana, stored=True),  # heading path + callout title
        meta=fields.TEXT(analyzer=ana),  # the other frontmatter values (ingest.notes)
        # Positions (phrases, proximity) but no character offsets: snippets find their
        # spans by re-analysing the stored text (search._match_spans), so offsets in the
        # postings were never read. Without them: postings -17%, index -9%, build CPU -6%.
        body=fields.TEXT(analyzer=ana, stored=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        kind=fields.ID(stored=True),
        callout=fields.ID(stored=True),  # callout type, lower-case
        video=fields.ID(stored=True),
        # Numbers are indexed at full precision only (shift_step=0): Whoosh's default tiers
        # add ~8 terms per value for fast ranges we never run, and cost 13% of build CPU.
        timestamp=fields.NUMERIC(int, stored=True, shift_step=0),  # first timestamp, s
        line=fields.STORED,  # shown and linked, never searched
        mtime=fields.NUMERIC(int, stored=True, sortable=True, shift_step=0),  # note mtime, s
        # The note's date, s: frontmatter `date` or `created`, else its mtime.
        created=fields.NUMERIC(int, stored=True, sortable=True, shift_step=0),
        ordinal=fields.STORED,
        # Share of the passage's text that is link labels, 0-255 (ranking.HUB_COLUMN): one
        # byte per passage read straight from the column at query time.
        hub=fields.COLUMN(columns.NumericColumn("B", default=0)),
        # The note of each passage as a number (note_key), read as one array at query time
        # for the per-note cap: reading every passage's path cost ~0.5 s at 90k notes.
        notekey=fields.COLUMN(columns.NumericColumn("Q", default=0)),
        # 64-bit key of the passage's embedded text (embed/text.py): its vector in
        # store/vectors.py, read for every passage at once from the raw column.
        ekey=fields.COLUMN(columns.FixedBytesColumn(8)),
        heading_path=fields.STORED,  # list of headings
        callout_title=fields.STORED,
        line_end=fields.STORED,
        anchor=fields.STORED,
        slug=fields.STORED,
        timestamps=fields.STORED,  # list of [seconds, offset in body]
        links=fields.STORED,
        # The note's record, so the per-note manifest can be rebuilt from the index alone
        # after a crash between a commit and the manifest write.
        note_mtime_ns=fields.STORED,
        note_size=fields.STORED,
        note_hash=fields.STORED,
    )


def note_key(path: str) -> int:
    """The `notekey` of a note: 64 bits of BLAKE2b of its path (never 0, the column's "no
    value"). Two notes sharing a key (odds ~1e-10 at 100k notes) would only share one
    per-note cap."""
    digest = hashlib.blake2b(path.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") or 1


def chunk_document(chunk: Chunk) -> dict[str, Any]:
    """The Whoosh document for one chunk (fields with no value are left out)."""
    doc: dict[str, Any] = {
        "id": chunk.id,
        "source": chunk.path,
        "title": chunk.title,
        "headings": " \n".join(
            [*_own_headings(chunk), *([chunk.callout_title] if chunk.callout_title else [])]
        ),
        "body": chunk.text,
        "kind": chunk.kind,
        "line": chunk.line_start,
        "mtime": chunk.mtime_ns // 1_000_000_000,
        "ordinal": chunk.ordinal,
        "hub": min(255, round(255 * chunk.link_chars / max(1, len(chunk.text)))),
        "notekey": note_key(chunk.path),
        "heading_path": list(chunk.heading_path),
        "line_end": chunk.line_end,
        "anchor": chunk.anchor,
        "slug": chunk.slug,
        "timestamps": [list(t) for t in chunk.timestamps],
        "links": list(chunk.links),
        "ekey": text_key(
            passage_text(chunk.title, chunk.heading_path, chunk.callout_title, chunk.text)
        ).to_bytes(8, "little"),
    }
    if chunk.aliases:
        doc["aliases"] = "\n".join(chunk.aliases)
    if chunk.values:
        doc["meta"] = "\n".join(chunk.values)
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


def _own_headings(chunk: Chunk) -> tuple[str, ...]:
    """The heading path without a first heading that only repeats the note's title (an H1
    the title was taken from, or that restates it): the title field already holds those
    words, and counting them twice made every passage of such a note look like a title
    match."""
    path = chunk.heading_path
    if path and " ".join(path[0].split()).casefold() == " ".join(chunk.title.split()).casefold():
        return path[1:]
    return path


def note_documents(note: Note, chunks: list[Chunk]) -> list[dict[str, Any]]:
    """The Whoosh documents of one note: its chunks plus the note's record on each."""
    created = note_date(note.frontmatter, note.mtime_ns)
    docs = []
    for chunk in chunks:
        doc = chunk_document(chunk)
        doc["note_mtime_ns"] = note.mtime_ns
        doc["note_size"] = note.size
        doc["note_hash"] = note.content_hash
        doc["created"] = created
        docs.append(doc)
    return docs


DATE_KEYS = ("date", "created", "created_at", "creation_date")


def note_date(meta: Any, mtime_ns: int) -> int:
    """Seconds since the epoch of a note's date: its frontmatter `date` or `created` (a
    YAML date, a datetime, or an ISO string, read in local time when it has no zone), else
    its modification time."""
    import datetime as dt

    for key in DATE_KEYS:
        value = meta.get(key) if hasattr(meta, "get") else None
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                continue
        if isinstance(value, dt.datetime):
            return int(value.timestamp())
        if isinstance(value, dt.date):
            return int(dt.datetime(value.year, value.month, value.day).timestamp())
    return mtime_ns // 1_000_000_000
