#!/usr/bin/env python3
"""How honest the embedding ETA is: one embedding pass from scratch, the ETA it printed at
10 %, 25 %, 50 % and 75 % of the passages beside the time the rest actually took.

    python scripts/bench/bench_eta.py VAULT [--notes 1500] [--work /tmp/searchkit-eta]

Copies `--notes` notes of VAULT (sorted by path, every k-th, so each folder is sampled)
into WORK/vault, indexes the words, then embeds every passage through
`SearchIndex.embed`, recording each progress report. Beside today's ETA (tokens, fitted
per batch: `store.embedding.EtaModel`) it prints what the former estimator (elapsed time
since the pass started × characters left / characters done) said at the same points of
the same run. Heavy: minutes of CPU. Say the load average with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def copy_subset(vault: Path, dest: Path, n: int) -> int:
    notes = sorted(p for p in vault.rglob("*.md") if p.is_file())
    step = max(1, len(notes) // n)
    picked = notes[::step][:n]
    for p in picked:
        target = dest / p.relative_to(vault)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
    return len(picked)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("vault", type=Path)
    ap.add_argument("--notes", type=int, default=1500)
    ap.add_argument("--work", type=Path, default=Path("/tmp/searchkit-eta"))
    ap.add_argument("--dump", type=Path, help="write every progress report here (JSON)")
    a = ap.parse_args()

    from searchkit.api import open_index

    shutil.rmtree(a.work, ignore_errors=True)
    vault, index = a.work / "vault", a.work / "index"
    vault.mkdir(parents=True)
    n = copy_subset(a.vault, vault, a.notes)
    print(f"{n} notes copied to {vault}; load average {os.getloadavg()[0]:.2f}", flush=True)
    with open_index(index, vault, embedder="auto") as ix:
        ix.update()
        records: list[tuple[float, object]] = []
        ix.embed(progress=lambda p: records.append((time.perf_counter(), p)))
        end = time.perf_counter()
    if a.dump:
        import dataclasses
        import json

        a.dump.write_text(json.dumps(
            {"end": end, "records": [[t, dataclasses.asdict(p)] for t, p in records]}))
    total = records[-1][1].total
    first = records[0]
    print(f"{total:,} passages embedded; the pass took {end - first[0] + first[1].seconds:.0f} s "
          f"(load average {os.getloadavg()[0]:.2f})\n")
    print("| done | ETA printed | former ETA (characters) | actual rest | printed / actual "
          "| former / actual |")
    print("| --- | --- | --- | --- | --- | --- |")
    for share in (0.02, 0.10, 0.25, 0.50, 0.75):
        at, p = next(r for r in records if r[1].done >= share * total)
        actual = end - at
        former = p.seconds * (p.chars_total - p.chars_done) / max(p.chars_done, 1)
        print(f"| {100 * share:.0f} % | {p.eta:.0f} s | {former:.0f} s | {actual:.0f} s "
              f"| {p.eta / actual:.2f} | {former / actual:.2f} |")


if __name__ == "__main__":
    main()
