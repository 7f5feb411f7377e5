"""Note → passages. (Data model first; the splitter follows below.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .notes import Note

CHUNKER_VERSION = 1
MAX_CHUNK_CHARS = 2000


class Timestamp(NamedTuple):
    """A video timestamp found in a chunk: `seconds` into the video, at `offset` in `text`."""

    seconds: int
    offset: int


@dataclass(frozen=True)
class Chunk:
    """One passage of a note: the unit that is indexed, ranked and linked to."""

    id: str  # f"{path}#{ordinal}": stable while the note is unchanged, unique in a vault
    path: str  # vault-relative POSIX path of the note
    ordinal: int  # 0-based position of the chunk in its note
    title: str  # the note's title
    heading_path: tuple[str, ...]  # headings above the passage, outermost first
    kind: str  # "intro" (before the first heading) | "section" | "callout"
    text: str  # plain searchable text
    line_start: int  # 1-based file lines, frontmatter counted
    line_end: int
    anchor: str = ""  # Obsidian link subpath: "Heading" or "Parent#Heading"; "" for the top
    slug: str = ""  # web anchor of the heading, unique within the note; "" for the top
    callout_type: str | None = None  # lower-cased: "info", "note", "tip"…
    callout_title: str | None = None
    links: tuple[str, ...] = ()  # wiki-link targets, in order of appearance
    timestamps: tuple[Timestamp, ...] = ()
    tags: tuple[str, ...] = ()  # the note's tags (frontmatter + inline)
    aliases: tuple[str, ...] = ()
    video_id: str | None = None
    mtime_ns: int = 0
