"""The warm CLI: hand a `searchkit search` to a running `searchkit serve` of the same index.

A cold search spends most of its time importing Whoosh and opening the index; the query
itself takes a few milliseconds. `searchkit serve` writes `searchkit.serve.json` (port,
token, pid; mode 0600) into the index directory while it runs, and the CLI sends the
query there instead. Anything unexpected (no file, a dead pid, a refused connection, a
timeout, an odd answer) returns None and the CLI searches by itself, so the hand-off can
only make a search faster, never break it.

This module is imported on every CLI search: it must stay free of Whoosh and of the rest
of the package (stdlib only).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

SERVE_FILE = "searchkit.serve.json"
NO_SERVER_ENV = "SEARCHKIT_NO_SERVER"  # set to 1 to never hand off (benchmarks, debugging)
CONNECT_TIMEOUT = 0.5
ANSWER_TIMEOUT = 10.0


@dataclass(frozen=True)
class ServerInfo:
    """What a running `searchkit serve` wrote about itself."""

    pid: int
    host: str
    port: int
    token: str | None
    index_dir: str
    vault: str
    # A per-run secret: the server proves with it that it is the one that wrote this file
    # (`proof`), so a stale file naming a port someone else holds now is not believed.
    secret: str = ""
    # The server process's start time (Linux: clock ticks after boot), so a reused pid
    # does not pass for the server.
    started: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "host": self.host, "port": self.port, "token": self.token,
            "index_dir": self.index_dir, "vault": self.vault, "secret": self.secret,
            "started": self.started,
        }


PROOF_HEADER = "X-Searchkit-Nonce"


def proof(secret: str, nonce: str) -> str:
    """What a server answers to a nonce: only the writer of the discovery file knows it."""
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def process_started(pid: int) -> int | None:
    """When process `pid` started (Linux /proc; None elsewhere or if there is no such)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[19])  # field 22, counted after the command name's ")"
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class RemoteError:
    """An error the server raised for this query (e.g. a bad query), to report as is."""

    kind: str  # the searchkit exception class name
    message: str


class RemoteResults(list):  # list of passages, like `SearchResults`
    """A `SearchResults` look-alike rebuilt from the server's answer."""

    def __init__(self, passages: Sequence[Any], data: Mapping[str, Any]) -> None:
        super().__init__(passages)
        raw = dict(data)
        # What the server could not do (a refused or failed refresh): printed to stderr
        # by the CLI, as a local search prints it, and kept out of the `--json` output.
        self.warnings = [str(w) for w in raw.pop("warnings", None) or ()]
        self.raw = raw  # the server's JSON: the CLI's `--json` output, as is
        self.query = str(data["query"])
        self.total = int(data["total"])
        self.total_exact = bool(data.get("total_exact"))
        self.available = data.get("available")
        self.offset = int(data["offset"])
        self.suggestion = data.get("suggestion")
        self.corrected = tuple(tuple(pair) for pair in data.get("corrected") or ())
        self.semantic = data.get("semantic")  # for the same notes a local search prints
        self.vault = Path(data["vault"]) if data.get("vault") else None


# ---------------------------------------------------------------------------------------
# The discovery file (written by the server, read by the CLI)


def write_server_info(index_dir: Path, info: ServerInfo) -> Path:
    """Write the discovery file readable by its owner only (it may hold the token)."""
    path = index_dir / SERVE_FILE
    # `.sktmp`: the suffix the index directory treats as its own leftover temp files.
    tmp = index_dir / f"{SERVE_FILE}.{os.getpid()}.sktmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info.to_dict(), f)
    os.replace(tmp, path)
    return path


def remove_server_info(index_dir: Path, pid: int) -> None:
    """Remove the discovery file if it is still this server's (a newer one may own it)."""
    info = read_server_info(index_dir)
    if info is not None and info.pid == pid:
        with contextlib.suppress(OSError):
            (index_dir / SERVE_FILE).unlink()


