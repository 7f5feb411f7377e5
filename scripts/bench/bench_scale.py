#!/usr/bin/env python3
"""searchkit at vault sizes beyond the ones at hand, beside the SQLite FTS5 peer, same run.

    python scripts/bench/bench.py scale VAULT --notes 30000            # make a 30k vault, measure
    python scripts/bench/bench.py scale VAULT --index DIR              # an index already built
    python scripts/bench/bench.py scale VAULT --notes 30000 --searchkit /path/to/other/checkout

Makes a bigger vault from VAULT (copies of its notes in folders copy1/, copy2/…, each copy
with a share of its words swapped for other words of the vault, deterministically, so
that copies are not duplicates and the vocabulary grows), then prints, as whole
processes: full build (wall, CPU of the process tree, peak RSS), warm query p50/p95 (one
process, API, top 10 with snippets) and that process's RSS, cold `searchkit search`
(median wall), one-note update (`searchkit index` after editing one note), index size;
and the same steps for the FTS5 peer (../shared/eval/notes-dev/peer_fts5.py: build,
`bench`, a `search` process, delete+insert of the note's rows).

`--vectors-from INDEX` (an index of VAULT with vectors) gives every passage of the
bigger index a vector, so that search by meaning can be timed at that size: a copy's
passage whose text is unchanged keeps its real vector, every other gets a real vector of
INDEX plus noise (sigma 0.05, renormalised). They measure time and memory, not ranking.
The words-only and the hybrid (default) search are then measured side by side, and the
one-note update embeds the edited passages with the real model. Without it, updates run
with SEARCHKIT_SEMANTIC=off (a words-only index would otherwise be embedded whole).

Absolute times on a shared machine say little: read the ratios to the peer of the same
run. `--searchkit DIR` measures another checkout (its `searchkit` package is put first
on PYTHONPATH of every process), e.g. the main branch beside this one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import run, tree_size

REPO = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (or beside the folder of worktrees it is in).
PEER = next(
    (p / "shared" / "eval" / "notes-dev" / "peer_fts5.py" for p in REPO.parents
     if (p / "shared" / "eval").is_dir()),
    REPO.parent / "shared" / "eval" / "notes-dev" / "peer_fts5.py",
)
WORD = re.compile(r"\b[a-z]{4,}\b")
SWAP_SHARE = 0.3  # of the words of 4+ letters in each copy


def note_files(vault: Path) -> list[Path]:
    return sorted(
        p for p in vault.rglob("*.md")
        if not any(part.startswith(".") for part in p.relative_to(vault).parts)
    )


def make_vault(source: Path, target: Path, notes: int) -> Path:
    """`notes` notes: the source's, then varied copies of them, until there are enough."""
    marker = target / ".bench-made"
    if marker.is_file() and marker.read_text() == f"{source}:{notes}":
        return target
    shutil.rmtree(target, ignore_errors=True)
    files = note_files(source)
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    vocab = sorted({w for t in texts[:2000] for w in WORD.findall(t)})
    made = 0
    copy = 0
    while made < notes:
        rnd = random.Random(copy)
        for f, text in zip(files, texts, strict=True):
            if made >= notes:
                break
            rel = f.relative_to(source)
            out = target / (f"copy{copy}" if copy else "") / rel
            if copy:
                def swap(m: re.Match[str], rnd: random.Random = rnd) -> str:
                    return rnd.choice(vocab) if rnd.random() < SWAP_SHARE else m.group(0)

                text = WORD.sub(swap, text)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            made += 1
        copy += 1
    marker.write_text(f"{source}:{notes}")
    return target


def load_queries(path: Path | None, vault: Path, n: int) -> list[str]:
    if path is not None:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        return [json.loads(ln)["query"] if ln.startswith("{") else ln for ln in lines][:n]
    rnd = random.Random(7)
    heads: list[str] = []
    for f in note_files(vault)[:3000]:
        heads += re.findall(r"^#{1,4} (.+)$", f.read_text(encoding="utf-8", errors="replace"), re.M)
    out = []
    for h in rnd.sample(heads, min(n, len(heads))):
        words = WORD.findall(h.lower())
        if words:
            out.append(" ".join(words[:3]))
    return out


WARM = """
import json, sys, time
import searchkit
ix = searchkit.open_index(sys.argv[1])
qs = json.load(open(sys.argv[2]))
mode = sys.argv[3]
for q in qs[:10]:
    ix.search(q, limit=10, mode=mode)
ms = []
for q in qs:
    t = time.perf_counter()
    try:
        ix.search(q, limit=10, mode=mode)
    except searchkit.SearchkitError:
        pass
    ms.append((time.perf_counter() - t) * 1000)
ms.sort()
# The peak of this process image (VmHWM): ru_maxrss would keep the forking parent's.
with open("/proc/self/status") as fh:
    rss = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM")) / 1024
print(json.dumps({"p50": ms[len(ms) // 2], "p95": ms[int(len(ms) * 0.95)], "rss": rss}))
"""

