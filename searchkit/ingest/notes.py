"""Reading a vault: which files are notes, and how to read one safely into a `Note`.

Nothing here knows about markdown structure, Whoosh or the CLI. Every problem with a
single file becomes a `NoteWarning` (soft: the note is still read) or a `NoteError`
(hard: the file is skipped), always naming the file, so one bad note never stops a vault.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..errors import NoteError, VaultError

MAX_NOTE_BYTES = 10 * 1024 * 1024  # the default note size cap
# The cap in MB (a positive number; `index --max-note-mb` sets it): read at each note, so
# the indexer's worker processes, which inherit the environment, use it too.
ENV_MAX_NOTE_MB = "SEARCHKIT_MAX_NOTE_MB"
SIZE_CAP_WHY = "note size cap"


def max_note_bytes() -> int:
    """The note size cap: `SEARCHKIT_MAX_NOTE_MB` megabytes (MiB), else 10 MB."""
    raw = os.environ.get(ENV_MAX_NOTE_MB, "").strip()
    try:
        mb = float(raw)
    except ValueError:
        return MAX_NOTE_BYTES
    return int(mb * 1024 * 1024) if 0 < mb < 1e6 else MAX_NOTE_BYTES
NOTE_SUFFIXES = (".md", ".markdown")
IGNORE_FILE = ".searchkitignore"
# Sniffing the head is enough: real text never holds NUL, binaries almost always do early.
_BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class NoteWarning:
    """Something wrong with one file that the user should fix; `path` is vault-relative."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class FileInfo:
    """What a directory scan learns about a note without reading it."""

    path: str  # vault-relative, POSIX separators
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class Note:
    path: str  # vault-relative, POSIX separators
    title: str
    body: str  # the text after the frontmatter
    body_line: int  # 1-based file line on which `body` starts
    frontmatter: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    video_id: str | None = None
    # The other frontmatter values (videoId, author, channel, any string field), searched
    # as words: a pasted video ID or a Module GUID finds its note.
    values: tuple[str, ...] = ()
    mtime_ns: int = 0
    size: int = 0
    content_hash: str = ""
    title_from_frontmatter: bool = False
    warnings: tuple[NoteWarning, ...] = ()


# ---------------------------------------------------------------------------------------
# Scanning


def _load_ignore_spec(root: Path) -> Any:
    ignore = root / IGNORE_FILE
    if not ignore.is_file():
        return None
    import pathspec  # only vaults with an ignore file pay for the import

    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def is_note_name(name: str) -> bool:
    return name.lower().endswith(NOTE_SUFFIXES) and not name.startswith(".")


class ScanLog:
    """What a scan skipped and why: filled in by `scan_vault` while it runs.

    `unreadable` lists the folders (vault-relative, ending in "/", "" for the root) that
    could not be listed: their notes are unknown, not deleted, so an update keeps them.
    """

    def __init__(self) -> None:
        self.warnings: list[NoteWarning] = []
        self.unreadable: list[str] = []
        # Every folder listed (vault-relative, "" for the root) and its mtime_ns when it
        # was listed: a later check compares them instead of listing again.
        self.folders: dict[str, int] = {}
        # The stat of skipped files that cannot be found again by the name shown (a name
        # that is not UTF-8 is shown escaped), so an update can record them as skipped.
        self.stats: dict[str, FileInfo] = {}

    def skip(self, path: str, message: str, info: FileInfo | None = None) -> None:
        self.warnings.append(NoteWarning(path, message))
        if info is not None:
            self.stats[path] = info


