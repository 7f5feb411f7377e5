#!/usr/bin/env python3
"""Share of snippets cut mid-word, over a sample of real passages.

    python scripts/corpus/snippet_cuts.py VAULT [--notes N] [--seed S]

For each sampled passage, two queries are made of its own words (one pair near the
start, one near the end, so long passages need cutting); match spans are the words'
occurrences. A cut is mid-word when the snippet starts or ends (at an "…") between two
word characters of the passage. Also counts snippets holding a table pipe or a file name.
"""

from __future__ import annotations

import argparse
import random
import re

from searchkit.ingest.chunker import load_note
from searchkit.ingest.notes import scan_vault
from searchkit.retrieve.highlight import make_snippet

WORD = re.compile(r"[A-Za-z]{5,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("vault")
    ap.add_argument("--notes", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    files = sorted(f.path for f in scan_vault(args.vault))
    total = cut = pipes = files_shown = 0
    for path in rng.sample(files, args.notes):
        _, chunks = load_note(args.vault, path)
        for chunk in chunks[:4]:
            text = chunk.text
            words = WORD.findall(text)
            queries = [[]]
            if len(words) >= 4:
                queries += [words[1:3], words[-3:-1]]
            for q in queries:
                spans = sorted(
                    m.span() for w in q for m in re.finditer(rf"\b{re.escape(w)}\b", text)
                )
                snip = make_snippet(text, spans)
                total += 1
                body = snip.text.strip("…")
                start = text.find(body[:20]) if body else -1
                mid = False
                if snip.text.startswith("…") and start > 0:
                    mid |= text[start - 1].isalnum() and text[start].isalnum()
                if snip.text.endswith("…") and start >= 0:
                    # map the end back: find the last 20 chars after start
                    tail = body[-20:]
                    end = text.find(tail, start) + len(tail) if tail else -1
                    if 0 < end < len(text):
                        mid |= text[end - 1].isalnum() and text[end].isalnum()
                cut += mid
                pipes += " | " in snip.text or "\t" in snip.text
                files_shown += bool(re.search(r"\w\.(png|svg|jpe?g|gif)\b", snip.text))
    print(f"snippets {total}  mid-word cuts {cut} ({100 * cut / max(total, 1):.1f} %)  "
          f"with pipes {pipes}  with file names {files_shown}")


if __name__ == "__main__":
    main()
