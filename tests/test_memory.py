"""Memory: a searcher reads the index's mapped segment files in place (issue 16; the
server's per-thread growth of issue 15 came from the same copy)."""

from __future__ import annotations

import random
from pathlib import Path

from vaults import write_vault

import searchkit
from searchkit.retrieve import search as search_mod

WORDS = ["sleep", "memory", "dream", "cortex"]


def _open_and_search_allocations(index_dir: Path) -> int:
    import tracemalloc

    from searchkit.store.index import open_for_search

    ix_, _meta = open_for_search(index_dir)
    with ix_.searcher() as s:  # imports and caches warm: only the second searcher counts
        search_mod.search(s, "sleep memory", vault_name="v", limit=5)
    tracemalloc.start()
    try:
        with ix_.searcher() as s:
            search_mod.search(s, "sleep memory", vault_name="v", limit=5)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_searcher_does_not_copy_the_index(tmp_path: Path, monkeypatch):
    rnd = random.Random(3)
    notes = {
        f"n{i:03d}.md": "# T\n\n" + " ".join(rnd.choices(WORDS + [f"w{k}" for k in range(3000)],
                                                     k=1500)) + "\n"
        for i in range(150)
    }
    vault = write_vault(tmp_path / "v", notes)
    with searchkit.open_index(tmp_path / "ix", vault) as index:
        index.update(jobs=1)
    size = sum(p.stat().st_size for p in (tmp_path / "ix").glob("*.seg"))
    assert size > 1_000_000
    peak = _open_and_search_allocations(tmp_path / "ix")
    assert peak < size / 4, (peak, size)

    # What the same search allocated with Whoosh's own BufferFile (the copy).
    import whoosh.filedb.compound
    from whoosh.filedb.structfile import BufferFile

    monkeypatch.setattr(whoosh.filedb.compound, "BufferFile", BufferFile)
    assert _open_and_search_allocations(tmp_path / "ix") > size / 2


def test_threads_share_decoded_postings(tmp_path: Path, monkeypatch):
    """A server's threads each have a searcher; the posting lists one decoded serve the
    others (each used to decode and keep its own)."""
    import threading

    from searchkit.retrieve import ranking

    notes = {f"n{i}.md": f"# N{i}\nsleep memory {i}\n" for i in range(9)}
    vault = write_vault(tmp_path / "v", notes)
    decoded: list[tuple[str, bytes]] = []
    real = ranking._postings
    monkeypatch.setattr(
        ranking, "_postings", lambda r, f, t: decoded.append((f, t)) or real(r, f, t)
    )
    with searchkit.open_index(tmp_path / "ix", vault) as index:
        index.update(jobs=1)

        # One after the other (the second reuses what the first decoded), the first kept
        # alive meanwhile so that the two threads cannot share a thread id.
        first_done, second_done = threading.Event(), threading.Event()

        def first() -> None:
            assert index.search("sleep memory")
            first_done.set()
            second_done.wait(timeout=60)

        def second() -> None:
            assert index.search("sleep memory")
            second_done.set()

        t1 = threading.Thread(target=first)
        t1.start()
        assert first_done.wait(timeout=60)
        t2 = threading.Thread(target=second)
        t2.start()
        t2.join()
        t1.join()
        assert len(index._searchers) == 2  # two searchers…
    assert decoded and len(decoded) == len(set(decoded))  # …one decoding
