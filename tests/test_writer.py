"""The build's Whoosh writer subclass writes exactly what Whoosh's own writer writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

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


def _files(index_dir: Path, fast: bool) -> dict[str, str]:
    index_dir.mkdir()
    ix = whoosh.index.create_in(str(index_dir), build_schema(), indexname="T")
    writer = (FastSegmentWriter if fast else whoosh.writing.SegmentWriter)(ix, compound=False)
    for i in range(4):
        note = parse_note(TEXT + "more words " * i, f"n{i}.md", mtime_ns=1_000_000_000)
        for doc in note_documents(note, chunk_note(note)):
            writer.add_document(**doc)
    writer.commit()
    # Segment names are random: key the files by what follows the name.
    return {
        p.name.split(".", 1)[1]: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in index_dir.iterdir()
        if p.suffix in {".pst", ".trm", ".col"}
    }


def test_fast_segment_writer_writes_the_same_bytes(tmp_path: Path):
    plain = _files(tmp_path / "plain", fast=False)
    fast = _files(tmp_path / "fast", fast=True)
    assert {"pst", "trm", "_body_len.col"} <= plain.keys()
    assert fast == plain
