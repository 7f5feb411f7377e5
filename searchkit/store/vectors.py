"""Passage vectors on disk, beside the Whoosh index: content-addressed, append-only, crash-safe.

Layout: `INDEX/vectors/<model key>/` holds segment files `seg-<stamp>.npy`, each a
structured array of (key, vector) rows: `key` is the 64-bit hash of the text that was
embedded (`embed.passage_text.text_key`), the same value the index stores in each
passage's `ekey` column; `vector` is float16 (half the disk of float32; the nDCG cost
measured in scripts/eval/eval.py is nil to the third decimal).

Why content-addressed: a renamed note, a moved section or an untouched passage of an edited
note keeps its text, so its vector is found again without re-embedding, which is the
expensive part (tens of passages per second on a laptop CPU).

Crash safety: a segment is written to a temporary name, fsynced and renamed into place, so
a segment file either is whole or is not there; a kill mid-embedding keeps every segment
already renamed and the next run embeds only what is still missing. Compaction writes the
merged segment the same way before deleting the old ones; a reader that listed a segment
just deleted retries. Another model (or model version) has another folder, so a model
change re-embeds everything and never mixes vectors from two models.

What searches read: a finished pass writes, for the segments it leaves, the vectors as
int8 codes with each row's scale and error bound, their mean, their float16 rows and
their keys (last), each atomically (`write_matrix`). A search maps the codes (a quarter of
float32: 280 MB at 730k vectors instead of 1.1 GB) and re-scores exactly only the rows the
bounds cannot rule out (`retrieve.hybrid`). An older version's float32 matrix is still
mapped; damaged or missing files make the segments be read.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from .indexdir import VECTORS_DIR, write_lock
from .vectorfiles import check_folder, fix_hint, map_array, open_mapped, read_segment

_SEG_RE = re.compile(r"^seg-[0-9a-z-]+\.npy$")
# Segments written since a finished pass are read beside its files up to these many rows
# (or an eighth of the pass's, if more) and segments: an update that changed a few notes
# then costs what it wrote, not a rewrite of every vector's files (`_with_tail`).
TAIL_ROWS = 4096
TAIL_SEGMENTS = 16


def model_key(name: str, version: str, dimension: int) -> str:
    """The folder name of one model's vectors: safe on every file system."""
    raw = f"{name}-{version}-{dimension}".lower()
    return re.sub(r"[^a-z0-9._-]+", "_", raw)[:100]


def vectors_root(index_dir: Path) -> Path:
    return Path(index_dir) / VECTORS_DIR


def _dtype(dimension: int) -> np.dtype:
    return np.dtype([("key", "<u8"), ("vec", "<f2", (dimension,))])


class RowReader:
    """Exact vectors by row number, read with `pread` from the mapped float16 rows file:
    a search re-scores a few hundred rows, and reading them keeps them out of the
    process's memory (a map would keep every row ever touched resident)."""

    def __init__(self, fh: Any, start: int, dimension: int) -> None:
        self._fh = fh  # kept open: the file may be replaced under us, the rows may not
        self._start = start
        self._width = 2 * dimension
        self.dimension = dimension

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        fd, width, start = self._fh.fileno(), self._width, self._start
        if len(rows) > 1 and int(rows[-1]) - int(rows[0]) == len(rows) - 1 and (
                np.diff(rows) == 1).all():  # a run of rows (all of them: joining vaults)
            raw = os.pread(fd, width * len(rows), start + width * int(rows[0]))
        else:
            raw = b"".join([os.pread(fd, width, start + width * int(r)) for r in rows])
        if len(raw) != width * len(rows):
            raise IndexCorruptError(f"vector file {self._fh.name} ends early")
        return np.frombuffer(raw, "<f2").reshape(len(rows), self.dimension).astype(np.float32)


@dataclass(frozen=True)
class Quantised:
    """The vectors as the first step of a search reads them: int8 codes per row (each row
    scaled by its largest absolute value / 127), the bounds of each row's rounding error,
    the mean vector (a query's mean cosine over the vault without a scan), and the exact
    rows, read only for the rows re-scored."""

    # int8 (rows, dimension) blocks in row order: the mapped codes of a finished pass, then
    # (see `VectorStore._with_tail`) the codes of the segments written since, in memory
    codes: tuple[np.ndarray, ...]
    bounds: np.ndarray  # float32 (rows, 2): the row's scale; the L1 norm of its codes x scale
    mean: np.ndarray  # float64 (dimension,): the mean vector
    exact: Callable[[np.ndarray], np.ndarray]  # float32 rows by row number
    tail: int = 0  # rows of the segments written since the pass (0: the files cover all)


