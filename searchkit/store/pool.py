"""The postings a segment writer holds until it writes its segment, packed by term.

Whoosh's `PostingPool` keeps one Python tuple per posting, `(field, term, doc, weight,
value)`, and sorts them all at the end: ~200 bytes a posting, 1 GB of RSS for the 4.7M
postings of a 9k-note vault (issue 24). Here each term of each field has one `bytearray`
holding its postings packed (about 7 bytes plus the encoded positions): a tenth of that.
Documents arrive in document order, so each term's postings are already in the order
Whoosh's sort would give them; only the terms are sorted, once, at the end. A term whose
documents did not arrive in order (never seen in a build; possible for merged readers) is
sorted on its own, so the output is always exactly `sorted(every posting tuple)`.

Past `limitmb` the packed terms go to a sorted run file, and the runs are merged by term
at the end (a merge of terms, not of postings).
"""

from __future__ import annotations

import contextlib
import heapq
import marshal
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.util import random_name

# One posting: document (u32), weight code (u8), value length (u8), then the value bytes.
# A weight code of 255 is followed by the weight as a double; a length of 255 by a u32
# length; a length of 254 is a None value.
_HEAD = struct.Struct("<IBB")
_DOUBLE = struct.Struct("<d")
_U32 = struct.Struct("<I")
_W_ESCAPE = 255
_L_NONE, _L_ESCAPE = 254, 255
_MAX_DOC = 2**32 - 1

# Estimated bytes of memory per term beyond its postings: the dict entry, the term's
# bytes object and the bytearray's header and slack.
TERM_OVERHEAD = 160
# Estimated bytes per posting beyond its value: the packed head and the bytearray's slack.
POSTING_OVERHEAD = 8

# A posting as Whoosh hands it around: (fieldname, term bytes, docnum, weight, value).
Posting = tuple[str, bytes, int, float, "bytes | None"]


