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
import json, resource, sys, time
import searchkit
ix = searchkit.open_index(sys.argv[1])
qs = json.load(open(sys.argv[2]))
for q in qs[:10]:
    ix.search(q, limit=10)
ms = []
for q in qs:
    t = time.perf_counter()
    try:
        ix.search(q, limit=10)
    except searchkit.SearchkitError:
        pass
    ms.append((time.perf_counter() - t) * 1000)
ms.sort()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    a = ap.parse_args(argv)

    a.work.mkdir(parents=True, exist_ok=True)
    for name in ("work", "index", "searchkit", "queries", "peer"):
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
    db = a.work / f"peer-{a.notes or len(notes)}.db"
    secs, _rss, out = run(f"import runpy, sys; sys.argv = ['peer', 'build', {str(vault)!r}, "
                          f"{str(db)!r}]; runpy.run_path({str(a.peer)!r}, run_name='__main__')")
    rows.append(("FTS5 peer build", f"{secs:.1f} s wall, {out.split('cpu ')[-1]} CPU", ""))

    queries = load_queries(a.queries, vault, a.n_queries)
    qfile = a.work / "queries.json"
    qfile.write_text(json.dumps(queries))
    out = subprocess.run([sys.executable, "-c", WARM, str(index), str(qfile)], env=env,
                         check=True, capture_output=True, text=True).stdout
    warm = json.loads(out.strip().splitlines()[-1])
    plain = a.work / "queries.txt"
    plain.write_text("\n".join(queries))
    out = subprocess.run([sys.executable, str(a.peer), "bench", str(db), str(plain)],
                         check=True, capture_output=True, text=True).stdout
    peer = json.loads(out)
    rows.append(("warm query p50 / p95 (API, top 10, snippets)",
                 f"{warm['p50']:.1f} / {warm['p95']:.1f} ms",
                 f"FTS5 {peer['p50_ms']:.1f} / {peer['p95_ms']:.1f} ms; ratio p50 "
                 f"{warm['p50'] / max(peer['p50_ms'], 1e-6):.1f}x"))
    rows.append(("search process max RSS (after the queries)", f"{warm['rss']:.0f} MB", ""))

    cold_sk, cold_peer = [], []
    for q in queries[: a.cold]:
        cold_sk.append(wall([sys.executable, "-m", "searchkit", "search", "--index", str(index),
                             q], env))
        cold_peer.append(wall([sys.executable, str(a.peer), "search", str(db), q], env))
    sk, pr = statistics.median(cold_sk), statistics.median(cold_peer)
    rows.append(("cold `searchkit search` (median)", f"{sk:.2f} s",
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