def read_server_info(index_dir: Path) -> ServerInfo | None:
    """The discovery file, if this user wrote it and nobody else can read or change it.

    A file in a cloned or shared folder may be planted: it would send the query (and any
    token) wherever it says. Only a regular file owned by us, mode 0600, is believed.
    """
    try:
        fd = os.open(index_dir / SERVE_FILE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
                return None
            if hasattr(os, "getuid") and st.st_uid != os.getuid():
                return None
            data = json.loads(f.read(65536).decode("utf-8"))
        started = data.get("started")
        return ServerInfo(
            pid=int(data["pid"]), host=str(data["host"]), port=int(data["port"]),
            token=data.get("token") or None, index_dir=str(data["index_dir"]),
            vault=str(data["vault"]), secret=str(data.get("secret") or ""),
            started=int(started) if started is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


_LOOPBACK = ("localhost", "::1")


def _trusted(info: ServerInfo, index_dir: Path) -> bool:
    """Whether `info` names a live server of ours, on this machine, for this index."""
    if not (info.host in _LOOPBACK or info.host.startswith("127.")):
        return False
    if not info.secret:
        return False
    try:  # the file must be about the index it sits in (not copied from another)
        if Path(info.index_dir).resolve() != index_dir.resolve():
            return False
    except OSError:
        return False
    if not _alive(info.pid):
        return False
    if os.path.isdir("/proc"):  # Linux: the pid must be ours and the same process
        try:
            if hasattr(os, "getuid") and os.stat(f"/proc/{info.pid}").st_uid != os.getuid():
                return False
        except OSError:
            return False
        if info.started is None or process_started(info.pid) != info.started:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: the connection attempt decides
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------
# The client side of the hand-off


def remote_search(
    index_dir: Path, vault: Path | None, params: Mapping[str, Any]
) -> RemoteResults | RemoteError | None:
    """Run a search on the server of `index_dir`, or None to search locally."""
    if os.environ.get(NO_SERVER_ENV, "") not in ("", "0"):
        return None
    index_dir = Path(index_dir).expanduser().absolute()
    info = read_server_info(index_dir)
    if info is None or not _trusted(info, index_dir):
        return None
    if vault is not None and str(Path(vault).expanduser().resolve()) != info.vault:
        return None  # another vault: the local path reports the mismatch properly
    nonce = os.urandom(16).hex()
    answer = _get(info, "/search", params, nonce)
    if answer is None:
        return None
    status, data = answer
    if not isinstance(data, dict) or not hmac.compare_digest(
        str(data.pop("proof", "")), proof(info.secret, nonce)
    ):
        return None  # not the server that wrote the file: never print its answer
    if status == 400 and data.get("kind") == "query":
        # The one error the local path would report the same way; for anything else
        # (a missing index, a version problem) the local path gives the full story.
        return RemoteError(str(data["kind"]), str(data.get("error")))
    if status != 200:
        return None
    try:
        return _results(data)
    except (KeyError, TypeError, ValueError):
        return None


def _get(
    info: ServerInfo, route: str, params: Mapping[str, Any], nonce: str
) -> tuple[int, Any] | None:
    query: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None or value == () or value == []:
            continue
        if isinstance(value, (list, tuple)):
            query.extend((key, str(v)) for v in value)
        elif isinstance(value, bool):
            query.append((key, "1" if value else "0"))
        else:
            query.append((key, str(value)))
    host = f"[{info.host}]" if ":" in info.host else info.host
    lines = [
        f"GET {route}?{urlencode(query)} HTTP/1.1",
        f"Host: {host}:{info.port}",
        "Accept: application/json",
        "Connection: close",
        f"{PROOF_HEADER}: {nonce}",
    ]
    if info.token:
        lines.append(f"Authorization: Bearer {info.token}")
    try:
        return _exchange(info, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    except (OSError, ValueError, UnicodeError):
        return None


def _exchange(info: ServerInfo, request: bytes) -> tuple[int, Any] | None:
    """One request on a fresh connection. A bare socket, not `http.client`: that module
    and its `email` parser cost ~15 ms of imports, a fifth of a warm search. Only the
    answers our own server gives are understood (status line, Content-Length body);
    anything else returns None and the CLI searches locally."""
    import socket

    with socket.create_connection((info.host, info.port), timeout=CONNECT_TIMEOUT) as sock:
        sock.settimeout(ANSWER_TIMEOUT)
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not sep:
        return None
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        return None
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers or int(headers.get("content-length", -1)) != len(body):
        return None
    return int(parts[1]), json.loads(body.decode("utf-8"))


def _results(data: Mapping[str, Any]) -> RemoteResults:
    passages = []
    for d in data["results"]:
        p = dict(d)
        p["heading_path"] = tuple(p["heading_path"])
        p["highlights"] = tuple(tuple(s) for s in p["highlights"])
        p["tags"] = tuple(p["tags"])
        p["links"] = SimpleNamespace(**p["links"])
        passages.append(SimpleNamespace(**p))
    return RemoteResults(passages, data)
