"""Search results do not depend on how the index was split into segments.

A build with two writer processes puts each batch of notes in whichever writer's segment
is free (timing), and incremental updates append notes to new segments: document numbers
then differ from a one-writer build of the same notes. Ties, the copy shown for a passage
written twice, and the totals counted after the per-note cap must not follow them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import searchkit

MTIME = 1_700_000_000  # every note the same mtime: sorting by date ties everywhere

QUERIES = [
    "alpha", "alpha beta", "delta", "shared section words", "copied passage text",
    "gamma", "unique7 alpha", "path:v1", "path:z",
]


def _notes() -> dict[str, str]:
    """90 notes whose sections score alike (ties), in folders scanned in an order that
    differs from the path's string order, and pages copied into version folders."""
    notes: dict[str, str] = {}
    folders = ["", "a", "a/b", "z", "a-b"]
    for i in range(90):
        folder = folders[i % len(folders)]
        path = f"{folder}/n{i:02}.md" if folder else f"n{i:02}.md"
        notes[path] = (
            f"# Note {i}\n\nalpha beta gamma\n\n## Setup\n\nalpha beta gamma delta\n\n"
            f"## Usage\n\nunique{i} delta alpha\n\n## Shared\n\nshared section words\n"
        )
    for j in range(6):  # the same page in three version folders: one result, three notes
        for version in ("v1", "v2", "v10"):
            extra = f"\n## Only {version}\n\nalpha {version}\n" if j % 2 else ""
            notes[f"{version}/copy{j}.md"] = (
                f"# Copy {j}\n\ncopied passage text alpha {j}\n\n## Details\n\n"
                f"copied passage text beta delta\n{extra}"
            )
    return notes


def _write(vault: Path, notes: dict[str, str], paths: list[str]) -> None:
    for p in paths:
        f = vault / p
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(notes[p], encoding="utf-8")
        os.utime(f, (MTIME, MTIME))


def _results(index: Path, vault: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    with searchkit.open_index(index, vault, embedder=None) as ix:
        for q in QUERIES:
            for per_note in (3, 1, 0):
                for sort in ("score", "modified"):
                    r = ix.search(q, limit=20, per_note=per_note, mode="lexical", sort=sort)
                    out[f"{q} /{per_note}/{sort}"] = (
                        r.total, r.available,
                        [(p.id, round(p.score, 9), p.also_in) for p in r],
                    )
    return out


def _segments(index: Path) -> int:
    import whoosh.index

    from searchkit.store.indexdir import read_meta

    meta = read_meta(index)
    assert meta is not None and meta.index_name
    return len(whoosh.index.open_dir(str(index), indexname=meta.index_name)._segments())


def test_results_do_not_depend_on_segments(tmp_path: Path):
    notes = _notes()
    # The order a one-writer build scans and writes the notes in.
    one = tmp_path / "one"
    _write(one, notes, list(notes))
    searchkit.open_index(tmp_path / "i-one", one, embedder=None).update(jobs=1)
    want = _results(tmp_path / "i-one", one)

    # The same notes, written in three updates, the last-scanned notes first: several
    # segments whose document numbers run against the scan order.
    split = tmp_path / "split"
    ordered = list(notes)
    parts = [ordered[len(ordered) * 2 // 3 :], ordered[len(ordered) // 3 : len(ordered) * 2 // 3],
             ordered[: len(ordered) // 3]]
    ix = searchkit.open_index(tmp_path / "i-split", split, embedder=None)
    split.mkdir()
    for part in parts:
        _write(split, notes, part)
        ix.update(jobs=1)
    ix.close()
    assert _segments(tmp_path / "i-split") >= 2
    got = _results(tmp_path / "i-split", split)
    assert got == want

    # Two writer processes: which batch lands in which segment is a matter of timing.
    two = tmp_path / "two"
    shutil.copytree(one, two, copy_function=shutil.copy2)
    searchkit.open_index(tmp_path / "i-two", two, embedder=None).update(jobs=2)
    assert _results(tmp_path / "i-two", two) == want


def test_copies_show_the_first_in_scan_order(tmp_path: Path):
    notes = _notes()
    vault = tmp_path / "v"
    # v10 before v1 and v2 in the index: written first.
    _write(vault, notes, [p for p in notes if p.startswith("v10/")])
    ix = searchkit.open_index(tmp_path / "i", vault, embedder=None)
    ix.update(jobs=1)
    _write(vault, notes, [p for p in notes if not p.startswith("v10/")])
    ix.update(jobs=1)
    r = ix.search("copied passage text", limit=20, per_note=0, mode="lexical")
    ix.close()
    shown = [p for p in r if p.id.endswith("copy0.md#0")]
    assert [p.id for p in shown] == ["v1/copy0.md#0"]
    assert shown[0].also_in == ("v10/copy0.md", "v2/copy0.md")


def test_a_filter_shows_its_own_copy_of_a_passage(tmp_path: Path):
    """A passage written in three version folders is one result; a filter that keeps one
    folder shows that folder's copy (it was hidden behind v1's, which the filter drops),
    by words and by words and meaning alike."""
    notes = _notes()
    vault = tmp_path / "v"
    _write(vault, notes, list(notes))
    with searchkit.open_index(tmp_path / "i", vault, embedder=None) as ix:
        ix.update(jobs=1)
        everywhere = ix.search("copied passage text", limit=50, per_note=0, mode="lexical")
        assert {p.id for p in everywhere if p.id.endswith("copy0.md#0")} == {"v1/copy0.md#0"}
        for version in ("v2", "v10"):
            for query in (f"copied passage text path:{version}/",
                          f'"copied passage text" path:{version}/'):
                got = ix.search(query, limit=50, per_note=0, mode="lexical")
                ids = {p.id for p in got}
                assert f"{version}/copy0.md#0" in ids, (query, sorted(ids))
                assert all(i.startswith(f"{version}/") for i in ids)
                assert got.total == len(ids)
