"""What scoring reads from the index, fast: per-searcher statistics and posting lists.

`stats_for(searcher)` gives one `_Stats` per reader: field length codes, hub shares and
note keys read as raw column bytes, average field lengths, norm tables, and the decoded
posting lists (`_postings` decodes Whoosh's W3 blocks with numpy). Columns and postings
are cached once for every searcher of the same segments. Apart from ranking.py because
this is index access and cache keeping (Whoosh internals, locks, memory bounds), while
ranking.py holds the scoring rules that use it.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

SCORED_FIELDS = ("title", "aliases", "headings", "body", "meta")
# Decoded postings kept, for all searchers (12 bytes each as arrays: 2M is ~24 MB).
CACHED_POSTINGS = 2_000_000
NOTE_COLUMN = "notekey"  # per passage: a 64-bit key of its note (schema.note_key)
# Per passage: the 64-bit key of its embedded text (title, headings, text; 0 for none).
# Equal keys are the same passage written twice (a page copied into version folders).
EKEY_COLUMN = "ekey"


# --- per-searcher statistics -------------------------------------------------------------


def _numpy() -> Any:
    # numpy loads with the first search, not with `import searchkit.api` (cold start).
    import numpy

    return numpy


class _Segment:
    __slots__ = ("count", "key", "offset", "reader")

    def __init__(self, reader: Any, offset: int, count: int, key: Any):
        self.reader = reader
        self.offset = offset
        self.count = count
        self.key = key  # the same for every reader of this segment in this state


def _segment_key(reader: Any, folder: str) -> Any:
    """What identifies a segment's content: its index folder and id (Whoosh never rewrites
    a segment) and its deletions (they only grow, so their count tells them apart)."""
    seg = getattr(reader, "_segment", None)
    if seg is None:
        return ("reader", id(reader))
    return (folder, seg.segment_id(), seg.deleted_count(), reader.doc_count_all())


# Decoded postings and columns are shared by every searcher of the same segments: the
# threads of a server each have their own searcher (Whoosh's are not thread-safe), and a
# copy per thread made `serve` grow with its threads. Postings are kept most recently
# used last, across generations (an update leaves old segments as they were).
_SHARED_LOCK = threading.Lock()
_POSTINGS: OrderedDict[tuple[Any, str, bytes], tuple[Any, Any]] = OrderedDict()
_POSTINGS_HELD = [0]
_COLUMNS: OrderedDict[tuple[Any, str], Any] = OrderedDict()
SHARED_COLUMNS = 16  # column arrays kept (per segment set and column)


class _Stats:
    """Per-searcher statistics over every passage (global document numbers): field length
    codes (Whoosh's one-byte codes), hub shares and note keys, each read as raw column
    bytes the first time a search needs it (a per-document lookup through Whoosh's column
    API cost ~280 ms per searcher on tubegraph, the raw read a few ms), and the decoded
    posting lists; both shared with other searchers of the same segments."""

    def __init__(self, searcher: Any) -> None:
        self.n = max(1, searcher.doc_count_all())
        folder = str(getattr(getattr(getattr(searcher, "_ix", None), "storage", None),
                             "folder", ""))
        self.segments: list[_Segment] = []
        for sub, offset in searcher.subsearchers or [(searcher, 0)]:
            reader = sub.reader()
            count = reader.doc_count_all()
            self.segments.append(_Segment(reader, offset, count, _segment_key(reader, folder)))
        self.ndocs = sum(s.count for s in self.segments)
        self._key = tuple(seg.key for seg in self.segments)
        # Document ranges of the vaults of a search over several (api.search_many sets
        # `vault_spans` on its searcher): copies are looked for within one vault only.
        self.spans: list[tuple[int, int]] = list(
            getattr(searcher, "vault_spans", None) or [(0, self.ndocs)]
        )
        self._searcher_lengths = {f: searcher.field_length(f) or 0 for f in SCORED_FIELDS}
        self._avg: dict[str, float] | None = None
        self._norms: dict[tuple[str, float, float], Any] = {}
        self._notes: list[Any] | None = None
        self._lock = threading.Lock()
        self.memo: dict[Any, Any] = {}  # small per-searcher results (path filters)

    def remember(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self.memo) >= 64:
                self.memo.pop(next(iter(self.memo)))
            self.memo[key] = value

    def column(self, name: str) -> Any:
        """A per-passage column over every segment as one numpy array (global docnums):
        `_<field>_len` length codes and `hub` shares (uint8), `notekey` (uint64)."""
        key = (self._key, name)
        with _SHARED_LOCK:
            got = _COLUMNS.get(key)
            if got is not None:
                _COLUMNS.move_to_end(key)
                return got
        np = _numpy()
        if name == NOTE_COLUMN:
            parts = [_note_keys(seg.reader, seg.count) for seg in self.segments]
            dtype = np.uint64
        elif name == EKEY_COLUMN:
            parts = [_text_keys(seg.reader, seg.count) for seg in self.segments]
            dtype = np.uint64
        elif name == DUPLICATE_COLUMN:
            keys = self.column(EKEY_COLUMN)
            parts = [_duplicates(np, keys[lo:hi], self.place_of, lo) for lo, hi in self.spans]
            dtype = bool
        elif name == PLACE_COLUMN:
            parts = [self._places(np)]
            dtype = np.int64
        else:
            parts = [
                np.frombuffer(_column_bytes(seg.reader, name, seg.count), np.uint8)
                for seg in self.segments
            ]
            dtype = np.uint8
        got = np.concatenate(parts) if parts else np.zeros(0, dtype)
        with _SHARED_LOCK:
            _COLUMNS[key] = got
            while len(_COLUMNS) > SHARED_COLUMNS:
                _COLUMNS.popitem(last=False)
        return got

    def _places(self, np: Any) -> Any:
        """Each passage's place in the vault (PLACE_COLUMN): its note's rank in the order
        the vault is scanned (`_scan_key`), then its document number (a note's passages
        are written together, in order, so that is their order in the note)."""
        notes = self.column(NOTE_COLUMN)
        docs = np.arange(len(notes), dtype=np.int64)
        if not len(notes):
            return docs
        by_note = np.argsort(notes, kind="stable")
        sorted_notes = notes[by_note]
        starts = np.flatnonzero(np.concatenate(([True], sorted_notes[1:] != sorted_notes[:-1])))
        opens = np.zeros(len(notes), np.int64)
        opens[starts] = 1
        group = np.empty(len(notes), np.int64)
        group[by_note] = np.cumsum(opens) - 1
        paths = self._sources_at(by_note[starts])
        ranked = sorted(range(len(paths)), key=lambda i: _scan_key(paths[i]))
        rank = np.empty(len(paths), np.int64)
        rank[ranked] = np.arange(len(paths), dtype=np.int64)
        return (rank[group] << 32) | docs

    def _sources_at(self, docs: Any) -> list[str]:
        """The note path of each of `docs` (global document numbers, int64)."""
        out: list[str] = [""] * len(docs)
        for seg in self.segments:
            at = ((docs >= seg.offset) & (docs < seg.offset + seg.count)).nonzero()[0]
            if len(at):
                paths = _sources(seg.reader, (docs[at] - seg.offset).tolist())
                for i, path in zip(at.tolist(), paths, strict=True):
                    out[i] = path
        return out

    def place_of(self, docs: Any) -> Any:
        """Where each of `docs` stands in the vault's order (PLACE_COLUMN), as numbers to
        compare among these `docs` only: what decides between equal scores and which copy
        of a passage is shown, whatever the segments are. A few documents are placed from
        their own paths (a cold search need not read every passage's path for a tie)."""
        np = _numpy()
        docs = np.asarray(docs, dtype=np.int64)
        with _SHARED_LOCK:
            known = (self._key, PLACE_COLUMN) in _COLUMNS
        if known or len(docs) > PLACED_APART:
            return self.column(PLACE_COLUMN)[docs]
        keys = [_scan_key(p) for p in self._sources_at(docs)]
        numbers = docs.tolist()
        order = sorted(range(len(numbers)), key=lambda i: (keys[i], numbers[i]))
        out = np.empty(len(numbers), np.int64)
        out[order] = np.arange(len(numbers), dtype=np.int64)
        return out

    @property
    def avg(self) -> dict[str, float]:
        # Average length over the passages that have the field: Whoosh divides by every
        # passage, which makes a sparse field (aliases, headings of notes without any)
        # look short on average and every real value look long.
        if self._avg is None:
            np = _numpy()
            avg: dict[str, float] = {}
            for f in SCORED_FIELDS:
                having = int(np.count_nonzero(self.column(f"_{f}_len")))
                total = self._searcher_lengths[f]
                avg[f] = (total / having) if having and total else 1.0
            self._avg = avg
        return self._avg

    def postings(self, seg: _Segment, fieldname: str, bterm: bytes) -> tuple[Any, Any]:
        """(segment-local docnums int64, weights float32) of one term, as numpy arrays."""
        key = (seg.key, fieldname, bterm)
        with _SHARED_LOCK:
            hit = _POSTINGS.get(key)
            if hit is not None:
                _POSTINGS.move_to_end(key)
                return hit
        value = _postings(seg.reader, fieldname, bterm)
        with _SHARED_LOCK:
            if key not in _POSTINGS:
                _POSTINGS[key] = value
                _POSTINGS_HELD[0] += len(value[0])
            while _POSTINGS_HELD[0] > CACHED_POSTINGS and len(_POSTINGS) > 1:
                _, (old, _w) = _POSTINGS.popitem(last=False)
                _POSTINGS_HELD[0] -= len(old)
        return value

    def notes(self, searcher: Any) -> list[Any]:
        """The note (source path) of every passage, by document number, read once (path
        filters only: ranking and the per-note cap use the `notekey` column)."""
        if self._notes is None:
            notes: list[Any] = []
            for seg in self.segments:
                notes.extend(_source_column(seg.reader))
            self._notes = notes
        return self._notes

    def norm_table(self, fieldname: str, weight: float, b: float) -> Any:
        """weight / (1 - b + b * len / avg) for each of the 256 length codes (float64)."""
        key = (fieldname, weight, b)
        table = self._norms.get(key)
        if table is None:
            from whoosh.util.numeric import byte_to_length

            avg = self.avg.get(fieldname) or 1.0
            table = _numpy().array(
                [weight / (1 - b + b * byte_to_length(c) / avg) for c in range(256)]
            )
            self._norms[key] = table
        return table


def _column_bytes(reader: Any, column: str, count: int) -> bytes:
    """A one-byte-per-document column of a segment as bytes (zeros when absent)."""
    perdoc = getattr(reader, "_perdoc", None)
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN

        creader = perdoc._cached_reader(column, LENGTHS_COLUMN) if perdoc is not None else None
    except Exception:  # an older codec or a column that cannot be read: neutral values
        creader = None
    if creader is None:
        return bytes(count)
    try:
        raw = creader._dbfile.get(creader._basepos, creader._count)
    except AttributeError:
        raw = bytes(creader[i] for i in range(count))
    return bytes(raw[:count]).ljust(count, b"\0")


# Derived per passage: True for a live passage whose text key an earlier live passage
# (by PLACE_COLUMN) has too. Such a passage is shown once, as its first copy.
DUPLICATE_COLUMN = "_duplicate"
# Derived per passage (int64): its place in the vault, the order in which a one-writer
# build writes it (the note's rank in scan order, then the passage's order in the note).
# Ties and duplicates are decided by it, never by the document number: which segment a
# note landed in (two writer processes, incremental updates, merges) must not change a
# result.
PLACE_COLUMN = "_place"


def _scan_key(path: str) -> str:
    """A key that sorts note paths in the order `ingest.notes.scan_vault` yields them:
    folder by folder, a folder's notes (by name) before its subfolders (by name), depth
    first. Each folder is marked 2 and the note's name 1, each part ended by NUL (which
    no name holds, so a name sorts before the longer names it begins)."""
    folder, _, name = path.rpartition("/")
    return ("\x02" + folder.replace("/", "\x00\x02") + "\x00" if folder else "") + "\x01" + name


# Up to this many documents are placed from their own paths; more, from the whole column.
PLACED_APART = 4096


def _text_keys(reader: Any, count: int) -> Any:
    """The `ekey` column of one segment (little-endian on disk), 0 for deleted passages
    (so a deleted copy never stands for a live one)."""
    out = _u64_column(reader, EKEY_COLUMN, count, "little")
    if reader.has_deletions():
        dead = [d for d in _segment_deleted(reader) if d < count]
        out[dead] = 0
    return out


def _segment_deleted(reader: Any) -> list[int]:
    segment = getattr(reader, "segment", None)
    if segment is not None:
        try:
            return list(segment().deleted_docs())
        except (AttributeError, NotImplementedError, TypeError):
            pass
    return [d for d in range(reader.doc_count_all()) if reader.is_deleted(d)]


def _duplicates(np: Any, keys: Any, place: Any, offset: int) -> Any:
    """True for every passage of `keys` (one vault's, from global document `offset`) but
    the first of each text key by place (`place(docs)`: their places, `_Stats.place_of`)."""
    dup = np.zeros(len(keys), bool)
    have = np.flatnonzero(keys)
    if len(have) < 2:
        return dup
    by_key = np.argsort(keys[have], kind="stable")
    k = keys[have][by_key]
    repeated = np.flatnonzero(k[1:] == k[:-1])
    if not len(repeated):
        return dup
    # Only the passages with copies need their places.
    member = np.zeros(len(k), bool)
    member[repeated] = member[repeated + 1] = True
    members = np.flatnonzero(member)
    docs = have[by_key[members]]
    order = np.lexsort((place(docs + offset), keys[docs]))
    docs, mk = docs[order], keys[docs][order]
    dup[docs[1:][mk[1:] == mk[:-1]]] = True
    return dup


def hidden_copies(searcher: Any, within: Any = None, among: Any = None) -> Any:
    """Per passage, True for a copy that is not shown: every passage holding the same text
    as one before it by place (`DUPLICATE_COLUMN`), among the passages `within` (the
    query's filters) and `among` (sorted document numbers: the passages the words matched)
    when given. A filter that keeps only one version folder then shows that folder's copy,
    not nothing because another folder's comes first; and a cold search places only the
    copies among its matches, not every passage of the vault (~0.4 s at 740k passages)."""
    st = stats_for(searcher)
    if within is None and among is None:
        return st.column(DUPLICATE_COLUMN)
    np = _numpy()
    keys = st.column(EKEY_COLUMN)
    hidden = np.zeros(len(keys), bool)
    if among is not None:
        docs = np.array(among, dtype=np.int64)  # a copy: sorted below
        if within is not None:
            docs = docs[np.isin(docs, np.fromiter(within, np.int64, len(within)))]
    else:
        docs = np.fromiter((d for d in within if 0 <= d < len(keys)), np.int64)
    docs = docs[(docs >= 0) & (docs < len(keys))]
    if len(docs) < 2:
        return hidden
    docs.sort()
    for lo, hi in st.spans:  # copies are looked for within one vault only
        part = docs[(docs >= lo) & (docs < hi)]
        if len(part) > 1:
            sub = keys[part]
            dup = _duplicates(np, sub, lambda d, part=part: st.place_of(part[d]), 0)
            hidden[part[dup]] = True
    return hidden


def copies_of(searcher: Any, docnum: int) -> list[int]:
    """The other live passages with the same text key as `docnum` (none without a key)."""
    np = _numpy()
    st = stats_for(searcher)
    keys = st.column(EKEY_COLUMN)
    if docnum >= len(keys) or not keys[docnum]:
        return []
    lo, hi = next(((a, b) for a, b in st.spans if a <= docnum < b), (0, len(keys)))
    return [lo + int(d) for d in np.flatnonzero(keys[lo:hi] == keys[docnum]) if lo + d != docnum]


def _note_keys(reader: Any, count: int) -> Any:
    """The `notekey` column of one segment (big-endian fixed bytes on disk)."""
    return _u64_column(reader, NOTE_COLUMN, count, "big")


def _u64_column(reader: Any, column: str, count: int, order: str) -> Any:
    """An 8-byte fixed column of one segment as uint64, read in one piece (0 when absent)."""
    np = _numpy()
    out = np.zeros(count, np.uint64)
    if not reader.has_column(column):
        return out
    creader = reader.column_reader(column, translate=False)
    try:
        n = min(count, creader._count)
        raw = creader._dbfile.get(creader._basepos, n * 8)
        out[:n] = np.frombuffer(raw, "<u8" if order == "little" else ">u8", n)
    except AttributeError:  # another column implementation: value by value
        for i in range(count):
            out[i] = int.from_bytes(creader[i], order) if creader[i] else 0  # type: ignore[arg-type]
    return out


def _sources(reader: Any, local: list[int]) -> list[str]:
    """The note paths of some passages of one segment (segment-local numbers)."""
    creader = reader.column_reader("source", translate=False)
    try:
        lengths = _numpy().asarray(creader._lengths, dtype=_numpy().int64)
        ends = lengths.cumsum()
        ends_at, sizes = ends[local].tolist(), lengths[local].tolist()
        get, base = creader._dbfile.get, creader._basepos
        if len(local) * 8 < len(lengths):  # a few: each read on its own
            return [str(get(base + e - n, n), "utf-8") for e, n in zip(ends_at, sizes, strict=True)]
        data = get(base, int(ends[-1]) if len(ends) else 0)
        return [str(data[e - n : e], "utf-8") for e, n in zip(ends_at, sizes, strict=True)]
    except AttributeError:  # another column type: its own reader
        out = [creader[d] for d in local]
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in out]


def _source_column(reader: Any) -> list[str]:
    """Every passage's note path in one segment. The column's bytes are read in one piece
    and cut by its length array: Whoosh's reader fetches each value from the file
    separately (~45 ms for 73k passages, a fifth of a cold `searchkit search`)."""
    creader = reader.column_reader("source", translate=False)
    try:
        lengths = creader._lengths
        base = creader._basepos
        data = bytes(creader._dbfile.get(base, sum(lengths)))
        out = []
        pos = 0
        for n in lengths:
            out.append(data[pos : pos + n].decode("utf-8"))
            pos += n
        return out
    except AttributeError:  # another column type: its own reader, value by value
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in creader]


