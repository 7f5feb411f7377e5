"""Reading the files of `INDEX/vectors/` without trusting them.

The vectors folder is data searchkit wrote, but a crash, a disk error, a sync tool or a
person can leave anything there: a `model.json` whose `dimension` is "abc" or 10**15,
a `key` that is `..` or an absolute path (searches then read segments from that folder),
a `seg-*.npy` that is 2-D or claims 10**12 rows, a FIFO that blocks the reader forever.
So every file is opened as notes are (regular files only, never following a symlink,
non-blocking), `model.json` is checked against its schema, a segment's header (dtype,
1-D shape, row count against the file's size) before a byte of its rows is read, and
every path stays inside the index. Anything else is an `IndexCorruptError` naming the
file and the fix.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError

MODEL_FILE = "model.json"
_MAX_MODEL_BYTES = 64 * 1024  # a record is ~200 bytes
MAX_DIMENSION = 65536  # models' vectors have hundreds to a few thousand dimensions
# A model key is a folder name inside `vectors/` (see `vectors.model_key`): never `.` or
# `..`, never a separator, so it cannot name a folder outside the index.
_KEY = re.compile(r"^(?!\.{1,2}$)[a-z0-9._-]{1,100}$")
# O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever; O_NOFOLLOW: a
# planted symlink is not followed out of the index; O_NOCTTY: a terminal never becomes ours.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))  # fmt: skip


def fix_hint(folder: Path) -> str:
    return f"delete {folder} and run `searchkit index` to embed again"


@dataclass(frozen=True)
class ModelRecord:
    """`vectors/model.json`: the model the index's vectors were made with."""

    name: str
    version: str
    dimension: int
    key: str  # the folder of its vectors, inside `vectors/`

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "dimension": self.dimension,
                "key": self.key}  # fmt: skip


def check_folder(folder: Path, root: Path) -> None:
    """Raise `IndexCorruptError` unless `folder` is absent or a real folder (not a
    symlink, not a file)."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {folder}: {exc.strerror}; {fix_hint(root)}") from exc
    if not stat.S_ISDIR(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
        raise IndexCorruptError(f"{folder} is {what}; {fix_hint(root)}")


def open_regular(path: Path, damaged: str, folder: Path) -> Any:
    """`path` opened for reading as a binary file, if it is a regular file (the check is
    made on the file opened). Raises FileNotFoundError when there is none, else
    `IndexCorruptError`: "`damaged` (why); delete `folder` and …"."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: a symlink
        why = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise IndexCorruptError(f"{damaged} ({why}); {fix_hint(folder)}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IndexCorruptError(f"{damaged} (not a regular file); {fix_hint(folder)}")
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def read_model_record(root: Path) -> ModelRecord | None:
    """The record in `root/model.json`; None when there is none (nothing embedded yet).
    Raises `IndexCorruptError` when it is damaged or is not what searchkit writes."""
    path = root / MODEL_FILE
    damaged = f"{path} is damaged"
    check_folder(root, root)
    try:
        with open_regular(path, damaged, root) as fh:
            raw = fh.read(_MAX_MODEL_BYTES + 1)
    except FileNotFoundError:
        return None
    problem = _model_problem(raw)
    if isinstance(problem, str):
        raise IndexCorruptError(f"{damaged} ({problem}); {fix_hint(root)}")
    return problem


def _model_problem(raw: bytes) -> ModelRecord | str:
    """The record in `raw`, or what is wrong with it."""
    if len(raw) > _MAX_MODEL_BYTES:
        return f"over {_MAX_MODEL_BYTES // 1024} KiB"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return "not JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    name, version, dimension, key = (data.get(k) for k in ("name", "version", "dimension",
                                                           "key"))  # fmt: skip
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        return "`name` is not a model name"
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)  # custom embedders may number their versions
    if not isinstance(version, str) or len(version) > 500:
        return "`version` is not a version string"
    if (not isinstance(dimension, int) or isinstance(dimension, bool)
            or not 0 < dimension <= MAX_DIMENSION):  # fmt: skip
        return f"`dimension` is not a whole number from 1 to {MAX_DIMENSION}"
    if not isinstance(key, str) or not _KEY.match(key):
        return "`key` is not a folder name of the vectors folder"
    return ModelRecord(name, version, dimension, key)


