#!/usr/bin/env python3
"""Check the probe sets against the corpora they were made from (no index needed).

    python scripts/eval/probes/verify.py [--corpora ../shared/corpora]

nomatch.jsonl: every string of a probe's `absent` list (the query, its words or invented
parts, a typo's real word, a stem-like prefix) occurs in no file of the corpus, in any case.
exact.jsonl: the notes holding the query verbatim (case-insensitive, not inside a longer
word) are exactly the probe's holders, at most 3 notes (powershell-docs version copies
counted once); a body holder's passage (by path and heading path, from the chunker) holds
the token; a `videoId` probe's holders are the notes whose frontmatter names it.
Exit 1 with the failing probes listed when a check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from searchkit import load_note  # noqa: E402

VERSION = re.compile(r"^(5\.1|7\.\d)/")


def read(corpus_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(corpus_dir)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(corpus_dir.rglob("*.md"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    a = ap.parse_args()
    nomatch = [json.loads(x) for x in (HERE / "nomatch.jsonl").open(encoding="utf-8")]
    exact = [json.loads(x) for x in (HERE / "exact.jsonl").open(encoding="utf-8")]
    bad: list[str] = []
    for corpus in sorted({p["corpus"] for p in nomatch + exact}):
        files = read(a.corpora / corpus)
        low = {f: t.lower() for f, t in files.items()}
        blob = "\n\0".join(low.values())
        for p in (p for p in nomatch if p["corpus"] == corpus):
            found = [s for s in [p["query"], *p["absent"]] if s.lower() in blob]
            if found:
                bad.append(f"{p['id']} {p['query']!r}: present: {found}")
        for p in (p for p in exact if p["corpus"] == corpus):
            rx = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(p["query"]) + r"(?![A-Za-z0-9_])",
                            re.I)
            want = {h["path"] for h in p["holders"]}
            if p["kind"] == "video_id":
                line = re.compile(r"^videoId:\s*" + re.escape(p["query"]) + r"\s*$", re.M)
                have = {f for f, t in files.items() if line.search(t[:3000])}
            else:
                q = p["query"].lower()
                have = {f for f, t in files.items() if q in low[f] and rx.search(t)}
            notes = {VERSION.sub("", f) if corpus == "powershell-docs" else f for f in have}
            if have != want or len(notes) > 3:
                bad.append(f"{p['id']} {p['query']!r}: holders {sorted(have ^ want)[:4]} "
                           f"differ, {len(notes)} notes")
            for h in p["holders"]:
                if h.get("heading_path") is None:
                    continue
                _, chunks = load_note(a.corpora / corpus, h["path"])
                if not any(list(c.heading_path) == h["heading_path"] and
                           (rx.search(c.text) or any(rx.search(x) for x in c.heading_path))
                           for c in chunks):
                    bad.append(f"{p['id']} {p['query']!r}: no passage {h['heading_path']} "
                               f"of {h['path']} holds it")
    print(f"{len(nomatch)} no-match and {len(exact)} exact probes checked: "
          f"{len(bad)} problem(s)")
    for b in bad:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
