"""The files of an index directory other than Whoosh's own: the meta pointer, the per-note
manifest and the writer lock.

Layout of an index directory:

- `searchkit.json` (meta): vault root, schema and chunker versions, and the name of the
  Whoosh index that is current. Replacing this file (atomically) is the one switch that
  makes a rebuilt index live, so a rebuild never leaves the directory without a readable
  index.
- `<name>` Whoosh files (`_<name>_<gen>.toc`, `<name>_<segid>.seg`…), `name` = `ix` + 12 hex.
  A rebuild writes a new name next to the old one; stale names are deleted under the lock.
- `manifest_<name>.json`: per note mtime_ns, size, content hash and chunk count, plus the
  Whoosh generation it describes. Written after each commit; if its generation is not the
  index's latest (crash between commit and manifest write) it is ignored and the record
  is rebuilt from stored fields. An update that changes a few notes appends their records
  to `manifest_<name>.log` (one JSON line per update, tied to the `.json` it extends by
  its `base` id) instead of rewriting every note's record; the `.json` is rewritten when
  the log grows past a share of it.
- `searchkit.lock`: flock held by the one writer; it holds the writer's pid for messages.
  The kernel drops the flock when the process dies, so a leftover file means nothing.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexReadOnlyError,
    IndexWriteError,
)

META_FILE = "searchkit.json"
LOCK_FILE = "searchkit.lock"
# Passage vectors of the semantic layer (store/vectors.py), one folder per model.
VECTORS_DIR = "vectors"
FORMAT = "searchkit-index"
REBUILD_HINT = "rebuild it with `searchkit index --rebuild VAULT`"

_NAME = r"ix[0-9a-f]{12}"
# Files a Whoosh index called `name` owns: TOC, segment files, lock, temp folder, manifest.
_OWNED = re.compile(
    rf"^(?:_(?P<a>{_NAME})_|(?P<b>{_NAME})[_.]|manifest_(?P<c>{_NAME})\.(?:json|log))"
)
_TMP_SUFFIX = ".sktmp"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def new_index_name() -> str:
    return "ix" + os.urandom(6).hex()


def owner_name(filename: str) -> str | None:
    """The Whoosh index name a file in the index directory belongs to, if it is ours."""
    m = _OWNED.match(filename)
    return (m.group("a") or m.group("b") or m.group("c")) if m else None


def is_ours(filename: str) -> bool:
    return (
        filename in (META_FILE, LOCK_FILE, VECTORS_DIR)
        or filename.endswith(_TMP_SUFFIX)
        or owner_name(filename) is not None
    )


# Files a person may keep in an otherwise empty index folder (the repository ships
# `index/README.md`); they do not make the folder "someone else's".
_PLACEHOLDERS = frozenset({"README.md", "README", "README.txt", ".gitignore", ".gitkeep"})


def foreign_entries(index_dir: Path) -> list[str]:
    """Entries of `index_dir` that searchkit did not write (empty if the dir is missing)."""
    try:
        names = os.listdir(index_dir)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if not is_ours(n) and n not in _PLACEHOLDERS)


def remove_stale(index_dir: Path, keep: str | None) -> None:
    """Delete files of Whoosh indexes other than `keep` and leftover temp files.

    Only call this while holding the write lock: a live writer's files would go too.
    """
    for name in os.listdir(index_dir):
        owner = owner_name(name)
        if name.endswith(_TMP_SUFFIX) or (owner is not None and owner != keep):
            path = index_dir / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
    if keep is not None:
        # Whoosh's temp folder for `keep`: left behind when a writer is killed.
        shutil.rmtree(index_dir / f"{keep}.tmp", ignore_errors=True)


def make_private_dir(index_dir: Path) -> None:
    """Create `index_dir` readable by its owner only (0700), or tighten one of ours.

    An index holds the text of every note: with the usual 0755/0644, another local user
    could read a 0600 note through it, whatever the vault's own modes say.
    """
    index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = index_dir.stat()
    if st.st_mode & 0o077 and (not hasattr(os, "getuid") or st.st_uid == os.getuid()):
        with contextlib.suppress(OSError):
            index_dir.chmod(0o700)


def make_private_files(index_dir: Path) -> None:
    """Make the files of `index_dir` 0600 (Whoosh creates its own with the umask's modes)."""
    for entry in os.scandir(index_dir):
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
                os.chmod(entry.path, 0o600)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}{_TMP_SUFFIX}")
    # The temp name is predictable: O_EXCL (which never follows a symlink) stops a link
    # planted there from making us overwrite the file it points to.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        with open(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"), ensure_ascii=False)
            f.flush()
            # fsync so a power cut cannot leave a renamed-but-empty file; cheap at this size.
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # on a full disk a leftover would keep the space taken
        raise


