#!/usr/bin/env python3
"""Ranking quality of searchkit on both judged sets, beside the SQLite FTS5 peer, in one run.

    python scripts/eval/eval.py                      # notes dev set + SciFact train and test
    python scripts/eval/eval.py --set notes          # the quick loop (under a minute once cached)
    python scripts/eval/eval.py --set scifact --split test
    python scripts/eval/eval.py --set notes --param function_weight=0.3 --weights title=4,headings=4
    python scripts/eval/eval.py --json --per-query /tmp/pq.jsonl --runs /tmp/runs

Sets:
- notes: the judged passage queries of shared/eval/notes-dev (queries.jsonl) over
  shared/corpora/<corpus>; searchkit with the CLI's defaults (limit 10, 2 passages per note)
  and the peer (peer_fts5.py's `build` once, then its `search` per query, as its `run`
  does), both scored by score_passages.py: nDCG@10 and top3 (answer or a grade-1 passage in
  the first three).
- scifact-train / scifact-test: shared/eval/scifact as one note per abstract; searchkit and
  the peer over the same vault, 100 documents per query, nDCG@10 (trec_eval semantics) and
  top3 (a relevant document in the first three). Tune on train, report test.

Indexes and peer databases live in --work (default /tmp/searchkit-eval) and are refreshed
only when notes, the peer script or searchkit's indexing code changed; ranking changes
(search.py, ranking.py, query.py) need no rebuild. The searchkit measured is the one in
this checkout. Without ranking flags the library defaults run, exactly as the CLI ranks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

# The checkout this script belongs to is the one measured, whatever is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eval_common import (
    REPO,
    SHARED,
    SetResult,
    Settings,
    add_settings_flags,
    log,
    settings_from_args,
)


def checkout() -> str:
    """`<commit>[+dirty]` of the repository, so a printed table says what it measured."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "searchkit"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    ap.add_argument("--set", choices=["notes", "scifact", "all"], default="all")
    ap.add_argument("--split", choices=["train", "test", "both"], default="both",
                    help="SciFact split(s) (default both: tune on train, report test)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/searchkit-eval"),
                    help="cache of indexes and peer databases, reused (default %(default)s)")
    rb = ap.add_mutually_exclusive_group()
    rb.add_argument("--rebuild", action="store_const", const="yes", dest="rebuild",
                    default="auto", help="rebuild the cached searchkit indexes")
    rb.add_argument("--reuse-index", action="store_const", const="no", dest="rebuild",
                    help="keep the cached indexes even if searchkit's indexing code changed "
                         "(by default they are rebuilt then)")
    ap.add_argument("--no-embed", action="store_true",
                    help="use the vectors the cached indexes have; embed nothing")
    ap.add_argument("--window", type=int, metavar="TOKENS",
                    help="embed and search with MiniLM cut at this many tokens (default "
                         "128, the model's); use a --work folder of its own")
    ap.add_argument("--shared", type=Path, default=SHARED,
                    help="the shared folder (default: ../shared beside the repository)")
    ap.add_argument("--notes-queries", type=Path,
                    help="judged passage queries (default SHARED/eval/notes-dev/queries.jsonl)")
    ap.add_argument("--corpora", type=Path,
                    help="folder of the vaults named by each query's corpus "
                         "(default SHARED/corpora)")
    ap.add_argument("--notes-vault", type=Path, help="one vault for every notes query")
    ap.add_argument("--scifact", type=Path, help="BEIR folder (default SHARED/eval/scifact)")
    ap.add_argument("--peer", type=Path,
                    help="peer script (default SHARED/eval/notes-dev/peer_fts5.py)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--per-query", type=Path, metavar="FILE",
                    help="write per-query nDCG@10 of both systems (JSON lines)")
    ap.add_argument("--runs", type=Path, metavar="DIR",
                    help="write the runs: notes as score_passages.py reads them, SciFact as "
                         "TREC run files for shared/eval/score.py")
    add_settings_flags(ap)
    return ap.parse_args(argv)


