"""Costly queries (issue 23, item 2): CPU-seconds per query shape, and ordinary query
latency over HTTP while 8 costly requests run. Slow; not part of the test run.

    python scripts/torture/costly.py VAULT [--http] [--shapes or600,and400,neg300,phr200]

VAULT must be indexed already (`searchkit index VAULT`). Words are drawn from the index:
common ones (df > 200) for the OR/AND/NOT chains, and adjacent pairs of a long passage for
the phrases, all under the 4,096-character query cap. Run it with PYTHONPATH pointing at
an older checkout to measure before a change (the deadline is then not passed).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from searchkit.api import open_index


def cap(q: str) -> str:
    return q if len(q) <= 4096 else q[:4096].rsplit(" ", 1)[0]


def shapes(ix) -> dict[str, str]:
    s, _ = ix._searcher()
    r = s.reader()
    common = [t.decode() for t in r.lexicon("body")
              if t.isalpha() and 4 <= len(t) <= 6 and r.doc_frequency("body", t) > 200]
    rng = random.Random(1)
    rng.shuffle(common)
    body = max((s.stored_fields(d).get("body") or "" for d in range(min(3000, r.doc_count_all()))),
               key=len)
    words = [w for w in body.split() if w.isalpha() and len(w) > 3]
    pairs = [f'"{a} {b}"' for a, b in itertools.pairwise(words)]
    return {
        "or600": cap(" OR ".join((common * 3)[:600])),
        "and400": cap(" AND ".join((common * 3)[:400])),
        "neg300": "the " + cap(" ".join("-" + w for w in (common * 3)[:300])),
        "phr200": cap(" ".join(pairs[:200])),
        "words62": " ".join(common[:62]),
        "ordinary": "sleep memory",
    }


def cpu(ix, q: str, new_api: bool) -> tuple[float, str]:
    t0 = time.process_time()
    try:
        res = ix.search(q, mode="lexical", **({"deadline": None} if new_api else {}))
        out = f"{res.total} results"
    except Exception as exc:  # QueryTooCostlyError after the change
        out = f"{type(exc).__name__}: {str(exc)[:90]}"
    return time.process_time() - t0, out


def http(vault: Path, costly: list[str]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "searchkit", "serve", "--vault", str(vault),
                             "--port", "0", "--token", "t"], stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        ix = open_index(None, vault)
        info = json.loads((ix.index_dir / "searchkit.serve.json").read_text())
        base = f"http://127.0.0.1:{info['port']}/search?"

        def get(q: str, timeout: float = 60) -> tuple[int, float]:
            req = urllib.request.Request(base + urlencode({"q": q, "mode": "lexical"}),
                                         headers={"Authorization": "Bearer t"})
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    resp.read()
                    code = resp.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            return code, time.monotonic() - t0

        get("warm up")
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            heavy = [pool.submit(get, costly[i % len(costly)]) for i in range(8)]
            time.sleep(0.2)
            light = []
            while not all(f.done() for f in heavy):
                light.append(get("sleep"))
                time.sleep(0.1)
            done = [f.result() for f in heavy]
        lat = [t for _, t in light]
        print(f"costly x8: codes {[c for c, _ in done]}, "
              f"seconds {[round(t, 2) for _, t in done]}")
        print(f"ordinary /search?q=sleep during them: {len(light)} requests, codes "
              f"{sorted({c for c, _ in light})}, median {statistics.median(lat):.3f} s, "
              f"max {max(lat):.3f} s")
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vault", type=Path)
    ap.add_argument("--shapes", default="or600,and400,neg300,phr200,words62,ordinary")
    ap.add_argument("--http", action="store_true", help="8 costly requests to `serve`")
    args = ap.parse_args()
    ix = open_index(None, args.vault)
    import inspect

    new_api = "deadline" in inspect.signature(ix.search).parameters
    qs = shapes(ix)
    print("| shape | chars | CPU s | outcome |\n| --- | --- | --- | --- |")
    for name in args.shapes.split(","):
        secs, out = cpu(ix, qs[name], new_api)
        print(f"| {name} | {len(qs[name])} | {secs:.2f} | {out} |", flush=True)
    if args.http:
        http(args.vault, [qs["or600"], qs["neg300"], qs["phr200"], qs["and400"], qs["words62"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
