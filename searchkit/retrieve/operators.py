"""Obsidian's operators that look at a passage's stored text rather than at the index:
`line:(a b)` (every term on one line), `match-case:Word` (the text as written, case and
all) and `/regex/` (Python's `re` over the passage's title, headings and text).

The index finds the candidates (the operator's own words, the query's other words and
filters); these checks then read the stored text of at most `MAX_CHECKED` of them. A
regular expression is bounded in cost before it runs: at most `MAX_REGEX_CHARS` long, no
backreferences, no quantifier over a group that itself repeats (`(a+)+`, the shape of
catastrophic backtracking), so one passage costs time linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import QuerySyntaxError
from .syntax import WORD_RE, Node, render

try:  # Python 3.11+
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as _sre  # type: ignore[no-redef]

MAX_REGEX_CHARS = 256
# Passages whose stored text one query may read for these checks (~25 µs each).
MAX_CHECKED = 20_000

Analyze = Callable[[str], list[str]]


@dataclass(frozen=True)
class Check:
    """One text check: `kind` is `line`, `case` or `regex`; `negated` keeps the passages
    it does not match (`-/draft/`)."""

    label: str
    kind: str
    negated: bool = False
    node: Node | None = None  # line: the operand tree
    pattern: re.Pattern[str] | None = None  # case, regex

    def matches(self, fields: Mapping[str, Any], analyze: Analyze) -> bool:
        texts = _texts(fields)
        if self.kind == "line":
            assert self.node is not None
            hit = any(
                _holds(self.node, analyze(line), analyze)
                for text in texts
                for line in text.splitlines()
            )
        else:
            assert self.pattern is not None
            hit = any(self.pattern.search(text) for text in texts)
        return hit != self.negated


def _texts(fields: Mapping[str, Any]) -> list[str]:
    """What a passage shows: its note title, headings, callout title and text."""
    out = [fields.get("title") or "", *(fields.get("heading_path") or ())]
    out += [fields.get("callout_title") or "", fields.get("body") or ""]
    return [t for t in out if t]


def _holds(node: Node, tokens: list[str], analyze: Analyze) -> bool:
    """Whether one line's analysed words satisfy a `line:` operand."""
    k = node.kind
    if k == "and":
        return all(_holds(c, tokens, analyze) for c in node.children)
    if k == "or":
        return any(_holds(c, tokens, analyze) for c in node.children)
    if k == "not":
        return not _holds(node.children[0], tokens, analyze)
    if k == "prefix":
        stem = node.text.lower()
        return any(t.startswith(stem) for t in tokens) or any(
            t.startswith(s) for s in analyze(node.text) for t in tokens
        )
    if k in ("word", "phrase", "fuzzy"):
        want = analyze(node.text)
        if not want:
            return True  # a stop word: nothing the index could check either
        n = len(want)
        return any(tokens[i : i + n] == want for i in range(len(tokens) - n + 1))
    return True  # a field clause: checked on the passage by the index


def compile_regex(text: str) -> re.Pattern[str]:
    """`/text/` as a Python pattern, or a QuerySyntaxError saying why it is refused."""
    label = f"/{text}/"
    if len(text) > MAX_REGEX_CHARS:
        raise QuerySyntaxError(
            f"{label[:40]}… is longer than {MAX_REGEX_CHARS} characters, the most a "
            "regular expression may be"
        )
    try:
        pattern = re.compile(text, re.MULTILINE)
        parsed = _sre.parse(text, re.MULTILINE)
    except re.error as exc:
        raise QuerySyntaxError(f"{label} is not a valid regular expression: {exc}") from exc
    why = _risky(list(parsed))
    if why:
        raise QuerySyntaxError(f"{label} is refused: {why} can take exponential time")
    return pattern


def _risky(items: list[Any], repeated: bool = False) -> str | None:
    """Why a parsed pattern may backtrack catastrophically, or None."""
    for op, av in items:
        inner: list[Any] = []
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or str(op) == "POSSESSIVE_REPEAT":
            lo, hi, sub = av
            if repeated and hi > 1 and lo != hi:
                return "a quantifier inside a repeated group (as in (a+)+)"
            if why := _risky(list(sub), repeated or hi > 1):
                return why
        elif op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS):
            return "a backreference"
        elif op == _sre.SUBPATTERN:
            inner = [av[-1]]
        elif op == _sre.BRANCH:
            inner = list(av[1])
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            inner = [av[1]]
        elif str(op) == "ATOMIC_GROUP":
            inner = [av]
        for sub in inner:
            if why := _risky(list(sub), repeated):
                return why
    return None


def case_pattern(text: str) -> re.Pattern[str]:
    """`match-case:Text`: the text as typed, case and all, starting at a word's start
    (whitespace between its words may be any whitespace)."""
    words = text.split()
    body = r"\s+".join(re.escape(w) for w in words)
    lead = r"(?<!\w)" if words and WORD_RE.match(words[0]) else ""
    return re.compile(lead + body)


def make_check(node: Node, negated: bool = False) -> Check:
    """The check of a `line`, `case` or `regex` node."""
    label = ("-" if negated else "") + render(node)
    if node.kind == "regex":
        return Check(label, "regex", negated, pattern=compile_regex(node.text))
    if node.kind == "case":
        return Check(label, "case", negated, pattern=case_pattern(node.text))
    return Check(label, "line", negated, node=node.children[0])


def checked_docs(searcher: Any, comp: Any, allowed: set[int] | None) -> set[int]:
    """The passages that pass every text check of `comp`, among those its filters
    (`allowed`), required clauses and words let through."""
    reader = searcher.reader()
    cand: set[int] | None = set(allowed) if allowed is not None else None
    for q in (comp.required, comp.narrow):
        if q is not None:
            docs = set(searcher.docs_for_query(q))
            cand = docs if cand is None else cand & docs
    n = reader.doc_count() if cand is None else len(cand)
    if n > MAX_CHECKED:
        labels = " ".join(c.label for c in comp.checks)
        raise QuerySyntaxError(
            f"{labels} would read {n:,} passages, more than the {MAX_CHECKED:,} a query may "
            "read: add words or a filter (path:, file:, tag:, after:) to narrow it"
        )
    if cand is None:
        cand = set(reader.all_doc_ids())
    field = searcher.schema["body"]

    def analyze(text: str) -> list[str]:
        return list(field.process_text(text, mode="query"))

    return {
        d for d in cand
        if all(c.matches(searcher.stored_fields(d), analyze) for c in comp.checks)
    }


def with_check_spans(
    checks: list[Check], body: str, spans: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """`spans` and where the positive `match-case:` and `/regex/` checks match in a
    passage's text (for the snippet), sorted, overlaps merged, empty matches left out."""
    extra = [
        m.span()
        for c in checks
        if c.pattern is not None and not c.negated
        for m in c.pattern.finditer(body)
        if m.end() > m.start()
    ]
    if not extra:
        return spans
    merged: list[tuple[int, int]] = []
    for a, b in sorted([*spans, *extra]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
