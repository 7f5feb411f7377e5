"""Heading slugs: the web anchor a heading gets, computed once at chunk time.

Apart from `retrieve.links` because the chunker stores the slug with each passage and the
ingest stage must not import the retrieve stage above it.
"""

from __future__ import annotations

import re
import unicodedata

_SLUG_DROP = re.compile(r"[^\w\- ]+")


def slugify(heading: str) -> str:
    """GitHub-style heading slug: lower-case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFC", heading).strip().lower()
    text = _SLUG_DROP.sub("", text)
    return text.replace(" ", "-")
