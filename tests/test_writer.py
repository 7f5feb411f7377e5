"""The build's Whoosh writer subclass writes exactly what Whoosh's own writer writes: with
its postings held in memory, spilled to run files, and merged from other segments."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import whoosh.index
import whoosh.writing

from searchkit.ingest.chunker import chunk_note
from searchkit.ingest.notes import parse_note
from searchkit.store.schema import build_schema, note_documents
from searchkit.store.workers import FastSegmentWriter

TEXT = """---
tags: [owls, night]
aliases: [Strigiformes]
---
# Owls

Owls hunt at night; barn owls hear prey under snow.

## Sleep

Owls sleep by day, owls roost in barns. A **short** note with [[links]] and 2 numbers 42.
"""


def _docs(start: int, count: int, repeats: bool = False) -> list[dict]:
    docs = []
    for i in range(start, start + count):
        text = TEXT + "more words " * i + f"\n\nword{i % 7} " * (i % 3) + "ünïcode 😀 " * (i % 2)
        if repeats:  # a word written i times: past 254 weights and long position lists
            text += "\n\nbeta the " * i
        note = parse_note(text, f"n{i}.md", mtime_ns=1_000_000_000 + i)
        docs.extend(note_documents(note, chunk_note(note)))
    return docs


def _files(
    index_dir: Path, fast: bool, limitmb: float = 128, batches: int = 1, count: int = 40
) -> dict:
    index_dir.mkdir()
    ix = whoosh.index.create_in(str(index_dir), build_schema(), indexname="T")
    cls = FastSegmentWriter if fast else whoosh.writing.SegmentWriter
    for batch in range(batches):
        writer = cls(ix, compound=False, limitmb=limitmb)
        for doc in _docs(batch * count, count, repeats=count > 40):
            writer.add_document(**doc)
        # The last commit merges the earlier segments into the new one (add_reader).
        writer.commit(optimize=batch == batches - 1 and batches > 1)
    # Segment names are random: key the files by what follows the name.
    return {
        p.name.split(".", 1)[1]: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in index_dir.iterdir()
        if p.suffix in {".pst", ".trm", ".col"}
    }


@pytest.mark.parametrize(
    "limitmb, batches, count",
    [(128, 1, 40), (0.002, 1, 40), (128, 3, 40), (0.05, 1, 300)],
    ids=["in-memory", "spilled-to-runs", "merged-segments", "many-weights-long-positions"],
)
def test_fast_segment_writer_writes_the_same_bytes(tmp_path: Path, limitmb, batches, count):
    plain = _files(tmp_path / "plain", fast=False, batches=batches, count=count)
    fast = _files(tmp_path / "fast", fast=True, limitmb=limitmb, batches=batches, count=count)
    assert {"pst", "trm", "_body_len.col"} <= plain.keys()
    assert fast == plain


def test_spilled_pool_leaves_no_run_files(tmp_path: Path):
    index_dir = tmp_path / "ix"
    index_dir.mkdir()
    ix = whoosh.index.create_in(str(index_dir), build_schema(), indexname="T")
    writer = FastSegmentWriter(ix, compound=False, limitmb=0.002)
    for doc in _docs(0, 40):
        writer.add_document(**doc)
    assert len(writer.pool.runs) > 3
    writer.commit()
    assert not [p for p in index_dir.rglob("*") if p.name.endswith(".pkrun")]
    with ix.searcher() as s:
        assert s.doc_count() == len(_docs(0, 40))
