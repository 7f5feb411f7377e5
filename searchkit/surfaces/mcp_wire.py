"""The MCP server's wire: stdin read as bounded lines, each checked before the SDK sees it.

The SDK's stdio transport reads whole lines of any length, drops a line it cannot parse
without an answer (the client then waits forever), and lets an exception from parsing end
the server. One message must never do any of that: a line is refused by size while it is
read (a multi-megabyte line is never held whole, never parsed), by nesting depth before it
is parsed (`json` recurses, and 2,000 brackets raised `RecursionError` out of the reader),
and every refused line gets a JSON-RPC error, with the request's id when it can be read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

# The largest message a client needs to send is a tool call with a 4,096-character query
# (~50 kB with every character escaped as a surrogate pair): 256 KiB leaves room to spare.
MAX_MESSAGE_BYTES = 256 * 1024
# MCP messages nest a few levels (params → arguments → a value); 64 is far past any.
MAX_DEPTH = 64
_CHUNK = 64 * 1024
_EDGE = 512  # bytes kept of each end of an oversized line, to find its id


@dataclass(frozen=True)
class Oversized:
    """A line that was over `MAX_MESSAGE_BYTES`: only its two ends were kept."""

    head: bytes
    tail: bytes


async def bounded_lines(
    raw: Any, limit: int = MAX_MESSAGE_BYTES
) -> AsyncIterator[bytes | Oversized]:
    """The lines of `raw` (an async file with `read(n)`), without their newline; a line
    over `limit` bytes comes as `Oversized`, having held at most `limit` bytes of it."""
    buf = bytearray()
    over: Oversized | None = None
    while True:
        chunk = await raw.read(_CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if over is not None:
                over = Oversized(over.head, (over.tail + piece)[-_EDGE:])
            else:
                buf += piece
                if len(buf) > limit:
                    over = Oversized(bytes(buf[:_EDGE]), bytes(buf[-_EDGE:]))
                    buf.clear()
            if end < 0:
                break
            if over is not None:
                yield over
                over = None
            else:
                yield bytes(buf)
                buf.clear()
            start = end + 1
    if over is not None:
        yield over
    elif buf:
        yield bytes(buf)


# One token per string (an unterminated one runs to the end, so the scan stays linear) or
# bracket: brackets inside strings are not nesting.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")


def too_deep(line: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text `line` nests arrays and objects deeper than `limit`, without
    parsing it; stops at the first bracket past the limit."""
    if line.count(b"[") + line.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKEN.finditer(line):
        token = match.group()
        if token[0] in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif token[0] != 0x22:  # a closing bracket, not a string
            depth -= 1
    return False


# A request's id, read from the ends of a line too large to parse: at the start after
# only plain members (`{"jsonrpc":"2.0","id":7,…`), or last before the final brace
# (`…,"id":7}`), the two places clients put it. A brace that ends the text closes the
# top-level object, so an id found either way is the request's own.
_PLAIN = rb'\s*"[A-Za-z_]+"\s*:\s*(?:"[^"\\]*"|-?\d+|null|true|false)\s*,'
_ID = rb'"id"\s*:\s*(-?\d{1,18}|"[^"\\]{0,200}")'
_HEAD_ID = re.compile(rb"\A\s*\{(?:" + _PLAIN + rb")*\s*" + _ID)
_TAIL_ID = re.compile(rb",\s*" + _ID + rb"\s*\}\s*\Z")


def guess_id(head: bytes, tail: bytes) -> str | int | None:
    """The id of a request whose whole text was not kept (see `Oversized`), or None."""
    match = _HEAD_ID.match(head) or _TAIL_ID.search(tail)
    if match is None:
        return None
    try:
        ident = json.loads(match.group(1))
    except ValueError:
        return None
    return ident if isinstance(ident, (str, int)) else None


def request_id(data: Any) -> str | int | None:
    """The id of a parsed message, when it is one JSON-RPC allows."""
    ident = data.get("id") if isinstance(data, dict) else None
    if not isinstance(ident, (str, int)) or isinstance(ident, bool):
        return None
    return ident


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class LineWriter:
    """The SDK's stdout: whole lines, one writer at a time (the SDK and our errors)."""

    def __init__(self, raw: Any) -> None:
        import anyio

        self._raw = raw
        self._lock = anyio.Lock()

    async def write(self, text: str) -> None:
        data = text.encode("utf-8", errors="backslashreplace")
        async with self._lock:
            await self._raw.write(data)

    async def flush(self) -> None:
        pass  # unbuffered

    async def error(self, ident: Any, code: int, message: str) -> None:
        await self.write(dumps({"jsonrpc": "2.0", "id": ident,
                                "error": {"code": code, "message": message}}) + "\n")


class CheckedLines:
    """stdin as the SDK reads it (an async iterable of lines), without the lines it would
    drop unanswered or fail on: those are answered here."""

    def __init__(self, raw: Any, out: LineWriter) -> None:
        self._raw = raw
        self._out = out

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        async for raw in bounded_lines(self._raw):
            try:
                line = await self._checked(raw)
            except Exception as exc:  # never let one line end the server
                await self._out.error(None, -32603, f"internal error: {type(exc).__name__}")
                continue
            if line is not None:
                yield line

    async def _checked(self, raw: bytes | Oversized) -> str | None:
        """The line to hand to the SDK, or None once it was answered (or is blank)."""
        from mcp_types import jsonrpc_message_adapter

        if isinstance(raw, Oversized):
            await self._out.error(guess_id(raw.head, raw.tail), -32600,
                                  f"invalid request: over {MAX_MESSAGE_BYTES // 1024} KiB")
            return None
        if not raw.strip():
            return None
        if too_deep(raw):
            # Its id is read as for an oversized line: parsing is what must not happen.
            await self._out.error(guess_id(raw[:_EDGE], raw[-_EDGE:]), -32600,
                                  f"invalid request: nested over {MAX_DEPTH} levels deep")
            return None
        try:
            line = raw.decode("utf-8")
            data = json.loads(line)
        except (ValueError, RecursionError):  # UnicodeDecodeError included
            await self._out.error(None, -32700, "parse error: not a JSON text in UTF-8")
            return None
        ident = request_id(data)
        try:
            line.encode("utf-8")  # a lone surrogate escaped as \\udXXX survives json
            json.dumps(data, ensure_ascii=False).encode("utf-8")
            jsonrpc_message_adapter.validate_json(line, by_name=False)
        except (UnicodeError, ValueError, RecursionError) as exc:
            problem = ("a string holds a lone surrogate (not Unicode text)"
                       if isinstance(exc, UnicodeError) else "not a JSON-RPC 2.0 message")
            if ident is not None or not isinstance(data, dict) or "method" not in data:
                await self._out.error(ident, -32600, f"invalid request: {problem}")
            return None
        return line


@contextlib.contextmanager
def claimed_stdio() -> Iterator[tuple[Any, Any]]:
    """Private copies of fds 0 and 1 for the wire; while serving, fd 0 reads /dev/null and
    fd 1 writes to stderr, so stray output of a library never corrupts the protocol."""
    import anyio

    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    try:
        with open(wire_in, "rb", buffering=0) as fin, open(wire_out, "wb", buffering=0) as fout:
            yield anyio.wrap_file(fin), anyio.wrap_file(fout)
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)