def shown_name(name: str) -> str:
    """A file name as it can be printed and stored as text: the bytes of a name that is not
    UTF-8 (os.scandir hands them over as surrogates) become `\\xNN` escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def is_utf8_name(name: str) -> bool:
    """Whether `name` is valid UTF-8 on disk. A name that is not (`bad\\xff.md`, legal on
    Linux) cannot be stored, printed or linked to as text, so it is never a note."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _skip_undecodable(entry: os.DirEntry[str], rel: str, is_dir: bool, log: ScanLog) -> None:
    shown = shown_name(rel) + ("/" if is_dir else "")
    try:
        st = entry.stat(follow_symlinks=False)
        info = FileInfo(shown, st.st_mtime_ns, st.st_size)
    except OSError:
        info = None
    what = "folder" if is_dir else "file"
    log.skip(shown, f"skipped: the {what} name is not valid UTF-8 (bad bytes shown as \\xNN); "
             "rename it to index it", info)  # fmt: skip


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _hidden_or_ignored(target: str, real_base: str, spec: Any, is_dir: bool) -> bool:
    rel = os.path.relpath(target, real_base)
    if rel == ".":
        return False
    parts = Path(rel).parts
    if any(p.startswith(".") for p in parts):
        return True
    return spec is not None and spec.match_file("/".join(parts) + ("/" if is_dir else ""))


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
    ):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def scan_vault(
    root: str | os.PathLike[str],
    *,
    follow_symlinks: bool = False,
    log: ScanLog | None = None,
) -> Iterator[FileInfo]:
    """Yield every note under `root`, sorted by path within each folder.

    Hidden files and folders (`.obsidian`, `.git`, `.trash`…) are skipped, `.searchkitignore`
    (gitignore syntax) is honoured. Only regular files are notes: a FIFO or device named
    `*.md` would hang or flood the reader. Symlinks that stay inside the vault are
    followed; those leading out of it only with `follow_symlinks` (a link to `/etc` must
    not end up served by a search). A folder already visited (same device and inode) is
    not entered again, so link loops end. What is skipped is recorded in `log`.
    """
    base = Path(root)
    if not base.is_dir():
        raise VaultError(f"vault not found or not a directory: {base}")
    log = log if log is not None else ScanLog()
    real_base = os.path.realpath(base)
    spec = _load_ignore_spec(base)
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(base, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            st = folder.stat()
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        log.folders[rel] = st.st_mtime_ns
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if not rel:
                raise VaultError(f"cannot read the vault folder {base}: {exc.strerror}") from exc
            log.unreadable.append(rel)
            log.skip(rel, f"cannot read this folder ({exc.strerror}); its notes are left as "
                     "they were indexed")  # fmt: skip
            continue
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child_rel = f"{rel}{entry.name}"
            try:
                is_dir = entry.is_dir()  # follows symlinks; loops are cut by `seen`
            except OSError as exc:  # a link to itself (ELOOP): say so if it looks like a note
                if is_note_name(entry.name) and is_utf8_name(entry.name):
                    log.skip(child_rel, _broken_link(entry.path, exc))
                continue
            if not is_dir and not is_note_name(entry.name):
                continue
            shown = child_rel + "/" if is_dir else child_rel
            if spec is not None and spec.match_file(shown):
                continue
            if not is_utf8_name(entry.name):
                _skip_undecodable(entry, child_rel, is_dir, log)
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                inside = _inside(target, real_base)
                if not inside and not follow_symlinks:
                    log.skip(shown, f"skipped: symlink to {shown_name(target)}, outside the vault "
                             "(--follow-symlinks to index it)")  # fmt: skip
                    continue
                # The hidden and ignore rules hold for what a link points to as well:
                # `a.md -> .private/creds.env` must not make a hidden file a note.
                if inside and _hidden_or_ignored(target, real_base, spec, is_dir):
                    log.skip(shown, "skipped: symlink to a hidden or ignored file")
                    continue
            if is_dir:
                subdirs.append((Path(entry.path), shown))
                continue
            try:
                fst = entry.stat()
            except OSError as exc:
                if entry.is_symlink():  # dangling or a loop: the user meant a note here
                    log.skip(child_rel, _broken_link(entry.path, exc))
                continue  # otherwise it vanished since the listing: nothing to say
            if not stat.S_ISREG(fst.st_mode):
                log.skip(child_rel, f"skipped: {_kind(fst.st_mode)}, not a regular file")
                continue
            yield FileInfo(child_rel, fst.st_mtime_ns, fst.st_size)
        stack.extend(reversed(subdirs))


def _broken_link(path: str, exc: OSError) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    if not os.path.isabs(target) and target != "?":
        target = os.path.normpath(os.path.join(os.path.dirname(path), target))
    why = "which does not exist" if exc.errno == errno.ENOENT else f"({exc.strerror})"
    return f"skipped: symlink to {shown_name(target)}, {why}"


# ---------------------------------------------------------------------------------------
# Reading one file


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# Byte order marks of the encodings read by their mark (UTF-32 first: its LE mark starts
# with UTF-16's). Without a mark, UTF-16 holds NULs and is skipped as binary.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
BINARY_SKIP = "skipped: binary content in a markdown file (NUL bytes and no UTF-16 BOM)"
BINARY_WHY = "binary content"
# Anything else non-ASCII that is not a replacement: what decoded as real UTF-8.
_REAL_UTF8 = re.compile("[^\x00-\x7f\ufffd]")


def _c1_as_latin1(exc: UnicodeError) -> tuple[str, int]:
    """The five bytes Windows-1252 leaves undefined read as Latin-1 (C1 controls), as
    browsers do (WHATWG's windows-1252), so no byte is lost."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("searchkit-latin1", _c1_as_latin1)


def _bom(data: bytes) -> tuple[int, str, str] | None:
    for mark, codec, label in _BOMS:
        if data.startswith(mark):
            return len(mark), codec, label
    return None


def decode_note_bytes(data: bytes, path: str) -> tuple[str, list[NoteWarning]]:
    """Bytes → text, newlines unified. UTF-8 (a BOM dropped); UTF-16 or UTF-32 when a BOM
    says so; bytes that are not UTF-8 and hold none of it are Windows-1252 (Latin-1, as
    older editors on Windows and macOS saved them), with a warning. UTF-8 with a few bad
    bytes in it keeps its UTF-8 and shows the bad bytes as U+FFFD, with a warning."""
    warnings: list[NoteWarning] = []
    bom = _bom(data)
    if bom is not None:
        skip, codec, label = bom
        try:
            text = data[skip:].decode(codec)
        except UnicodeDecodeError as exc:
            text = data[skip:].decode(codec, errors="replace")
            warnings.append(NoteWarning(
                path, f"invalid {label} at byte {exc.start + skip}; bad bytes shown as U+FFFD"
            ))
        return _unify_newlines(text), warnings
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8-sig", errors="replace")
        if _REAL_UTF8.search(text) is not None:  # UTF-8, damaged: keep what is good
            warnings.append(NoteWarning(
                path, f"invalid UTF-8 at byte {exc.start}; bad bytes shown as U+FFFD"
            ))
        else:
            text = data.decode("cp1252", errors="searchkit-latin1")
            warnings.append(NoteWarning(
                path, f"not UTF-8 (byte {exc.start}): read as Windows-1252 (Latin-1); "
                "save it as UTF-8 to be sure"
            ))
    return _unify_newlines(text), warnings


def _unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_note(
    root: str | os.PathLike[str], rel_path: str, *, max_bytes: int | None = None
) -> Note:
    """Read `root/rel_path` into a `Note`.

    Raises `NoteError` when the file must be skipped (unreadable, binary, over `max_bytes`);
    softer problems (bad UTF-8, broken frontmatter) are kept in `Note.warnings`.
    """
    full = Path(root) / rel_path
    try:
        data, st = _read_capped(full, rel_path, max_bytes or max_note_bytes())
    except NoteError:
        raise
    except OSError as exc:
        raise NoteError(rel_path, f"cannot read: {exc.strerror or exc}") from exc
    if b"\x00" in data[:_BINARY_SNIFF_BYTES] and _bom(data) is None:
        raise NoteError(rel_path, BINARY_SKIP)
    return parse_note(data, rel_path, mtime_ns=st.st_mtime_ns)


def _too_big(rel_path: str, size: int, max_bytes: int) -> NoteError:
    return NoteError(
        rel_path,
        f"skipped: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB {SIZE_CAP_WHY} "
        f"(raise it with `searchkit index --max-note-mb N` or {ENV_MAX_NOTE_MB}=N)",
    )


# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (a
# regular file ignores the flag). O_NOCTTY: a terminal device must not become ours.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _read_capped(full: Path, rel_path: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file of at most `max_bytes`, never reading more than one byte
    past the cap; anything else (FIFO, device, a file replaced since the scan) is refused.
    """
    st = full.stat()
    if not stat.S_ISREG(st.st_mode):  # checked before opening: opening a device can act
        raise NoteError(rel_path, f"skipped: {_kind(st.st_mode)}, not a regular file")
    fd = os.open(full, _READ_FLAGS)
    try:
        st = os.fstat(fd)  # the file actually opened, if it was swapped after the stat
        if not stat.S_ISREG(st.st_mode):
            raise NoteError(rel_path, f"skipped: {_kind(st.st_mode)}, not a regular file")
        if st.st_size > max_bytes:
            raise _too_big(rel_path, st.st_size, max_bytes)
        parts: list[bytes] = []
        left = max_bytes + 1  # the file may have grown since fstat
        while left > 0:
            part = os.read(fd, min(left, 1 << 20))
            if not part:
                break
            parts.append(part)
            left -= len(part)
    finally:
        os.close(fd)
    data = b"".join(parts)
    if len(data) > max_bytes:
        raise _too_big(rel_path, len(data), max_bytes)
    return data, st


def read_note_bytes(full: Path, rel_path: str, max_bytes: int | None = None) -> bytes:
    """The bytes of one note, read as the indexer reads them (regular files only, never
    blocking on a FIFO, size-capped); `NoteError` naming `rel_path` otherwise."""
    try:
        return _read_capped(full, rel_path, max_bytes or max_note_bytes())[0]
    except NoteError:
        raise
    except OSError as exc:
        raise NoteError(rel_path, f"cannot read: {exc.strerror or exc}") from exc


def parse_note(data: bytes | str, rel_path: str, *, mtime_ns: int = 0) -> Note:
    """Turn a note's bytes (or text) into a `Note`. Never raises for content problems."""
    if isinstance(data, str):
        raw = data.encode("utf-8", errors="surrogatepass")
        text, warnings = _unify_newlines(data.lstrip("\ufeff")), []
    else:
        raw = data
        text, warnings = decode_note_bytes(data, rel_path)
    meta, body, body_line, fm_warning = split_frontmatter(text, rel_path)
    if fm_warning is not None:
        warnings.append(fm_warning)
    title = _frontmatter_title(meta)
    return Note(
        path=rel_path,
        title=title or PurePosixPath(rel_path).stem,
        body=body,
        body_line=body_line,
        frontmatter=meta,
        tags=_string_list(meta.get("tags", meta.get("tag"))),
        aliases=_string_list(meta.get("aliases", meta.get("alias")), split_spaces=False),
        video_id=video_id_from_frontmatter(meta),
        values=frontmatter_values(meta),
        mtime_ns=mtime_ns,
        size=len(raw),
        content_hash=content_hash(raw),
        title_from_frontmatter=title is not None,
        warnings=tuple(warnings),
    )


_FENCE_CLOSE = re.compile(r"^(---|\.\.\.)[ \t]*$")


def split_frontmatter(
    text: str, path: str
) -> tuple[dict[str, Any], str, int, NoteWarning | None]:
    """Split YAML frontmatter from the body, keeping the body's first file line.

    The delimiters are found here (so line numbers stay exact); the YAML itself is parsed
    by python-frontmatter's handler. A broken block never costs the body.
    """
    if text.partition("\n")[0].rstrip(" \t") != "---":
        return {}, text, 1, None
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if _FENCE_CLOSE.match(lines[i]):
            close = i
            break
    else:
        return {}, text, 1, NoteWarning(
            path, "frontmatter opened with '---' is never closed; indexed it as body text"
        )
    yaml_text = "\n".join(lines[1:close])
    body = "\n".join(lines[close + 1 :])
    body_line = close + 2
    meta, warning = _parse_yaml(yaml_text, path)
    return meta, body, body_line, warning


def _parse_yaml(yaml_text: str, path: str) -> tuple[dict[str, Any], NoteWarning | None]:
    if not yaml_text.strip():
        return {}, None
    import frontmatter  # python-frontmatter; its YAML handler uses a safe loader

    try:
        loaded = frontmatter.YAMLHandler().load(yaml_text)
    except Exception as exc:  # yaml raises many types; all mean "not valid YAML"
        return {}, NoteWarning(path, f"malformed YAML frontmatter ignored ({_yaml_problem(exc)})")
    if loaded is None:
        return {}, None
    if not isinstance(loaded, dict):
        return {}, NoteWarning(
            path, f"frontmatter is a {type(loaded).__name__}, not a mapping; ignored"
        )
    return {str(k): v for k, v in loaded.items()}, None


def _yaml_problem(exc: Exception) -> str:
    """PyYAML's problem and file line ("line 9: found character '%'…"), for a fixable message."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"line {mark.line + 2}: {problem}"  # +1 for 1-based, +1 for the opening ---
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _frontmatter_title(meta: Mapping[str, Any]) -> str | None:
    value = meta.get("title")
    if value is None or isinstance(value, (dict, list)):
        return None
    title = " ".join(str(value).split())
    return title or None


def _string_list(value: Any, *, split_spaces: bool = True) -> tuple[str, ...]:
    """Frontmatter list-ish values: a YAML list, or a string separated by commas (and, for
    tags, spaces). Leading `#` is dropped from tags; duplicates removed, order kept."""
    if value is None:
        return ()
    items: list[Any]
    if isinstance(value, (list, tuple, set)):
        items = list(value)
    elif isinstance(value, str):
        items = re.split(r"[,\s]+" if split_spaces else r",", value)
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        if item is None or isinstance(item, (dict, list)):
            continue
        s = str(item).strip()
        if split_spaces:
            s = s.lstrip("#")
        if s and s not in out:
            out.append(s)
    return tuple(out)


# Keys whose values are indexed already (title, tags, aliases) or are dates, not words.
_NOT_WORDS = {"title", "tags", "tag", "aliases", "alias", "date", "created", "updated",
              "modified", "cssclass", "cssclasses"}
MAX_VALUES_CHARS = 2_000  # a note's frontmatter words past this are not searched


def frontmatter_values(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """The frontmatter's scalar values (and lists of them) as strings, in key order, but
    the keys searched elsewhere or holding dates; at most MAX_VALUES_CHARS in all."""
    out: list[str] = []
    size = 0
    for key, value in meta.items():
        if str(key).strip().lower() in _NOT_WORDS:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, bool) or item is None or isinstance(item, (dict, list)):
                continue
            if not isinstance(item, (str, int, float)):
                continue  # dates and other YAML types
            text = str(item).strip()
            if not text or size + len(text) > MAX_VALUES_CHARS:
                continue
            size += len(text)
            out.append(text)
    return tuple(dict.fromkeys(out))


_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_VIDEO_ID_KEYS = ("videoId", "videoid", "video_id", "youtubeId", "youtube_id")
_VIDEO_URL_KEYS = ("url", "source", "link", "video", "youtube")


def video_id_from_url(url: str) -> str | None:
    """The YouTube video id in a watch, short, embed, shorts or live URL, else None."""
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return None
    host = (parsed.hostname or "").lower()
    candidate: str | None = None
    if host == "youtu.be":
        candidate = parsed.path.strip("/").split("/")[0]
    elif host.endswith("youtube.com") or host.endswith("youtube-nocookie.com"):
        if parsed.path == "/watch":
            candidate = (parse_qs(parsed.query).get("v") or [None])[0]
        else:
            parts = parsed.path.strip("/").split("/")
            if len(parts) >= 2 and parts[0] in ("embed", "shorts", "live", "v"):
                candidate = parts[1]
    if candidate and _VIDEO_ID.match(candidate):
        return candidate
    return None


def video_id_from_frontmatter(meta: Mapping[str, Any]) -> str | None:
    for key in _VIDEO_ID_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            found = value.strip()
            return video_id_from_url(found) or found
    for key in _VIDEO_URL_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            found_id = video_id_from_url(value)
            if found_id:
                return found_id
    return None
