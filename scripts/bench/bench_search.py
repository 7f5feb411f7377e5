#!/usr/bin/env python3
"""Search latency of searchkit beside SQLite FTS5 over the same chunks (a benchmark, not a test).

    python scripts/bench/bench_search.py VAULT_OR_INDEX [--index DIR] [--queries 200] [--cold 5]

VAULT_OR_INDEX is a vault (indexed first into --index, default a temp dir) or a built
searchkit index directory. ~200 queries are derived deterministically from the indexed
chunks: words and bigrams of headings and titles, phrases, prefixes, OR, negation, field
filters. Reports in-process p50/p95 for top-10 with snippets (one reused searcher), the same
for FTS5 (porter tokenizer, bm25(), snippet()) built in memory from the stored chunks, their
ratio, and optionally (--cold N) the median wall time of a whole `searchkit search` process
beside a whole python+sqlite3 FTS5 process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORD = re.compile(r"[A-Za-z][A-Za-z]{3,}")


def open_index(target: Path, index_dir: Path | None):
    import searchkit

    if (target / "searchkit.json").exists():
        return searchkit.open_index(str(target)), target
    index_dir = index_dir or Path(tempfile.mkdtemp(prefix="searchkit-bench-"))
    ix = searchkit.open_index(str(index_dir), vault=str(target))
    t0 = time.perf_counter()
    ix.update()
    print(f"indexed {target} in {time.perf_counter() - t0:.1f} s → {index_dir}", file=sys.stderr)
    return ix, index_dir


def load_chunks(searcher) -> list[dict]:
    keep = ("source", "title", "headings", "body", "tags")
    return [{k: d.get(k) or "" for k in keep} for d in searcher.documents()]


def make_queries(chunks: list[dict], n: int, seed: int = 7) -> list[tuple[str, str]]:
    """(searchkit query, FTS5 MATCH expression) pairs of varied shapes."""
    rng = random.Random(seed)
    heads = [c for c in chunks if c["headings"].strip()] or chunks
    out: list[tuple[str, str]] = []

    def words(c):
        return WORD.findall(c["headings"] or c["title"]) or WORD.findall(c["body"][:300])

    def fts_or(ws):
        return " OR ".join(f'"{w}"' for w in ws)

    while len(out) < n:
        c = rng.choice(heads)
        ws = [w.lower() for w in words(c)]
        if not ws:
            continue
        kind = len(out) % 10
        if kind in (0, 1, 2):  # one word
            w = rng.choice(ws)
            out.append((w, f'"{w}"'))
        elif kind in (3, 4, 5) and len(ws) >= 2:  # two words of a heading
            i = rng.randrange(len(ws) - 1)
            out.append((f"{ws[i]} {ws[i + 1]}", fts_or(ws[i : i + 2])))
        elif kind == 6 and len(ws) >= 2:  # phrase
            i = rng.randrange(len(ws) - 1)
            out.append((f'"{ws[i]} {ws[i + 1]}"', f'"{ws[i]} {ws[i + 1]}"'))
        elif kind == 7:  # prefix
            w = rng.choice(ws)[:4]
            out.append((f"{w}*", f'"{w}"*'))
        elif kind == 8 and len(ws) >= 3:  # three words, one negated
            a, b, x = rng.sample(ws, 3)
            out.append((f"{a} {b} -{x}", f'({fts_or([a, b])}) NOT "{x}"'))
        elif kind == 9:  # a filter: the note's folder
            w = rng.choice(ws)
            folder = c["source"].split("/")[0] if "/" in c["source"] else ""
            if folder and " " not in folder and ":" not in folder:
                out.append((f"{w} path:{folder}/", f'"{w}"'))
            else:
                out.append((f"title:{w}", f'title : "{w}"'))
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def bench_searchkit(ix, queries, rounds: int) -> list[float]:
    from searchkit.errors import QuerySyntaxError

    def run(q):
        try:
            return ix.search(q, limit=10)
        except QuerySyntaxError:  # e.g. only stop words: an error that says so, also timed
            return []

    for q, _ in queries[:20]:  # warm caches and lazy imports
        run(q)
    times = []
    for _ in range(rounds):
        for q, _ in queries:
            t0 = time.perf_counter()
            res = run(q)
            for p in res:  # snippets are built eagerly; touch them anyway
                _ = p.snippet
            times.append((time.perf_counter() - t0) * 1000)
    return times


def build_fts(chunks: list[dict], path: str = ":memory:") -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("DROP TABLE IF EXISTS c")
    db.execute(
        "CREATE VIRTUAL TABLE c USING fts5(title, headings, body, tokenize='porter unicode61')"
    )
    db.executemany(
        "INSERT INTO c(title, headings, body) VALUES (?, ?, ?)",
        [(c["title"], c["headings"], c["body"]) for c in chunks],
    )
    db.commit()
    return db


FTS_SQL = (
    "SELECT rowid, bm25(c, 2.0, 1.5, 1.0), snippet(c, 2, '<mark>', '</mark>', '…', 24) "
    "FROM c WHERE c MATCH ? ORDER BY bm25(c, 2.0, 1.5, 1.0) LIMIT 10"
)


def bench_fts(db, queries, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for _, fq in queries:
            t0 = time.perf_counter()
            with contextlib.suppress(sqlite3.OperationalError):
                db.execute(FTS_SQL, (fq,)).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
    return times


def cold(cmd: list[str], n: int) -> float:
    walls = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", type=Path, help="vault or built index directory")
    ap.add_argument("--index", type=Path, help="where to build the index of a vault")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cold", type=int, default=5, help="cold process runs (0: skip)")
    a = ap.parse_args(argv)

    ix, index_dir = open_index(a.target, a.index)
    searcher = ix._searcher()  # the API's own reused searcher (and, since 0.2, its index)
    if isinstance(searcher, tuple):
        searcher = searcher[0]
    chunks = load_chunks(searcher)
    queries = make_queries(chunks, a.queries)
    print(f"{len(chunks)} passages, {len(queries)} queries x {a.rounds} rounds")

    sk = bench_searchkit(ix, queries, a.rounds)
    db = build_fts(chunks)
    fts = bench_fts(db, queries, a.rounds)
    p50, p95 = pct(sk, 50), pct(sk, 95)
    f50, f95 = pct(fts, 50), pct(fts, 95)
    print(f"searchkit  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  (top 10 + snippets)")
    print(f"FTS5       p50 {f50:7.2f} ms  p95 {f95:7.2f} ms  (top 10 + snippet())")
    print(f"ratio      p50 {p50 / f50:7.1f} x   p95 {p95 / f95:7.1f} x")

    if a.cold:
        exe = Path(sys.executable).with_name("searchkit")
        q = queries[3][0]
        sk_cmd = [str(exe), "search", q, "--index", str(index_dir), "--no-refresh", "--json"]
        fts_file = str(Path(tempfile.mkdtemp()) / "fts.db")
        build_fts(chunks, fts_file).close()
        fts_cmd = [
            sys.executable,
            "-c",
            "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); "
            "print(db.execute(sys.argv[2], (sys.argv[3],)).fetchall())",
            fts_file,
            FTS_SQL,
            queries[3][1],
        ]
        c_sk, c_fts = cold(sk_cmd, a.cold), cold(fts_cmd, a.cold)
        print(
            f"cold process median: searchkit {c_sk:.3f} s, FTS5 {c_fts:.3f} s, "
            f"ratio {c_sk / c_fts:.1f} x  ({' '.join(sk_cmd[1:3])!r})"
        )
        imp = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import searchkit.retrieve.search"],
            capture_output=True,
            text=True,
            check=False,
        ).stderr
        print("search path imports markdown_it:", "markdown_it" in imp)
    ix.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
