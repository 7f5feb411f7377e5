"""One small vault per ranking rule (ranking.py, spelling.py), through the public API, so a
later change cannot silently undo a rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from vaults import write_vault

import searchkit
from searchkit.retrieve.spelling import closest_term, edit_distance

FILLER = (
    "The afternoon session wandered through scheduling, budgets, office plants, travel "
    "plans, the weather, parking, lunch options and a long list of unrelated reminders. "
)


TOPICS = [
    "garden", "tides", "violin", "granite", "ferry",
    "pottery", "lantern", "orchard", "chess", "bakery",
]


def build(tmp_path: Path, notes: dict[str, str]):
    """A vault of `notes` among 30 unrelated ones, so that word rarity is as in a real vault
    (in a vault of two notes every word is common)."""
    vault = tmp_path / "vault"
    background = {
        f"misc/{i:02d}.md": f"# {TOPICS[i % 10].title()} {i}\n{FILLER}About {TOPICS[i % 10]}.\n"
        for i in range(30)
    }
    write_vault(
        vault, {n: textwrap.dedent(t).lstrip("\n") for n, t in {**background, **notes}.items()}
    )
    ix = searchkit.open_index(tmp_path / "ix", vault)
    ix.update()
    return ix


def top(ix, query: str, n: int = 3, **kw) -> list[tuple[str, str]]:
    """(path, last heading) of the first `n` results."""
    return [
        (p.path, p.heading_path[-1] if p.heading_path else "")
        for p in ix.search(query, limit=n, **kw)
    ]


def test_hub_note_of_links_ranks_below_content(tmp_path):
    links = "\n".join(f"- [[dopamine_{i} | Dopamine and motivation part {i}]]" for i in range(6))
    ix = build(
        tmp_path,
        {
            "channel/channel.md": f"# Episodes\n## Dopamine and motivation\n{links}\n",
            "channel/dopamine_0.md": """
                # Dopamine and motivation
                ## Baseline
                Dopamine sets the baseline of motivation; spikes followed by drops lower it.
            """,
        },
    )
    with ix:
        assert top(ix, "dopamine motivation", 1) == [("channel/dopamine_0.md", "Baseline")]
        hub = [p for p in ix.search("dopamine motivation", explain=True) if "channel.md" in p.path]
        assert hub and "mostly links" in (hub[0].explanation or "")


def test_question_words_do_not_gate(tmp_path):
    ix = build(
        tmp_path,
        {
            "chatter.md": f"# Meeting\n{FILLER}Why do people say they dream of a holiday? "
            f"{FILLER}",
            "sleep.md": """
                # Sleep
                ## Lucid dreaming
                In a lucid dream you know you dream; lucid dreamers can steer the dream.
            """,
        },
    )
    with ix:
        assert top(ix, "why do we dream", 1) == [("sleep.md", "Lucid dreaming")]


def test_strong_partial_match_beats_weak_complete_one(tmp_path):
    ix = build(
        tmp_path,
        {
            "weak.md": f"# Notes\n{FILLER}The kettlebell was near the door. {FILLER}"
            f"Someone mentioned power once. {FILLER}Olympic rings on TV. {FILLER}",
            "strong.md": """
                # Kettlebell training
                ## Kettlebell swings
                Kettlebell swings build hip power; a kettlebell swing is a hinge, and heavy
                kettlebell work trains explosive power.
            """,
        },
    )
    with ix:
        assert top(ix, "kettlebell olympic power", 1) == [("strong.md", "Kettlebell swings")]


def test_heading_that_names_the_subject_wins(tmp_path):
    ix = build(
        tmp_path,
        {
            "a.md": f"# Misc\n## Odds and ends\n{FILLER}Creatine came up briefly. {FILLER}",
            "b.md": "# Supplements\n## Creatine\nFive grams a day, every day.\n",
        },
    )
    with ix:
        assert top(ix, "creatine", 1) == [("b.md", "Creatine")]


def test_note_title_counts_for_its_passages(tmp_path):
    # "Tony Hawk" is only in the title, "femur" only in the section.
    ix = build(
        tmp_path,
        {
            "tony.md": "---\ntitle: Tony Hawk\n---\n## Injuries\nHe broke his femur in 2022.\n",
            "other.md": "# Bones\n## Femur\nThe femur is the longest bone.\n",
        },
    )
    with ix:
        assert top(ix, "tony hawk femur", 1) == [("tony.md", "Injuries")]


@pytest.mark.parametrize(
    ("query", "path"),
    [("C++", "cpp.md"), ("C#", "cs.md"), (".NET", "cs.md"), ("F#", "fs.md"), ("R", "r.md")],
)
def test_language_names_and_one_letter_words_are_searchable(tmp_path, query, path):
    ix = build(
        tmp_path,
        {
            "cpp.md": "# Systems\nTemplates in C++ are compiled per type.\n",
            "cs.md": "# Dotnet\nC# runs on .NET with a garbage collector.\n",
            "fs.md": "# Functional\nF# pipes values with |>.\n",
            "r.md": "# Stats\nThe R language is for statistics; R is also a letter.\n",
            "c.md": "# Plain C\nC has no classes and no namespaces.\n",
        },
    )
    with ix:
        assert top(ix, query, 1)[0][0] == path


def test_punctuated_word_counts_whole_first_parts_less(tmp_path):
    ix = build(
        tmp_path,
        {
            "adr.md": "# Decisions\nADR-016 chose SQLite.\n",
            "loose.md": "# Loose\nThe adr list has 016 items.\n",
            "rad.md": "# Checkpoints\nRad53 is a checkpoint kinase.\n",
        },
    )
    with ix:
        assert [p for p, _ in top(ix, "ADR-016")] == ["adr.md", "loose.md"]
        # A part alone still counts: the passage about Rad53 answers "Rad53-dependent".
        assert top(ix, "Rad53-dependent arrest", 1)[0][0] == "rad.md"


def test_words_close_together_rank_first(tmp_path):
    ix = build(
        tmp_path,
        {
            "far.md": f"# Far\nMemory matters. {FILLER}{FILLER}Consolidation happens.\n",
            "near.md": f"# Near\nMemory consolidation happens at night. {FILLER}{FILLER}\n",
        },
    )
    with ix:
        assert [p for p, _ in top(ix, "memory consolidation", 2)] == ["near.md", "far.md"]


def test_alternatives_count_once(tmp_path):
    # "(alpha OR beta) gamma": a passage with beta and gamma holds both things asked for; one
    # with alpha and beta holds only the first.
    ix = build(
        tmp_path,
        {
            "ab.md": "# AB\nalpha and beta together.\n",
            "bg.md": "# BG\nbeta meets gamma.\n",
        },
    )
    with ix:
        assert [p for p, _ in top(ix, "(alpha OR beta) gamma", 2)] == ["bg.md", "ab.md"]


def test_same_stem_counts_once(tmp_path):
    # "billing" and "bills" are one stem: a passage with it must not outrank one holding
    # the other word asked for.
    ix = build(
        tmp_path,
        {
            "bills.md": "# Bills\nBills and billing, bills again.\n",
            "periods.md": "# Periods\nBills are grouped by billing periods.\n",
        },
    )
    with ix:
        assert top(ix, "billing periods bills", 1)[0][0] == "periods.md"


def test_misspelling_prefers_the_frequent_word_and_transpositions(tmp_path):
    notes = {f"d{i}.md": f"# Note {i}\nDopamine rises before a reward.\n" for i in range(5)}
    notes["wine.md"] = "# Wine\nThe domaine makes a dry white.\n"
    ix = build(tmp_path, notes)
    with ix:
        res = ix.search("dopmaine reward")
        assert res.suggestion == "dopamine reward"
        assert res.corrected == (("dopmaine", "dopamine"),)
        assert res and res[0].path.startswith("d")
        # An identifier-like word is suggested for but never searched as something else.
        assert ix.search("dopamine9").corrected == ()


def test_spelling_is_bounded():
    assert edit_distance("dopmaine", "dopamine") == 1  # a swap is one edit
    assert edit_distance("abc", "xyz") == 3  # stops early: more than two
    assert edit_distance("a" * 4000, "a" * 3999 + "b") == 1


def test_long_unknown_word_gets_no_correction(tmp_path):
    ix = build(tmp_path, {"a.md": "# A\n" + "apple " * 5 + "\n"})
    with ix:
        word = "a" + "x" * 4000
        res = ix.search(f"apple {word}")
        assert res.suggestion is None and res and res[0].path == "a.md"
        reader_query = ix.search("aple")
        assert reader_query.suggestion == "apple"
    assert closest_term(None, "z" * 100) is None  # never even reads the index


def test_title_only_callout_shows_its_title(tmp_path):
    ix = build(tmp_path, {"tips.md": "# Tips\n> [!tip] Sleep before eleven\n"})
    with ix:
        (p,) = ix.search("sleep eleven", limit=1)
        assert p.kind == "callout" and p.snippet == "Sleep before eleven"


def test_hub_section_links_the_video_its_heading_names(tmp_path):
    ix = build(
        tmp_path,
        {
            "hub.md": "# Channel\n### [RWKV: RNNs Strike Back](https://www.youtube.com/"
            "watch?v=ZDHE119dFR8&t=75)\n- [[rwkv | Notes on RWKV]]\n"
        },
    )
    with ix:
        (p,) = ix.search("rwkv strike back", limit=1)
        assert p.links.video == "https://www.youtube.com/watch?v=ZDHE119dFR8&t=75s"


def test_parenthesised_aside_is_words_not_a_filter(tmp_path):
    # Prose puts words in parentheses ("RLS (replicative life span)"); only a group with an
    # operator inside ("(a OR b)") or an operand of OR/AND is a requirement.
    ix = build(
        tmp_path,
        {
            "rls.md": "# Yeast\nCalorie restriction extends replicative RLS in yeast.\n",
            "other.md": "# Other\nA life span table.\n",
        },
    )
    with ix:
        assert top(ix, "restriction RLS (replicative life span)", 1)[0][0] == "rls.md"
        assert [p for p, _ in top(ix, "(life span) OR nothing")] == ["other.md"]
