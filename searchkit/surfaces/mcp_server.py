"""`searchkit mcp`: the search API as MCP tools over stdio, on the official MCP SDK.

Three read-only tools, shaped like the 2026 notes-search servers agents already know
(qmd, SeekLink): `search` returns small line-anchored passages, `read` opens a window of
numbered lines around one, `status` says how fresh the index is. Tool definitions are
sent to the model on every turn, so descriptions are short and parameters are plain
strings/ints with defaults (no `anyOf null` schemas): about 500 tokens for all three
(`scripts/bench/bench_warm.py` prints the estimate).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from ..errors import SearchkitError
from ..retrieve.results import SearchResults
from .serving import LiveIndex

SNIPPET_CHARS = 300
KINDS = ("intro", "section", "callout")

INSTRUCTIONS = (
    "Ranked passage search over a markdown notes vault. Call `search`, then `read` a hit's "
    "path from its first line to see the full passage and its context."
)
SEARCH_DOC = (
    "Search the notes; returns ranked passages as JSON: path, title, heading path, "
    "lines [first, last], snippet, video timestamp (s) and links. "
    'Query syntax: words (all ranked first), "exact phrase", OR, -word, prefix*, '
    "fields title: heading: tag: path:. Filters: path (prefix or glob), tag, callout "
    "(type, e.g. tip), kind (intro|section|callout). per_note: max passages per note. "
    "offset: skip that many (the next page). links: add obsidian:// URIs. "
    "mode: hybrid (words and meaning, the default), lexical (words only) or semantic "
    "(meaning only): paraphrases are found by meaning."
)
READ_DOC = (
    "Read numbered lines of a note from the vault: path as `search` returns it, "
    "start_line e.g. a hit's first line (or a few lines before it). "
    "raw: keep video timestamp links as HTML."
)
STATUS_DOC = "Index status: notes, passages, last update, stale notes, vault."


def _compact_snippet(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= SNIPPET_CHARS:
        return flat
    cut = flat[: SNIPPET_CHARS - 1]
    space = cut.rfind(" ")
    if space > SNIPPET_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def compact_results(
    results: SearchResults, line_ends: dict[str, int], *, obsidian: bool = False
) -> dict[str, Any]:
    """The agent-facing shape: only what helps pick and open a passage."""
    rows = []
    for p in results:
        row: dict[str, Any] = {
            "rank": p.rank,
            "path": p.path,
            "title": p.title,
            "heading": list(p.heading_path),
            "lines": [p.line, max(line_ends.get(p.id, p.line), p.line)],
            "snippet": _compact_snippet(p.snippet),
        }
        if p.kind == "callout":
            row["callout"] = p.callout_type
        if p.timestamp is not None:
            row["timestamp"] = p.timestamp
        links = {"obsidian": p.links.obsidian} if obsidian else {}
        if p.links.video:
            links["video"] = p.links.video
        if links:
            row["links"] = links
        rows.append(row)
    out: dict[str, Any] = {"query": results.query, "total": results.total, "results": rows}
    meaning = getattr(results, "semantic", None) or {}
    if meaning.get("warning"):  # the vectors could not be read: ranked by words only
        out["warning"] = meaning["warning"]
    fixed = getattr(results, "corrected", ())
    if fixed:
        out["note"] = "; ".join(f"no {w!r} in the notes: also searched {c!r}" for w, c in fixed)
    if not rows:
        note = f"No passages match {results.query!r}."
        if results.suggestion:
            note += f" Did you mean: {results.suggestion}"
        out["note"] = note
    else:
        available = getattr(results, "available", None) or results.total
        shown = results.offset + len(rows)
        if available > shown:
            out["more"] = f"{available - shown} more; call again with offset={shown}"
    return out


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def build_server(live: LiveIndex) -> Any:
    """An `MCPServer` whose tools search and read `live`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    from .. import __version__
    from ..api import DEFAULT_PER_NOTE

    server = MCPServer(
        "searchkit", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(description=SEARCH_DOC, annotations=read_only, structured_output=False)
    def search(
        query: str,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
        offset: Annotated[int, Field(ge=0)] = 0,
        per_note: Annotated[int, Field(ge=0)] = DEFAULT_PER_NOTE,
        path: str = "",
        tag: str = "",
        callout: str = "",
        kind: str = "",
        links: bool = False,
        mode: Literal["hybrid", "lexical", "semantic"] = "hybrid",
    ) -> str:
        if kind and kind not in KINDS:
            raise ToolError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        try:
            results = live.search(
                query, limit=limit, offset=offset, per_note=per_note, path=path or None,
                tag=tag or None, callout=callout or None, kind=kind or None, mode=mode,
            )
            ends = live.line_ends([p.id for p in results])
        except SearchkitError as exc:
            raise ToolError(str(exc)) from exc
        out = compact_results(results, ends, obsidian=links)
        for warning in live.warnings():  # after the vectors' warning, if any: both count
            out["warning"] = f"{out['warning']}; {warning}" if "warning" in out else warning
        return _dumps(out)

    @server.tool(description=READ_DOC, annotations=read_only, structured_output=False)
    def read(
        path: str,
        start_line: Annotated[int, Field(ge=1)] = 1,
        max_lines: Annotated[int, Field(ge=1, le=500)] = 80,
        raw: bool = False,
    ) -> str:
        try:
            window = live.read(path, start_line, max_lines)
        except SearchkitError as exc:
            raise ToolError(str(exc)) from exc
        head = f"{window.path} lines {window.start}-{window.end} of {window.total}"
        body = window.numbered(raw=raw)
        tail = (
            f"\n[more: read(path, start_line={window.next_start})]"
            if window.next_start else "\n[end of note]"
        )
        return f"{head}\n{body}{tail}"

    @server.tool(description=STATUS_DOC, annotations=read_only, structured_output=False)
    def status() -> str:
        try:
            st = live.status()
        except SearchkitError as exc:
            raise ToolError(str(exc)) from exc
        return _dumps({
            "vault": st.vault,
            "notes": st.notes,
            "passages": st.chunks,
            "last_update": (
                time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(st.last_update))
                if st.last_update else None
            ),
            "stale": {"new": st.stale_new, "changed": st.stale_changed,
                      "removed": st.stale_removed},
            "watching": live.watching,
            **({"needs_rebuild": st.needs_rebuild} if st.needs_rebuild else {}),
        })

    return server


