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
import json
import os
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "host": self.host, "port": self.port, "token": self.token,
            "index_dir": self.index_dir, "vault": self.vault,
        }


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
    try:
        data = json.loads((index_dir / SERVE_FILE).read_text(encoding="utf-8"))
        return ServerInfo(
            pid=int(data["pid"]), host=str(data["host"]), port=int(data["port"]),
            token=data.get("token") or None, index_dir=str(data["index_dir"]),
            vault=str(data["vault"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
    if info is None or not _alive(info.pid):
        return None
    if vault is not None and str(Path(vault).expanduser().resolve()) != info.vault:
        return None  # another vault: the local path reports the mismatch properly
    answer = _get(info, "/search", params)
    if answer is None:
        return None
    status, data = answer
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


def _get(info: ServerInfo, route: str, params: Mapping[str, Any]) -> tuple[int, Any] | None:
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