def read_segment(path: Path, dtype: np.dtype, folder: Path,
                 rows_only: bool = False) -> np.ndarray:  # fmt: skip
    """The rows of one segment file, a 1-D array of `dtype`, read only after its header
    says exactly that and matches the file's size. Raises FileNotFoundError when the file
    is gone (compacted meanwhile), else `IndexCorruptError` for any damage. `rows_only`:
    check the file without reading its rows (an empty array)."""
    damaged = f"vector file {path} is damaged"
    with open_regular(path, damaged, folder) as fh:
        try:
            rows, start = _header(fh, dtype)
            size = os.fstat(fh.fileno()).st_size
            if size != start + rows * dtype.itemsize:
                raise ValueError(f"{rows:,} rows of {dtype.itemsize} bytes do not make "
                                 f"its {size:,} bytes")  # fmt: skip
            if rows_only:
                return np.zeros(0, dtype)
            buf = bytearray(rows * dtype.itemsize)
            view, got = memoryview(buf), 0
            while got < len(buf):
                n = fh.readinto(view[got:])
                if not n:
                    raise ValueError("it ends before its last row")
                got += n
        except OSError as exc:
            raise IndexCorruptError(f"{damaged} ({exc.strerror or exc}); "
                                    f"{fix_hint(folder)}") from exc  # fmt: skip
        except ValueError as exc:
            raise IndexCorruptError(f"{damaged} ({exc}); {fix_hint(folder)}") from exc
    return np.frombuffer(buf, dtype=dtype, count=rows)


def _header(fh: Any, dtype: np.dtype) -> tuple[int, int]:
    """(rows, offset of the first row) from an .npy header that must describe a 1-D
    array of `dtype`. Raises ValueError saying what is wrong."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, found = fmt.read_array_header_1_0(fh, max_header_size=10_000)
        elif version == (2, 0):
            shape, _fortran, found = fmt.read_array_header_2_0(fh, max_header_size=10_000)
        else:
            raise ValueError(f"numpy file format {version} is not one searchkit writes")
    except ValueError:
        raise
    except Exception as exc:  # an unreadable header: SyntaxError, TypeError, EOFError…
        raise ValueError(f"unreadable header: {type(exc).__name__}") from exc
    if found != dtype:
        raise ValueError(f"it holds {found}, not {dtype['vec'].shape[0]}-d vectors")
    if len(shape) != 1 or not isinstance(shape[0], int) or shape[0] < 0:
        raise ValueError(f"its shape {shape} is not one row per passage")
    return shape[0], fh.tell()


def map_array(path: Path, dtype: np.dtype, width: int | None, folder: Path) -> np.ndarray:
    """A read-only memory map of an .npy file that must hold a C-order array of `dtype`,
    1-D (`width` None) or of `width` columns, whose header matches the file's size.
    Raises FileNotFoundError when the file is gone, else `IndexCorruptError`."""
    fh, start, shape = open_mapped(path, dtype, width, folder)
    with fh:
        if shape[0] == 0:
            return np.zeros(shape, dtype)
        return np.memmap(fh, dtype=dtype, mode="r", offset=start, shape=shape)


def open_mapped(path: Path, dtype: np.dtype, width: int | None,
                folder: Path) -> tuple[Any, int, tuple[int, ...]]:  # fmt: skip
    """(the open file, the offset of its first row, its shape) of an .npy file checked as
    `map_array` checks it; the caller closes the file."""
    damaged = f"vector file {path} is damaged"
    fmt = np.lib.format
    fh = open_regular(path, damaged, folder)
    try:
        try:
            version = fmt.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"numpy file format {version} is not one searchkit writes")
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, found = read(fh, max_header_size=10_000)
            start = fh.tell()
            size = os.fstat(fh.fileno()).st_size
        except ValueError as exc:
            raise IndexCorruptError(f"{damaged} ({exc}); {fix_hint(folder)}") from exc
        except Exception as exc:  # an unreadable header: SyntaxError, EOFError…
            raise IndexCorruptError(f"{damaged} (unreadable header: {type(exc).__name__}); "
                                    f"{fix_hint(folder)}") from exc  # fmt: skip
        want = (shape[0],) if width is None else (shape[0] if shape else -1, width)
        if (found != dtype or fortran or tuple(shape) != want or shape[0] < 0
                or size != start + int(np.prod(shape)) * dtype.itemsize):
            raise IndexCorruptError(f"{damaged} (it holds {found} {shape}, not what searchkit "
                                    f"writes); {fix_hint(folder)}")  # fmt: skip
    except BaseException:
        fh.close()
        raise
    return fh, start, tuple(shape)
