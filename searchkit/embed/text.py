"""What of a passage is embedded, and the key its vector is stored under.

A passage is embedded as a reader sees it in context: the note's title, the headings above
it, the callout's title, then its text. Alone, "Decreases with age" says nothing; under
"Sleep and memory › Slow-wave sleep" it does. The model truncates to its own window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def passage_text(
    title: str, heading_path: Sequence[str], callout_title: str | None, text: str
) -> str:
    """The text to embed for one passage."""
    seen = {" ".join(title.split()).casefold()}
    lines = [title.strip()] if title.strip() else []
    for heading in [*heading_path, *([callout_title] if callout_title else [])]:
        norm = " ".join(heading.split()).casefold()
        if norm and norm not in seen:
            seen.add(norm)
            lines.append(heading.strip())
    if text.strip():
        lines.append(text.strip())
    return "\n".join(lines)


def text_key(text: str) -> int:
    """A 64-bit content key of the embedded text (0 is reserved for "no vector")."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1
