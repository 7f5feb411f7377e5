"""One note as a surface shows it: its passages without an index (`searchkit chunks`) and
its lines with timestamp anchors made short (`searchkit read`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..ingest.chunker import Chunk, load_note
from ..ingest.notes import IGNORE_FILE, NOTE_SUFFIXES, Note, decode_note_bytes
from ..ingest.timestamps import note_reads_frames, shorten_markup

__all__ = ["IGNORE_FILE", "NOTE_SUFFIXES", "Chunk", "Note", "load_note", "shorten_timestamps"]


def shorten_timestamps(lines: Sequence[str], note_file: Path) -> tuple[str, ...]:
    """`lines` of `note_file` with each timestamp anchor (`<a … data-t="01:19:03">…</a>`)
    written as `[1:19:03]`. The whole note decides whether its times count frames, as the
    chunker does; an unreadable note leaves that to each anchor."""
    try:
        text = decode_note_bytes(note_file.read_bytes(), note_file.name)[0]  # as indexed
        frames: bool | None = note_reads_frames(text)
    except OSError:
        frames = None
    return tuple(shorten_markup(line, frames) for line in lines)
