"""Property tests: generated markdown never breaks the chunker, and nothing is lost or doubled."""

from __future__ import annotations

import itertools
import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchkit import chunk_markdown

MARKDOWN_ALPHABET = st.sampled_from(
    [*"abc XYZ019#>[]!|-*_`~<>/=:\"'\n\t\\&;()^", "[!", "[[", "]]", "```", "---", "\r\n",
     '<a class="yt-timestamp" data-t="', "\ufeff", "é", "\x00"]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(MARKDOWN_ALPHABET, max_size=200).map("".join))
def test_never_raises_and_lines_are_valid(text):
    chunks = chunk_markdown(text, "fuzz.md")
    n_lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    starts = [c.line_start for c in chunks]
    assert starts == sorted(starts)
    for c in chunks:
        assert 1 <= c.line_start <= c.line_end <= n_lines
        assert all(0 <= t.offset <= len(c.text) for t in c.timestamps)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


# A small grammar of the blocks real notes are made of. Words that must survive are unique
# ("w<n>"); heading and callout-title words ("h<n>", "t<n>") are markup and must not appear
# in any chunk's text.
BLOCK_KINDS = ["para", "heading", "setext", "callout", "nested", "list", "code", "table", "html",
               "quote", "list_callout", "stamp", "wiki", "broken_stamp"]


def render(kinds: list[str], sizes: list[int]) -> tuple[str, list[str]]:
    counter = itertools.count()
    content: list[str] = []

    def words(prefix: str, n: int) -> str:
        out = [f"{prefix}{next(counter)}" for _ in range(n)]
        if prefix == "w":
            content.extend(out)
        return " ".join(out)

    blocks: list[str] = []
    for kind, n in zip(kinds, sizes, strict=True):
        if kind == "para":
            blocks.append(words("w", n) + "\n" + words("w", 1))
        elif kind == "heading":
            blocks.append("#" * (n % 6 + 1) + " " + words("h", 2))
        elif kind == "setext":
            blocks.append(words("h", 2) + "\n" + ("=" if n % 2 else "-") * 3)
        elif kind == "callout":
            title = " " + words("t", 1) if n % 2 else ""
            blocks.append(f"> [!note]{title}\n> {words('w', n)}\n>\n> {words('w', 1)}")
        elif kind == "nested":
            blocks.append(
                f"> [!info] {words('t', 1)}\n> {words('w', n)}\n> > [!tip]\n> > {words('w', 2)}"
            )
        elif kind == "list":
            blocks.append("\n".join(f"- {words('w', 2)}" for _ in range(n)))
        elif kind == "code":
            blocks.append(f"```\n## {words('w', 1)}\n{words('w', n)}\n```")
        elif kind == "table":
            blocks.append(f"| {words('w', 1)} | {words('w', 1)} |\n|---|---|\n"
                          f"| {words('w', 1)} | {words('w', 1)} |")
        elif kind == "html":
            blocks.append(f"<div>{words('w', n)} <b>{words('w', 1)}</b></div>")
        elif kind == "quote":
            blocks.append(f"> {words('w', n)}")
        elif kind == "list_callout":
            blocks.append(f"- {words('w', 1)}\n  > [!warning]\n  > {words('w', n)}")
        elif kind == "stamp":
            stamp = f"00:{n:02d}:00"
            blocks.append(f'{words("w", n)} <a class="yt-timestamp" data-t="{stamp}">[{stamp}]</a>')
        elif kind == "wiki":
            form = ["**{}**", "*{}*", "`{}`", "_{}_ and"][n % 4]  # only the chosen one
            label = form.format(words("w", 1))
            blocks.append(f"{words('w', 1)} [[note_{n} | {label}]] [[#{words('w', 1)}]] "
                          f"[[note_{n}#^b{n}]] {words('w', 1)}")
        elif kind == "broken_stamp":
            stamp = f"00:{n:02d}:00"
            anchor = [f'<a class="yt="yt-timestamp" data-t="{stamp}">[{stamp}]</a>',
                      f'<a class="yt-timestamp" data-t="{stamp}]</a>',
                      f'(<a class="yt-timestamp" data-t="{stamp}">[{stamp}]</a>)',
                      f"([{stamp}], [{stamp}])"][n % 4]  # no words inside: eager is fine
            blocks.append(f"{words('w', n)} {anchor}, {words('w', 1)}")
    return "\n\n".join(blocks) + "\n", content


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(BLOCK_KINDS), min_size=1, max_size=25).flatmap(
        lambda kinds: st.tuples(
            st.just(kinds), st.lists(st.integers(1, 6), min_size=len(kinds), max_size=len(kinds))
        )
    ),
    st.booleans(),
)
def test_every_content_word_in_exactly_one_chunk(spec, with_frontmatter):
    kinds, sizes = spec
    body, content = render(kinds, sizes)
    text = ("---\ntitle: Generated\n---\n" + body) if with_frontmatter else body
    chunks = chunk_markdown(text, "gen.md")
    # Words, not whitespace runs: a removed timestamp glues "w1 <a…>, w2" into "w1, w2".
    seen = Counter(word for c in chunks for word in re.findall(r"\w+", c.text))
    for word in content:
        assert seen[word] == 1, (word, text)
    assert not [w for w in seen if w[0] in "ht"], "markup words leaked into chunk text"
    for c in chunks:  # the grammar's code blocks hold none of these
        for markup in ("[[", "]]", "<a ", "()", "( )", ",,", ", ,", "**", "[!"):
            assert markup not in c.text, (markup, c.text)
    lines = text.split("\n")
    for c in chunks:
        span = "\n".join(lines[c.line_start - 1 : c.line_end])
        for word in re.findall(r"\w+", c.text):
            if word.startswith("w"):
                assert word in span, (word, c)
    starts = [c.line_start for c in chunks]
    assert starts == sorted(starts)


