"""Deep links to a passage: file:line, Obsidian URI, web anchor, video at a second.

Pure functions of stored chunk fields, so the search path never re-reads a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Links:
    """Every way to open one passage.

    - `file`: `path/to/note.md:LINE`, the form editors (VS Code, vim, `$EDITOR +LINE`) accept.
    - `obsidian`: `obsidian://open?vault=…&file=…` with the heading subpath, so Obsidian
      scrolls to the section.
    - `web`: a relative URL for a site that mirrors the vault (Quartz, Obsidian Publish,
      MkDocs): the note path without `.md`, then `#slug` of the heading.
    - `video`: the YouTube URL at the passage's timestamp; None when the note has no video.
    """

    file: str
    obsidian: str
    web: str
    video: str | None


def strip_md(path: str) -> str:
    # Obsidian and static site generators both address a note without its extension.
    return path[:-3] if path.lower().endswith(".md") else path


def file_link(path: str, line: int | None) -> str:
    """`path:LINE`; just the path when the line is unknown (0 or None)."""
    return f"{path}:{line}" if line else path


def obsidian_link(vault: str, path: str, anchor: str = "") -> str:
    """`obsidian://open?vault=V&file=path%2Fnote%23Heading`.

    Obsidian takes the link subpath (`Note#Heading` or `Note#Parent#Child`) in `file`; every
    reserved character is percent-encoded, including `/`, `#`, `&` and spaces (`%20`, not
    `+`, which Obsidian would keep literally). An empty `anchor` opens the top of the note.
    """
    target = strip_md(path) + (f"#{anchor}" if anchor else "")
    return f"obsidian://open?vault={quote(vault, safe='')}&file={quote(target, safe='')}"


def web_link(path: str, slug: str = "") -> str:
    """`path/to/note#slug`: path segments percent-encoded (spaces, `#`, `?`), `/` kept."""
    url = quote(strip_md(path), safe="/")
    return f"{url}#{quote(slug, safe='-_')}" if slug else url


def video_link(video_id: str | None, seconds: int | None = None) -> str | None:
    """The YouTube watch URL, at `seconds` when known; None without a video id."""
    if not video_id:
        return None
    url = f"https://www.youtube.com/watch?v={quote(video_id, safe='-_')}"
    return f"{url}&t={int(seconds)}s" if seconds is not None and seconds >= 0 else url


def make_links(
    *,
    vault: str,
    path: str,
    line: int | None,
    anchor: str = "",
    slug: str = "",
    video_id: str | None = None,
    seconds: int | None = None,
) -> Links:
    return Links(
        file=file_link(path, line),
        obsidian=obsidian_link(vault, path, anchor),
        web=web_link(path, slug),
        video=video_link(video_id, seconds),
    )