@dataclass(frozen=True)
class Vectors:
    """Every stored vector of one model, sorted by key (unique). Either `matrix`, float32
    in memory or mapped (the segments read, or the matrix an older version left), or
    `quantised`, the int8 codes and float16 rows a finished pass leaves."""

    keys: np.ndarray  # uint64, sorted
    matrix: np.ndarray | None  # float32, (len(keys), dimension), rows L2-normalised
    stamp: tuple[str, ...]  # the segment files they were read from
    quantised: Quantised | None = None
    # The row of each key of `keys`, when rows are not in key order (a finished pass's
    # rows, then the rows of the segments written since: `VectorStore._with_tail`).
    row_of: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def full_matrix(self) -> np.ndarray:
        """Every vector as float32 (a copy when they are quantised: for joining vaults)."""
        if self.matrix is not None:
            return self.matrix
        q = self.quantised
        assert q is not None
        return q.exact(np.arange(sum(len(block) for block in q.codes)))

    def rows_for(self, keys: np.ndarray) -> np.ndarray:
        """The row of each key, -1 where there is none (and for key 0, "no text")."""
        if len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        found = (self.keys[pos] == keys) & (keys != 0)
        rows = pos if self.row_of is None else self.row_of[pos]
        return np.where(found, rows, -1).astype(np.int64)


class _TailRows:
    """Exact rows by row number over a finished pass's rows file and, after them, the
    rows of the segments written since (in memory)."""

    def __init__(self, base: Callable[[np.ndarray], np.ndarray], base_rows: int,
                 tail: np.ndarray) -> None:  # fmt: skip
        self._base, self._n, self._tail = base, base_rows, tail

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self._tail.shape[1]), np.float32)
        old = rows < self._n
        if old.any():
            out[old] = self._base(rows[old])
        if not old.all():
            out[~old] = self._tail[rows[~old] - self._n]
        return out


