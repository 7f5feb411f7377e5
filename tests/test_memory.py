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

    from searchkit.retrieve import postings

    notes = {f"n{i}.md": f"# N{i}\nsleep memory {i}\n" for i in range(9)}
    vault = write_vault(tmp_path / "v", notes)
    decoded: list[tuple[str, bytes]] = []
    real = postings._postings
    monkeypatch.setattr(
        postings, "_postings", lambda r, f, t: decoded.append((f, t)) or real(r, f, t)
    )
    with searchkit.open_index(tmp_path / "ix", vault) as index:
        index.update(jobs=1)

        first_done, second_done = threading.Event(), threading.Event()
        searchers: list[int] = []

        def first() -> None:  # stays alive until the second has searched
            assert index.search("sleep memory")
            searchers.append(id(index._searcher()[0]))
            first_done.set()
            second_done.wait(10)

        def second() -> None:
            first_done.wait(10)
            assert index.search("sleep memory")
            searchers.append(id(index._searcher()[0]))
            second_done.set()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(searchers)) == 2  # two searchers…
    assert decoded and len(decoded) == len(set(decoded))  # …one decoding


def test_searchers_share_one_map_per_segment_file(tmp_path: Path):
    """Two searchers of one index read the same mapping of each segment file (a map per
    searcher made a server's RSS grow by the index's pages per thread)."""
    from searchkit.store.index import open_for_search

    notes = {f"n{i}.md": f"# N{i}\nsleep memory {i}\n" for i in range(5)}
    with searchkit.open_index(tmp_path / "ix", write_vault(tmp_path / "v", notes)) as index:
        index.update(jobs=1)
    ix_, _meta = open_for_search(tmp_path / "ix")

    def maps(searcher) -> list[object]:
        subs = searcher.subsearchers or [(searcher, 0)]
        return [s.reader()._storage.a._source for s, _ in subs]  # the compound file

    with ix_.searcher() as a, ix_.searcher() as b:
        assert None not in maps(a) and [id(m) for m in maps(a)] == [id(m) for m in maps(b)]
        search_mod.search(a, "sleep", vault_name="v")
    with ix_.searcher() as c:  # closing a and b left the shared map readable
        assert search_mod.search(c, "sleep", vault_name="v")
