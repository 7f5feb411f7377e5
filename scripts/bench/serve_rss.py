"""Memory of `searchkit serve` with 1 client, then with 40 at once (issue 15 item 6).

    python scripts/bench/serve_rss.py --index DIR [--clients 40] [--queries 20]
    python scripts/bench/serve_rss.py --vault VAULT [--notes 2000]   # builds a scratch index

Starts a server on the index, warms it with one client (sequential queries), prints its
RSS; then runs `--clients` clients at once (one keep-alive connection each, `--queries`
queries each), prints the peak RSS seen meanwhile and the RSS after, and the ratio the
issue asks for (goal: 40 clients <= 1.5 x 1 client).
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bench_serve import start_server  # scripts/ is on the path when run as a script

QUERIES = ["sleep memory", "neural network training", '"machine learning"', "startup growth",
           "title:python", "dopamine -caffeine", "brain", "video game", "learn*", "history"]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def client(port: int, queries: list[str], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for q in queries:
        try:
            conn.request("GET", "/search?" + urlencode({"q": q, "limit": 10}))
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(str(resp.status))
        except OSError as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.close()


def build(vault: Path, notes: int, work: Path) -> Path:
    from searchkit.ingest.notes import scan_vault

    copy = work / "vault"
    for rel in sorted(f.path for f in scan_vault(vault))[:notes]:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(vault / rel, copy / rel)
    index = work / "index"
    subprocess.run([sys.executable, "-m", "searchkit", "index", str(copy), "--index",
                    str(index)], check=True, capture_output=True)
    return index


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path)
    ap.add_argument("--vault", type=Path)
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--queries", type=int, default=20)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="searchkit-rss-"))
    try:
        index = a.index or build(a.vault, a.notes, work)
        proc, port = start_server(index)
        errors: list[str] = []
        client(port, QUERIES * 3, errors)
        time.sleep(1)
        one = rss_kb(proc.pid)
        threads = [threading.Thread(target=client, args=(
            port, [QUERIES[(i + j) % len(QUERIES)] for j in range(a.queries)], errors))
            for i in range(a.clients)]
        peak = one
        t0 = time.monotonic()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kb(proc.pid))
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        time.sleep(1)
        after = rss_kb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        print(f"serve RSS, 1 client: {one / 1024:.0f} MB; {a.clients} clients: peak "
              f"{peak / 1024:.0f} MB, after {after / 1024:.0f} MB; ratio peak/1 = "
              f"{peak / one:.2f} (goal <= 1.5); {a.clients * a.queries} requests in "
              f"{elapsed:.1f} s; request errors: {len(errors)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