class VectorStore:
    """One model's folder of vector segments."""

    def __init__(self, index_dir: Path, key: str, dimension: int) -> None:
        self.root = vectors_root(index_dir)
        self.folder = self.root / key
        self.key = key
        self.dimension = dimension
        self._cache: Vectors | None = None
        self._cache_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        # Both folders must be folders of the index: a symlink would have searches read
        # (and the embedding pass write) vectors somewhere else.
        check_folder(self.root, self.root)
        check_folder(self.folder, self.root)
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise IndexCorruptError(f"cannot list {self.folder}: {exc}") from exc
        return sorted(self.folder / n for n in names if _SEG_RE.match(n))

    def stamp(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.segments())

    def load(self) -> Vectors:
        """Every vector, read once per set of segment files (cached; cheap to call per
        query: one directory listing). The float32 matrix a finished embedding pass left
        for these very segments is memory-mapped instead of read: a cold search does not
        convert 73k float16 rows (0.3 s at 9k notes), and every process searching the
        index shares its pages."""
        for _attempt in range(3):
            stamp = self.stamp()
            cached = self._cache
            if cached is not None and cached.stamp == stamp:
                return cached
            try:
                mapped = self._mapped(stamp)
                vectors = mapped if mapped is not None else self._read(stamp)
            except FileNotFoundError:
                continue  # compacted under us: list again
            with self._cache_lock:
                self._cache = vectors
            return vectors
        return self._read(self.stamp())

    def _read(self, stamp: tuple[str, ...]) -> Vectors:
        parts = [self._read_segment(self.folder / name) for name in stamp]
        if not parts:
            return Vectors(np.zeros(0, "<u8"), np.zeros((0, self.dimension), np.float32), stamp)
        rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
        keys = rows["key"]
        # Later segments win for a repeated key (the same text embedded twice by two
        # writers gives the same vector anyway).
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        last = np.ones(len(keys), dtype=bool)
        last[:-1] = keys[1:] != keys[:-1]
        pick = order[last]
        matrix = rows["vec"][pick].astype(np.float32)
        return Vectors(np.ascontiguousarray(keys[last]), np.ascontiguousarray(matrix), stamp)

    def _mapped(self, stamp: tuple[str, ...]) -> Vectors | None:
        """The files of a finished pass for `stamp`, mapped; else those of a pass for the
        first segments of `stamp`, with the few segments written since read beside them
        (`_with_tail`); None when neither is there (the segments are read)."""
        whole = self._mapped_set(stamp)
        if whole is not None:
            return whole
        base = self._base(stamp, TAIL_SEGMENTS)
        return self._with_tail(base, stamp) if base is not None else None

    def _base(self, stamp: tuple[str, ...], reach: int) -> Vectors | None:
        """The mapped files of the longest first part of `stamp` (not all of it, and
        leaving at most `reach` segments after it) that has them, or None."""
        for cut in range(len(stamp) - 1, max(0, len(stamp) - 1 - reach), -1):
            base = self._mapped_set(stamp[:cut], check=False)
            if base is not None:
                return base
        return None

    def _with_tail(self, base: Vectors, stamp: tuple[str, ...]) -> Vectors | None:
        """`base` (a finished pass's mapped files) and the rows of the segments after it
        in `stamp`: searches after a one-note update map what the pass left and read the
        new segments, rather than converting every vector again (O(changed), not
        O(vault)). None when `base` is not quantised or the tail is not small."""
        q = base.quantised
        if q is None:
            return None
        tail = self._read(stamp[len(base.stamp):])  # damage is said as for any segment
        n = len(base.keys)
        if len(tail.keys) > tail_limit(n):
            return None
        assert tail.matrix is not None
        codes, bounds, mean = quantise(tail.matrix)
        # A key in both (the same text embedded by two writers): the tail's row wins.
        keys = np.concatenate([base.keys, tail.keys])
        rows = np.arange(len(keys), dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        last = np.ones(len(keys), dtype=bool)
        last[:-1] = keys[1:] != keys[:-1]
        total = n + len(tail.keys)
        joined = Quantised(
            (*q.codes, codes), np.concatenate([q.bounds, bounds]),
            (q.mean * n + mean[0] * len(tail.keys)) / total,
            _TailRows(q.exact, n, tail.matrix), tail=len(tail.keys),
        )
        return Vectors(np.ascontiguousarray(keys[last]), None, stamp, joined,
                       row_of=np.ascontiguousarray(rows[last]))

    def _mapped_set(self, stamp: tuple[str, ...], check: bool = True) -> Vectors | None:
        """The files `write_matrix` left for `stamp`, mapped (or the float32 matrix an
        older version left); None when there are none or they are damaged (the segments
        are read instead, and stay the truth)."""
        if not stamp:
            return None
        name = _matrix_name(stamp)
        if not check and not (self.folder / f"keys-{name}.npy").is_file():
            return None
        for seg in stamp:  # the segments stay the truth: damage is said as before
            read_segment(self.folder / seg, _dtype(self.dimension), self.folder, rows_only=True)
        try:
            keys = map_array(self.folder / f"keys-{name}.npy", np.dtype("<u8"), None,
                             self.folder)
        except (FileNotFoundError, IndexCorruptError):
            return None
        if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
            return None
        quantised = self._quantised(name, len(keys))
        if quantised is not None:
            return Vectors(keys, None, stamp, quantised)
        try:  # an older version's float32 matrix
            matrix = map_array(self.folder / f"matrix-{name}.npy", np.dtype("<f4"),
                               self.dimension, self.folder)
        except (FileNotFoundError, IndexCorruptError):
            return None
        return Vectors(keys, matrix, stamp) if len(matrix) == len(keys) else None

    def _quantised(self, name: str, rows: int) -> Quantised | None:
        d, folder = self.dimension, self.folder
        try:
            codes = map_array(folder / f"codes-{name}.npy", np.dtype("i1"), d, folder)
            bounds = map_array(folder / f"bounds-{name}.npy", np.dtype("<f4"), 2, folder)
            mean = map_array(folder / f"mean-{name}.npy", np.dtype("<f8"), d, folder)
            fh, start, shape = open_mapped(folder / f"rows-{name}.npy", np.dtype("<f2"), d,
                                           folder)
        except (FileNotFoundError, IndexCorruptError):
            return None
        if (len(codes) != rows or len(bounds) != rows or shape[0] != rows
                or len(mean) != 1 or not np.isfinite(bounds).all()
                or not np.isfinite(mean).all()):  # fmt: skip
            fh.close()
            return None
        return Quantised((codes,), bounds, np.array(mean[0]), RowReader(fh, start, d))

    def write_matrix(self) -> bool:
        """Write what searches map for the current segments (callers hold `lock()`): the
        int8 codes with each row's error bounds, the float16 rows sorted by key, the
        mean vector, and the keys (last: they mark the set whole); remove the files
        of earlier segment sets and an older version's float32 matrix. Returns whether
        they were written. 1.5x the disk of the segments."""
        vectors = self.load()  # the pass just read these segments: cached, not re-read
        if not vectors.stamp:
            return False
        name = _matrix_name(vectors.stamp)
        if vectors.quantised is not None and vectors.quantised.tail <= tail_limit(
                len(vectors.keys) - vectors.quantised.tail):  # fmt: skip
            return False  # written for these segments, or for all but a small tail
        matrix = vectors.full_matrix()
        if vectors.row_of is not None:  # key order, as the files are read back
            matrix = matrix[vectors.row_of]
        codes, bounds, mean = quantise(matrix)
        for kind, data in (("codes", codes), ("bounds", bounds), ("mean", mean),
                           ("rows", matrix.astype("<f2"))):  # fmt: skip
            _write_atomic(self.folder / f"{kind}-{name}.npy", data)
        _write_atomic(self.folder / f"keys-{name}.npy", vectors.keys)  # last: marks it whole
        for old in os.listdir(self.folder):
            if _MAPPED_RE.match(old) and (name not in old or old.startswith("matrix-")):
                with contextlib.suppress(OSError):
                    (self.folder / old).unlink()
        with self._cache_lock:
            self._cache = None  # the next load maps the files just written
        return True

    def _read_segment(self, path: Path) -> np.ndarray:
        return read_segment(path, _dtype(self.dimension), self.folder)

    def check(self) -> list[str]:
        """Problems found by reading every segment whole (for `status --check`)."""
        problems = []
        try:
            paths = self.segments()
        except IndexCorruptError as exc:
            return [str(exc)]
        for path in paths:
            try:
                data = self._read_segment(path)
            except (IndexCorruptError, FileNotFoundError) as exc:
                problems.append(str(exc))
                continue
            vec = data["vec"].astype(np.float32)
            if len(vec) and not np.all(np.isfinite(vec)):
                problems.append(f"vector file {path} holds values that are not numbers; "
                                f"{fix_hint(self.folder)}")
                continue
            norms = np.linalg.norm(vec, axis=1) if len(vec) else np.ones(0)
            if len(norms) and (np.abs(norms - 1.0) > 0.02).any():
                problems.append(f"vector file {path} holds vectors that are not unit "
                                f"length; {fix_hint(self.folder)}")
        if not problems:
            problems += self._check_search_files(tuple(p.name for p in paths))
        return problems

    def _check_search_files(self, stamp: tuple[str, ...]) -> list[str]:
        """Whether the files searches map (`write_matrix`) hold what the segments do: a set
        whose keys file is there but that does not load, or whose rows, codes or mean
        differ from the segments', is passed over by searches (which read the segments,
        slower); a finished `searchkit index` writes it again."""
        hint = ("searches read the segments instead (slower); `searchkit index` writes "
                "them again")
        for cut in range(len(stamp), 0, -1):
            name = _matrix_name(stamp[:cut])
            if not (self.folder / f"keys-{name}.npy").is_file():
                continue
            mapped = self._mapped_set(stamp[:cut])
            if mapped is None or mapped.quantised is None:
                if mapped is None:
                    return [f"the search files {self.folder}/*-{name}.npy are damaged; {hint}"]
                return []  # an older version's float32 matrix: checked as it is read
            truth = self._read(stamp[:cut])
            q = mapped.quantised
            assert truth.matrix is not None
            rows = q.exact(np.arange(len(mapped.keys)))
            codes, bounds, mean = quantise(rows)
            if (not np.array_equal(mapped.keys, truth.keys)
                    or not np.array_equal(rows, truth.matrix.astype("<f2").astype(np.float32))
                    or not np.array_equal(np.asarray(q.codes[0]), codes)
                    or not np.allclose(np.asarray(q.bounds), bounds)
                    or not np.allclose(q.mean, mean[0])):  # fmt: skip
                return [f"the search files {self.folder}/*-{name}.npy do not match the "
                        "vector segments: delete them (searches then read the segments, "
                        "slower) and `searchkit index` writes them again"]
            return []
        return []

    # -- writing (callers hold `lock()`) ---------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        """The embedding writer's lock: apart from the index's write lock, so that a long
        embedding pass never blocks a lexical update of the notes."""
        check_folder(self.root, self.root)  # the lock file stays inside the index
        check_folder(self.folder, self.root)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with write_lock(self.folder, timeout):
            yield

    def append(self, keys: np.ndarray, vectors: np.ndarray) -> Path:
        """Write one segment atomically; returns its path."""
        rows = np.empty(len(keys), dtype=_dtype(self.dimension))
        rows["key"] = keys
        rows["vec"] = vectors.astype(np.float16)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"seg-{time.time_ns():x}-{os.getpid():x}.npy"
        return _write_atomic(self.folder / name, rows)

    def compact(self, live: np.ndarray | None, *, tail_only: bool = False) -> bool:
        """Merge every segment into one, keeping only `live` keys (None: keep all). Returns
        whether anything was rewritten. `tail_only`: merge only the segments written since
        the last finished pass's files (`_with_tail`), when there are such files, so that
        many small updates never rewrite the big segment."""
        stamp = self.stamp()
        if not stamp:
            return False
        base = self._base(stamp, len(stamp)) if tail_only else None
        if base is not None:
            stamp = stamp[len(base.stamp):]
        vectors = self._read(stamp)
        keep = np.ones(len(vectors.keys), dtype=bool)
        if live is not None:
            keep = np.isin(vectors.keys, live)
        if len(stamp) == 1 and keep.all():
            return False
        self.append(vectors.keys[keep], vectors.matrix[keep])
        for name in stamp:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()
        return True

    def drop_other_models(self) -> list[str]:
        """Remove the vectors of every other model (after this one is complete)."""
        removed = []
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return removed
        for name in names:
            path = self.root / name
            if name != self.key and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(name)
        return removed


_MAPPED_RE = re.compile(r"^(matrix|keys|codes|bounds|mean|rows)-[0-9a-f]{16}\.npy$")
_BLOCK = 4096  # rows quantised at once (in the caches: 2x faster than 65536)


def tail_limit(rows: int) -> int:
    """The most rows the segments written since a finished pass may hold and be read
    beside its files (`VectorStore._with_tail`); past it, the files are written again."""
    return max(TAIL_ROWS, rows // 8)


def quantise(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int8 codes, per-row [scale, L1 norm of codes x scale], the mean vector as a
    1 x dimension float64 array) of a float32 matrix, in blocks of rows."""
    n, d = matrix.shape
    codes = np.empty((n, d), np.int8)
    bounds = np.empty((n, 2), np.float32)
    total = np.zeros(d)
    for start in range(0, n, _BLOCK):
        block = np.asarray(matrix[start : start + _BLOCK], dtype=np.float32)
        end = start + len(block)
        scale = np.abs(block).max(axis=1) * np.float32(1 / 127)
        step = np.where(scale > 0, scale, 1).astype(np.float32)
        c = block / step[:, None]  # within [-127, 127]: no clipping needed
        np.rint(c, out=c)
        codes[start:end] = c
        bounds[start:end, 0] = scale
        bounds[start:end, 1] = scale * np.abs(c).sum(axis=1)
        total += block.sum(axis=0, dtype=np.float64)
    return codes, bounds, (total / max(n, 1)).reshape(1, d)


def _matrix_name(stamp: tuple[str, ...]) -> str:
    """The name of the mapped matrix of one set of segment files."""
    import hashlib

    return hashlib.blake2b("\n".join(stamp).encode(), digest_size=8).hexdigest()


def _write_atomic(path: Path, rows: np.ndarray) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, rows, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path
