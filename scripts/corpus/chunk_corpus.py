#!/usr/bin/env python3
"""Run the chunker over every note of one or more vaults and print a table.

    python scripts/corpus/chunk_corpus.py VAULT [VAULT ...] [--warnings N]

Reports notes, chunks, warnings, skipped files, exceptions, throughput (MB/s of note
bytes, median of --repeat runs) and `markup`: passages whose text still holds markup the
chunker should have removed (`[[`, `]]`, `<a `, a `[!type]` callout marker) outside code.
A clean run has zero exceptions and zero markup; `--samples N` prints leftovers to fix.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator

from searchkit.errors import NoteError
from searchkit.ingest.chunker import _parser, load_note
from searchkit.ingest.notes import scan_vault

# Markup that plain chunk text must not hold (code may: it is shown as written).
LEFTOVER = re.compile(r"\[\[|\]\]|<a\s|\[![\w-]+\]", re.IGNORECASE)


def _code_texts(body: str) -> Iterator[str]:
    """Every code text of a note (fences, indented blocks, inline code), as the chunker
    keeps it. Checked against the raw note rather than tracked in the chunker, so that
    counting costs the chunker nothing."""
    for tok in _parser().parse(body):
        if tok.type in ("fence", "code_block"):
            yield tok.content.strip()
        for child in tok.children or ():
            if child.type == "code_inline":
                yield child.content


def _closes_own_brackets(text: str, at: int) -> bool:
    """`]]` that closes two `[` of its own line (`[string[]]`) is text, not a link's end
    (a leftover `[[x]]` is still counted by its `[[`)."""
    line = text[text.rfind("\n", 0, at) + 1 : at]
    return line.count("[") - line.count("]") >= 2


def leftovers(note, chunks) -> list[tuple[str, str]]:
    """(chunk id, text around the markup) for each passage with markup outside code: a
    match counts unless it lies inside an occurrence of a code text holding it."""
    found = []
    code: list[str] | None = None
    for chunk in chunks:
        text = chunk.text
        matches = list(LEFTOVER.finditer(text))
        if not matches:
            continue
        if code is None:  # parse only notes that have a suspect passage
            code = [c for c in set(_code_texts(note.body)) if LEFTOVER.search(c)]
        covered = [
            (m.start(), m.start() + len(c))
            for c in code
            for m in re.finditer(re.escape(c), text)
        ]
        for m in matches:
            if m.group(0) == "]]" and _closes_own_brackets(text, m.start()):
                continue
            if not any(a <= m.start() and m.end() <= b for a, b in covered):
                found.append((chunk.id, text[max(0, m.start() - 60) : m.end() + 60]))
                break
    return found


def run_once(vault: str, check: bool = False) -> dict:
    files = list(scan_vault(vault))
    stats: Counter[str] = Counter()
    warnings: list[str] = []
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    markup: list[tuple[str, str]] = []
    nbytes = 0
    seconds = 0.0
    for info in files:
        start = time.perf_counter()
        try:
            note, chunks = load_note(vault, info.path)
            seconds += time.perf_counter() - start
        except NoteError as exc:
            stats["skipped"] += 1
            warnings.append(str(exc))
            continue
        except Exception:  # the point of the run: any other exception is a bug
            failures.append(f"{info.path}: {traceback.format_exc(limit=3)}")
            continue
        nbytes += note.size
        stats["notes"] += 1
        stats["chunks"] += len(chunks)
        stats["timestamps"] += sum(len(c.timestamps) for c in chunks)
        kinds.update(c.kind for c in chunks)
        warnings.extend(str(w) for w in note.warnings)
        if check:  # outside the timed part: throughput is the chunker's alone
            markup.extend(leftovers(note, chunks))
    return {
        "files": len(files), "stats": stats, "kinds": kinds, "warnings": warnings,
        "failures": failures, "bytes": nbytes, "seconds": seconds,
        "markup": markup,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vaults", nargs="+")
    ap.add_argument("--repeat", type=int, default=3, help="runs per vault (median reported)")
    ap.add_argument("--warnings", type=int, default=10, help="warnings to list per vault")
    ap.add_argument("--samples", type=int, default=0, help="markup leftovers to print per vault")
    args = ap.parse_args()
    header = (
        f"{'vault':<40} {'files':>6} {'notes':>6} {'chunks':>7} {'callout':>7} "
        f"{'stamps':>7} {'markup':>6} {'warn':>5} {'skip':>5} {'exc':>4} {'MB':>6} {'s(med)':>7} "
        f"{'MB/s':>6}"
    )
    print(header)
    print("-" * len(header))
    bad = 0
    details = []
    for vault in args.vaults:
        runs = [run_once(vault, check=n == 0) for n in range(args.repeat)]
        r = runs[0]
        med = statistics.median(x["seconds"] for x in runs)
        mb = r["bytes"] / 1e6
        s = r["stats"]
        print(
            f"{vault[-40:]:<40} {r['files']:>6} {s['notes']:>6} {s['chunks']:>7} "
            f"{r['kinds']['callout']:>7} {s['timestamps']:>7} {len(r['markup']):>6} "
            f"{len(r['warnings']):>5} "
            f"{s['skipped']:>5} {len(r['failures']):>4} {mb:>6.1f} {med:>7.2f} {mb / med:>6.2f}"
        )
        bad += len(r["failures"])
        details.append((vault, r))
    for vault, r in details:
        for w in r["warnings"][: args.warnings]:
            print(f"warning [{vault}] {w}")
        for chunk_id, around in r["markup"][: args.samples]:
            print(f"markup [{vault}] {chunk_id}: {around!r}")
        for f in r["failures"]:
            print(f"EXCEPTION [{vault}] {f}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
