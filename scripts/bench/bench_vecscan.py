#!/usr/bin/env python3
"""The vectors' scan: int8 codes then exact re-scoring, beside the float32 full scan.

    python scripts/bench/bench_vecscan.py identity --set NAME=NEW_INDEX,F32_INDEX,QUERIES[,...] ...
    python scripts/bench/bench_vecscan.py speed INDEX --queries FILE [--rows 730000] [--rounds 3]

`identity`: for every query of the judged sets, the top 10 of `--mode semantic` and of the
default hybrid from NEW_INDEX (vectors as int8 codes: what a finished embedding pass
leaves now) against F32_INDEX (a copy of the same index whose vectors folder holds an
older version's float32 matrix: the exact float32 scan). QUERIES: JSON-lines files (the
`query` or `text` key), joined with `+`. Prints the share of queries whose top 10 (ids and
order) are identical, per set and mode, and the scores' largest difference.

`speed`: query overhead and vector memory, each variant in its own process, one after
the other: `lexical`, `hybrid` and `semantic` over the same queries (alternating, several
rounds) in a process that has searched once before (warm), and the resident memory of the
mapped vector files (/proc/self/smaps) and of the whole process after. With `--rows N`
the vectors are made synthetic, in a temporary copy of INDEX: its real vectors plus
N - len(real) rows, each a real vector plus noise (sigma 0.05 per dimension), renormalised,
under keys no passage holds. They measure TIME AND MEMORY ONLY, not quality: the ranked
passages are INDEX's, the cosine statistics and the scan cover every row. Both variants
are made from the same rows: `f32` (the float32 matrix an older version left, mapped
whole) and `int8` (the codes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def load_queries(spec: str) -> list[str]:
    out = []
    for path in spec.split("+"):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                out.append(q.get("query") or q["text"])
    return out


def identity(sets: list[str]) -> None:
    import numpy as np

    import searchkit
    from searchkit.store.vectors import RowReader

    read: list[int] = []  # rows re-scored exactly, per search
    plain = RowReader.__call__

    def counted(self: RowReader, rows: np.ndarray) -> np.ndarray:
        read[-1] += len(rows)
        return plain(self, rows)

    RowReader.__call__ = counted  # type: ignore[method-assign]

    for spec in sets:
        name, rest = spec.split("=", 1)
        new, f32, queries = rest.split(",", 2)
        qs = load_queries(queries)
        with searchkit.open_index(Path(new)) as a, searchkit.open_index(Path(f32)) as b:
            for mode in ("hybrid", "semantic"):
                same = 0
                worst = 0.0
                read.clear()
                for q in qs:
                    read.append(0)
                    try:
                        ra = a.search(q, mode=mode, limit=10)
                        rb = b.search(q, mode=mode, limit=10)
                    except searchkit.SearchkitError as exc:
                        print(f"  {name} {mode} {q!r}: {exc}")
                        continue
                    ids_a, ids_b = [p.id for p in ra], [p.id for p in rb]
                    same += ids_a == ids_b
                    if ids_a == ids_b:
                        worst = max([worst, *(abs(x.score - y.score)
                                              for x, y in zip(ra, rb, strict=True))])
                    else:
                        print(f"  differs: {name} {mode} {q!r}")
                print(f"| {name} | {mode} | {same}/{len(qs)} identical "
                      f"({100 * same / max(len(qs), 1):.1f} %) | max score diff {worst:.2g} | rows "
                      f"re-scored p50 {np.median(read):.0f}, max {max(read)} |")


def synthesise(index: Path, rows: int, work: Path) -> dict[str, Path]:
    """Two copies of `index` holding the same `rows` synthetic vectors: f32 and int8."""
    import numpy as np

    from searchkit.store import vectors as v
    from searchkit.store.vectorfiles import read_model_record

    record = read_model_record(index / "vectors")
    assert record is not None
    out = {}
    real = v.VectorStore(index, record.key, record.dimension)._read(
        v.VectorStore(index, record.key, record.dimension).stamp())
    rng = np.random.default_rng(24)
    extra = max(rows - len(real.keys), 0)
    pick = rng.integers(0, len(real.keys), extra)
    noisy = np.empty((extra, record.dimension), np.float32)
    for start in range(0, extra, 65536):
        block = real.matrix[pick[start : start + 65536]]
        block = block + rng.normal(0, 0.05, block.shape).astype(np.float32)
        noisy[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    keys = rng.integers(1 << 62, 1 << 63, extra, dtype=np.uint64)  # no passage holds these
    for variant in ("f32", "int8"):
        target = work / variant
        shutil.copytree(index, target, ignore=shutil.ignore_patterns("vectors"))
        store = v.VectorStore(target, record.key, record.dimension)
        store.folder.mkdir(parents=True)
        shutil.copy2(index / "vectors" / "model.json", target / "vectors" / "model.json")
        store.append(real.keys, real.matrix)
        store.append(keys, noisy)
        if variant == "int8":
            store.write_matrix()
        else:
            full = store._read(store.stamp())
            name = v._matrix_name(full.stamp)
            v._write_atomic(store.folder / f"matrix-{name}.npy", full.matrix)
            v._write_atomic(store.folder / f"keys-{name}.npy", full.keys)
        out[variant] = target
    return out


def vector_rss_mb() -> tuple[float, float]:
    """(resident MB of mapped files under a vectors folder, resident MB of the process)."""
    mapped = 0
    current = ""
    with open("/proc/self/smaps", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 6 and "-" in parts[0] and ":" not in parts[0]:
                current = parts[-1]
            elif parts and parts[0] == "Rss:" and "/vectors/" in current:
                mapped += int(parts[1])
    with open("/proc/self/status", encoding="utf-8") as fh:
        total = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return mapped / 1024, total / 1024


def measure(index: Path, queries: list[str], rounds: int) -> dict:
    import searchkit

    times: dict[str, list[float]] = {"lexical": [], "hybrid": [], "semantic": []}
    with searchkit.open_index(index) as ix:
        status = ix.semantic_status()
        for q in queries[:5]:  # warm-up: model, vectors, searcher
            ix.search(q, mode="hybrid")
        for q in queries:  # the query vectors cached, as a repeated query finds them
            with contextlib.suppress(searchkit.SearchkitError):
                ix.search(q, mode="semantic")
        for _round in range(rounds):
            for q in queries:
                for mode in times:
                    t = time.perf_counter()
                    with contextlib.suppress(searchkit.SearchkitError):
                        ix.search(q, mode=mode)
                    times[mode].append(1000 * (time.perf_counter() - t))
        mapped, total = vector_rss_mb()
    return {"passages": status.passages, "embedded": status.embedded, "times": times,
            "vector_rss_mb": mapped, "process_rss_mb": total, "load": os.getloadavg()[0]}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def speed(index: Path, queries: str, rows: int | None, rounds: int, variants: list[str],
          check: bool = False) -> None:  # fmt: skip
    """Each variant in its own process per round, the variants alternating (a busy
    machine slows each alike); p50/p95 over every round, memory and load of the last.
    `check`: first the top 10s of the two variants compared (the synthetic rows have no
    judged answers; this checks that the scan equals the float32 scan with 10x the rows)."""
    with tempfile.TemporaryDirectory(prefix="vecscan-") as tmp:
        if rows:
            made = synthesise(index, rows, Path(tmp))
        else:
            made = {"f32": index.with_name(index.name + "-f32"), "int8": index}
        if check:
            identity([f"{rows or 'real'}-rows={made['int8']},{made['f32']},{queries}"])
        times: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
        last: dict[str, dict] = {}
        loads: dict[str, list[float]] = {v: [] for v in variants}
        for _round in range(rounds):
            for variant in variants:
                out = subprocess.run(
                    [sys.executable, __file__, "_measure", str(made[variant]),
                     "--queries", queries, "--rounds", "1"],
                    capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                for mode, xs in r["times"].items():
                    times[variant].setdefault(mode, []).extend(xs)
                last[variant] = r
                loads[variant].append(r["load"])
        print(f"{rows or 'real'} rows; ms p50 / p95; overhead = mode minus lexical at the "
              "same percentile")
        print("| scan | lexical | hybrid | hybrid overhead | semantic | semantic overhead | "
              "vector RSS | process RSS | load (1 min) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for variant in variants:
            t, r = times[variant], last[variant]
            lex = (statistics.median(t["lexical"]), pct(t["lexical"], 0.95))
            over = {m: (statistics.median(t[m]) - lex[0], pct(t[m], 0.95) - lex[1])
                    for m in ("hybrid", "semantic")}
            total = {m: (statistics.median(t[m]), pct(t[m], 0.95)) for m in over}
            print(f"| {variant} | {lex[0]:.1f} / {lex[1]:.1f} | "
                  f"{total['hybrid'][0]:.1f} / {total['hybrid'][1]:.1f} | "
                  f"+{over['hybrid'][0]:.1f} / +{over['hybrid'][1]:.1f} | "
                  f"{total['semantic'][0]:.1f} / {total['semantic'][1]:.1f} | "
                  f"+{over['semantic'][0]:.1f} / +{over['semantic'][1]:.1f} | "
                  f"{r['vector_rss_mb']:.0f} MB | {r['process_rss_mb']:.0f} MB | "
                  f"{min(loads[variant]):.2f}-{max(loads[variant]):.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("identity")
    a.add_argument("--set", action="append", required=True)
    for name in ("speed", "_measure"):
        b = sub.add_parser(name)
        b.add_argument("index", type=Path)
        b.add_argument("--queries", required=True)
        b.add_argument("--rounds", type=int, default=3)
        b.add_argument("--rows", type=int)
        b.add_argument("--variants", default="f32,int8")
        b.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if args.cmd == "identity":
        identity(args.set)
    elif args.cmd == "_measure":
        print(json.dumps(measure(args.index, load_queries(args.queries), args.rounds)))
    else:
        speed(args.index, args.queries, args.rows, args.rounds, args.variants.split(","),
              args.check)


if __name__ == "__main__":
    main()