def measure(a: argparse.Namespace, settings: Settings) -> list[SetResult]:
    from eval_beir import run_beir
    from eval_notes import run_notes

    notes_dir = a.shared / "eval" / "notes-dev"
    peer_path = a.peer or notes_dir / "peer_fts5.py"
    a.work.mkdir(parents=True, exist_ok=True)
    results: list[SetResult] = []
    if a.set in ("notes", "all"):
        # Every judged set of notes-dev (queries.jsonl: tubegraph, "notes";
        # powershell-queries.jsonl: "powershell"), or the one given; another judged set
        # (e.g. the held-out one) is named after its folder.
        sets = [(a.notes_queries.resolve().parent.name, a.notes_queries)] if a.notes_queries \
            else [(p.name.replace("-queries.jsonl", "").replace("queries.jsonl", "notes"), p)
                  for p in sorted(notes_dir.glob("*queries.jsonl"))]
        for name, path in sets:
            results.append(run_notes(
                path, a.corpora or a.shared / "corpora", a.notes_vault,
                notes_dir / "score_passages.py", peer_path, a.work, settings, a.rebuild, name,
            ))
    if a.set in ("scifact", "all"):
        splits = ["train", "test"] if a.split == "both" else [a.split]
        results += run_beir(a.scifact or a.shared / "eval" / "scifact", splits, peer_path,
                            a.work, settings, a.rebuild)
    return results


def table(results: list[SetResult]) -> str:
    lines = [
        "| set | searchkit nDCG@10 | peer nDCG@10 | Δ | searchkit top3 | peer top3 | queries |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        sk, pr = r.searchkit, r.peer
        lines.append(
            f"| {r.name} | {sk['ndcg@10']:.3f} | {pr['ndcg@10']:.3f} "
            f"| {sk['ndcg@10'] - pr['ndcg@10']:+.3f} | {100 * sk['top3']:.1f}% "
            f"| {100 * pr['top3']:.1f}% | {r.queries} |"
        )
        for kind, t in r.info.get("by_type", {}).items():
            sk, pr = t["searchkit"], t["peer"]
            lines.append(
                f"| {r.name} ({kind}) | {sk['ndcg@10']:.3f} | {pr['ndcg@10']:.3f} "
                f"| {sk['ndcg@10'] - pr['ndcg@10']:+.3f} | {100 * sk['top3']:.1f}% "
                f"| {100 * pr['top3']:.1f}% | {t['queries']} |"
            )
    return "\n".join(lines)


def write_outputs(a: argparse.Namespace, results: list[SetResult]) -> None:
    if a.per_query:
        a.per_query.parent.mkdir(parents=True, exist_ok=True)
        with a.per_query.open("w", encoding="utf-8") as f:
            for r in results:
                for row in r.rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if a.runs:
        from eval_beir import write_trec

        a.runs.mkdir(parents=True, exist_ok=True)
        for r in results:
            for system, run in r.runs.items():
                if isinstance(run, dict):  # SciFact: qid → document ids
                    write_trec(run, a.runs / f"{r.name}.{system}.trec", system)
                    continue
                with (a.runs / f"{r.name}.{system}.jsonl").open("w", encoding="utf-8") as f:
                    for line in run:
                        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    import searchkit

    settings = settings_from_args(a)  # bad flags fail here, before minutes of indexing
    if a.no_embed:
        import eval_common

        eval_common.EMBED = False
    if a.window is not None:
        import eval_common

        from searchkit.embed.models import MiniLMEmbedder

        eval_common.EMBEDDER = MiniLMEmbedder(max_tokens=a.window)
    header = {
        "searchkit": str(Path(searchkit.__file__).parent),
        "checkout": checkout(),
        "settings": settings.describe() or "library defaults",
    }
    t0 = time.perf_counter()
    try:
        results = measure(a, settings)
    except searchkit.SearchkitError as exc:  # e.g. another run holds the cached index's lock
        log(f"eval: {exc}")
        return 1
    write_outputs(a, results)
    if a.json:
        out = {
            **header,
            "sets": {
                r.name: {
                    "queries": r.queries,
                    "searchkit": {k: round(v, 4) for k, v in r.searchkit.items()},
                    "peer": {k: round(v, 4) for k, v in r.peer.items()},
                    "delta_ndcg@10": round(r.searchkit["ndcg@10"] - r.peer["ndcg@10"], 4),
                    **r.info,
                }
                for r in results
            },
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    shown = header["settings"]
    if not isinstance(shown, str):
        shown = "overrides " + ", ".join(f"{k}={json.dumps(v)}" for k, v in shown.items())
    print(f"searchkit {header['checkout']} ({header['searchkit']}), ranking: {shown}")
    print()
    print(table(results))
    print()
    for r in results:
        sk, pr = r.info["searchkit_ms"], r.info["peer_ms"]
        print(f"{r.name}: {r.queries} queries; ms/query p50 searchkit {sk['p50']}, "
              f"peer {pr['p50']}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # Whoosh's SyntaxWarnings on import say nothing here
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("eval: interrupted")
        sys.exit(130)
