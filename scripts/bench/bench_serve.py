#!/usr/bin/env python3
"""Warm vs cold search: in-process, over HTTP (`searchkit serve`), and whole CLI processes.

    python scripts/bench/bench.py serve --index DIR [--runs 7] [--queries "a b" "c"]

Prints, in one run on the same index:
- in-process `SearchIndex.search` p50 (searcher already open);
- HTTP `/search` p50 against a `searchkit serve` started here (keep-alive connection);
- a whole `searchkit search --json` process: median without a server
  (SEARCHKIT_NO_SERVER=1, i.e. today's cold CLI) and with the server (warm CLI);
- the size of the MCP tool definitions (characters / 4 as a token estimate).

The index must exist (`searchkit index VAULT --index DIR`). Stop other heavy work first: the
numbers are medians, but two shared cores still move them.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

QUERIES = ["sleep memory", "neural network training", '"machine learning"', "startup growth",
           "title:python", "dopamine -caffeine"]


def p50(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


def start_server(index: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "serve", "--index", str(index), "--port", "0"],
        stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )
    info = index / "searchkit.serve.json"
    deadline = time.monotonic() + 60
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("searchkit serve did not start")
        time.sleep(0.05)
    return proc, json.loads(info.read_text())["port"]


def warm_pair(index: Path, port: int, queries: list[str], runs: int) -> tuple[float, float]:
    """In-process and HTTP p50, interleaved query by query so load drift on a shared
    machine hits both alike."""
    import searchkit

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(q: str) -> None:
        conn.request("GET", "/search?" + urlencode({"q": q}))
        json.loads(conn.getresponse().read())

    local: list[float] = []
    remote: list[float] = []
    with searchkit.open_index(index) as ix:
        for q in queries:  # warm the searchers and caches on both sides
            ix.search(q)
            get(q)
        for _ in range(runs):
            for q in queries:
                t = time.perf_counter()
                ix.search(q)
                local.append(time.perf_counter() - t)
                t = time.perf_counter()
                get(q)
                remote.append(time.perf_counter() - t)
    conn.close()
    return p50(local), p50(remote)


def whole_cli(index: Path, queries: list[str], runs: int, warm: bool) -> float:
    env = {**os.environ, "SEARCHKIT_NO_SERVER": "0" if warm else "1"}
    exe = str(Path(sys.executable).with_name("searchkit"))
    times = []
    for _ in range(runs):
        for q in queries:
            t = time.perf_counter()
            subprocess.run([exe, "search", "--index", str(index), "--json", q], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - t)
    return p50(times)


def process_floor(runs: int) -> float:
    """A process that only imports the CLI: what no hand-off can save."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import searchkit.surfaces.cli"], check=True)
        times.append(time.perf_counter() - t)
    return p50(times)


def tool_tokens(index: Path) -> tuple[int, int]:
    from searchkit.surfaces.mcp_server import tool_definitions
    from searchkit.surfaces.serving import LiveIndex

    with LiveIndex(index, watch=False) as live:
        text = json.dumps(asyncio.run(tool_definitions(live)))
    return len(text), len(text) // 4


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=7, help="rounds over the queries (default 7)")
    ap.add_argument("--queries", nargs="+", default=QUERIES)
    args = ap.parse_args()
    index = args.index.absolute()
    qs = args.queries

    chars, tokens = tool_tokens(index)
    print(f"MCP tool definitions: {chars} chars, ~{tokens} tokens (target <= 1000)")
    cold = whole_cli(index, qs, max(1, args.runs // 2 + 1), warm=False)
    proc, port = start_server(index)
    try:
        local, remote = warm_pair(index, port, qs, args.runs)
        print(f"in-process search p50:          {local:7.1f} ms")
        print(f"HTTP /search p50 (keep-alive):  {remote:7.1f} ms  (+{remote - local:.1f} ms)")
        warm = whole_cli(index, qs, max(1, args.runs // 2 + 1), warm=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"whole `searchkit search`, cold: {cold:7.1f} ms (median of {len(qs)} queries x "
          f"{max(1, args.runs // 2 + 1)})")
    print(f"whole `searchkit search`, warm: {warm:7.1f} ms  -> {cold / warm:.1f}x faster")
    print(f"floor (`python -c 'import searchkit.surfaces.cli'`): {process_floor(len(qs)):.1f} ms")


if __name__ == "__main__":
    main()
