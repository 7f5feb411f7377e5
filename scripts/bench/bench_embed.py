#!/usr/bin/env python3
"""Search by meaning: embedding throughput, and what hybrid ranking adds to a query.

    python scripts/bench/bench.py embed VAULT [--sample 600] [--model minilm|wordllama|both]
    python scripts/bench/bench.py embed VAULT --index DIR [--queries FILE] [--rounds 3]

Throughput: a seeded sample of VAULT's passages, cut by searchkit's own chunker and
embedded as the index embeds them (title, headings, text), three ways in the same run and
on the same passages, alternating so that a busy machine slows each alike:
- `naive`: one passage per model call, in vault order (what a first script does);
- `batched`: searchkit's way, passages sorted by token count and batched (little padding),
  onnxruntime on the cores the process may use;
- `batched, 1 thread`: the same on one core.
Prints passages/s for each and the ratio to naive, plus the token lengths of the sample.

Query overhead (`--index DIR`, an index already embedded with `searchkit index`): the same
queries through `SearchIndex.search` in `lexical` and `hybrid` mode, alternating, several
rounds; prints p50/p95 per mode and the overhead (hybrid - lexical) at p50 and p95. The
queries come from --queries (one per line, or JSON lines with a "query" key), by default
the judged queries in ../shared/eval/notes-dev.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SHARED = Path(__file__).resolve().parents[3] / "shared"


def sample_passages(vault: Path, n: int, seed: int = 7) -> list[str]:
    from searchkit.embed.text import passage_text
    from searchkit.ingest.chunker import load_note
    from searchkit.ingest.notes import scan_vault

    files = [info.path for info in scan_vault(vault)]
    random.Random(seed).shuffle(files)
    out: list[str] = []
    for rel in files:
        try:
            _note, chunks = load_note(vault, rel)
        except Exception:  # a note the indexer would skip with a warning
            continue
        out += [passage_text(c.title, c.heading_path, c.callout_title, c.text) for c in chunks]
        if len(out) >= n:
            break
    return out[:n]


def throughput(vault: Path, n: int, models: list[str]) -> None:
    import numpy as np

    from searchkit.embed import models as m

    texts = sample_passages(vault, n)
    print(f"{len(texts)} passages from {vault}")
    for name in models:
        emb = m.load(name)
        if hasattr(emb, "count_tokens"):
            tokens = emb.count_tokens(texts)
            p50, p90, p99 = np.percentile(tokens, [50, 90, 99])
            over = float((tokens > getattr(emb, "max_tokens", 1 << 30)).mean())
            print(f"{emb.name}: tokens p50 {p50:.0f}, p90 {p90:.0f}, p99 {p99:.0f}; "
                  f"{100 * over:.0f} % truncated at {getattr(emb, 'max_tokens', '-')}")
        emb.embed_passages(texts[:16])  # warm-up: first calls allocate
        ways = {
            "naive": lambda e=emb: [e.embed_query(t) for t in texts],
            "batched": lambda e=emb: e.embed_passages(texts),
        }
        single = None
        if name == "minilm":
            single = m.MiniLMEmbedder(intra_op_threads=1)
            ways["batched, 1 thread"] = lambda e=single: e.embed_passages(texts)
        seconds: dict[str, list[float]] = {k: [] for k in ways}
        for _round in range(2):
            for way, fn in ways.items():
                t = time.perf_counter()
                fn()
                seconds[way].append(time.perf_counter() - t)
        naive = min(seconds["naive"])
        print(f"| {emb.name} | passages/s | x naive |")
        print("|---|---:|---:|")
        for way, secs in seconds.items():
            best = min(secs)
            print(f"| {way} | {len(texts) / best:,.1f} | {naive / best:.2f} |")
        print()


def load_queries(path: Path | None) -> list[str]:
    paths = [path] if path else sorted((SHARED / "eval" / "notes-dev").glob("*queries.jsonl"))
    out = []
    for p in paths:
        for line in p.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            out.append(json.loads(line)["query"] if line.startswith("{") else line)
    return out


def overhead(index: Path, queries: list[str], rounds: int) -> None:
    import searchkit

    times: dict[str, list[float]] = {"lexical": [], "hybrid": []}
    with searchkit.open_index(index) as ix:
        status = ix.semantic_status()
        print(f"{index}: {status.embedded:,} of {status.passages:,} passages embedded "
              f"({status.model})")
        for q in queries[:5]:  # warm-up: model, vectors, searcher
            ix.search(q, mode="hybrid")
        for _round in range(rounds):
            for q in queries:
                for mode in ("lexical", "hybrid"):
                    t = time.perf_counter()
                    with contextlib.suppress(searchkit.SearchkitError):
                        ix.search(q, mode=mode)
                    times[mode].append(1000 * (time.perf_counter() - t))

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    print(f"{len(queries)} queries x {rounds} rounds, alternating modes")
    print("| mode | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for mode, xs in times.items():
        print(f"| {mode} | {statistics.median(xs):.1f} | {pct(xs, 0.95):.1f} |")
    lex, hyb = times["lexical"], times["hybrid"]
    print(f"| hybrid - lexical | {statistics.median(hyb) - statistics.median(lex):+.1f} "
          f"| {pct(hyb, 0.95) - pct(lex, 0.95):+.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vault", type=Path, nargs="?")
    ap.add_argument("--sample", type=int, default=600)
    ap.add_argument("--model", choices=["minilm", "wordllama", "both"], default="both")
    ap.add_argument("--index", type=Path, help="measure hybrid query overhead on this index")
    ap.add_argument("--queries", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.index:
        overhead(a.index, load_queries(a.queries), a.rounds)
        return
    if a.vault is None:
        ap.error("give a VAULT (throughput) or --index DIR (query overhead)")
    models = ["minilm", "wordllama"] if a.model == "both" else [a.model]
    throughput(a.vault, a.sample, models)


if __name__ == "__main__":
    main()
