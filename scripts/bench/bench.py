#!/usr/bin/env python3
"""searchkit benchmarks, one entry point.

    python scripts/bench/bench.py index VAULT [options]   build/update vs a plain Whoosh baseline
    python scripts/bench/bench.py search VAULT [options]  query latency vs SQLite FTS5
    python scripts/bench/bench.py serve --index DIR        warm (serve/HTTP) vs cold CLI search
    python scripts/bench/bench.py scale VAULT --notes N    a bigger vault made from VAULT, vs FTS5
    python scripts/bench/bench.py embed VAULT              embedding passages/s vs a naive loop
    python scripts/bench/bench.py embed --index DIR        hybrid vs lexical query time
    python scripts/bench/bench.py eta VAULT                the embedding ETA vs the actual time
    python scripts/bench/bench.py cold --index DIR --db DB cold CLI search vs a cold FTS5 process

Each subcommand runs scripts/bench/bench_<name>.py with the remaining arguments; `--help` after
the subcommand lists its options.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

SCRIPTS = {
    "index": "bench_index.py",
    "search": "bench_search.py",
    "serve": "bench_serve.py",
    "scale": "bench_scale.py",
    "embed": "bench_embed.py",
    "eta": "bench_eta.py",
    "cold": "bench_cold.py",
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in SCRIPTS:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    script = Path(__file__).with_name(SCRIPTS[sys.argv[1]])
    sys.argv = [str(script), *sys.argv[2:]]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
