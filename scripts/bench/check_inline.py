"""Check that the chunker's faster inline pass (searchkit/ingest/fast_inline.py) gives
the same tokens as markdown-it's own on every note of a vault, and time both (not a test).

    python scripts/bench/check_inline.py VAULT [VAULT ...]
"""

from __future__ import annotations

import sys
import time

from searchkit.errors import NoteError
from searchkit.ingest import chunker
from searchkit.ingest.notes import read_note, scan_vault


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for vault in sys.argv[1:]:
        bodies = []
        for f in scan_vault(vault):
            try:
                bodies.append(chunker._defuse_brackets(read_note(vault, f.path).body))
            except NoteError:
                continue
        stock, fast = chunker._stock_parser(), chunker._parser()
        seconds = {"stock": 0.0, "fast": 0.0}
        differ = 0
        for body in bodies:
            t = time.process_time()
            a = stock.parse(body)
            seconds["stock"] += time.process_time() - t
            t = time.process_time()
            b = fast.parse(body)
            seconds["fast"] += time.process_time() - t
            differ += [x.as_dict() for x in a] != [y.as_dict() for y in b]
        print(
            f"{vault}: {len(bodies)} notes, {differ} with other tokens; parse CPU "
            f"stock {seconds['stock']:.2f} s, fast {seconds['fast']:.2f} s "
            f"({seconds['fast'] / max(seconds['stock'], 1e-9):.2f}x)"
        )
        if differ:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
