#!/usr/bin/env python3
"""Retrieval quality of searchkit on a BEIR-format collection, end to end.

    python scripts/eval.py DIR [--queries F] [--qrels F] [--index-dir D] [--scorer score.py]
                              [--run OUT] [--group or|and|and_then_or] [--or-scale X]
                              [--phrase-boost X] [--boost title=2,headings=1.5] [--b title=.4]
                              [--k1 1.2] [--json]

DIR holds corpus.jsonl, queries.jsonl and qrels.tsv (BEIR layout); `--queries`/`--qrels`
pick another split (e.g. queries_train.jsonl / qrels_train.tsv: tune on train, never test).
The corpus becomes one markdown note per document, in the same format as
shared/eval/scifact/to_markdown.py (title in frontmatter and as `# title`), the vault is
indexed with searchkit, each query runs with limit 100 and one passage per note, and hits
map back to document ids by file stem. Prints nDCG@10, Recall@100 and MRR@10, computed
here (trec_eval semantics); with `--scorer` also by that script for a cross-check.
`--index-dir` keeps the vault + index between runs (it is rebuilt when missing).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

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
    """Write the notes; return file stem → document id."""
    vault.mkdir(parents=True, exist_ok=True)
    stems: dict[str, str] = {}
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            doc = json.loads(line)
            name = safe_name(doc["id"])
            stems[name[:-3]] = str(doc["id"])
            (vault / name).write_text(note_text(doc), encoding="utf-8", newline="\n")
    return stems


# --- index -------------------------------------------------------------------------------


def build_index(vault: Path, index_dir: Path) -> None:
    """Index through the public API when it exists, else through the chunker directly."""
    import searchkit

    if hasattr(searchkit, "open_index"):
        ix = searchkit.open_index(str(index_dir), vault=str(vault))
        try:
            ix.update()
        finally:
            ix.close()
        return
    try:
        from searchkit.index import update_index  # type: ignore[attr-defined]
    except ImportError:
        update_index = None
    if update_index is not None:
        update_index(str(index_dir), str(vault))
        return
    import whoosh.index

    from searchkit.chunker import chunk_markdown
    from searchkit.index import build_schema, chunk_document

    index_dir.mkdir(parents=True, exist_ok=True)
    ix = whoosh.index.create_in(str(index_dir), build_schema())
    w = ix.writer(procs=2, multisegment=True, limitmb=256)
    for p in sorted(vault.glob("*.md")):
        for ch in chunk_markdown(p.read_text(encoding="utf-8"), p.name):
            w.add_document(**chunk_document(ch))
    w.commit()


def open_searcher(index_dir: Path):
    try:
        from searchkit.index import open_for_search
    except ImportError:
        import whoosh.index

        return whoosh.index.open_dir(str(index_dir)).searcher()
    ix, _meta = open_for_search(index_dir)
    return ix.searcher()


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


def metrics(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    ndcg = rec = mrr = 0.0
    n = 0
    for qid, judged in qrels.items():
        rel = {d: g for d, g in judged.items() if g >= 1}
        if not rel:
            continue
        n += 1
        docs = run.get(qid, [])
        dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(docs[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg += dcg / idcg if idcg else 0.0
        rec += len(set(docs[:100]) & set(rel)) / len(rel)
        for i, d in enumerate(docs[:10]):
            if d in rel:
                mrr += 1.0 / (i + 1)
                break
    n = max(n, 1)
    return {"ndcg@10": ndcg / n, "recall@100": rec / n, "mrr@10": mrr / n}


# --- run ---------------------------------------------------------------------------------


def parse_floats(spec: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in (spec or "").split(","):
        if part.strip():
            k, _, v = part.partition("=")
            out[k.strip()] = float(v)
    return out


def make_tuning(a: argparse.Namespace):
    from searchkit.query import DEFAULT_TUNING, Tuning

    boosts = dict(DEFAULT_TUNING.field_boosts)
    boosts.update(parse_floats(a.boost))
    return Tuning(
        field_boosts=boosts,
        group=a.group or DEFAULT_TUNING.group,
        or_scale=DEFAULT_TUNING.or_scale if a.or_scale is None else a.or_scale,
        field_combine=a.combine or DEFAULT_TUNING.field_combine,
        phrase_boost=DEFAULT_TUNING.phrase_boost if a.phrase_boost is None else a.phrase_boost,
        phrase_slop=DEFAULT_TUNING.phrase_slop if a.slop is None else a.slop,
    )


def make_weighting(a: argparse.Namespace):
    from searchkit.search import DEFAULT_WEIGHTING, PassageBM25

    if a.k1 is None and a.b is None and a.field_b is None:
        return DEFAULT_WEIGHTING
    return PassageBM25(
        K1=DEFAULT_WEIGHTING.K1 if a.k1 is None else a.k1,
        B=DEFAULT_WEIGHTING.B if a.b is None else a.b,
        field_B={**DEFAULT_WEIGHTING.field_B, **parse_floats(a.field_b)},
        field_K1=DEFAULT_WEIGHTING.field_K1,
    )


def run_queries(searcher, queries: list[tuple[str, str]], stems, tuning, weighting, snippets):
    from searchkit.errors import QuerySyntaxError
    from searchkit.search import search

    run: dict[str, list[str]] = {}
    for qid, text in queries:
        try:
            res = search(
                searcher,
                text,
                vault_name="eval",
                limit=100,
                per_note=1,
                tuning=tuning,
                weighting=weighting,
                snippets=snippets,
            )
        except QuerySyntaxError:
            res = []
        docs = []
        for p in res:
            stem = Path(p.path).stem
            docs.append(stems.get(stem, stem))
        run[qid] = docs
    return run


def write_run(run: dict[str, list[str]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for qid, docs in run.items():
            for i, d in enumerate(docs):
                f.write(f"{qid} Q0 {d} {i + 1} {1000 - i} searchkit\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--queries", type=Path)
    ap.add_argument("--qrels", type=Path)
    ap.add_argument("--index-dir", type=Path, help="keep vault + index here (reused)")
    ap.add_argument("--scorer", type=Path, help="path of score.py to cross-check the metrics")
    ap.add_argument("--run", type=Path, help="write the TREC run file here")
    ap.add_argument("--group", choices=["or", "and", "and_then_or"])
    ap.add_argument("--or-scale", type=float)
    ap.add_argument("--combine", choices=["sum", "max"])
    ap.add_argument("--phrase-boost", type=float)
    ap.add_argument("--slop", type=int)
    ap.add_argument("--boost", help="field boosts, e.g. title=2,headings=1.5,body=1")
    ap.add_argument("--k1", type=float)
    ap.add_argument("--b", type=float)
    ap.add_argument("--field-b", help="per-field B, e.g. title=0.4,headings=0.4")
    ap.add_argument("--snippets", action="store_true", help="also build snippets (slower)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)

    corpus = a.dir / "corpus.jsonl"
    qpath = a.queries or a.dir / "queries.jsonl"
    qrels_path = a.qrels or a.dir / "qrels.tsv"
    qrels = load_qrels(qrels_path)
    queries = []
    with qpath.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                if str(q["_id"] if "_id" in q else q["id"]) in qrels:
                    queries.append((str(q.get("_id", q.get("id"))), q["text"]))

    tmp = None
    if a.index_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="searchkit-eval-")
        base = Path(tmp.name)
    else:
        base = a.index_dir
    vault, index_dir = base / "vault", base / "index"
    t0 = time.perf_counter()
    if not (index_dir.exists() and any(index_dir.iterdir())):
        stems = write_vault(corpus, vault)
        build_index(vault, index_dir)
    else:
        stems = {p.stem: p.stem for p in vault.glob("*.md")}
    t_index = time.perf_counter() - t0

    searcher = open_searcher(index_dir)
    t0 = time.perf_counter()
    run = run_queries(searcher, queries, stems, make_tuning(a), make_weighting(a), a.snippets)
    t_query = time.perf_counter() - t0
    m = metrics(run, qrels)
    out = {**{k: round(v, 4) for k, v in m.items()}, "queries": len(queries)}
    out["index_s"] = round(t_index, 1)
    out["query_ms"] = round(1000 * t_query / max(1, len(queries)), 2)

    if a.run or a.scorer:
        run_path = a.run or base / "run.trec"
        write_run(run, run_path)
        if a.scorer:
            cmd = [sys.executable, str(a.scorer), str(run_path), str(qrels_path), "--json"]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            out["scorer"] = res.stdout.strip() or res.stderr.strip()
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>11}: {v}")
    searcher.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