# Lists and quotes nested past markdown-it's limit (issue 23): on one line (`- - - … w`) or
# over indented lines, of any marker mix; the words in and after them must all be kept.
NESTING_MARKERS = st.sampled_from(["- ", "* ", "+ ", "> ", ">", "1. ", "2) ", "  ", "- > "])


@st.composite
def deep_block(draw: st.DrawFn, word: str) -> str:
    cycle = draw(st.lists(NESTING_MARKERS, min_size=1, max_size=4))
    markers = list(itertools.islice(itertools.cycle(cycle), draw(st.integers(1, 130))))
    if draw(st.booleans()):  # one line
        return "".join(markers) + word
    lines = []  # one marker more on each line, each with its own word
    for depth in range(1, len(markers) + 1):
        lines.append("".join(markers[:depth]) + f"{word}x{depth}")
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(BLOCK_KINDS), min_size=1, max_size=8),
    st.lists(st.integers(0, 8), min_size=1, max_size=3),
    st.data(),
)
def test_deep_nesting_loses_no_word(kinds, at, data):
    body, content = render(kinds, [2] * len(kinds))
    blocks = body.rstrip("\n").split("\n\n")
    for n, pos in enumerate(at):
        deep = data.draw(deep_block(f"deep{n}"))
        blocks.insert(min(pos, len(blocks)), deep)
    text = "\n\n".join(blocks) + "\n"
    chunks = chunk_markdown(text, "deep.md")
    seen = Counter(word for c in chunks for word in re.findall(r"\w+", c.text))
    for word in content:
        assert seen[word] == 1, (word, text)
    deep_words = set(re.findall(r"deep\d+(?:x\d+)?", text))
    assert deep_words <= set(seen), (deep_words - set(seen), text)


# Markup the inline rules start at, links that are and are not, reference definitions.
INLINE_ALPHABET = st.sampled_from(
    [*"ab 1\n\\`~*_[]!<>&()#:-", "](", "[[", "]]", "![", "[x]: /u\n", "[x]", "](/u)",
     "<a href='u'>", "</a>", "&amp;", "&#9;", "**", "~~", "``", "<http://e.x>", "\\[", "  \n"]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(INLINE_ALPHABET, max_size=120).map("".join))
def test_faster_inline_pass_gives_markdown_its_own_tokens(text):
    # The chunker parses with fast_inline's inline pass; markdown-it's own must agree.
    from searchkit.ingest.chunker import _parser, _stock_parser

    stock = [t.as_dict() for t in _stock_parser().parse(text)]
    assert [t.as_dict() for t in _parser().parse(text)] == stock
