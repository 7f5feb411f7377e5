"""Snippet cutting: word boundaries, sentence ends, table cells, title-only callouts."""

from __future__ import annotations

import re

import pytest

import searchkit
from searchkit.retrieve.highlight import make_snippet


def spans_of(text: str, *words: str) -> list[tuple[int, int]]:
    return sorted(m.span() for w in words for m in re.finditer(rf"\b{w}\b", text))


def test_long_cut_without_sentence_ends_never_splits_a_word():
    text = " ".join(f"alpha{i:03d}beta" for i in range(80))  # no sentence end anywhere
    snip = make_snippet(text, spans_of(text, "alpha040beta"))
    assert snip.text.startswith("…") and snip.text.endswith("…")
    for word in snip.text.strip("…").split():
        assert re.fullmatch(r"alpha\d{3}beta", word), word


def test_snippet_without_matches_ends_at_a_word_boundary():
    text = "word " * 10 + "x" * 300 + " tail"  # the lead length falls inside the long word
    snip = make_snippet(text, [])
    assert snip.text.endswith("…")
    assert all(w in ("word", "x" * 300) for w in snip.text.rstrip("…").split())


@pytest.mark.parametrize(
    "before",
    ["Use a stimulant, e.g. caffeine", "Some stimulants, i.e. caffeine", "Team A vs. team",
     "As Dr. Walker says,", "A value of 3.5 units of", "Made in the U.S. and"],
)
def test_abbreviations_and_decimals_do_not_end_a_sentence(before):
    text = f"First sentence here. {before} the sleep pressure builds. Last sentence."
    snip = make_snippet(text, spans_of(text, "sleep"))
    assert snip.text == f"{before} the sleep pressure builds."


def test_table_cells_are_not_shown_with_pipes():
    text = "Purpose\tCalculate probability of sample mean\nPopulation\tknown"
    snip = make_snippet(text, spans_of(text, "probability"))
    assert snip.text == "Purpose · Calculate probability of sample mean Population · known"
    a, b = snip.spans[0]
    assert snip.text[a:b] == "probability"


def test_title_only_callout_snippet_is_its_title(tmp_path):
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "tips.md").write_text(
        "# Tips\n\nIntro text.\n\n> [!tip] Sleep before eleven\n\nMore text.\n", encoding="utf-8"
    )
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        results = ix.search("eleven")
    (passage,) = [p for p in results if p.kind == "callout"]
    assert passage.callout_title == "Sleep before eleven"
    assert passage.snippet == "Sleep before eleven"


def test_chunk_text_of_a_table_reaches_the_snippet_without_pipes(tmp_path):
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "t.md").write_text(
        "| Stat | Purpose |\n|---|---|\n| z | Calculate probability |\n", encoding="utf-8"
    )
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        (passage,) = ix.search("probability")
    assert "|" not in passage.snippet
    assert passage.snippet == "Stat · Purpose z · Calculate probability"


def test_a_huge_passage_is_highlighted_within_a_bounded_window():
    """A 990k-word paragraph is one passage: only its first MAX_ANALYSED characters are
    analysed, and at most MAX_SPANS matches kept."""
    from whoosh.analysis import StemmingAnalyzer

    from searchkit.retrieve import highlight

    analyzer = StemmingAnalyzer()
    text = "sleep well " * 500_000
    spans = highlight.match_spans(analyzer, text, {"sleep"})
    assert 0 < len(spans) <= highlight.MAX_SPANS
    assert spans[-1][1] <= highlight.MAX_ANALYSED
    snip = highlight.passage_snippet(text, spans)
    assert "sleep" in snip.text and len(snip.text) <= highlight.MAX_SNIPPET + 2