class PackedPool:
    """Stands in for Whoosh's `PostingPool` in `FastSegmentWriter`: `add()` of posting
    tuples, `add_terms()` for a document's field at once, `iter_postings()` in sorted order,
    `terms()` grouped by field and term, `cleanup()`, `fieldnames`."""

    def __init__(self, tempstore: Any, limitmb: float = 128) -> None:
        self.tempstore = tempstore
        self.limit = int(limitmb * 2**20)
        self.size = 0  # estimated bytes held
        self.fieldnames: set[str] = set()
        self._fields: dict[str, dict[bytes, bytearray]] = {}
        self._codes: dict[float, int] = {}  # weight -> its one-byte code
        self._weights: list[float] = []  # code -> weight
        self.runs: list[str] = []
        # Fields that had postings the field writer skips (docnum -1: Whoosh's spelling
        # hack); they still start and finish a field there.
        self._skipped: set[str] = set()
        self._run_fields: set[str] = set()

    # -- adding

    def _head(self, docnum: int, weight: float, vbytes: bytes | None) -> bytes:
        if not 0 <= docnum <= _MAX_DOC:
            raise ValueError(f"document number out of range: {docnum}")
        code = self._codes.get(weight)
        if code is None and len(self._weights) < _W_ESCAPE and weight == weight:
            code = self._codes[weight] = len(self._weights)
            self._weights.append(float(weight))
        n = -1 if vbytes is None else len(vbytes)
        lcode = _L_NONE if n < 0 else n if n < _L_NONE else _L_ESCAPE
        head = _HEAD.pack(docnum, _W_ESCAPE if code is None else code, lcode)
        if code is None:
            head += _DOUBLE.pack(weight)
        if lcode == _L_ESCAPE:
            head += _U32.pack(n)
        return head

    def add(self, item: Posting) -> None:
        """Add one posting tuple (Whoosh's interface: merged readers use it)."""
        fieldname, tbytes, docnum, weight, vbytes = item
        self.fieldnames.add(fieldname)
        if docnum == -1:  # the field writer skips these (FieldWriter.add_postings)
            self._skipped.add(fieldname)
            return
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
        buf = terms.get(tbytes)
        if buf is None:
            buf = terms[tbytes] = bytearray()
            self.size += TERM_OVERHEAD + len(tbytes)
        buf += self._head(docnum, weight, vbytes)
        if vbytes:
            buf += vbytes
        self.size += POSTING_OVERHEAD + (len(vbytes) if vbytes else 0)
        if self.size > self.limit:
            self.save()

    def add_terms(
        self, fieldname: str, docnum: int, items: Iterable[Any], boost: float, scorable: bool
    ) -> int:
        """Add one document's postings of one field, `(term, freq, weight, value)` as
        `field.index()` gives them, weights times `boost`. Returns the field's length (the
        sum of the frequencies if `scorable`), as Whoosh's `add_document` counts it."""
        self.fieldnames.add(fieldname)
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
        heads: dict[tuple[float, int], bytes] = {}  # this document's heads
        length = 0
        size = 0
        for tbytes, freq, weight, vbytes in items:
            weight *= boost
            if scorable:
                length += freq
            n = len(vbytes) if vbytes is not None else -1
            key = (weight, n)
            head = heads.get(key)
            if head is None:
                head = heads[key] = self._head(docnum, weight, vbytes)
            buf = terms.get(tbytes)
            if buf is None:
                buf = terms[tbytes] = bytearray(head)
                size += TERM_OVERHEAD + len(tbytes)
            else:
                buf += head
            if n > 0:
                buf += vbytes
                size += n
            size += POSTING_OVERHEAD
        self.size += size
        return length

    def full(self) -> bool:
        return self.size > self.limit

    # -- runs

    def save(self) -> None:
        """Write what is held to a sorted run file and let it go."""
        if not self._fields:
            return
        name = f"{random_name()}.pkrun"
        with self.tempstore.create_file(name).raw_file() as f:
            for fieldname, tbytes, buf in self._sorted_held():
                marshal.dump((fieldname, tbytes, bytes(buf)), f)
        self.runs.append(name)
        self._run_fields.update(self._fields)
        self._fields = {}
        self.size = 0

    def _read_run(self, name: str) -> Iterator[tuple[str, bytes, bytes]]:
        with self.tempstore.open_file(name).raw_file() as f:
            while True:
                try:
                    yield marshal.load(f)
                except EOFError:
                    break
        self.tempstore.delete_file(name)

    def _sorted_held(self) -> Iterator[tuple[str, bytes, bytearray]]:
        fields = self._fields
        for fieldname in sorted(fields):
            terms = fields[fieldname]
            for tbytes in sorted(terms):
                yield fieldname, tbytes, terms[tbytes]

    def _merged(self) -> Iterator[tuple[str, bytes, bytes | bytearray]]:
        """Every term's packed postings once, sorted by (field, term); a term held in
        several runs has its parts joined in the order they were written."""
        if not self.runs:
            yield from self._sorted_held()
            return
        sources: list[Iterator[tuple[str, bytes, Any]]] = [self._read_run(r) for r in self.runs]
        sources.append(self._sorted_held())
        last: tuple[str, bytes] | None = None
        parts: list[bytes] = []
        for fieldname, tbytes, buf in heapq.merge(*sources, key=lambda r: (r[0], r[1])):
            key = (fieldname, tbytes)
            if key != last:
                if last is not None:
                    yield last[0], last[1], b"".join(parts)
                last, parts = key, []
            parts.append(buf)
        if last is not None:
            yield last[0], last[1], b"".join(parts)

    # -- reading back

    def _decode(self, buf: bytes) -> list[tuple[int, float, bytes | None]]:
        """One term's postings as (docnum, weight, value), in sorted order."""
        weights = self._weights
        unpack = _HEAD.unpack_from
        out = []
        pos, end = 0, len(buf)
        last = -1
        ordered = True
        while pos < end:
            docnum, code, n = unpack(buf, pos)
            pos += 6
            if code == _W_ESCAPE:
                weight = _DOUBLE.unpack_from(buf, pos)[0]
                pos += 8
            else:
                weight = weights[code]
            if n >= _L_NONE:
                if n == _L_NONE:
                    out.append((docnum, weight, None))
                    if docnum <= last:
                        ordered = False
                    last = docnum
                    continue
                n = _U32.unpack_from(buf, pos)[0]
                pos += 4
            out.append((docnum, weight, buf[pos : pos + n]))
            pos += n
            if docnum <= last:
                ordered = False
            last = docnum
        if not ordered:
            out.sort(key=_posting_key)
        return out

    def skipped_fields(self) -> set[str]:
        """Fields whose only postings were ones the field writer skips (docnum -1:
        Whoosh's spelling hack); it still starts and finishes such a field."""
        return self._skipped - set(self._fields) - self._run_fields

    def terms(self) -> Iterator[tuple[str, bytes, list[tuple[int, float, bytes | None]]]]:
        """(field, term, its postings) for every term, in sorted order."""
        decode = self._decode
        for fieldname, tbytes, buf in self._merged():
            yield fieldname, tbytes, decode(bytes(buf))

    def iter_postings(self) -> Iterator[Posting]:
        """Every posting as Whoosh's tuple, in Whoosh's sorted order."""
        for fieldname, tbytes, postings in self.terms():
            for docnum, weight, vbytes in postings:
                yield fieldname, tbytes, docnum, weight, vbytes

    def cleanup(self) -> None:
        for name in self.runs:
            with contextlib.suppress(OSError):
                self.tempstore.delete_file(name)
        self.runs = []
        self._fields = {}


def _posting_key(p: tuple[int, float, bytes | None]) -> tuple[int, float, bytes]:
    # Whoosh sorts whole tuples; a None value sorts as if empty (a term never holds both).
    return p[0], p[1], p[2] or b""