_STATS: weakref.WeakKeyDictionary[Any, _Stats] = weakref.WeakKeyDictionary()
_STATS_LOCK = threading.Lock()


def stats_for(searcher: Any) -> _Stats:
    # Keyed by the reader: a refreshed searcher gets new statistics, a reused one keeps them.
    key = searcher.reader()
    with _STATS_LOCK:
        st = _STATS.get(key)
    if st is None:
        st = _Stats(searcher)
        with _STATS_LOCK:
            _STATS[key] = st
    return st


# --- postings ----------------------------------------------------------------------------


def _postings(reader: Any, fieldname: str, btext: bytes) -> tuple[Any, Any]:
    """Document numbers (int64) and weights (float32) of one term in one segment.

    Whoosh's matcher interface costs a few method calls per posting; its W3 blocks hold
    (delta-coded) ids and weights as arrays, decoded here a block at a time with numpy.
    Deleted documents (Whoosh filters them with a wrapper matcher) are dropped at the end.
    """
    np = _numpy()
    if (fieldname, btext) not in reader:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    m = reader.postings(fieldname, btext)
    deleted = None
    child = getattr(m, "child", None)
    if (not hasattr(m, "_next_block") and hasattr(child, "_next_block")
            and getattr(m, "_exclude", False)):
        deleted, m = m._ids, child  # the segment's deleted documents, left out below
    if not hasattr(m, "_next_block"):  # another codec: the plain matcher interface
        ids: list[int] = []
        weights: list[float] = []
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
        return np.array(ids, np.int64), np.array(weights, np.float32)
    id_parts = []
    weight_parts = []
    while m.is_active():
        if m._data is None:
            m._read_data()
        raw_ids, raw_weights = m._data[0], m._data[1]
        block = np.asarray(raw_ids, np.int64)
        id_parts.append(block if m._byteids else np.cumsum(block))
        count = m._blocklength
        if raw_weights is None:
            weight_parts.append(np.ones(count, np.float32))
        elif isinstance(raw_weights, float):
            weight_parts.append(np.full(count, raw_weights, np.float32))
        else:
            weight_parts.append(np.asarray(raw_weights, np.float32))
        m._next_block()
    ids_a = np.concatenate(id_parts) if id_parts else np.zeros(0, np.int64)
    ws_a = np.concatenate(weight_parts) if weight_parts else np.zeros(0, np.float32)
    if deleted:
        keep = ~np.isin(ids_a, np.fromiter(deleted, np.int64, len(deleted)), kind="table")
        ids_a, ws_a = ids_a[keep], ws_a[keep]
    return ids_a, ws_a


def positions_at(matchers: list[Any], doc: int, cap: int) -> list[list[int]] | None:
    """The positions (at most `cap` each) of every matcher's term in `doc`, advancing the
    matchers to it; None when one of them does not hold it. Matchers move forward only, so
    callers visit documents in ascending order."""
    import itertools

    positions = []
    for m in matchers:
        if m.is_active() and m.id() < doc:
            m.skip_to(doc)
        if not m.is_active() or m.id() != doc:
            return None
        positions.append(list(itertools.islice(m.value_as("positions"), cap)))
    return positions
