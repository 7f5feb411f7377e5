"""A text field's terms for the index, as Whoosh's analysis gives them, computed in one pass.

Whoosh analyses a text through a chain of generators (tokenizer, lower-case, stop words,
stemmer, accent folding), each handing one Token object on per word, then groups the
positions by term: 18 % of a build's CPU. A word written the same way always becomes the
same term (or none, a stop word), so here each distinct word goes through the chain once
and is looked up after that; positions are numbered as Whoosh's StopFilter renumbers them.
Used only when the analyzer is exactly the chain schema.py builds and the format is
Whoosh's Positions; anything else goes through `field.index()`. The bytes written are the
same (tests/test_writer.py compares them with Whoosh's own writer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whoosh import formats
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.analyzers import CompositeAnalyzer

# Distinct words remembered per analyzer before the memory is cleared (~100 bytes each).
WORDS_CACHED = 100_000

Items = list[tuple[bytes, int, float, bytes]]


def terms_function(field: Any) -> Callable[[Any], Any]:
    """`field.index`, or a function giving the same items faster for our text fields."""
    fmt = field.format
    ana = getattr(field, "analyzer", None)
    if type(fmt) is not formats.Positions or type(ana) is not CompositeAnalyzer:
        return field.index
    chain = ana.items
    kinds = [RegexTokenizer, LowercaseFilter, StopFilter, StemFilter, CharsetFilter]
    if [type(c) for c in chain] != kinds:
        return field.index
    tokenizer, _lower, stop, stem, charset = chain
    if tokenizer.gaps or stem.lang or not stop.renumber:
        return field.index
    word = _word_function(stop, stem, charset)
    finditer = tokenizer.expression.finditer
    encode = fmt.encode
    boost = fmt.field_boost
    index = field.index

    def terms(value: Any) -> Any:
        if not isinstance(value, str):
            return index(value)
        poses: dict[str, list[int]] = {}
        pos = -1
        for i, match in enumerate(finditer(value)):
            term = word(match.group(0))
            if term is None:
                continue
            # StopFilter(renumber=True): the first kept word keeps its place, each next
            # kept word comes one after the previous one.
            pos = i if pos < 0 else pos + 1
            got = poses.get(term)
            if got is None:
                poses[term] = [pos]
            else:
                got.append(pos)
        return [
            (term.encode("utf-8"), len(p), float(len(p)) * boost, encode(p))
            for term, p in poses.items()
        ]

    return terms


_MISSING = object()


def _word_function(stop: Any, stem: Any, charset: Any) -> Callable[[str], str | None]:
    """The term a written word becomes (None: a stop word), remembered."""
    stops, low, high = stop.stops, stop.min, stop.max
    stemfn, ignore = stem._stem, stem.ignore
    charmap = charset.charmap
    known: dict[str, str | None] = {}

    def word(raw: str) -> str | None:
        term = known.get(raw, _MISSING)
        if term is not _MISSING:
            return term  # type: ignore[return-value]
        text = raw.lower()
        if len(text) >= low and (high is None or len(text) <= high) and text not in stops:
            if text not in ignore:
                text = stemfn(text)
            result: str | None = text.translate(charmap)
        else:
            result = None
        if len(known) >= WORDS_CACHED:
            known.clear()
        known[raw] = result
        return result

    return word
