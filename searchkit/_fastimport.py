"""Import Whoosh without `urllib.request`: a cold-start saving for every CLI command.

`whoosh.compat` does `from urllib.request import urlretrieve` at import time, for a
download helper searchkit never calls; that one line pulls in http.client, email, ssl and
socket: ~20 ms of a ~220 ms cold `searchkit search` (measured with -X importtime). Here
`whoosh.compat` is imported once with a stand-in `urllib.request` module whose only name,
`urlretrieve`, imports the real one if it is ever called. The stand-in is taken out of
`sys.modules` right after, so any later `import urllib.request` gets the real module.

index.py imports `whoosh` from here, before any other searchkit module imports Whoosh.

`whoosh.lang.morph_en` (regular expressions for a query type searchkit never builds) is
kept out the same way.

It also makes Whoosh read compound segments without copying them. Whoosh 2.7.4 maps a
segment file (mmap) and hands out each sub-file (postings, terms, stored fields…) as a
`BufferFile`, whose constructor copies the sub-file into a `BytesIO`: every searcher held
a private copy of the whole index (measured: search-process RSS grew by the index size,
and `serve` by an index per thread). `_ViewFile` reads the mapped bytes in place; only the
slices Whoosh asks for are copied, and the page cache is shared by every searcher.
"""

from __future__ import annotations

import contextlib
import errno
import io
import mmap
import os
import sys
import threading
import types
import weakref
from collections.abc import Iterator
from typing import Any


def _urlretrieve(*args: Any, **kwargs: Any) -> Any:
    from urllib.request import urlretrieve

    return urlretrieve(*args, **kwargs)


@contextlib.contextmanager
def _standing_in(name: str, **names: Any) -> Iterator[None]:
    """`name` is a stand-in module holding `names` while the block imports what imports
    it, and is gone after (from `sys.modules` and from its package): a later import of
    `name` loads the real module."""
    stand_in = types.ModuleType(name)
    for key, value in names.items():
        setattr(stand_in, key, value)
    sys.modules[name] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        package, _, child = name.rpartition(".")
        if getattr(sys.modules.get(package), child, None) is stand_in:
            delattr(sys.modules[package], child)


def _import_whoosh_compat() -> None:
    if "whoosh.compat" in sys.modules or "urllib.request" in sys.modules:
        return  # too late, or nothing to save
    with _standing_in("urllib.request", urlretrieve=_urlretrieve):
        import whoosh.compat  # noqa: F401


def _variations(*args: Any, **kwargs: Any) -> Any:
    from whoosh.lang.morph_en import variations

    return variations(*args, **kwargs)


def _import_whoosh_query() -> None:
    """`whoosh.query.terms` imports `whoosh.lang.morph_en` for its `Variations` query, which
    searchkit never builds: ~100 regular expressions compiled at import (~4 ms of a cold
    search, 14 ms under a profiler). A stand-in module is there while `whoosh.query` is
    imported; `variations` imports the real one if it is ever called."""
    if "whoosh.query" in sys.modules or "whoosh.lang.morph_en" in sys.modules:
        return
    import whoosh.lang  # the real package: only its morph_en stands in

    with _standing_in("whoosh.lang.morph_en", variations=_variations):
        import whoosh.query  # noqa: F401


_import_whoosh_compat()
_import_whoosh_query()

import whoosh.codec.base  # noqa: E402  (after the stand-in)
import whoosh.filedb.compound  # noqa: E402
import whoosh.index  # noqa: E402
from whoosh.filedb.structfile import BufferFile  # noqa: E402


class _ViewReader(io.RawIOBase):
    """A read-only file over a memoryview (of the mmap): reads copy what they return only.
    `io.BytesIO(view)` would copy the whole view first."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0
        self._len = len(view)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._len
        self._pos = max(0, pos)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self._len if size is None or size < 0 else min(self._len, start + size)
        if end <= start:
            return b""
        self._pos = end
        return bytes(self._view[start:end])

    def readinto(self, buffer: Any) -> int:
        start = self._pos
        end = min(self._len, start + len(buffer))
        if end <= start:
            return 0
        memoryview(buffer).cast("B")[: end - start] = self._view[start:end]
        self._pos = end
        return end - start

    def readline(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self._len if size is None or size < 0 else min(self._len, start + size)
        stop = end
        for block in range(start, end, 4096):  # never copy the whole rest to find "\n"
            found = bytes(self._view[block : min(end, block + 4096)]).find(b"\n")
            if found >= 0:
                stop = block + found + 1
                break
        self._pos = stop
        return bytes(self._view[start:stop])

    def close(self) -> None:
        # The view stays with its BufferFile (`_buf`); closing only ends reading.
        super().close()


class _ViewFile(BufferFile):
    """Whoosh's BufferFile without the copy into a BytesIO."""

    def __init__(self, buf: Any, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        # Buffered: Whoosh reads block headers a few bytes at a time; the buffer serves
        # those reads (and seeks within it) in C, 8 KB copied at a time.
        self.file = io.BufferedReader(_ViewReader(buf), buffer_size=8192)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False


# compound.py looks BufferFile up as a module global when it opens a sub-file.
whoosh.filedb.compound.BufferFile = _ViewFile  # type: ignore[misc]


# One read-only map per segment file, shared by every searcher that opens it (by device
# and inode: a mapped file's inode cannot be reused while the map lives). Whoosh maps the
# file again per searcher, and the process's RSS counts a mapped page once per mapping,
# so a server's RSS grew with its threads although the pages were the same.
_MAPS: weakref.WeakValueDictionary[tuple[int, int, int], mmap.mmap] = (
    weakref.WeakValueDictionary()
)
_MAPS_LOCK = threading.Lock()


def _shared_map(fileno: int) -> mmap.mmap:
    st = os.fstat(fileno)
    key = (st.st_dev, st.st_ino, st.st_size)
    with _MAPS_LOCK:
        found = _MAPS.get(key)
        if found is None:
            found = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
            _MAPS[key] = found
        return found


class _SharedMapStorage(whoosh.filedb.compound.CompoundStorage):
    """Whoosh's CompoundStorage with the segment file's map shared (`_shared_map`). The
    map is never closed here: it goes when the last storage using it is collected."""

    def __init__(self, dbfile: Any, use_mmap: bool = True, basepos: int = 0) -> None:
        self._file = dbfile
        self.is_closed = False
        dbfile.seek(0, os.SEEK_END)
        filesize = dbfile.tell()
        dbfile.seek(basepos)
        self._diroffset = dbfile.read_long()
        self._dirlength = dbfile.read_int()
        dbfile.seek(self._diroffset)
        self._dir = dbfile.read_pickle()
        self._options = dbfile.read_pickle()
        self._locks: dict[str, Any] = {}
        self._source = None
        if use_mmap and hasattr(dbfile, "fileno") and filesize < sys.maxsize:
            try:
                self._source = _shared_map(dbfile.fileno())
            except OSError as exc:
                if exc.errno != errno.ENOMEM:  # as Whoosh: no memory for a map, read
                    raise
            else:
                dbfile.close()
                self._file = None

    def close(self) -> None:
        if self.is_closed:
            raise Exception("Already closed")  # as Whoosh's
        self.is_closed = True
        self._source = None  # others may still read this map
        if self._file:
            self._file.close()


# codec/base.py looks CompoundStorage up as a module global when it opens a segment.
whoosh.codec.base.CompoundStorage = _SharedMapStorage  # type: ignore[misc]

__all__ = ["whoosh"]
