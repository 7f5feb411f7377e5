"""searchkit: ranked passage search for markdown note vaults."""

from .chunker import Chunk, Timestamp, chunk_markdown, load_note
from .notes import Note, NoteWarning

__version__ = "0.1.0"

__all__ = ["Chunk", "Note", "NoteWarning", "Timestamp", "chunk_markdown", "load_note"]
