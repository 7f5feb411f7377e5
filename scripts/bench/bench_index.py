"""Benchmark index build and update on a vault (not a test).

    python scripts/bench/bench_index.py VAULT [--runs 3] [--jobs N] [--configs] [--skip-baseline]

Works on a copy of VAULT in a temp folder (the vault itself is never modified). Every
measurement is a whole fresh Python process, so import and index-open costs count, as
they do for the CLI. Prints a markdown table of medians, peak RSS of the process tree
(children included, sampled with psutil every 20 ms) and sizes.

- build: `update_index` into an empty dir (chunking in worker processes, Whoosh MpWriter)
- baseline: the Whoosh docs' simple way: one process chunks every note and calls
  `add_document` on one default `ix.writer()`, one commit; same schema and chunks
- no-change update, and update after editing one note
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

BUILD = """
import sys, json
import searchkit.store.index as I
I.WRITER_LIMITMB = int(sys.argv[3]) or I.WRITER_LIMITMB  # 0: the default
r = I.update_index(sys.argv[1], sys.argv[2], jobs=int(sys.argv[4]) or None)
print(json.dumps({"notes": r.notes, "chunks": r.chunks}))
"""

UPDATE = """
import sys, json
from searchkit.store.index import update_index
r = update_index(sys.argv[1])
print(json.dumps({"changed": r.changed, "unchanged": r.unchanged}))
"""

BASELINE = """
import sys, json, time
import whoosh.index
from searchkit.ingest.chunker import load_note
from searchkit.errors import NoteError
from searchkit.store.schema import build_schema, note_documents
from searchkit.ingest.notes import scan_vault
idx, vault = sys.argv[1], sys.argv[2]
import os; os.makedirs(idx)
ix = whoosh.index.create_in(idx, build_schema())
w = ix.writer()
n = 0
t0 = time.perf_counter()
for f in scan_vault(vault):
    try:
        note, chunks = load_note(vault, f.path)
    except NoteError:
        continue
    for doc in note_documents(note, chunks):
        w.add_document(**doc)
        n += 1
w.commit()
print(json.dumps({"chunks": n}))
"""


def run(code: str, *args: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the whole process tree, stdout (+ CPU seconds)."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(proc.pid)
            while not done.is_set():
                total = 0
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                peak = max(peak, total / 1e6)
                time.sleep(0.02)
        except psutil.Error:
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{err.decode()}")
    # CPU of the whole tree (workers are waited for by their parent): on a busy machine the
    # wall time of parallel steps says little, the CPU total says how much work was done.
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime"))
    return seconds, peak, out.decode().strip().splitlines()[-1] + f"; cpu {cpu:.1f} s"


def _cpu(out: str) -> float:
    return float(out.rsplit("cpu ", 1)[1].split()[0])


def tree_size(path: Path, suffixes: tuple[str, ...] | None = None) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if suffixes is None or name.lower().endswith(suffixes):
                total += os.path.getsize(os.path.join(root, name))
    return total


def median_runs(runs: int, fn) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    results = [fn(i) for i in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        max(r[1] for r in results),
        results[-1][2],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vault")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--configs", action="store_true", help="also try other writer settings")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--jobs", type=int, default=0,
                    help="worker processes of the build (default: as searchkit chooses, by load)")
    args = ap.parse_args()

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    vault = work / "vault"
    shutil.copytree(args.vault, vault, symlinks=True)
    rows: list[tuple[str, str, str, str]] = []

    def fresh(name: str) -> str:
        d = work / name
        shutil.rmtree(d, ignore_errors=True)
        return str(d)

    def build(limitmb: int, jobs: int):  # type: ignore[no-untyped-def]
        return median_runs(
            args.runs,
            lambda i: run(BUILD, fresh(f"b{i}"), str(vault), str(limitmb), str(jobs)),
        )

    # 0, 0: the defaults (the packed posting pool's limit, writers by free cores).
    secs, rss, out = build(0, args.jobs)
    build_secs, build_rss, build_cpu = secs, rss, _cpu(out)
    info = json.loads(out.split(";")[0])
    label = f"full build (jobs={args.jobs})" if args.jobs else "full build (defaults)"
    rows.append((label, f"{secs:.1f} s", f"{rss:.0f} MB", out))
    if args.configs:
        for limitmb, jobs in ((16, 2), (128, 2), (1024, 1)):
            s, r, o = build(limitmb, jobs)
            rows.append(
                (f"full build (jobs={jobs}, limitmb={limitmb})", f"{s:.1f} s", f"{r:.0f} MB", o)
            )
    if not args.skip_baseline:
        s, r, o = median_runs(args.runs, lambda i: run(BASELINE, fresh(f"base{i}"), str(vault)))
        rows.append(
            (
                "baseline: default writer()",
                f"{s:.1f} s",
                f"{r:.0f} MB",
                f"{o}; build is {s / build_secs:.2f}x faster, its CPU "
                f"{build_cpu / _cpu(o):.2f}x and its peak RSS {build_rss / r:.2f}x the baseline's",
            )
        )

    index = fresh("ix")
    run(BUILD, index, str(vault), "0", "0")
    s, r, o = median_runs(5, lambda i: run(UPDATE, index))
    rows.append(("no-change update (whole process)", f"{s * 1000:.0f} ms", f"{r:.0f} MB", o))

    notes = sorted(
        p
        for p in vault.rglob("*.md")
        if not any(part.startswith(".") for part in p.relative_to(vault).parts)
    )

    def edit_and_update(i: int) -> tuple[float, float, str]:
        note = notes[(i * 7919) % len(notes)]
        with open(note, "a", encoding="utf-8") as f:
            f.write(f"\n\nAn edit for the benchmark, number {i}.\n")
        return run(UPDATE, index)

    s, r, o = median_runs(5, edit_and_update)
    rows.append(
        ("update after editing 1 note (whole process)", f"{s * 1000:.0f} ms", f"{r:.0f} MB", o)
    )

    corpus = tree_size(vault, (".md", ".markdown"))
    size = tree_size(Path(index))
    rows.append(
        (
            "index size on disk",
            f"{size / 1e6:.1f} MB",
            "",
            f"corpus {corpus / 1e6:.1f} MB of notes; {info['notes']} notes, "
            f"{info['chunks']} chunks; ratio {size / corpus:.2f}",
        )
    )

    print(
        f"vault: {args.vault}  runs: {args.runs} (median; RSS = max of peaks)  "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average "
        f"{load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    )
    print("| step | time | peak RSS (tree) | notes |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