PEER_UPDATE = """
import importlib.util, json, sqlite3, sys, time
spec = importlib.util.spec_from_file_location("peer", sys.argv[1])
peer = importlib.util.module_from_spec(spec); spec.loader.exec_module(peer)
con = sqlite3.connect(sys.argv[2])
con.execute("DELETE FROM c WHERE path = ?", (sys.argv[4],))
rows = peer.chunks(sys.argv[3], sys.argv[4])
con.executemany("INSERT INTO c(path,title,heading,kind,ctitle,body) VALUES (?,?,?,?,?,?)", rows)
con.commit()
print(json.dumps({"rows": len(rows)}))
"""


def give_vectors(index: Path, source: Path) -> int:
    """Every live passage of `index` gets a vector (see the module's doc); returns how
    many were synthesised. Measures time and memory only."""
    import numpy as np

    from searchkit.store import embedding
    from searchkit.store import vectors as v
    from searchkit.store.opening import open_for_search
    from searchkit.store.vectorfiles import read_model_record

    record = read_model_record(source / "vectors")
    if record is None:
        raise SystemExit(f"{source} has no vectors")
    src = v.VectorStore(source, record.key, record.dimension)
    real = src._read(src.stamp())
    ix, _meta = open_for_search(index)
    with ix.searcher() as searcher:
        keys = embedding.live_keys(searcher)
    live = np.unique(keys[keys != 0])
    known = np.isin(live, real.keys)
    rng = np.random.default_rng(24)
    new = live[~known]
    made = np.empty((len(new), record.dimension), np.float32)
    for start in range(0, len(new), 65536):
        block = real.matrix[rng.integers(0, len(real.keys), min(65536, len(new) - start))]
        block = block + rng.normal(0, 0.05, block.shape).astype(np.float32)
        made[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    store = v.VectorStore(index, record.key, record.dimension)
    shutil.rmtree(store.root, ignore_errors=True)
    store.folder.mkdir(parents=True)
    shutil.copy2(source / "vectors" / "model.json", store.root / "model.json")
    mine = live[known]
    store.append(mine, real.matrix[np.searchsorted(real.keys, mine)])
    store.append(new, made)
    store.write_matrix()
    return len(new)


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vault", type=Path)
    ap.add_argument("--notes", type=int, help="make a vault of this many notes (default: VAULT)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/searchkit-bench-scale"))
    ap.add_argument("--index", type=Path, help="an index of the vault already built (no build)")
    ap.add_argument("--searchkit", type=Path, help="checkout to measure (default: this one)")
    ap.add_argument("--queries", type=Path, help="queries: JSON lines with 'query' or plain lines")
    ap.add_argument("--n-queries", type=int, default=120)
    ap.add_argument("--cold", type=int, default=5, help="cold search processes (median)")
    ap.add_argument("--updates", type=int, default=3, help="one-note updates (median)")
    ap.add_argument("--jobs", type=int, help="writer processes for the build (default: auto)")
    ap.add_argument("--peer", type=Path, default=PEER)
    ap.add_argument("--vectors-from", type=Path, metavar="INDEX",
                    help="an index of VAULT with vectors: time search by meaning too")
    a = ap.parse_args(argv)

    a.work.mkdir(parents=True, exist_ok=True)
    for name in ("work", "index", "searchkit", "queries", "peer", "vectors_from"):
        if getattr(a, name) is not None:
            setattr(a, name, getattr(a, name).resolve())
    # `python -c` puts the current folder first on sys.path: run from the work folder, so
    # that PYTHONPATH decides which searchkit is measured.
    os.chdir(a.work)
    src = (a.searchkit or REPO).resolve()
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]  # bench_index.run() inherits it
    vault = a.vault.resolve()
    ours = False
    if a.notes:
        vault = make_vault(vault, a.work / f"vault-{a.notes}", a.notes)
        ours = True
    notes = note_files(vault)
    rows: list[tuple[str, str, str]] = []
    tag = f"{a.notes or len(notes)}-{src.name}"
    index = a.index or a.work / f"index-{tag}"
    if a.index is None:
        shutil.rmtree(index, ignore_errors=True)
        code = (
            "import sys, json, searchkit\n"
            "ix = searchkit.open_index(sys.argv[1], sys.argv[2])\n"
            "r = ix.update(jobs=int(sys.argv[3]) or None)\n"
            "print(json.dumps({'notes': r.notes, 'chunks': r.chunks}))\n"
        )
        secs, rss, out = run(code, str(index), str(vault), str(a.jobs or 0))
        rows.append(("full build", f"{secs:.0f} s wall, {out.split('cpu ')[-1]} CPU",
                     f"peak RSS {rss:.0f} MB; {out.split(';')[0]}"))
    modes = ["lexical"]
    if a.vectors_from is not None:
        t = time.perf_counter()
        made = give_vectors(index, a.vectors_from)
        rows.append(("vectors (synthetic, for timing)", f"{made:,} made",
                     f"{time.perf_counter() - t:.0f} s; the rest real"))
        modes.append("hybrid")
    else:
        env["SEARCHKIT_SEMANTIC"] = "off"
    db = a.work / f"peer-{a.notes or len(notes)}.db"
    secs, _rss, out = run(f"import runpy, sys; sys.argv = ['peer', 'build', {str(vault)!r}, "
                          f"{str(db)!r}]; runpy.run_path({str(a.peer)!r}, run_name='__main__')")
    rows.append(("FTS5 peer build", f"{secs:.1f} s wall, {out.split('cpu ')[-1]} CPU", ""))

    queries = load_queries(a.queries, vault, a.n_queries)
    qfile = a.work / "queries.json"
    qfile.write_text(json.dumps(queries))
    plain = a.work / "queries.txt"
    plain.write_text("\n".join(queries))
    out = subprocess.run([sys.executable, str(a.peer), "bench", str(db), str(plain)],
                         check=True, capture_output=True, text=True).stdout
    peer = json.loads(out)
    for mode in modes:
        out = subprocess.run([sys.executable, "-c", WARM, str(index), str(qfile), mode],
                             env=env, check=True, capture_output=True, text=True).stdout
        warm = json.loads(out.strip().splitlines()[-1])
        rows.append((f"warm query p50 / p95, {mode} (API, top 10, snippets)",
                     f"{warm['p50']:.1f} / {warm['p95']:.1f} ms",
                     f"FTS5 {peer['p50_ms']:.1f} / {peer['p95_ms']:.1f} ms; ratio p50 "
                     f"{warm['p50'] / max(peer['p50_ms'], 1e-6):.1f}x"))
        rows.append((f"search process max RSS, {mode} (after the queries)",
                     f"{warm['rss']:.0f} MB", ""))

    cold: dict[str, list[float]] = {m: [] for m in modes}
    cold_peer = []
    env_cold = {**env, "SEARCHKIT_NO_SERVER": "1"}
    for q in queries[: a.cold]:
        for mode in modes:
            cold[mode].append(wall([sys.executable, "-m", "searchkit", "search", "--index",
                                    str(index), "--mode", mode, q], env_cold))
        cold_peer.append(wall([sys.executable, str(a.peer), "search", str(db), q], env))
    pr = statistics.median(cold_peer)
    for mode in modes:
        sk = statistics.median(cold[mode])
        rows.append((f"cold `searchkit search --mode {mode}` (median)", f"{sk:.2f} s",
                     f"FTS5 process {pr:.2f} s; ratio {sk / pr:.1f}x"))

    if ours:
        ups, peer_ups = [], []
        for i in range(a.updates):
            note = notes[(i * 7919) % len(notes)]
            with open(note, "a", encoding="utf-8") as f:
                f.write(f"\n\nAn edit for the benchmark, number {i}.\n")
            ups.append(wall([sys.executable, "-m", "searchkit", "index", "--index", str(index)],
                            env))
            rel = str(note.relative_to(vault))
            peer_ups.append(wall([sys.executable, "-c", PEER_UPDATE, str(a.peer), str(db),
                                  str(note), rel], env))
        nochange = wall([sys.executable, "-m", "searchkit", "index", "--index", str(index)], env)
        u, p = statistics.median(ups), statistics.median(peer_ups)
        rows.append(("one-note update (`searchkit index`, median)", f"{u:.2f} s",
                     f"FTS5 delete+insert process {p:.2f} s; no-change update {nochange:.2f} s"))
    else:
        rows.append(("one-note update", "not run", "the vault is not one this script made"))

    corpus = tree_size(vault, (".md",))
    size = tree_size(index)
    rows.append(("index size", f"{size / 1e6:.0f} MB",
                 f"notes {corpus / 1e6:.0f} MB: {size / corpus:.2f}x; FTS5 "
                 f"{db.stat().st_size / 1e6:.0f} MB"))

    print(f"searchkit {src}  vault {vault} ({len(notes):,} notes)  index {index}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    print("| step | searchkit | beside |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
