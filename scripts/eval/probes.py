#!/usr/bin/env python3
"""No-match and exact-token probes: does a search say "nothing" when nothing answers, and
does a verbatim identifier bring its holding passage first? (issue 22, items 2 and 3)

    python scripts/eval/probes.py --work /work/evalwork
    python scripts/eval/probes.py --work /work/evalwork --modes hybrid --corpus tubegraph
    python scripts/eval/probes.py --work /work/evalwork --json --per-probe /tmp/probes.jsonl

Probe sets (scripts/eval/probes/, see its README.md):
- nomatch.jsonl: queries that no passage of their corpus answers (absent and invented
  words, typos of absent words, video IDs, hashes, GUIDs, file names, identifiers, combos;
  none occurs in any file of the corpus). Per mode: how many list anything, how many say
  `total > 0`, how many have `total`/`available` disagreeing with the list (a result listed
  beside total or available 0, or nothing listed beside total or available > 0), and how
  many raised a `SearchkitError` (counted as listing nothing).
- exact.jsonl: one identifier copied verbatim from the corpus (mixed case, digits, dots,
  dashes, underscores, hex, GUIDs, file names, cmdlets, tubegraph `videoId` frontmatter
  values), held by at most 3 notes, each holding note listed. Per mode: how many have a
  holding note first, in the top 3, absent from the top 10; the median rank of the first
  holder (absent counted as 11, shown ">10"); `psg@1`, the first result is the very
  passage holding the token (body probes only); `all@10`, every holding note is in the
  top 10; `jumped`, a passage of a note that does not hold the token is listed above one
  that does. powershell-docs paths are compared
  with the version folder (5.1/, 7.4/ ...) removed: the copies are the same page.

Each corpus's index is WORK/notes-<corpus>/index (as scripts/eval/eval.py builds it), opened
read-only with the library (`searchkit.open_index(...).search(query, limit=10, mode=...)`,
the CLI's defaults otherwise); it is never updated or embedded here: build it first with
eval.py. The searchkit measured is the one in this checkout. SEARCHKIT_NO_SERVER=1 is set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ["SEARCHKIT_NO_SERVER"] = "1"
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the checkout this script belongs to is the one measured

import searchkit  # noqa: E402

PROBES = Path(__file__).resolve().parent / "probes"
CORPORA = ("tubegraph", "powershell-docs")
MODES = ("lexical", "hybrid", "semantic")
VERSION = re.compile(r"^(5\.1|7\.\d)/")
LIMIT = 10


def note_key(corpus: str, path: str) -> str:
    """A note's identity: powershell-docs copies of one page in several versions are one."""
    return VERSION.sub("", path) if corpus == "powershell-docs" else path


def load(name: str, corpora: list[str]) -> list[dict[str, Any]]:
    with open(PROBES / name, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if r["corpus"] in corpora]


def run_one(ix: Any, probe: dict[str, Any], mode: str) -> dict[str, Any]:
    """One search; the facts every table and the per-probe file need."""
    out: dict[str, Any] = {"id": probe["id"], "corpus": probe["corpus"], "kind": probe["kind"],
                           "where": probe.get("where"), "query": probe["query"], "mode": mode,
                           "error": None}
    t0 = time.perf_counter()
    try:
        res = ix.search(probe["query"], limit=LIMIT, mode=mode)
    except searchkit.SearchkitError as exc:
        out.update(error=f"{type(exc).__name__}: {exc}", total=0, available=0, results=[])
        return out
    out["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    out.update(total=res.total, available=res.available,
               corrected=[list(c) for c in res.corrected] or None,
               results=[{"path": p.path, "heading": list(p.heading_path),
                         "score": round(p.score, 4)} for p in res])
    if "holders" in probe:
        notes = {note_key(probe["corpus"], h["path"]) for h in probe["holders"]}
        passages = {(note_key(probe["corpus"], h["path"]), tuple(h["heading_path"]))
                    for h in probe["holders"] if h.get("heading_path") is not None}
        held = [note_key(probe["corpus"], r["path"]) in notes for r in out["results"]]
        ranks = [i for i, h in enumerate(held, 1) if h]
        out["holder_rank"] = ranks[0] if ranks else None
        listed = {note_key(probe["corpus"], r["path"]) for r in out["results"]}
        out["holder_notes"], out["holder_notes_listed"] = len(notes), len(notes & listed)
        # a passage of another note is listed above a holding one
        out["jumped"] = bool(ranks) and ranks[-1] > len(ranks)
        first = out["results"][0] if out["results"] else None
        out["passage_first"] = bool(first) and (
            note_key(probe["corpus"], first["path"]), tuple(first["heading"])) in passages
    return out


