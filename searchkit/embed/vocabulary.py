"""Whether the model knows a word: an entry of its vendored WordPiece vocabulary (30,522
lines, bert-base-uncased, which all-MiniLM-L6-v2 uses).

Search by meaning lists a passage found by meaning alone only when the query has a word
that the notes or the model know: a hash, a video ID, an invented or misspelt word is cut
into word pieces the model has no meaning for, and the nearest vectors to it are noise
(measured on the no-match probes, scripts/eval/probes.py). Plain stdlib: no tokenizer is
loaded for this.
"""

from __future__ import annotations

import gzip
import threading
import unicodedata

from .models import VOCAB_FILE

_lock = threading.Lock()
_words: frozenset[str] | None = None


def _load() -> frozenset[str]:
    global _words
    with _lock:
        if _words is None:
            try:
                with gzip.open(VOCAB_FILE, "rt", encoding="utf-8") as f:
                    _words = frozenset(
                        w for w in (line.strip() for line in f)
                        if w and not w.startswith(("##", "[")) and w.isalpha() and len(w) > 1
                    )
            except OSError:  # no vocabulary installed: every word counts as known
                _words = frozenset()
        return _words


def knows_word(word: str) -> bool:
    """Whether `word` (as typed) is one whole word of the model's vocabulary, lower-cased
    and without accents as the model reads it. Unknown if no vocabulary is installed."""
    words = _load()
    if not words:
        return True
    plain = "".join(
        c for c in unicodedata.normalize("NFD", word.strip().lower())
        if unicodedata.category(c) != "Mn"
    )
    return plain in words
