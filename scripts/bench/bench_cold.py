#!/usr/bin/env python3
"""Cold `searchkit search` processes beside a cold SQLite FTS5 process doing the same search.

    python scripts/bench/bench_cold.py --index DIR --db FTS5_DB [--runs 9] [--before SRC]

DIR is copied to a temporary folder first (a search refreshes the index, which may write);
the copy's vault is the one DIR indexes. FTS5_DB is built by the notes peer
(`python ../shared/eval/notes-dev/peer_fts5.py build VAULT DB`); its `search` command is the
FTS5 process (Python, sqlite3, top 10 with snippets, JSON out).

Each round runs, in a rotating order, one process of each: `searchkit search --mode
lexical` (refresh on, as a user runs it), the default mode (hybrid, when the index has
vectors), and the FTS5 peer; with `--before SRC` (a source tree, e.g. from
`git archive`), searchkit from SRC too, on the same index copy. Queries cycle through a
fixed list. Prints the median wall time of each over `--runs` rounds, the ratios to FTS5
and the load average before and after. No server is used (SEARCHKIT_NO_SERVER=1).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEER = Path(__file__).resolve().parents[3] / "shared" / "eval" / "notes-dev" / "peer_fts5.py"
QUERIES = ["sleep memory", "compound interest", "neural network training",
           "fourier series heat", "startup fundraising", "dopamine motivation",
           "black hole", "protein synthesis", "interest rates inflation"]


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, check=False)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed: {done.stderr.decode()[-500:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--db", type=Path, required=True, help="the FTS5 peer's database")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--before", type=Path, help="a searchkit source tree to run beside")
    ap.add_argument("--peer", type=Path, default=PEER)
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="searchkit-cold-"))
    index = tmp / "index"
    shutil.copytree(a.index, index)
    has_vectors = (index / "vectors").is_dir()
    env = {**os.environ, "SEARCHKIT_NO_SERVER": "1"}
    py = sys.executable
    # The source tree first on the path, and the editable install's finder (which would
    # find this checkout's searchkit first) left out.
    before_boot = (
        "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]; "
        "sys.argv[0] = 'searchkit'; runpy.run_module('searchkit', run_name='__main__')"
    )

    def sk(mode: str | None, src: Path | None = None) -> list[str]:
        boot = ["-m", "searchkit"] if src is None else ["-c", before_boot, str(src)]
        return [py, *boot, "search", "--index", str(index), "-n", "10",
                *(["--mode", mode] if mode else [])]

    kinds: dict[str, tuple[list[str], dict[str, str]]] = {"lexical": (sk("lexical"), env)}
    if has_vectors:
        kinds["hybrid"] = (sk(None), env)
    if a.before:
        kinds["before lexical"] = (sk("lexical", a.before), env)
        if has_vectors:
            kinds["before hybrid"] = (sk(None, a.before), env)
    kinds["FTS5"] = ([py, str(a.peer), "search", str(a.db)], env)

    for cmd, e in kinds.values():  # warm the page cache and the bytecode caches
        wall([*cmd, QUERIES[0]], e)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {k: [] for k in kinds}
    names = list(kinds)
    for r in range(a.runs):
        q = QUERIES[r % len(QUERIES)]
        for k in names[r % len(names):] + names[: r % len(names)]:
            cmd, e = kinds[k]
            times[k].append(wall([*cmd, q], e))
    load_after = os.getloadavg()
    fts = statistics.median(times["FTS5"])
    print(f"cold processes, median of {a.runs} interleaved runs; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print("| process | median | ratio to FTS5 |")
    print("| --- | --- | --- |")
    for k, ts in times.items():
        m = statistics.median(ts)
        print(f"| {k} | {1000 * m:.0f} ms | {m / fts:.2f}x |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
