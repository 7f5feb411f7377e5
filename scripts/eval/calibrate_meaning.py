#!/usr/bin/env python3
"""How far above the vault a passage found by meaning must stand to be listed: the data
behind `HybridParams.min_z` and `min_cosine` (retrieve/hybrid.py).

For every judged query (the notes-dev sets, SciFact train) and every no-match probe
(scripts/eval/probes/nomatch.jsonl), the query's cosine to every passage of its vault is
computed as search by meaning does; `z` is a cosine's distance above the query's mean
cosine over the vault, in standard deviations. It prints, for each candidate floor, how
many judged answers found by meaning in the top 10 would still be listed, and how many
no-match probes would list anything.

    python scripts/eval/calibrate_meaning.py --work /work/evalwork

Uses the eval indexes that scripts/eval/eval.py built in --work (read only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eval_common import SHARED, load_module, open_searcher

HERE = Path(__file__).resolve().parent


def cosines(index_dir: Path, searcher: Any, texts: list[str]) -> tuple[Any, list[Any]]:
    """Per text: (cosine per document, -inf without a vector); hides duplicate copies."""
    import numpy as np

    from searchkit.retrieve import postings
    from searchkit.retrieve.hybrid import DEFAULT_HYBRID
    from searchkit.semantic import Semantic

    side = Semantic(index_dir, "auto", DEFAULT_HYBRID).side(searcher)
    hidden = postings.stats_for(searcher).column(postings.DUPLICATE_COLUMN)
    out = []
    for text in texts:
        q = side.query_vector(text)
        by_row = side.full_matrix() @ q
        sims = np.full(len(side.doc_rows), -np.inf, np.float32)
        has = side.doc_rows >= 0
        sims[has] = by_row[side.doc_rows[has]]
        sims[hidden[: len(sims)]] = -np.inf
        out.append((sims, float(by_row.mean()), float(by_row.std())))
    return side, out


def top(sims: Any, k: int = 10) -> list[int]:
    import numpy as np

    idx = np.argpartition(-sims, k)[:k]
    return sorted(idx.tolist(), key=lambda d: -float(sims[d]))


def judged_notes(work: Path, queries: Path, scorer: Any) -> list[dict[str, Any]]:
    rows = []
    qs = [json.loads(x) for x in queries.read_text().splitlines() if x.strip()]
    by_corpus: dict[str, list[dict[str, Any]]] = {}
    for q in qs:
        by_corpus.setdefault(q["corpus"], []).append(q)
    for corpus, group in by_corpus.items():
        index = work / f"notes-{corpus}" / "index"
        with open_searcher(index) as s:
            _side, sims = cosines(index, s, [q["query"] for q in group])
            for q, (sim, mean, std) in zip(group, sims, strict=True):
                best_z = (float(sim.max()) - mean) / std
                hits = []
                for d in top(sim):
                    f = s.stored_fields(d)
                    res = {"path": f.get("source"), "heading": list(f.get("heading_path") or []),
                           "kind": f.get("kind"), "callout_title": f.get("callout_title")}
                    rel = scorer.ndcg10([res], q["relevant"], q.get("same_passage"))[0] > 0
                    hits.append(((float(sim[d]) - mean) / std, float(sim[d]), rel))
                rows.append({"set": corpus, "best_z": best_z, "hits": hits,
                             "paraphrase": bool(q.get("paraphrase"))})
    return rows


def judged_scifact(work: Path, data: Path) -> list[dict[str, Any]]:
    from eval_beir import load_qrels, load_queries

    qrels = load_qrels(data / "qrels_train.tsv")
    queries = load_queries(data / "queries_train.jsonl", qrels)
    index = work / "scifact" / "index"
    rows = []
    with open_searcher(index) as s:
        _side, sims = cosines(index, s, [t for _, t in queries])
        for (qid, _t), (sim, mean, std) in zip(queries, sims, strict=True):
            hits = []
            for d in top(sim):
                stem = Path(s.stored_fields(d).get("source") or "").stem
                hits.append(((float(sim[d]) - mean) / std, float(sim[d]),
                             qrels[qid].get(stem, 0) > 0))
            rows.append({"set": "scifact-train", "best_z": (float(sim.max()) - mean) / std,
                         "hits": hits})
    return rows


def probes(work: Path, path: Path) -> list[dict[str, Any]]:
    ps = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    rows = []
    for corpus in sorted({p["corpus"] for p in ps}):
        group = [p for p in ps if p["corpus"] == corpus]
        index = work / f"notes-{corpus}" / "index"
        with open_searcher(index) as s:
            _side, sims = cosines(index, s, [p["query"] for p in group])
            for p, (sim, mean, std) in zip(group, sims, strict=True):
                rows.append({"set": corpus, "query": p["query"], "kind": p.get("kind"),
                             "best_z": (float(sim.max()) - mean) / std,
                             "best_cos": float(sim.max())})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/searchkit-eval"))
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--probes", type=Path, default=HERE / "probes" / "nomatch.jsonl")
    a = ap.parse_args()
    notes_dir = a.shared / "eval" / "notes-dev"
    scorer = load_module(notes_dir / "score_passages.py", "score_passages")
    judged = []
    for qfile in sorted(notes_dir.glob("*queries.jsonl")):
        judged += judged_notes(a.work, qfile, scorer)
    judged += judged_scifact(a.work, a.shared / "eval" / "scifact")
    nomatch = probes(a.work, a.probes) if a.probes.is_file() else []
    print("| floor z | answers kept (of found in top 10) | queries losing every answer "
          "| no-match probes listing anything |")
    print("|---:|---:|---:|---:|")
    found = [h for r in judged for h in r["hits"] if h[2]]
    for zmin in (0, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6):
        kept = sum(1 for z, _c, _r in found if z >= zmin)
        lost = sum(1 for r in judged if any(h[2] for h in r["hits"])
                   and not any(h[2] and h[0] >= zmin for h in r["hits"]))
        listing = sum(1 for p in nomatch if p["best_z"] >= zmin and p["best_cos"] >= 0.3)
        print(f"| {zmin} | {kept}/{len(found)} | {lost} | {listing}/{len(nomatch)} |")
    for name in sorted({r["set"] for r in judged}):
        zs = sorted(h[0] for r in judged if r["set"] == name for h in r["hits"] if h[2])
        if zs:
            print(f"{name}: answers' z: min {zs[0]:.2f}, 5th pct {zs[len(zs) // 20]:.2f}, "
                  f"median {zs[len(zs) // 2]:.2f} ({len(zs)})")
    for p in sorted(nomatch, key=lambda p: -p["best_z"])[:12]:
        print(f"probe {p['set']}: {p['query']!r} ({p['kind']}) best z {p['best_z']:.2f}, "
              f"cos {p['best_cos']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
