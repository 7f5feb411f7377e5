"""SciFact (any BEIR-layout collection), searchkit beside the FTS5 peer over the same vault.

The corpus becomes one markdown note per document, in the format of
shared/eval/scifact/to_markdown.py (title in frontmatter and as `# title`). searchkit ranks
with limit 100 and one passage per note; the peer's `search()` (shared peer_fts5.py,
imported by path) ranks passages that are folded to their first passage per note. Hits map
back to document ids by file stem; nDCG@10, Recall@100 and MRR@10 are computed here with
trec_eval's semantics (like shared/eval/score.py), and `top3` is the share of queries with a
relevant document in the first three, the notes set's top3 read at document level.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

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

DEPTH = 100  # documents ranked per query (Recall@100)

# BEIR file names of each split; tune on train, report on test.
SPLITS = {
    "train": ("queries_train.jsonl", "qrels_train.tsv"),
    "test": ("queries.jsonl", "qrels.tsv"),
}

# --- corpus → notes (same format as shared/eval/scifact/to_markdown.py) -------------------


def yaml_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif (
            o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029, 0xFEFF) or 0xD800 <= o <= 0xDFFF
        ):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def note_text(doc: dict) -> str:
    title = " ".join(doc.get("title", "").split())
    return (
        "---\n"
        f"id: {yaml_quote(str(doc['id']))}\n"
        f"title: {yaml_quote(title)}\n"
        'source: "beir"\n'
        "---\n\n"
        f"# {title}\n\n"
        f"{doc.get('text', '')}\n"
    )


def safe_name(docid: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(docid))
    if not name or name.startswith("."):
        name = "_" + name
    return name + ".md"


def write_vault(corpus: Path, vault: Path) -> dict[str, str]:
    """Write the notes that are missing or differ; return file stem → document id.

    Unchanged notes are not rewritten, so their mtimes stay and the cached index and peer
    database stay up to date.
    """
    vault.mkdir(parents=True, exist_ok=True)
    stems: dict[str, str] = {}
    written = 0
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            doc = json.loads(line)
            name = safe_name(doc["id"])
            stems[name[:-3]] = str(doc["id"])
            path, text = vault / name, note_text(doc)
            try:
                same = path.read_text(encoding="utf-8") == text
            except OSError:
                same = False
            if not same:
                path.write_text(text, encoding="utf-8", newline="\n")
                written += 1
    if written:
        log(f"scifact: wrote {written:,} notes into {vault}")
    return stems


# --- metrics (trec_eval semantics, like shared/eval/score.py) -----------------------------


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] == "query-id":
                continue
            if len(parts) == 3:
                qid, did, rel = parts
            else:
                qid, _, did, rel = parts[:4]
            qrels[qid][did] = int(rel)
    return qrels


def first_relevant(docs: list[str], judged: dict[str, int]) -> int | None:
    """Rank of the first relevant document in the top 10 (as the notes rows report it)."""
    return next((i + 1 for i, d in enumerate(docs[:10]) if judged.get(d, 0) >= 1), None)


def query_metrics(docs: list[str], judged: dict[str, int]) -> dict[str, float] | None:
    """nDCG@10, Recall@100, MRR@10 and top3 of one ranked list; None if nothing relevant."""
    rel = {d: g for d, g in judged.items() if g >= 1}
    if not rel:
        return None
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(docs[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    first = first_relevant(docs, rel)
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "recall@100": len(set(docs[:100]) & set(rel)) / len(rel),
        "mrr@10": 1.0 / first if first else 0.0,
        "top3": 1.0 if first is not None and first <= 3 else 0.0,
    }


def metrics(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    n = 0
    for qid, judged in qrels.items():
        m = query_metrics(run.get(qid, []), judged)
        if m is None:
            continue
        n += 1
        for k, v in m.items():
            sums[k] += v
    return {k: sums[k] / max(n, 1) for k in ("ndcg@10", "recall@100", "mrr@10", "top3")}


def load_queries(path: Path, qrels: dict[str, dict[str, int]]) -> list[tuple[str, str]]:
    queries = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                qid = str(q.get("_id", q.get("id")))
                if qid in qrels:
                    queries.append((qid, q["text"]))
    return queries


def to_docs(paths: list[str], stems: dict[str, str], depth: int) -> list[str]:
    """Passage paths → document ids, first occurrence of each, at most `depth`."""
    docs: list[str] = []
    seen: set[str] = set()
    for p in paths:
        stem = Path(p).stem
        did = stems.get(stem, stem)
        if did not in seen:
            seen.add(did)
            docs.append(did)
            if len(docs) == depth:
                break
    return docs


def write_trec(run: dict[str, list[str]], path: Path, tag: str) -> None:
    with path.open("w", encoding="utf-8") as f:
        for qid, docs in run.items():
            for i, d in enumerate(docs):
                f.write(f"{qid} Q0 {d} {i + 1} {1000 - i} {tag}\n")


# --- run ---------------------------------------------------------------------------------


def run_beir(
    data: Path,
    splits: list[str],
    peer_path: Path,
    work: Path,
    settings: Settings,
    rebuild: str = "auto",
    name: str = "scifact",
) -> list[SetResult]:
    """One SetResult per split; the vault, index and peer database are shared by them."""
    peer = load_module(peer_path, "peer_fts5")
    corpus = data / "corpus.jsonl"
    if not corpus.is_file():
        raise SystemExit(f"eval: {corpus} not found (set --scifact)")
    base = work / name
    vault = base / "vault"
    stems = write_vault(corpus, vault)
    setup_s = ensure_index(vault, base / "index", name, rebuild)
    setup_s += ensure_peer(peer, peer_path, vault, base / "peer.db", name)

    out = []
    with open_searcher(base / "index") as searcher:
        side = semantic_side(base / "index", searcher, settings)
        con = sqlite3.connect(base / "peer.db")
        try:
            for split in splits:
                qfile, qrfile = SPLITS[split]
                qrels = load_qrels(data / qrfile)
                queries = load_queries(data / qfile, qrels)
                res = SetResult(name=f"{name}-{split}", queries=len(queries))
                sk_run: dict[str, list[str]] = {}
                peer_run: dict[str, list[str]] = {}
                sk_ms: list[float] = []
                peer_ms: list[float] = []
                for qid, text in queries:
                    t = time.perf_counter()
                    hits = searchkit_query(searcher, text, "eval", DEPTH, 1, settings, side)
                    sk_ms.append(1000 * (time.perf_counter() - t))
                    sk_run[qid] = to_docs([p.path for p in hits], stems, DEPTH)
                    t = time.perf_counter()
                    # Twice the depth: a document may have several passages in the peer.
                    passages = peer_query(peer, con, text, 2 * DEPTH)
                    peer_ms.append(1000 * (time.perf_counter() - t))
                    peer_run[qid] = to_docs([p["path"] for p in passages], stems, DEPTH)
                res.searchkit = metrics(sk_run, qrels)
                res.peer = metrics(peer_run, qrels)
                for qid, text in queries:
                    sk = query_metrics(sk_run[qid], qrels[qid])
                    pr = query_metrics(peer_run[qid], qrels[qid])
                    if sk is None or pr is None:
                        continue
                    res.rows.append({
                        "set": res.name, "id": qid, "query": text,
                        "searchkit": round(sk["ndcg@10"], 4),
                        "searchkit_first": first_relevant(sk_run[qid], qrels[qid]),
                        "peer": round(pr["ndcg@10"], 4),
                        "peer_first": first_relevant(peer_run[qid], qrels[qid]),
                        "delta": round(sk["ndcg@10"] - pr["ndcg@10"], 4),
                    })
                res.runs = {"searchkit": sk_run, "peer": peer_run}  # TREC-style: qid → docs
                res.info = {"setup_s": round(setup_s, 1), "searchkit_ms": timing(sk_ms),
                            "peer_ms": timing(peer_ms), "qrels": str(data / qrfile)}
                setup_s = 0.0  # counted once, with the first split
                log(f"{res.name}: {len(queries)} queries done")
                out.append(res)
        finally:
            con.close()
    return out
