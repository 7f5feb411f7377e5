"""`searchkit mcp` as a subprocess, driven by the MCP SDK's own stdio client."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, get_default_environment
from vaults import RUST, SLEEP

import searchkit


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, Path]:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "sleep.md").write_text(SLEEP, encoding="utf-8")
    (vault / "rust.md").write_text(RUST, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nthe password\n", encoding="utf-8")
    os.symlink(outside / "secret.md", vault / "linked.md")
    index = tmp_path / "index"
    with searchkit.open_index(index, vault) as ix:
        ix.update()
    return vault, index


def run_session(index: Path, body: Callable[[Client], Awaitable[None]],
                env: dict[str, str] | None = None) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "searchkit", "mcp", "--index", str(index)],
        # The SDK passes only a few variables on; words only, as conftest.py sets it.
        env={**get_default_environment(), "SEARCHKIT_SEMANTIC": "off", **(env or {})},
    )

    async def main() -> None:
        async with Client(params, read_timeout_seconds=30) as client:
            await body(client)

    anyio.run(main)


def text_of(result: Any) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def call(client: Client, tool: str, **args: Any) -> tuple[bool, str]:
    result = await client.call_tool(tool, args)
    return bool(result.is_error), text_of(result)


def test_tools_search_and_read_around_a_hit(built: tuple[Path, Path]) -> None:
    vault, index = built

    async def body(client: Client) -> None:
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} == {"search", "read", "status"}
        definitions = json.dumps([t.model_dump(mode="json", exclude_none=True)
                                  for t in listed.tools])
        assert len(definitions) / 4 < 1000  # rough token estimate of all definitions

        err, text = await call(client, "search", query="hippocampus", limit=5)
        assert not err
        data = json.loads(text)
        top = data["results"][0]
        assert (top["rank"], top["path"], top["title"]) == (1, "sleep.md", "Sleep and memory")
        assert top["heading"] == ["Slow-wave sleep"]
        assert top["lines"] == [8, 10]
        assert "hippocampus" in top["snippet"] and len(top["snippet"]) <= 300
        assert top["timestamp"] == 100
        assert top["links"]["video"].endswith("t=100s")
        assert "obsidian" not in top["links"]  # only when asked: 18 % of a payload
        err, text = await call(client, "search", query="hippocampus", limit=5, links=True)
        top = json.loads(text)["results"][0]
        assert top["links"]["obsidian"].startswith("obsidian://open?vault=vault")

        err, text = await call(client, "read", path=top["path"], start_line=top["lines"][0],
                               max_lines=3)
        assert not err
        head, *rows = text.splitlines()
        assert head == "sleep.md lines 8-10 of 13"
        assert rows[0] == " 8  ## Slow-wave sleep"
        assert rows[-1] == "[more: read(path, start_line=11)]"

        err, text = await call(client, "search", query="sleep", path="rust.md")
        assert not err and json.loads(text)["results"] == []

        err, text = await call(client, "status")
        st = json.loads(text)
        assert (st["notes"], st["vault"], st["watching"]) == (2, str(vault.resolve()), True)

    run_session(index, body)


def test_errors_are_tool_errors_and_the_server_lives_on(built: tuple[Path, Path]) -> None:
    _, index = built

    async def body(client: Client) -> None:
        err, text = await call(client, "search", query="has:nothing")
        assert err and "has:nothing is not known" in text

        err, text = await call(client, "search", query="sleep", kind="chapter")
        assert err and "kind must be one of" in text

        err, text = await call(client, "search", query="hipocampus")
        assert not err
        data = json.loads(text)
        assert data["results"] and "also searched 'hippocampus'" in data["note"]
        err, text = await call(client, "search", query="hippocampus9")
        data = json.loads(text)
        assert data["results"] == [] and "No passages match" in data["note"]

        for path, why in [("../outside/secret.md", "leaves the vault"),
                          ("/etc/passwd", "not a vault-relative"),
                          ("linked.md", "symlink"),
                          ("nope.md", "not an indexed note")]:
            err, text = await call(client, "read", path=path)
            assert err and why in text, (path, text)

        err, text = await call(client, "search", query="borrow")  # still serving
        assert not err and json.loads(text)["results"][0]["path"] == "rust.md"

    run_session(index, body)


def test_an_empty_semantic_setting_is_not_set(built: tuple[Path, Path], tmp_path: Path) -> None:
    """`SEARCHKIT_SEMANTIC=` (set, empty) is the default: the config decides (off here, so no
    model runs), and the server serves, where it used to claim it "has no index"."""
    _, index = built
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('semantic = "off"\n', encoding="utf-8")

    async def body(client: Client) -> None:
        err, text = await call(client, "search", query="borrow")
        assert not err, text
        assert json.loads(text)["results"][0]["path"] == "rust.md"

    run_session(index, body, env={"SEARCHKIT_SEMANTIC": "", "SEARCHKIT_HOME": str(home)})


def test_a_note_edited_between_two_searches_is_found(built: tuple[Path, Path]) -> None:
    vault, index = built

    async def body(client: Client) -> None:
        err, text = await call(client, "search", query="zeppelin")
        assert not err and json.loads(text)["results"] == []
        await anyio.sleep(0.3)  # let the watcher settle on its first scan
        (vault / "rust.md").write_text(RUST + "\n## Airships\nA zeppelin floats.\n",
                                       encoding="utf-8")
        deadline = time.monotonic() + 10
        while True:
            err, text = await call(client, "search", query="zeppelin")
            results = json.loads(text)["results"]
            if results or time.monotonic() > deadline:
                break
            await anyio.sleep(0.1)
        assert results and results[0]["path"] == "rust.md"
        assert results[0]["heading"] == ["Rust ownership", "Airships"]

    run_session(index, body)


# ---------------------------------------------------------------------------------------
# One message never takes the server down (issue 23 item 3): raw lines over stdio.


def _send(pipe: Any, line: bytes) -> None:
    pipe.write(line + b"\n")
    pipe.flush()


def _exchange(index: Path, lines: list[bytes]) -> list[tuple[float, dict[str, Any]]]:
    """Send each line to `searchkit mcp` and wait for its one answer; (seconds, answer)."""
    import subprocess
    import threading

    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "mcp", "--index", str(index)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    timer = threading.Timer(90, proc.kill)  # a missing answer fails, never hangs
    timer.start()
    answers = []
    try:
        for line in lines:
            started = time.monotonic()
            # A writer thread: the server may answer before it has read the whole line.
            writer = threading.Thread(target=_send, args=(proc.stdin, line))
            writer.start()
            answer = proc.stdout.readline()
            writer.join()
            assert answer, f"no answer; stderr: {proc.stderr.read()[-2000:]!r}"
            answers.append((time.monotonic() - started, json.loads(answer)))
    finally:
        timer.cancel()
        proc.stdin.close()
        proc.wait(30)
        proc.stderr.close()
        proc.stdout.close()
    return answers


def _request(ident: int, method: str, **params: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": method,
                       "params": params}).encode()


def test_a_deep_or_huge_message_gets_an_error_and_the_server_stays_up(
    built: tuple[Path, Path],
) -> None:
    _, index = built
    init = _request(0, "initialize", protocolVersion="2025-06-18", capabilities={},
                    clientInfo={"name": "t", "version": "1"})
    deep = b"[" * 2000 + b"]" * 2000  # ~4 KB; raised RecursionError in the reader
    deep_request = (b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":'
                    + b"[" * 2000 + b"]" * 2000 + b"}}")
    huge = _request(3, "tools/call", name="search", arguments={"query": "a" * 2_400_000})
    # The id last, as JSON.stringify({...request, jsonrpc, id}) puts it.
    huge_id_last = (b'{"method":"tools/call","params":{"name":"search","arguments":{"query":"'
                    + b"b" * 2_400_000 + b'"}},"jsonrpc":"2.0","id":"four"}')
    search = _request(5, "tools/call", name="search", arguments={"query": "hippocampus"})
    answers = _exchange(index, [init, deep, deep_request, huge, huge_id_last, search])
    (_, first), (_, bare), (_, nested), (t_huge, big), (_, big_last), (_, found) = answers
    assert first["id"] == 0 and "result" in first
    assert bare["id"] is None and bare["error"]["code"] == -32600
    assert "nested over" in bare["error"]["message"]
    assert nested["id"] == 2 and nested["error"]["code"] == -32600
    assert big["id"] == 3 and big["error"]["code"] == -32600
    assert "KiB" in big["error"]["message"]
    assert t_huge < 5  # refused by size before parsing (was 19.7 s)
    assert big_last["id"] == "four" and big_last["error"]["code"] == -32600
    # Still serving.
    assert found["id"] == 5
    top = json.loads(found["result"]["content"][0]["text"])["results"][0]
    assert top["path"] == "sleep.md"
