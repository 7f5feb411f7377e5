"""The judged passage queries over real notes (shared/eval/notes-dev), searchkit beside the
FTS5 peer, both scored by the shared score_passages.py (imported by path, never copied).

Queries are grouped by their `corpus` field, each corpus being `CORPORA/<corpus>`, so a set
spanning several vaults (such as the held-out one) runs unchanged.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from eval_common import (
    SetResult,
    Settings,
    ensure_index,
    ensure_peer,
    load_module,
    log,
    open_searcher,
    peer_query,
    searchkit_query,
    semantic_side,
    timing,
)

# The CLI's defaults (`searchkit search`): what a user sees, and what the set was judged for.
LIMIT = 10
PER_NOTE = None  # searchkit.retrieve.search.DEFAULT_PER_NOTE, read when the checkout is imported


def load_queries(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def passage_result(p: Any) -> dict[str, Any]:
    """A searchkit passage in the run format score_passages.py reads (= `search --json`)."""
    return {"path": p.path, "heading": list(p.heading_path), "kind": p.kind,
            "callout_title": p.callout_title}


def run_notes(
    queries_path: Path,
    corpora: Path,
    vault_override: Path | None,
    scorer_path: Path,
    peer_path: Path,
    work: Path,
    settings: Settings,
    rebuild: str = "auto",
    name: str = "notes",
) -> SetResult:
    scorer = load_module(scorer_path, "score_passages")
    peer = load_module(peer_path, "peer_fts5")
    queries = load_queries(queries_path)

    by_corpus: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in queries:
        by_corpus[q.get("corpus") or "notes"].append(q)

    res = SetResult(name=name, queries=len(queries))
    sk_runs: dict[str, list[dict]] = {}
    peer_runs: dict[str, list[dict]] = {}
    sk_ms: list[float] = []
    peer_ms: list[float] = []
    setup_s = 0.0
    for corpus, qs in by_corpus.items():
        vault = vault_override or corpora / corpus
        if not vault.is_dir():
            raise SystemExit(f"eval: vault for corpus {corpus!r} not found: {vault} "
                             "(set --corpora or --notes-vault)")
        base = work / f"notes-{corpus}"
        setup_s += ensure_index(vault, base / "index", f"{name}/{corpus}", rebuild)
        setup_s += ensure_peer(peer, peer_path, vault, base / "peer.db", f"{name}/{corpus}")

        from searchkit.retrieve.search import DEFAULT_PER_NOTE

        per_note = DEFAULT_PER_NOTE if PER_NOTE is None else PER_NOTE
        with open_searcher(base / "index") as searcher:
            side = semantic_side(base / "index", searcher, settings)
            for q in qs:
                t = time.perf_counter()
                hits = searchkit_query(
                    searcher, q["query"], vault.name, LIMIT, per_note, settings, side
                )
                sk_ms.append(1000 * (time.perf_counter() - t))
                sk_runs[q["id"]] = [passage_result(p) for p in hits]
        con = sqlite3.connect(base / "peer.db")
        try:
            for q in qs:
                t = time.perf_counter()
                peer_runs[q["id"]] = peer_query(peer, con, q["query"], LIMIT)
                peer_ms.append(1000 * (time.perf_counter() - t))
        finally:
            con.close()

    totals = {"searchkit": [0.0, 0], "peer": [0.0, 0]}
    # Per query type where the set marks it (`"paraphrase": true`): paraphrases are where
    # meaning matters, keyword queries where it must not hurt.
    typed: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for q in queries:
        row: dict[str, Any] = {"set": name, "id": q["id"], "query": q["query"]}
        kind = "paraphrase" if q.get("paraphrase") else "keyword"
        row["type"] = kind
        for system, runs in (("searchkit", sk_runs), ("peer", peer_runs)):
            ndcg, first = scorer.ndcg10(runs.get(q["id"], []), q["relevant"], q.get("same_passage"))
            totals[system][0] += ndcg
            totals[system][1] += first is not None and first <= 3
            typed[kind][system][0] += ndcg
            typed[kind][system][1] += first is not None and first <= 3
            row[system] = round(ndcg, 4)
            row[f"{system}_first"] = first  # rank of the first judged passage in the top 10
        row["delta"] = round(row["searchkit"] - row["peer"], 4)
        res.rows.append(row)

    n = max(1, len(queries))
    for system in ("searchkit", "peer"):
        s, top3 = totals[system]
        setattr(res, system, {"ndcg@10": s / n, "top3": top3 / n})
    res.runs = {
        "searchkit": [{"id": q["id"], "results": sk_runs.get(q["id"], [])} for q in queries],
        "peer": [{"id": q["id"], "results": peer_runs.get(q["id"], [])} for q in queries],
    }
    counts = {k: sum(1 for r in res.rows if r["type"] == k) for k in typed}
    if "paraphrase" in typed:
        res.info["by_type"] = {
            k: {"queries": counts[k], **{
                system: {"ndcg@10": round(v[0] / counts[k], 4), "top3": round(v[1] / counts[k], 4)}
                for system, v in typed[k].items()
            }} for k in sorted(typed)
        }
    res.info |= {"corpora": sorted(by_corpus), "setup_s": round(setup_s, 1),
                "searchkit_ms": timing(sk_ms), "peer_ms": timing(peer_ms)}
    log(f"{name}: {len(queries)} queries done")
    return res