def dir_size(index_dir: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(index_dir):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


# ---------------------------------------------------------------------------------------
# Meta


@dataclass(frozen=True)
class IndexMeta:
    """What an index directory records about itself (`searchkit.json`)."""

    vault: str  # absolute path of the vault root
    schema_version: int
    chunker_version: int
    index_name: str | None  # the live Whoosh index; None until the first build commits
    created: float  # epoch seconds
    # Follow symlinks that leave the vault: remembered, so that a later refresh (which
    # has no command-line flags) does not drop the notes they lead to.
    follow_symlinks: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "vault": self.vault,
            "schema_version": self.schema_version,
            "chunker_version": self.chunker_version,
            "index_name": self.index_name,
            "created": self.created,
            "follow_symlinks": self.follow_symlinks,
        }


def read_meta(index_dir: Path) -> IndexMeta | None:
    """The directory's meta, None if it has none; `IndexCorruptError` if it is unreadable."""
    path = index_dir / META_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {path}: {exc.strerror}; {REBUILD_HINT}") from exc
    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}")
        name = data["index_name"]
        if name is not None and not re.fullmatch(_NAME, name):
            raise ValueError(f"bad index name {name!r}")
        return IndexMeta(
            vault=str(data["vault"]),
            schema_version=int(data["schema_version"]),
            chunker_version=int(data["chunker_version"]),
            index_name=name,
            created=float(data.get("created", 0.0)),
            follow_symlinks=bool(data.get("follow_symlinks", False)),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexCorruptError(
            f"{path} is not a valid searchkit index record ({exc}); {REBUILD_HINT}"
        ) from exc


def write_meta(index_dir: Path, meta: IndexMeta) -> None:
    atomic_write_json(index_dir / META_FILE, meta.to_json())


# ---------------------------------------------------------------------------------------
# Manifest


@dataclass(frozen=True)
class NoteRecord:
    mtime_ns: int
    size: int
    hash: str
    chunks: int


@dataclass(frozen=True)
class Manifest:
    index_name: str
    generation: int  # the Whoosh generation these records describe
    updated: float  # epoch seconds of the write
    notes: Mapping[str, NoteRecord] = field(default_factory=dict)
    # Size and checksum of each file of that generation (TOC and segments), so damage a
    # read cannot notice (overwritten bytes in stored text) is still found by a check.
    files: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    # What a refresh check stats instead of listing the vault (opening.needs_refresh): each
    # folder the last scan listed ("" for the root, "a/b/") -> its mtime_ns then, and files
    # that are not indexed notes but decide what is (the ignore file, notes that could
    # not be read) -> [mtime_ns, size]; `scanned_ns`: when that scan started.
    stats: Mapping[str, Any] = field(default_factory=dict)
    scanned_ns: int = 0
    # Files of the vault that were not indexed (binary, over the size cap, a FIFO, a
    # symlink out of the vault): path -> (mtime_ns, size, why), so an unchanged one is
    # neither stale nor warned about again.
    skipped: Mapping[str, tuple[int, int, str]] = field(default_factory=dict)


def manifest_path(index_dir: Path, index_name: str) -> Path:
    return index_dir / f"manifest_{index_name}.json"


class LazyNotes(Mapping[str, NoteRecord]):
    """A manifest's notes as read, made `NoteRecord`s one at a time when asked: the refresh
    check before a search only compares mtimes and sizes (making 30k records was half of
    reading the manifest). Malformed entries raise ValueError/TypeError/IndexError then."""

    def __init__(self, raw: dict[str, list[Any]]) -> None:
        self._raw = raw

    def __getitem__(self, path: str) -> NoteRecord:
        r = self._raw[path]
        return NoteRecord(int(r[0]), int(r[1]), str(r[2]), int(r[3]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def stat_items(self) -> Iterator[tuple[str, int, int]]:
        """(path, mtime_ns, size) of every note."""
        for path, r in self._raw.items():
            yield path, r[0], r[1]


def manifest_log_path(index_dir: Path, index_name: str) -> Path:
    return index_dir / f"manifest_{index_name}.log"


# The log is folded into a new .json when it holds more than this many updates or more
# bytes than this share of the .json.
LOG_MAX_LINES = 64
LOG_MAX_SHARE = 0.25


def read_manifest(index_dir: Path, index_name: str, *, lazy: bool = False) -> Manifest | None:
    """The manifest of `index_name` (its .json, then the updates its .log appends), or
    None when missing or unreadable (the caller then rebuilds the record from the index,
    so a damaged manifest costs time, not answers).
    `lazy`: notes as a `LazyNotes` (checked when used, not here)."""
    try:
        with open(manifest_path(index_dir, index_name), encoding="utf-8") as f:
            data = json.load(f)
        raw = data["notes"]
        if not isinstance(raw, dict):
            raise TypeError("notes is not an object")
        for line in _log_lines(index_dir, index_name, data.get("id")):
            for path, rec in line["notes"].items():
                if rec is None:
                    raw.pop(path, None)
                else:
                    raw[path] = rec
            for key in ("generation", "updated", "files", "stats", "scanned_ns"):
                data[key] = line[key]
            if "skipped" in line:  # the files skipped as of that update, whole
                data["skipped"] = line["skipped"]
        notes: Mapping[str, NoteRecord]
        if lazy:
            notes = LazyNotes(raw)
        else:
            notes = {p: NoteRecord(r[0], r[1], r[2], r[3]) for p, r in raw.items()}
        files = {n: (int(f[0]), str(f[1])) for n, f in data.get("files", {}).items()}
        skipped = {
            p: (int(v[0]), int(v[1]), str(v[2])) for p, v in data.get("skipped", {}).items()
        }
        return Manifest(
            data["index_name"], int(data["generation"]), data["updated"], notes, files,
            dict(data.get("stats", {})), int(data.get("scanned_ns", 0)), skipped,
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def _log_lines(index_dir: Path, index_name: str, base: Any) -> list[dict[str, Any]]:
    """The log's updates of the .json whose id is `base`. A line cut short by a crash
    ends the log (its update's commit then looks unrecorded, and the record is rebuilt
    from the index); lines of another .json (left by a crash while folding) are not
    this one's."""
    if base is None:
        return []
    try:
        with open(manifest_log_path(index_dir, index_name), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            break
        if not isinstance(entry, dict) or entry.get("base") != base:
            continue
        out.append(entry)
    return out


def _record(r: NoteRecord) -> list[Any]:
    # Lists, not objects: a third smaller and faster to load for 10k notes.
    return [r.mtime_ns, r.size, r.hash, r.chunks]


def write_manifest(
    index_dir: Path, manifest: Manifest, previous: Manifest | None = None
) -> None:
    """Record `manifest`. With `previous` (what the files hold now), only the notes that
    differ are appended to the log, unless the log is due for folding: a one-note update
    wrote every note's record (3 MB and an fsync at 30k notes)."""
    if previous is not None and _append(index_dir, manifest, previous):
        return
    data = {
        "index_name": manifest.index_name,
        "id": os.urandom(6).hex(),
        "generation": manifest.generation,
        "updated": manifest.updated,
        "notes": {p: _record(r) for p, r in sorted(manifest.notes.items())},
        "files": {n: list(f) for n, f in sorted(manifest.files.items())},
        "stats": dict(sorted(manifest.stats.items())),
        "scanned_ns": manifest.scanned_ns,
        "skipped": {p: list(v) for p, v in sorted(manifest.skipped.items())},
    }
    atomic_write_json(manifest_path(index_dir, manifest.index_name), data)
    with contextlib.suppress(FileNotFoundError):
        # After the .json: a crash in between leaves lines of the old id, never read.
        os.unlink(manifest_log_path(index_dir, manifest.index_name))


def _append(index_dir: Path, manifest: Manifest, previous: Manifest) -> bool:
    name = manifest.index_name
    try:
        with open(manifest_path(index_dir, name), encoding="utf-8") as f:
            base = json.load(f).get("id")
        json_size = manifest_path(index_dir, name).stat().st_size
        log = manifest_log_path(index_dir, name)
        log_size = log.stat().st_size if log.exists() else 0
        lines = len(_log_lines(index_dir, name, base))
    except (OSError, ValueError, AttributeError):
        return False
    if base is None or lines >= LOG_MAX_LINES or log_size > LOG_MAX_SHARE * json_size:
        return False
    old, new = previous.notes, manifest.notes
    delta: dict[str, Any] = {p: None for p in old if p not in new}
    for p, r in new.items():
        if p not in old or old[p] != r:
            delta[p] = _record(r)
    entry = {
        "base": base,
        "generation": manifest.generation,
        "updated": manifest.updated,
        "notes": delta,
        "files": {n: list(f) for n, f in sorted(manifest.files.items())},
        "stats": dict(sorted(manifest.stats.items())),
        "scanned_ns": manifest.scanned_ns,
        "skipped": {p: list(v) for p, v in sorted(manifest.skipped.items())},
    }
    line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW
    fd = os.open(log, flags, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


# ---------------------------------------------------------------------------------------
# Checksums of index files


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def digest_files(
    index_dir: Path, names: list[str], known: Mapping[str, tuple[int, str]]
) -> dict[str, tuple[int, str]]:
    """Size and checksum of `names`. Whoosh never rewrites a file once written (new data
    goes to new, uniquely named segments), so a file already in `known` with the same
    size keeps its checksum: an update hashes only what it wrote."""
    out: dict[str, tuple[int, str]] = {}
    for name in names:
        size = os.stat(index_dir / name).st_size
        old = known.get(name)
        out[name] = old if old is not None and old[0] == size else (size, file_digest(
            index_dir / name))  # fmt: skip
    return out


def file_problems(
    index_dir: Path, files: Mapping[str, tuple[int, str]], *, checksums: bool
) -> list[str]:
    """How the recorded files differ from the disk: missing, resized, or (with
    `checksums`, which reads them all) changed bytes."""
    problems = []
    for name, (size, digest) in sorted(files.items()):
        try:
            actual = os.stat(index_dir / name).st_size
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
            continue
        if actual != size:
            problems.append(f"{name}: {actual} bytes, {size} when written (truncated?)")
        elif checksums and file_digest(index_dir / name) != digest:
            problems.append(f"{name}: content changed since it was written")
    return problems


# ---------------------------------------------------------------------------------------
# Writer lock


def _flock() -> Any:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: Whoosh's own lock still applies
        return None
    return fcntl


@contextlib.contextmanager
def write_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the index's writer lock, waiting up to `timeout` seconds for another writer.

    Readers never take it. Raises `IndexLockedError` naming the lock file and holder pid.
    """
    fcntl = _flock()
    path = index_dir / LOCK_FILE
    fd = _open_lock(path)
    try:
        if fcntl is not None:
            _acquire(fcntl, fd, path, timeout)
        # The pid is only for messages: a full disk must not stop the update here.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            # Drop our pid first so a waiting writer never blames a finished process.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the flock


def _open_lock(path: Path) -> int:
    # O_NOFOLLOW: a `searchkit.lock` planted as a symlink would otherwise make us truncate
    # the file it points to. O_CLOEXEC: no child program inherits the lock.
    flags = os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise IndexWriteError(
                f"{path} is a symbolic link; refusing to follow it. Remove it (searchkit "
                "creates the lock file itself) and run the update again."
            ) from exc
        raise index_write_error(exc, path.parent) from exc


def index_write_error(exc: OSError, index_dir: Path) -> IndexWriteError:
    """The typed error for an OS refusal to write in the index directory."""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return IndexReadOnlyError(
            f"cannot write in the index directory {index_dir} ({exc.strerror}); the last "
            "index can still be searched. Make it writable to update it."
        )
    return IndexWriteError(f"cannot write in the index directory {index_dir}: {exc}")


def _acquire(fcntl: Any, fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = 0.02
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexLockedError(_locked_message(path, timeout)) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _locked_message(path: Path, timeout: float) -> str:
    try:
        holder = path.read_text(encoding="ascii").strip()
    except OSError:
        holder = ""
    who = f"process {holder}" if holder.isdigit() else "another process"
    return (
        f"index is locked by {who} (lock file {path}); waited {timeout:g} s. "
        "Wait for that update to finish and try again."
    )
