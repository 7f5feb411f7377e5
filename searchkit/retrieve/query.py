"""The query compiler: the syntax tree (`syntax.py`) → Whoosh queries and scoring concepts.

Bare top-level words become scoring concepts (`ranking.py` scores them); phrases, field
clauses, groups and words joined by an explicit `AND` are required Whoosh clauses; `-word`
and structural filters become a search mask and filter. The grammar is in `syntax.py`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from whoosh import query as Q

from ..errors import QuerySyntaxError, QueryTooCostlyError
from .operators import Check, make_check
from .postings import SCORED_FIELDS
from .ranking import FUNCTION_WORDS, Concept, top_prefix_terms
from .syntax import (
    FILTER_KEYS,
    HAS_FIELDS,
    MIN_PREFIX,
    TEXT_FIELDS,
    TEXT_FILTERS,
    WORD_RE,
    Node,
    parse_tree,
    render,
)

_GLOB_CHARS = set("*?[")
PASSAGE_KINDS = ("intro", "section", "callout")
MAX_FUZZY_WORDS = 8  # fuzzy words expanded per query; later ones are searched as typed
# Prefix words expanded per query, likewise: each reads the term list and scores up to
# MAX_PREFIX_TERMS words, and 800 two-letter prefixes in one query cost 12-18 s of CPU.
MAX_PREFIX_WORDS = 8
# Costly shapes, bounded by count rather than by the query's length (issue 23, item 2:
# under the 4,096-character cap, 200 phrases cost 6.1 s and 300 exclusions 12.6 s of CPU
# before matching read the cached postings). Scoring reads the first 62 concepts anyway
# (ranking.MAX_CONCEPTS), so more alternatives than that could never all count.
MAX_PHRASES = 32  # "quoted phrases" and text field clauses (title:"…")
MAX_EXCLUSIONS = 64  # -word, NOT x
MAX_ALTERNATIVES = 64  # the parts of OR chains, all ORs of the query together


@dataclass(frozen=True)
class Tuning:
    """Query-side knobs (the scoring ones are `ranking.RankParams`)."""

    # The text fields a Whoosh clause (phrase, required word, field filter) looks in; a
    # field at 0 is left out. Whoosh's scores are not used for ranking (ranking.py scores),
    # so only whether a boost is above 0 matters.
    field_boosts: Mapping[str, float] = field(
        default_factory=lambda: {"title": 0.2, "aliases": 0.2, "headings": 0.2, "body": 1.0,
                                 "meta": 0.2}
    )
    # Optional bonus clause: the soft words as a phrase (slop 1) score this many times their
    # BM25, so the whole phrase outranks the same words scattered; 0 = off. No effect on
    # SciFact train (long claims rarely occur verbatim), decisive for short user queries.
    phrase_boost: float = 2.0
    phrase_slop: int = 1
    phrase_fields: tuple[str, ...] = ("title", "headings", "body")


DEFAULT_TUNING = Tuning()


# --- compiler ----------------------------------------------------------------------------



class PathMatch(Q.Wildcard):
    """`path:` as Obsidian reads it: the text anywhere in the note's vault-relative path,
    case-insensitively (`path:"obsidian sync/"` finds `Help/Obsidian Sync/Conflicts.md`);
    with glob characters, the whole path matches the glob, case-insensitively."""

    def __init__(self, text: str) -> None:
        super().__init__("source", text)
        self._want = text.casefold()
        glob = _GLOB_CHARS & set(self._want)
        self._glob = re.compile(fnmatch.translate(self._want), re.DOTALL) if glob else None

    def matches(self, path: str) -> bool:
        if self._glob is not None:
            return self._glob.fullmatch(path.casefold()) is not None
        return self._want in path.casefold()

    def normalize(self) -> Q.Query:
        return self  # never a Term or Prefix: those are case-sensitive

    def _btexts(self, ixreader: Any) -> Any:
        for btext in ixreader.lexicon("source"):
            if self.matches(btext.decode("utf-8", "surrogateescape")):
                yield btext


class FileMatch(PathMatch):
    """`file:` as Obsidian reads it: the text anywhere in the note's file name (the last
    part of its path, extension included), ignoring case; with `*?[` a glob over it."""

    def matches(self, path: str) -> bool:
        return super().matches(path.rpartition("/")[2])


def filter_label(q: Any) -> str:
    """The filter a query came from as the user would write it (`path:x`, `tag:y`)."""
    return str(getattr(q, "searchkit_label", "") or q)


def _labelled(q: Q.Query | None, label: str) -> Q.Query | None:
    if q is not None:
        q.searchkit_label = label  # type: ignore[attr-defined]
    return q


class TopPrefix(Q.Prefix):
    """A prefix query that expands to its most frequent words only (ranking.py)."""

    def _btexts(self, ixreader: Any) -> list[bytes]:
        return top_prefix_terms(ixreader, self.fieldname, self.text)



@dataclass
class Compiled:
    """A parsed query in the forms the searcher needs."""

    # The query as Whoosh reads it (bare words ANDed): run for filter-only searches, shown
    # by parse_query.
    primary: Q.Query
    scoring: bool = True  # False: filters/negations only → sort by recency instead
    words: list[str] = field(default_factory=list)  # bare words, for did-you-mean
    tuning: Tuning = DEFAULT_TUNING
    mask: Q.Query | None = None  # documents to exclude (top-level NOT / -word)
    # Required structural filters (tag:, path:, API filters), run as the search's `filter`
    # (a doc set computed once) rather than ANDed: an And over a `path:` prefix's hundreds
    # of note paths cost ~300 ms a query on tubegraph.
    filter: Q.Query | None = None
    phrase_tokens: list[str] = field(default_factory=list)  # rerank: whole-query phrase
    has_text: bool = False  # the user typed searchable text (even if it analyzed to nothing)
    # What ranks: every positive word, phrase word, prefix and fuzzy word (ranking.py).
    concepts: list[Concept] = field(default_factory=list)
    # What must match beyond "any gating concept": phrases, explicit AND/OR groups, field
    # clauses (None when the query is a bag of words).
    required: Q.Query | None = None
    # Concept.phrase id -> the Whoosh phrase its concepts must stand in.
    phrases: dict[int, Q.Query] = field(default_factory=dict)
    # Concept.phrase id -> its terms and the fields the phrase is searched in (so a
    # corrected punctuated word, `Invok-Comand`, can be searched as `invoke command` too).
    phrase_terms: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict)
    # Checks of the stored text (`line:`, `match-case:`, `/regex/`: operators.py), and the
    # soft words any passage they pass must hold one of (None: no soft word).
    checks: list[Check] = field(default_factory=list)
    narrow: Q.Query | None = None


def _analyze(schema: Any, fieldname: str, text: str) -> list[str]:
    return list(schema[fieldname].process_text(text, mode="query"))


class _Compiler:
    def __init__(self, schema: Any, tuning: Tuning, reader: Any = None) -> None:
        self.schema = schema
        self.reader = reader  # for fuzzy words: matched against the words in the notes
        # Each fuzzy word reads the term list and a few passages (~40 ms on 8,904 notes):
        # a pasted query of hundreds of `word~` must not cost minutes.
        self.fuzzy_left = MAX_FUZZY_WORDS
        self.prefix_left = MAX_PREFIX_WORDS
        self.t = tuning
        self.words: list[str] = []
        self.has_text = False
        self.scoring = False  # set once a scoring clause is produced
        self.mask: list[Q.Query] = []  # top-level exclusions, applied as a search mask
        self.filters: list[Q.Query] = []  # top-level structural filters, a search filter
        self.phrase_tokens: list[str] = []
        self.concepts: list[Concept] = []
        self.phrases: dict[int, Q.Query] = {}
        self.phrase_terms: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.required: list[Q.Query] | None = None  # set by a top-level bag of words
        self.checks: list[Check] = []
        self.narrow: Q.Query | None = None
        self.counts = {"phrases": 0, "exclusions": 0, "alternatives": 0}

    def count(self, what: str, n: int = 1) -> None:
        """Count a costly shape; past its cap, QueryTooCostlyError saying what to cut."""
        self.counts[what] += n
        cap = {"phrases": MAX_PHRASES, "exclusions": MAX_EXCLUSIONS,
               "alternatives": MAX_ALTERNATIVES}[what]
        if self.counts[what] > cap:
            shape = {"phrases": '"quoted phrases" (or title:/heading:/body: clauses)',
                     "exclusions": "-word exclusions", "alternatives": "OR alternatives"}[what]
            raise QueryTooCostlyError(
                f"the query has more than {cap} {shape}; keep at most {cap} (shorten it, "
                "or split it into several searches)"
            )

    def _concepts(
        self, word: str, toks: list[str], fields: Sequence[str] = TEXT_FIELDS, phrase: bool = False
    ) -> None:
        function = word.lower() in FUNCTION_WORDS
        scored = tuple(f for f in fields if f in SCORED_FIELDS) or SCORED_FIELDS
        pid = 0
        if phrase and len(toks) > 1:
            # A punctuated word (ADR-016, 2024-05-01, snake_case) counts only where its
            # parts stand together.
            pid = len(self.phrases) + 1
            self.phrases[pid] = self._multi(lambda f, b: Q.Phrase(f, toks), fields)
            boosts = self.t.field_boosts
            self.phrase_terms[pid] = (
                tuple(toks), tuple(f for f in fields if boosts.get(f, 1.0) > 0))
        for tok in toks:
            self.concepts.append(
                Concept(
                    (tok,),
                    function=function,
                    fields=scored,
                    phrase=pid,
                    label=word if len(toks) == 1 else tok,
                )
            )

    # Text clauses over every text field -------------------------------------------------

    def _multi(self, make: Any, fields: Sequence[str] = TEXT_FIELDS) -> Q.Query:
        boosts = self.t.field_boosts
        # A field boosted to 0 is left out (Whoosh divides by the boost when skipping).
        subs = [make(f, b) for f in fields if (b := boosts.get(f, 1.0)) > 0]
        if not subs:
            return Q.NullQuery
        if len(subs) == 1:
            return subs[0]
        return Q.Or(subs)

    def _tokens_clause(self, toks: list[str], fields: Sequence[str] = TEXT_FIELDS) -> Q.Query:
        self.scoring = True
        if len(toks) == 1:
            return self._multi(lambda f, b: Q.Term(f, toks[0], boost=b), fields)
        # Punctuated tokens (ADR-016, 2024-05-01, snake-case) are matched as a phrase.
        return self._multi(lambda f, b: Q.Phrase(f, toks, boost=b), fields)

    def word(self, node: Node) -> Q.Query | None:
        self.has_text = True
        if node.kind == "prefix":
            if self.prefix_left <= 0:
                node = replace(node, kind="word")  # past the cap: the word as typed
            else:
                self.prefix_left -= 1
        if node.kind == "prefix":
            norm = _analyze_unstemmed(node.text)
            stem = _analyze(self.schema, "body", node.text)
            keys = {norm, *stem} if norm else set(stem)
            if not keys:
                return None
            self.scoring = True
            self.concepts.append(
                Concept(tuple(sorted(keys)), kind="prefix", label=node.text + "*")
            )
            return self._multi(
                lambda f, b: Q.Or([TopPrefix(f, k, boost=b) for k in sorted(keys)])
            )
        toks = _analyze(self.schema, "body", node.text)
        if not toks:
            return None  # a stop word or 1-character token: nothing in the index to find
        if node.kind == "fuzzy" and len(toks) == 1 and self.reader is not None:
            if self.fuzzy_left > 0:
                self.fuzzy_left -= 1
                return self._fuzzy(node, toks[0])
            node = replace(node, kind="word")  # past the cap: the word as typed
        if node.kind == "fuzzy" and len(toks) == 1:
            self.scoring = True
            self.concepts.append(
                Concept((toks[0],), kind="fuzzy", dist=node.dist, label=f"{node.text}~")
            )
            return self._multi(
                lambda f, b: Q.FuzzyTerm(f, toks[0], boost=b, maxdist=node.dist, prefixlength=1)
            )
        self.words.append(node.text)
        self._concepts(node.text, toks, phrase=True)
        return self._tokens_clause(toks)

    def _fuzzy(self, node: Node, stem: str) -> Q.Query:
        """`word~`: the index terms of the written words within `node.dist` edits of
        what was typed (spelling.fuzzy_terms), as one concept."""
        from .spelling import fuzzy_terms

        self.scoring = True
        found = fuzzy_terms(self.reader, self.schema["body"], node.text, node.dist)
        terms = tuple(dict.fromkeys(m.term for m in found)) or (stem,)
        self.concepts.append(Concept(terms, label=f"{node.text}~"))
        return self._multi(
            lambda f, b: _or([Q.Term(f, t, boost=b) for t in terms])  # type: ignore[arg-type]
        )

    def phrase(self, text: str, fields: Sequence[str] = TEXT_FIELDS) -> Q.Query | None:
        self.has_text = True
        self.count("phrases")
        toks = _analyze(self.schema, "body", text)
        if not toks:
            return None
        for word in WORD_RE.findall(text):
            self._concepts(word, _analyze(self.schema, "body", word), fields)
        return self._tokens_clause(toks, fields)

    # Field clauses ----------------------------------------------------------------------

    def field(self, node: Node) -> Q.Query | None:
        if node.name in TEXT_FILTERS:
            return self.phrase(node.text, (TEXT_FILTERS[node.name],))
        q = keyword_filter(node.name, node.text)
        # Filters select, they do not rank: a tag match must not outscore a text match.
        return Q.ConstantScoreQuery(q, 0.0) if q is not None else None

    # Tree ---------------------------------------------------------------------------------

    def compile(self, node: Node, top: bool = False) -> Q.Query | None:
        """The Whoosh query of a node (None when it holds nothing to search)."""
        k = node.kind
        if k in ("word", "prefix", "fuzzy"):
            return self.word(node)
        if k == "phrase":
            return self.phrase(node.text)
        if k == "field":
            return self.field(node)
        if k in _CHECKED:
            raise QuerySyntaxError(
                f"{render(node)} works among the query's words, not inside OR or a "
                "negated group"
            )
        if k == "not":
            inner = self._negated(node.children[0])
            if inner is None:
                return None
            return Q.Not(inner)
        if k == "or":
            self.count("alternatives", len(node.children))
            first = len(self.concepts)
            subs = [q for c in node.children if (q := self.compile(c)) is not None]
            # Alternatives count once for coordination: "(alpha OR beta) gamma" is two
            # things asked for, not three.
            group = first + 1
            self.concepts[first:] = [replace(c, group=group) for c in self.concepts[first:]]
            return _or(subs)
        return self._and(node, top)

    def _negated(self, node: Node) -> Q.Query | None:
        # What is excluded does not make the query a ranked one, nor feed did-you-mean.
        self.count("exclusions")
        saved = self.scoring, list(self.words), list(self.concepts), dict(self.phrases)
        q = self.compile(node)
        self.scoring, self.words, self.concepts, self.phrases = saved
        return q

    def _and(self, node: Node, top: bool) -> Q.Query | None:
        soft: list[Q.Query] = []
        soft_tokens: list[str] = []
        required: list[Q.Query] = []
        negative: list[Q.Query] = []
        children: list[Node] = []
        for c in node.children:
            if top and not node.explicit and c.kind == "and" and c.paren:
                children.extend(c.children)  # a parenthesised aside: its words, soft
            else:
                children.append(c)
        for c in children:
            if top and c.kind == "not" and c.children[0].kind in _CHECKED:
                self.checks.append(make_check(c.children[0], negated=True))
                continue
            if c.kind == "not":
                q = self._negated(c.children[0])
                if q is not None:
                    negative.append(q)
                continue
            if top and c.kind in _CHECKED:
                self.checks.append(make_check(c))
                if c.kind != "regex":  # the operand's words: required, and they rank
                    q = self.compile(c.children[0])
                    if q is not None:
                        required.append(q)
                continue
            if top and c.kind == "field" and c.name not in TEXT_FILTERS:
                flt = keyword_filter(c.name, c.text)
                if flt is not None:
                    self.filters.append(flt)
                continue
            q = self.compile(c)
            if q is None:
                continue
            if top and not node.explicit and c.kind in ("word", "prefix", "fuzzy"):
                soft.append(q)
                if c.kind == "word":
                    soft_tokens.extend(_analyze(self.schema, "body", c.text))
            else:
                required.append(q)
        if top and not node.explicit:
            # Soft words rank and bring passages in; only the rest must match.
            self.required = list(required)
        primary = _and(soft + required)
        if top and len(soft_tokens) >= 2 and self.t.phrase_boost > 0:
            # The whole-query phrase bonus is applied by search.py to the top candidates
            # only: as an AndMaybe(Phrase) clause it doubled latency on tubegraph.
            self.phrase_tokens = list(soft_tokens)
        if top and not node.explicit and self.checks and soft:
            self.narrow = _or(soft)
        if (self.filters or self.checks) and top and primary is None:
            primary = Q.Every()  # only filters: every passage they let through
        if negative and top:
            # Whoosh's AndNotMatcher can crash under block-quality skipping (IndexError in
            # _find_next, seen on tubegraph), so top-level exclusions become a search mask.
            self.mask.extend(negative)
            if primary is None:
                primary = Q.Every()
        elif negative:
            neg = _or(negative)
            primary = Q.AndNot(primary if primary is not None else Q.Every(), neg)
        return primary


_CHECKED = ("line", "case", "regex")  # operators checked on the stored text


def _or(subs: list[Q.Query]) -> Q.Query | None:
    if not subs:
        return None
    return subs[0] if len(subs) == 1 else Q.Or(subs)


def _and(subs: list[Q.Query]) -> Q.Query | None:
    if not subs:
        return None
    return subs[0] if len(subs) == 1 else Q.And(subs)


def _analyze_unstemmed(text: str) -> str:
    """Lower-cased, accent-folded prefix text: prefixes match the stems in the index, so we
    try both the typed prefix and its stem ("happin*" → "happin", "happin")."""
    from whoosh.support.charset import accent_map

    return text.lower().translate(accent_map) if len(text) >= MIN_PREFIX else ""


def keyword_filter(name: str, value: str) -> Q.Query | None:
    """The Whoosh query for one structural filter value (tag, path, callout, kind, video, has)."""
    value = value.strip()
    if not value:
        return None
    if name in ("tag", "tags"):
        tag = value.lstrip("#").lower()
        if not tag:
            return None
        if _GLOB_CHARS & set(tag):
            return _labelled(Q.Wildcard("tags", tag), f"tag:{value}")
        # Obsidian nested tags: tag:project also finds project/alpha.
        return _labelled(
            Q.Or([Q.Term("tags", tag), Q.Prefix("tags", tag.rstrip("/") + "/")]), f"tag:{value}"
        )
    if name == "path":
        path = value.removeprefix("./").lstrip("/")
        if not path:
            return Q.Every()
        return _labelled(PathMatch(path), f"path:{value}")
    if name == "file":
        return _labelled(FileMatch(value), f"file:{value}")
    if name in ("after", "before"):
        # The note's date (frontmatter date/created, else mtime): after a day means from
        # the next day on, before a day means up to the day before it. After a year or a
        # month means during it or later (`--after 2024` keeps 2024), as people read it.
        start, end = date_range(value)
        whole = re.fullmatch(r"\d{4}(-\d{1,2})?", value) is not None
        q = Q.NumericRange("created", start if whole else end, None) if name == "after" \
            else Q.NumericRange("created", None, start - 1)
        return _labelled(q, f"{name}:{value}")
    if name == "kind" and value.lower() not in (*PASSAGE_KINDS, "*"):
        # As the API's kind= and the CLI's --kind: a usage error, not "no match".
        raise QuerySyntaxError(
            f"kind:{value} is not a passage kind; use one of: {', '.join(PASSAGE_KINDS)}"
        )
    if name in ("callout", "kind"):
        v = value.lower()
        return _labelled(Q.Every(name) if v == "*" else Q.Term(name, v), f"{name}:{value}")
    if name == "video":
        return _labelled(
            Q.Every("video") if value == "*" else Q.Term("video", value), f"video:{value}"
        )
    if name == "has":
        target = HAS_FIELDS.get(value.lower())
        if target is None:
            known = ", ".join(sorted(set(HAS_FIELDS)))
            raise QuerySyntaxError(f"has:{value} is not known; use one of: {known}")
        return Q.Every(target)
    raise QuerySyntaxError(f"unknown filter {name!r}; known: {', '.join(FILTER_KEYS)}")


def date_range(value: str) -> tuple[int, int]:
    """(first second, first second after) of a day, month or year written `YYYY-MM-DD`,
    `YYYY-MM` or `YYYY` (or an ISO date-time: that second), in local time."""
    import datetime as dt

    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            lo, hi = dt.datetime(int(text), 1, 1), dt.datetime(int(text) + 1, 1, 1)
        elif re.fullmatch(r"\d{4}-\d{1,2}", text):
            y, m = map(int, text.split("-"))
            lo = dt.datetime(y, m, 1)
            hi = dt.datetime(y + m // 12, m % 12 + 1, 1)
        elif re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            day = dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
            lo = dt.datetime(day.year, day.month, day.day)
            hi = lo + dt.timedelta(days=1)
        else:
            lo = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            hi = lo + dt.timedelta(seconds=1)
    except (ValueError, OverflowError) as exc:
        raise QuerySyntaxError(
            f"{value!r} is not a date; use YYYY-MM-DD (or YYYY-MM, YYYY)"
        ) from exc
    return int(lo.timestamp()), int(hi.timestamp())


def filters_query(schema: Any, filters: Mapping[str, str | Sequence[str]] | None) -> Q.Query | None:
    """API filters → one query: keys are ANDed, several values of one key are ORed."""
    if not filters:
        return None
    comp = _Compiler(schema, DEFAULT_TUNING)
    parts: list[Q.Query] = []
    for key, raw in filters.items():
        name = key.lower()
        if name not in FILTER_KEYS:
            raise QuerySyntaxError(f"unknown filter {key!r}; known: {', '.join(FILTER_KEYS)}")
        values = [raw] if isinstance(raw, str) else list(raw)
        subs = []
        for v in values:
            if v is None or not str(v).strip():
                continue
            q = comp.field(Node("field", text=str(v), name=name, quoted=True))
            if q is not None:
                subs.append(q.child if isinstance(q, Q.ConstantScoreQuery) else q)
            elif name in TEXT_FILTERS:
                subs.append(Q.NullQuery)  # a text filter that analyzes to nothing matches nothing
        if subs:
            one = _or(subs)
            if len(subs) > 1:
                _labelled(one, " OR ".join(filter_label(q) for q in subs))
            parts.append(one)  # type: ignore[arg-type]
    return _and(parts)


def compile_query(
    text: str,
    schema: Any,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
    reader: Any = None,
) -> Compiled:
    """Parse and compile; filters are folded in as required, non-scoring clauses.
    With the index's `reader`, fuzzy words are expanded against the notes' words here."""
    tree = parse_tree(text)
    if tree is not None and (tree.kind in _CHECKED or (
            tree.kind == "not" and tree.children[0].kind in _CHECKED)):
        tree = Node("and", children=(tree,))  # a lone check: read as the query's words are
    comp = _Compiler(schema, tuning, reader)
    if tree is not None and tree.kind == "not":
        neg = comp._negated(tree.children[0])
        primary = Q.Every() if neg is not None else None
        if neg is not None:
            comp.mask.append(neg)
    else:
        primary = None if tree is None else comp.compile(tree, top=True)
    fq = filters_query(schema, filters)
    if fq is not None:
        comp.filters.append(fq)
        if primary is None and (tree is None or not comp.has_text):
            primary = Q.Every()  # filters alone select, newest first
    if primary is None:
        primary = Q.NullQuery
    if tree is None or tree.kind in ("word", "prefix", "fuzzy", "not"):
        required = None
    elif comp.required is not None:
        required = _and(comp.required)
    else:
        required = primary if primary is not Q.NullQuery else None
    return Compiled(
        primary=primary,
        scoring=comp.scoring,
        words=comp.words,
        has_text=comp.has_text,
        tuning=tuning,
        mask=_or(comp.mask) if primary is not Q.NullQuery else None,
        filter=_and(comp.filters),
        phrase_tokens=comp.phrase_tokens,
        concepts=comp.concepts,
        required=required,
        phrases=comp.phrases,
        phrase_terms={p: t for p, t in comp.phrase_terms.items() if p in comp.phrases},
        checks=comp.checks,
        narrow=comp.narrow,
    )


def parse_query(
    query: str, schema: Any, filters: Mapping[str, str | Sequence[str]] | None = None
) -> Q.Query:
    """The Whoosh query for `query` (+ API filters). Raises QuerySyntaxError, nothing else."""
    comp = compile_query(query, schema, filters)
    q = comp.primary
    if comp.filter is not None and q is not Q.NullQuery:
        q = Q.And([q, Q.ConstantScoreQuery(comp.filter, 0.0)])
    return Q.AndNot(q, comp.mask) if comp.mask is not None else q