def run_stdio(
    index_dir: str | Path, vault: str | Path | None = None, *,
    on_error: Any = None, on_report: Any = None,
) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin."""
    live = LiveIndex(index_dir, vault, on_error=on_error, on_report=on_report)
    try:
        serve_stdio(build_server(live))
    finally:
        live.close()


class Unavailable:
    """Stands in for a `LiveIndex` that could not open: every tool answers `reason`.

    Desktop clients start servers with no arguments from `/`; exiting would show the user
    only "Connection closed", while a tool error reaches the agent and the user."""

    watching = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise SearchkitError(self.reason)

    search = read = status = line_ends = _fail

    def warnings(self) -> list[str]:
        return []


def run_stdio_unavailable(reason: str) -> None:
    """Serve MCP whose tools all answer `reason` (an index that could not be opened)."""
    serve_stdio(build_server(Unavailable(reason)))  # type: ignore[arg-type]


def serve_stdio(server: Any) -> None:
    """Run `server` on stdin/stdout; every line is checked first (`mcp_wire`): a malformed,
    oversized or too deeply nested one gets a JSON-RPC error and the server stays up."""
    import anyio
    from mcp.server.stdio import stdio_server

    from .mcp_wire import CheckedLines, LineWriter, claimed_stdio

    async def main() -> None:
        with claimed_stdio() as (raw_in, raw_out):
            out = LineWriter(raw_out)
            lines = CheckedLines(raw_in, out)
            async with stdio_server(stdin=lines, stdout=out) as (read, write):  # type: ignore[arg-type]
                low = server._lowlevel_server  # what MCPServer.run_stdio_async runs
                await low.run(read, write, low.create_initialization_options())

    anyio.run(main)


async def tool_definitions(live: LiveIndex) -> list[dict[str, Any]]:
    """The tools as a client lists them (for measuring their size in tokens)."""
    server = build_server(live)
    tools = await server.list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