def mismatch(r: dict[str, Any]) -> bool:
    """`total`/`available` disagree with what is listed (offset 0)."""
    if r["error"]:
        return False
    n, total, avail = len(r["results"]), r["total"], r["available"]
    if n:
        return total == 0 or (avail is not None and avail < n)
    return total > 0 or bool(avail)


def summarize_nomatch(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"probes": len(rows),
            "lists": sum(1 for r in rows if r["results"]),
            "total>0": sum(1 for r in rows if r["total"] > 0),
            "mismatch": sum(1 for r in rows if mismatch(r)),
            "errors": sum(1 for r in rows if r["error"])}


def summarize_exact(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ranks = [r.get("holder_rank") for r in rows]
    med = float(statistics.median([k or LIMIT + 1 for k in ranks])) if ranks else None
    body = [r for r in rows if r["where"] == "body"]
    return {"probes": len(rows),
            "first": sum(1 for k in ranks if k == 1),
            "top3": sum(1 for k in ranks if k and k <= 3),
            "absent": sum(1 for k in ranks if not k),
            "median": med,
            "psg@1": f"{sum(1 for r in body if r.get('passage_first'))}/{len(body)}",
            "all@10": sum(1 for r in rows
                          if r.get("holder_notes_listed", -1) == r.get("holder_notes")),
            "jumped": sum(1 for r in rows if r.get("jumped")),
            "errors": sum(1 for r in rows if r["error"])}


def table(title: str, cols: list[str], rows: list[tuple[str, dict[str, Any]]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return ">10" if v > LIMIT else f"{v:g}"
        return str(v)
    lines = [title, "  " + "mode".ljust(9) + "".join(c.rjust(10) for c in cols)]
    for mode, s in rows:
        lines.append("  " + mode.ljust(9) + "".join(fmt(s[c]).rjust(10) for c in cols))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--work", type=Path, default=Path("/tmp/searchkit-eval"),
                    help="folder of the eval indexes, WORK/notes-<corpus>/index "
                         "(default %(default)s)")
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora",
                    help="folder of the vaults (default %(default)s)")
    ap.add_argument("--corpus", action="append", choices=CORPORA,
                    help="only this corpus (repeatable; default both)")
    ap.add_argument("--modes", default=",".join(MODES),
                    help="comma-separated search modes (default %(default)s)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--per-probe", type=Path, metavar="FILE",
                    help="write one JSON line per probe and mode")
    a = ap.parse_args(argv)
    a.modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    if bad := [m for m in a.modes if m not in MODES]:
        ap.error(f"unknown mode(s): {', '.join(bad)}; use {', '.join(MODES)}")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    corpora = a.corpus or list(CORPORA)
    nomatch, exact = load("nomatch.jsonl", corpora), load("exact.jsonl", corpora)
    report: dict[str, Any] = {"modes": a.modes, "corpora": {}}
    per_probe: list[dict[str, Any]] = []
    for corpus in corpora:
        index_dir = a.work / f"notes-{corpus}" / "index"
        if not index_dir.is_dir():
            print(f"{corpus}: no index in {index_dir} (build it with eval.py)", file=sys.stderr)
            return 2
        entry: dict[str, Any] = {"nomatch": {}, "exact": {}}
        with searchkit.open_index(index_dir, vault=a.corpora / corpus) as ix:
            st = ix.semantic_status()
            entry["vectors"] = [st.embedded, st.passages]
            for mode in a.modes:
                for name, probes in (("nomatch", nomatch), ("exact", exact)):
                    rows = [run_one(ix, p, mode) for p in probes if p["corpus"] == corpus]
                    per_probe.extend(rows)
                    summarize = summarize_nomatch if name == "nomatch" else summarize_exact
                    entry[name][mode] = summarize(rows)
        report["corpora"][corpus] = entry
    if a.per_probe:
        with open(a.per_probe, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in per_probe)
    if a.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    for corpus, entry in report["corpora"].items():
        emb, total = entry["vectors"]
        print(f"== {corpus}  (vectors: {emb:,} of {total:,} passages)"
              if emb is not None and total else f"== {corpus}")
        n = next(iter(entry["nomatch"].values()), {}).get("probes", 0)
        print(table(f"no-match probes ({n}): fewer is better",
                    ["lists", "total>0", "mismatch", "errors"],
                    list(entry["nomatch"].items())))
        n = next(iter(entry["exact"].values()), {}).get("probes", 0)
        print(table(f"exact probes ({n}): holder's rank",
                    ["first", "top3", "absent", "median", "psg@1", "all@10", "jumped",
                     "errors"],
                    list(entry["exact"].items())))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
