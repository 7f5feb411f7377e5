#!/usr/bin/env python3
"""Run the chunker over every note of one or more vaults and print a table.

    python scripts/chunk_corpus.py VAULT [VAULT ...] [--warnings N]

Reports notes, chunks, warnings, skipped files, exceptions and throughput (MB/s of note
bytes, median of --repeat runs). A clean run has zero exceptions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from collections import Counter

from searchkit.chunker import load_note
from searchkit.errors import NoteError
from searchkit.notes import scan_vault


def run_once(vault: str) -> dict:
    files = list(scan_vault(vault))
    stats: Counter[str] = Counter()
    warnings: list[str] = []
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    nbytes = 0
    start = time.perf_counter()
    for info in files:
        try:
            note, chunks = load_note(vault, info.path)
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
    seconds = time.perf_counter() - start
    return {
        "files": len(files), "stats": stats, "kinds": kinds, "warnings": warnings,
        "failures": failures, "bytes": nbytes, "seconds": seconds,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vaults", nargs="+")
    ap.add_argument("--repeat", type=int, default=3, help="runs per vault (median reported)")
    ap.add_argument("--warnings", type=int, default=10, help="warnings to list per vault")
    args = ap.parse_args()
    header = (
        f"{'vault':<40} {'files':>6} {'notes':>6} {'chunks':>7} {'callout':>7} "
        f"{'stamps':>7} {'warn':>5} {'skip':>5} {'exc':>4} {'MB':>6} {'s(med)':>7} {'MB/s':>6}"
    )
    print(header)
    print("-" * len(header))
    bad = 0
    details = []
    for vault in args.vaults:
        runs = [run_once(vault) for _ in range(args.repeat)]
        r = runs[0]
        med = statistics.median(x["seconds"] for x in runs)
        mb = r["bytes"] / 1e6
        s = r["stats"]
        print(
            f"{vault[-40:]:<40} {r['files']:>6} {s['notes']:>6} {s['chunks']:>7} "
            f"{r['kinds']['callout']:>7} {s['timestamps']:>7} {len(r['warnings']):>5} "
            f"{s['skipped']:>5} {len(r['failures']):>4} {mb:>6.1f} {med:>7.2f} {mb / med:>6.2f}"
        )
        bad += len(r["failures"])
        details.append((vault, r))
    for vault, r in details:
        for w in r["warnings"][: args.warnings]:
            print(f"warning [{vault}] {w}")
        for f in r["failures"]:
            print(f"EXCEPTION [{vault}] {f}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
