"""Deep links to a passage: file:line, Obsidian URI, web anchor, video at a second."""

from __future__ import annotations

import re
import unicodedata

_SLUG_DROP = re.compile(r"[^\w\- ]+")


def slugify(heading: str) -> str:
    """GitHub-style heading slug: lower-case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFC", heading).strip().lower()
    text = _SLUG_DROP.sub("", text)
    return text.replace(" ", "-")
