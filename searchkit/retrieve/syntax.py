"""The query language's syntax: user text → a tree of `Node`s. The query is data, never code.

We parse it ourselves instead of using Whoosh's QueryParser because tokens such as
`snake_case_name`, `ADR-016`, `C++`, `2024-05-01`, `http://x`, a lone `AND` or an unbalanced
quote must be searched as text rather than misread as operators (qmd #305, khive#1064).

Grammar (operators are upper-case only, so "or"/"and"/"not" stay words):

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*        implicit conjunction
    unary   := ("NOT" | "-") atom | atom
    atom    := "(" or ")" | '"' phrase '"' | field ":" (word | '"' phrase '"') | word
    word    := text | text "*" (prefix) | text "~" [1|2] (fuzzy, only when asked)

Anything that does not fit is text: an operator without operands, an unmatched quote or
parenthesis (dropped), a `name:` that is not a known field. Bare top-level words are "soft"
(see `Tuning.group`); phrases, field clauses, groups and words joined by an explicit `AND`
are required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import QuerySyntaxError

TEXT_FIELDS = ("title", "aliases", "headings", "body", "meta")
# Query-string field name → index field. `heading`/`headings` and `tag`/`tags` are synonyms.
TEXT_FILTERS = {"title": "title", "heading": "headings", "headings": "headings", "body": "body"}
KEYWORD_FILTERS = (
    "tag", "tags", "path", "file", "callout", "kind", "video", "has", "after", "before"
)
FILTER_KEYS = (*TEXT_FILTERS, *KEYWORD_FILTERS)
# has:X → the stored/indexed field whose presence it tests.
HAS_FIELDS = {
    "timestamp": "timestamp",
    "timestamps": "timestamp",
    "video": "video",
    "callout": "callout",
    "tag": "tags",
    "tags": "tags",
    "alias": "aliases",
    "aliases": "aliases",
}
# Obsidian's operators that take a word, a quoted phrase or a group: `line:(mix flour)`.
# `section:` (one section = one passage here) and `content:` read as a required group,
# `ignore-case:` as its words; `line:` and `match-case:` also check the stored text
# (retrieve/operators.py).
OPERATORS = ("line", "section", "content", "match-case", "ignore-case")
# Obsidian's operators searchkit cannot answer: an error names them (never a word search).
UNSUPPORTED = {
    "task": "tasks are not indexed apart from the text around them",
    "task-todo": "tasks are not indexed apart from the text around them",
    "task-done": "tasks are not indexed apart from the text around them",
    "block": "blocks (paragraphs) are not kept apart in a passage",
}
# `[property]`, `[property:value]`: Obsidian's frontmatter property search.
_PROPERTY_RE = re.compile(r"\[([^\W\d][\w\- ]*)(?::([^\]]*))?\]")
MAX_QUERY_CHARS = 4096
MAX_DEPTH = 32
MIN_PREFIX = 2  # "a*" would expand to a large part of the lexicon
WORD_RE = re.compile(r"\w+", re.UNICODE)
_FUZZY_RE = re.compile(r"^(.+?)~([12]?)$")

# --- lexer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tok:
    kind: str  # LP RP OR AND NOT WORD PHRASE FIELD OP REGEX
    text: str = ""  # the raw text (operators keep theirs so they can fall back to words)
    name: str = ""  # FIELD, OP: the canonical field or operator name
    quoted: bool = False  # FIELD: value was a quoted phrase


def _lex(s: str) -> list[Tok]:
    out: list[Tok] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c == "(":
            out.append(Tok("LP", c))
            i += 1
            continue
        if c == ")":
            out.append(Tok("RP", c))
            i += 1
            continue
        # "-x", '-"x y"', "-(…)": negation; "-" alone, "--" or a negative number ("a z
        # score of -3") is text.
        if (
            c == "-"
            and i + 1 < n
            and not s[i + 1].isspace()
            and s[i + 1] not in "-)"
            and not s[i + 1].isdigit()
        ):
            out.append(Tok("NOT", "-"))
            i += 1
            continue
        if c == '"':
            j = s.find('"', i + 1)
            if j == -1:  # unmatched quote: ignore it, the rest is words
                i += 1
                continue
            out.append(Tok("PHRASE", s[i + 1 : j]))
            i = j + 1
            continue
        if c == "/" and (k := _regex_end(s, i)) > 0:
            # `/regex/` (Obsidian's, as ripgrep reads it): a slash at a word's start, up to
            # the next unescaped slash that ends a word.
            out.append(Tok("REGEX", s[i + 1 : k]))
            i = k + 1
            continue
        j = i
        while j < n and not s[j].isspace() and s[j] not in '()"':
            j += 1
        word = s[i:j]
        i = j
        if word in ("OR", "AND", "NOT"):
            out.append(Tok(word, word))
            continue
        name, colon, value = word.partition(":")
        key = name.lower()
        if colon and (key in OPERATORS or key in UNSUPPORTED):
            rest = s[i] if i < n else ""
            if value or rest in ('"', "("):
                if key in UNSUPPORTED:
                    hint = f'quote them: "{word}"' if value else f"leave out {name}:"
                    raise QuerySyntaxError(
                        f"{name}: is an Obsidian operator searchkit does not support "
                        f"({UNSUPPORTED[key]}); to search the words, {hint}"
                    )
                out.append(Tok("OP", word, name=key))
                if value:  # `line:word`: the operand is the rest of the word
                    out.append(Tok("WORD", value))
                continue
        if (m := _PROPERTY_RE.fullmatch(word)) is not None:
            raise QuerySyntaxError(
                f"{word} is Obsidian's property search, which searchkit does not support "
                f"(frontmatter values are searched as words: type {m.group(2) or m.group(1)!r}"
                f" alone); to search the text, quote it: \"{word}\""
            )
        if colon and key in FILTER_KEYS:
            if not value and i < n and s[i] == '"':
                k = s.find('"', i + 1)
                if k != -1:
                    out.append(Tok("FIELD", s[i + 1 : k], name=key, quoted=True))
                    i = k + 1
                    continue
            if value:
                out.append(Tok("FIELD", value, name=key))
                continue
        out.append(Tok("WORD", word))
    return _repair(out)


def _regex_end(s: str, i: int) -> int:
    """The index of the slash closing a `/regex/` that starts at `i`, or -1."""
    if i > 0 and not (s[i - 1].isspace() or s[i - 1] in "(-"):
        return -1
    k = i + 1
    while k < len(s):
        if s[k] == "\\":
            k += 2
            continue
        if s[k] == "/":
            if k == i + 1:
                return -1  # `//` is text
            if k + 1 == len(s) or s[k + 1].isspace() or s[k + 1] == ")":
                return k
        k += 1
    return -1


_OPERAND_START = {"WORD", "PHRASE", "FIELD", "LP", "NOT", "OP", "REGEX"}
_OPERAND_END = {"WORD", "PHRASE", "FIELD", "RP", "REGEX"}


def _repair(toks: list[Tok]) -> list[Tok]:
    """Drop unmatched parentheses; turn operators without operands into words."""
    stack: list[int] = []
    drop: set[int] = set()
    for k, t in enumerate(toks):
        if t.kind == "LP":
            stack.append(k)
        elif t.kind == "RP":
            if stack:
                stack.pop()
            else:
                drop.add(k)
    drop.update(stack)
    toks = [t for k, t in enumerate(toks) if k not in drop]
    # Remove empty groups "()" (repeatedly: "(())").
    changed = True
    while changed:
        changed = False
        for k in range(len(toks) - 1):
            if toks[k].kind == "LP" and toks[k + 1].kind == "RP":
                del toks[k : k + 2]
                changed = True
                break
    out: list[Tok] = []
    for k, t in enumerate(toks):
        nxt = toks[k + 1].kind if k + 1 < len(toks) else None
        prev = out[-1].kind if out else None
        if t.kind in ("OR", "AND"):
            if prev not in _OPERAND_END or nxt not in _OPERAND_START:
                t = Tok("WORD", t.text)
        elif (t.kind == "NOT" and nxt not in _OPERAND_START - {"NOT"}) or (
            t.kind == "OP" and nxt not in ("WORD", "PHRASE", "LP")
        ):
            t = Tok("WORD", t.text)
        out.append(t)
    return out


# --- parser ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    kind: str  # word prefix fuzzy phrase field not and or regex line case
    text: str = ""
    name: str = ""
    quoted: bool = False
    dist: int = 1
    children: tuple[Node, ...] = ()
    explicit: bool = False  # "and" joined by an explicit AND: every child required
    paren: bool = False  # "and" written in parentheses without an operator inside


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.depth = 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node | None:
        node = self.parse_or()
        # _repair balanced the parentheses, so the whole input is consumed here.
        return node

    def parse_or(self) -> Node | None:
        items = []
        first = self.parse_and()
        if first is not None:
            items.append(first)
        while (t := self.peek()) is not None and t.kind == "OR":
            self.i += 1
            nxt = self.parse_and()
            if nxt is not None:
                items.append(nxt)
        if not items:
            return None
        return items[0] if len(items) == 1 else Node("or", children=tuple(items))

    def parse_and(self) -> Node | None:
        items: list[Node] = []
        explicit = False
        while (t := self.peek()) is not None and t.kind not in ("OR", "RP"):
            if t.kind == "AND":
                self.i += 1
                explicit = True
                continue
            node = self.parse_unary()
            if node is not None:
                items.append(node)
        if not items:
            return None
        if len(items) == 1 and not explicit:
            return items[0]
        return Node("and", children=tuple(items), explicit=explicit)

    def parse_unary(self) -> Node | None:
        t = self.peek()
        assert t is not None
        if t.kind == "NOT":
            self.i += 1
            inner = self.parse_atom()
            return Node("not", children=(inner,)) if inner is not None else None
        return self.parse_atom()

    def parse_atom(self) -> Node | None:
        t = self.peek()
        if t is None:
            return None
        self.i += 1
        if t.kind == "LP":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(f"query nests parentheses deeper than {MAX_DEPTH}")
            inner = self.parse_or()
            if (r := self.peek()) is not None and r.kind == "RP":
                self.i += 1
            self.depth -= 1
            if inner is not None and inner.kind == "and":
                # Words grouped by the user are all required: "(a b) OR c". A group with
                # no operator that is simply among the query's words, as in prose ("RLS
                # (replicative life span)"), is read as those words (see _Compiler._and).
                inner = Node("and", children=inner.children, explicit=True,
                             paren=not inner.explicit)
            return inner
        if t.kind == "PHRASE":
            return Node("phrase", text=t.text)
        if t.kind == "FIELD":
            return Node("field", text=t.text, name=t.name, quoted=t.quoted)
        if t.kind == "REGEX":
            return Node("regex", text=t.text)
        if t.kind == "OP":
            return self.parse_operator(t)
        if t.kind == "NOT":  # "- -x", "NOT -x": double negation reads as the plain atom
            return self.parse_atom()
        if t.kind == "RP":  # cannot happen after _repair; be lenient anyway
            return None
        return _word_node(t.text)


    def parse_operator(self, t: Tok) -> Node | None:
        """Obsidian's `line:`, `section:`, `content:`, `match-case:`, `ignore-case:` and
        their operand (a word, a quoted phrase or a group)."""
        operand = self.parse_atom()
        if operand is None:
            return None
        if t.name == "ignore-case":  # searchkit ignores case anyway
            return operand
        if t.name in ("section", "content"):
            # One section is one passage here: its words are all required in it.
            kids = operand.children if operand.kind == "and" else (operand,)
            return Node("and", children=kids, explicit=True)
        if t.name == "match-case":
            if operand.kind not in ("word", "phrase"):
                raise QuerySyntaxError(
                    f"{t.text} takes a word or a quoted phrase (match-case:Word, "
                    'match-case:"Two Words")'
                )
            return Node("case", text=operand.text, children=(operand,))
        return Node("line", children=(operand,))


def render(node: Node) -> str:
    """A node as the user would type it (for messages: `line:(mix flour)`, `/x+/`)."""
    k = node.kind
    if k == "regex":
        return f"/{node.text}/"
    if k == "case":
        inner = node.children[0]
        return "match-case:" + (f'"{inner.text}"' if inner.kind == "phrase" else inner.text)
    if k == "line":
        return "line:" + render(node.children[0])
    if k == "phrase":
        return f'"{node.text}"'
    if k == "prefix":
        return f"{node.text}*"
    if k == "fuzzy":
        return f"{node.text}~" + ("2" if node.dist == 2 else "")
    if k == "field":
        return f'{node.name}:"{node.text}"' if node.quoted else f"{node.name}:{node.text}"
    if k == "not":
        return "-" + render(node.children[0])
    if k == "or":
        return "(" + " OR ".join(render(c) for c in node.children) + ")"
    if k == "and":
        joiner = " AND " if node.explicit and not node.paren else " "
        return "(" + joiner.join(render(c) for c in node.children) + ")"
    return node.text


def _word_node(text: str) -> Node:
    if text.endswith("*") and len(text) > 1:
        stem = text.rstrip("*")
        if WORD_RE.fullmatch(stem) and len(stem) >= MIN_PREFIX:
            return Node("prefix", text=stem)
    m = _FUZZY_RE.match(text)
    if m and WORD_RE.fullmatch(m.group(1)):
        return Node("fuzzy", text=m.group(1), dist=int(m.group(2) or 1))
    return Node("word", text=text)


def parse_tree(text: str) -> Node | None:
    """The syntax tree of a query string (None when it holds nothing to search)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"query is longer than {MAX_QUERY_CHARS} characters")
    # A lone surrogate (bytes that are not UTF-8 on the command line: `path:\xff`) cannot be
    # encoded into an index term; it is the replacement character, as in the notes.
    text = _SURROGATE.sub("\ufffd", text)
    return _Parser(_lex(text)).parse()


_SURROGATE = re.compile("[\ud800-\udfff]")
