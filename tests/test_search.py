"""Focused tests of the query layer over a small hand-built index (no vault, no chunker)."""

from __future__ import annotations

import threading

import pytest
import whoosh.index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as Q

from searchkit.errors import QuerySyntaxError
from searchkit.ingest.chunker import Chunk, Timestamp
from searchkit.retrieve.search import nearest_timestamp, parse_query, search
from searchkit.store.schema import build_schema, chunk_document

DINO = (
    "The current era is a golden age of dinosaur discovery [00:00:44]. "
    "Scientists are running digs in Alberta near the river [00:01:12]. "
    "Bones found there are fossilized rock [00:02:00]."
)
CODE = "Use snake_case_name and ADR-016 from 2024-05-01, e.g. in C++ code. <b>bold</b> & more."


def _chunk(cid: str, path: str, text: str, **kw) -> Chunk:
    base = dict(
        id=cid,
        path=path,
        ordinal=int(cid.rsplit("#", 1)[1]),
        title=kw.pop("title", path.rsplit("/", 1)[-1][:-3]),
        heading_path=kw.pop("heading_path", ()),
        kind=kw.pop("kind", "section"),
        text=text,
        line_start=kw.pop("line_start", 1),
        line_end=kw.pop("line_end", 2),
    )
    return Chunk(**base, **kw)


CHUNKS = [
    _chunk(
        "dino/Dino Notes.md#0",
        "dino/Dino Notes.md",
        DINO,
        title="Dinosaur Paleontology",
        heading_path=("Discoveries", "The Nature #1"),
        anchor="Discoveries#The Nature #1",
        slug="the-nature-1",
        line_start=5,
        timestamps=(
            Timestamp(44, DINO.index("[00:00:44]")),
            Timestamp(72, DINO.index("[00:01:12]")),
            Timestamp(120, DINO.index("[00:02:00]")),
        ),
        tags=("science", "paleo/dino"),
        video_id="RDoVLHaYfgM",
        mtime_ns=3_000_000_000,
    ),
    _chunk("code.md#0", "code.md", CODE, title="Code style", kind="intro", mtime_ns=2_000_000_000),
    _chunk(
        "cafe.md#0",
        "misc/cafe.md",
        "We met at the Café de Flore for coffee.",
        title="Paris",
        heading_path=("Places",),
        tags=("travel",),
        mtime_ns=1_000_000_000,
    ),
    _chunk(
        "tip.md#1",
        "misc/tip.md",
        "Always back up the vault before bulk edits.",
        title="Tips",
        kind="callout",
        callout_type="warning",
        callout_title="Careful now",
        heading_path=("Maintenance",),
    ),
    _chunk("alpha.md#0", "alpha.md", "alpha gamma words here", title="A"),
    _chunk("beta.md#0", "beta.md", "beta gamma words there", title="B"),
    _chunk("ab.md#0", "ab.md", "alpha beta together", title="AB"),
    # The golden phrase split across words vs together.
    _chunk("scatter.md#0", "scatter.md", "age is golden, they say of ideas", title="S"),
] + [
    _chunk(f"many.md#{i}", "many.md", f"llama facts part {i} llama", title="Many") for i in range(5)
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    d = tmp_path_factory.mktemp("ix")
    ix = whoosh.index.create_in(str(d), build_schema())
    w = ix.writer()
    for c in CHUNKS:
        w.add_document(**chunk_document(c))
    w.commit()
    s = ix.searcher()
    yield s
    s.close()


def run(searcher, q, **kw):
    kw.setdefault("vault_name", "My Vault")
    return search(searcher, q, **kw)


def paths(res):
    return [p.path for p in res]


# --- query syntax ---------------------------------------------------------------------------


def test_bare_words_rank_full_match_first_but_keep_partial(searcher):
    res = run(searcher, "alpha beta")
    assert paths(res)[0] == "ab.md"
    assert {"alpha.md", "beta.md"} <= set(paths(res))


def test_stemming_and_accent_folding(searcher):
    assert paths(run(searcher, "run"))[0] == "dino/Dino Notes.md"
    assert paths(run(searcher, "cafe")) == ["misc/cafe.md"]
    assert paths(run(searcher, "CAFÉ")) == ["misc/cafe.md"]


def test_exact_phrase(searcher):
    assert paths(run(searcher, '"golden age"')) == ["dino/Dino Notes.md"]
    # Without quotes the scattered words match too, but the phrase ranks first.
    res = run(searcher, "golden age")
    assert paths(res)[0] == "dino/Dino Notes.md"
    assert "scatter.md" in paths(res)


def test_or_not_minus_and_groups(searcher):
    assert set(paths(run(searcher, "alpha OR beta"))) == {"alpha.md", "beta.md", "ab.md"}
    assert set(paths(run(searcher, "gamma -alpha"))) == {"beta.md"}
    assert set(paths(run(searcher, "gamma NOT beta"))) == {"alpha.md"}
    # A group must match; a bare word beside it ranks (and brings no passage in alone).
    grouped = paths(run(searcher, "(alpha OR beta) gamma"))
    assert set(grouped[:2]) == {"alpha.md", "beta.md"} and set(grouped) <= {
        "alpha.md", "beta.md", "ab.md"
    }
    assert set(paths(run(searcher, "alpha AND beta"))) == {"ab.md"}
    assert set(paths(run(searcher, "(gamma -alpha) OR together"))) == {"beta.md", "ab.md"}
    assert set(paths(run(searcher, "words gamma -alpha -beta"))) == set()
    # Only a negation: everything else, most recent first, unscored.
    res = run(searcher, "-llama", per_note=0, limit=50)
    assert "many.md" not in paths(res) and len(res) == len(CHUNKS) - 5
    assert paths(res)[0] == "dino/Dino Notes.md" and res[0].score == 0.0


def test_prefix_and_fuzzy(searcher):
    res = run(searcher, "fossil*")
    assert paths(res) == ["dino/Dino Notes.md"]
    assert "fossilized" in [res[0].snippet[a:b] for a, b in res[0].highlights]
    # An unknown word is searched as its correction as well (and offered as did-you-mean).
    res = run(searcher, "albreta")
    assert paths(res) == ["dino/Dino Notes.md"] and res.suggestion == "alberta"
    assert paths(run(searcher, "albertta~")) == ["dino/Dino Notes.md"]
    assert paths(run(searcher, "alberrtta~2")) == ["dino/Dino Notes.md"]
    assert paths(run(searcher, "alberrtta~")) == []


def test_field_filters(searcher):
    assert paths(run(searcher, "title:paleontology")) == ["dino/Dino Notes.md"]
    assert paths(run(searcher, "heading:places")) == ["misc/cafe.md"]
    assert paths(run(searcher, 'heading:"careful now"')) == ["misc/tip.md"]
    assert paths(run(searcher, "tag:travel")) == ["misc/cafe.md"]
    assert paths(run(searcher, "tag:#paleo")) == ["dino/Dino Notes.md"]  # nested tag parent
    assert paths(run(searcher, "tag:paleo/dino")) == ["dino/Dino Notes.md"]
    assert set(paths(run(searcher, "path:misc/"))) == {"misc/cafe.md", "misc/tip.md"}
    assert paths(run(searcher, "path:misc/c*.md")) == ["misc/cafe.md"]
    assert paths(run(searcher, "callout:WARNING")) == ["misc/tip.md"]
    assert paths(run(searcher, "kind:intro")) == ["code.md"]
    assert paths(run(searcher, "video:RDoVLHaYfgM")) == ["dino/Dino Notes.md"]
    assert paths(run(searcher, "has:timestamp")) == ["dino/Dino Notes.md"]
    assert paths(run(searcher, "gamma path:alpha")) == ["alpha.md"]
    assert paths(run(searcher, "coffee tag:science")) == []


def test_filters_argument(searcher):
    assert set(paths(run(searcher, "", filters={"tag": ["travel", "science"]}))) == {
        "misc/cafe.md",
        "dino/Dino Notes.md",
    }
    assert paths(run(searcher, "gamma", filters={"path": "beta"})) == ["beta.md"]
    assert paths(run(searcher, "", filters={"callout": "warning", "kind": "callout"})) == [
        "misc/tip.md"
    ]
    assert paths(run(searcher, "", filters={"heading": "places"})) == ["misc/cafe.md"]
    with pytest.raises(QuerySyntaxError):
        run(searcher, "x", filters={"colour": "red"})


def test_unknown_field_is_plain_text(searcher):
    # Searched as the text "foo:coffee": the phrase is nowhere, its part "coffee" counts.
    assert paths(run(searcher, "foo:coffee")) == ["misc/cafe.md"]
    assert paths(run(searcher, "coffee http://x")) == ["misc/cafe.md"]
    q = parse_query("foo:bar", build_schema())
    assert "foo" in str(q) and "bar" in str(q)


@pytest.mark.parametrize(
    "text",
    ["snake_case_name", "ADR-016", "2024-05-01", "e.g.", "adr-016", "snake_case_name)"],
)
def test_syntax_lookalikes_are_searched_as_text(searcher, text):
    # The passage holding the whole token comes first; one holding only a part of it (a
    # "01" of a timestamp) may follow.
    assert paths(run(searcher, text))[0] == "code.md"


@pytest.mark.parametrize(
    "text", ["AND", "OR", "NOT", "-", "*", "~", "()", '"', "", "   ", "the", "a*"]
)
def test_text_with_nothing_searchable_gives_no_results(searcher, text):
    res = run(searcher, text)
    assert list(res) == [] and res.total == 0 and res.suggestion is None


def test_unbalanced_quotes_and_parentheses(searcher):
    assert paths(run(searcher, '"golden age')) == ["dino/Dino Notes.md", "scatter.md"]
    assert paths(run(searcher, "(coffee")) == ["misc/cafe.md"]
    assert paths(run(searcher, "coffee)")) == ["misc/cafe.md"]
    assert paths(run(searcher, "coffee AND")) == ["misc/cafe.md"]
    assert paths(run(searcher, "AND coffee")) == ["misc/cafe.md"]


def test_has_with_unknown_value_is_a_syntax_error(searcher):
    with pytest.raises(QuerySyntaxError, match="has:colour"):
        run(searcher, "has:colour")


def test_too_deep_nesting_is_a_syntax_error(searcher):
    with pytest.raises(QuerySyntaxError):
        parse_query("(" * 100 + "x" + ")" * 100, searcher.schema)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab -"()*~:ORANDNOT tag:path:has:x_+é.#\\/'))))
def test_parser_never_raises_anything_else_on_syntax_soup(text):
    try:
        q = parse_query(text, SCHEMA)
    except QuerySyntaxError:
        return
    assert isinstance(q, Q.Query)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_raises_anything_else_on_any_text(text):
    try:
        q = parse_query(text, SCHEMA)
    except QuerySyntaxError:
        return
    assert isinstance(q, Q.Query)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from(list('alpha beta -"()*~:OR tag:path:kind:x'))))
def test_search_never_raises_anything_else(searcher, text):
    try:
        res = run(searcher, text, explain=True)
    except QuerySyntaxError:
        return
    assert res.total >= len(res)


SCHEMA = build_schema()


# --- ranking, grouping, paging ----------------------------------------------------------------


def test_per_note_limit(searcher):
    assert len(run(searcher, "llama")) == 3  # DEFAULT_PER_NOTE
    assert len(run(searcher, "llama", per_note=1)) == 1
    assert len(run(searcher, "llama", per_note=0)) == 5


def test_paging_offset_and_ranks(searcher):
    full = run(searcher, "llama", per_note=0, limit=5)
    page = run(searcher, "llama", per_note=0, limit=2, offset=2)
    assert [p.id for p in page] == [p.id for p in full[2:4]]
    assert [p.rank for p in page] == [3, 4]
    assert page.offset == 2 and page.total == 5 and page.query == "llama"


def test_title_match_ranks_above_body_only_match(searcher):
    # "paleontology" is only in the dino note's title; "code" in code.md's title and body.
    res = run(searcher, "code")
    assert res[0].path == "code.md"


# --- results ---------------------------------------------------------------------------------


def test_passage_fields_and_links(searcher):
    (p,) = run(searcher, "alberta")
    assert p.rank == 1 and p.score > 0
    assert p.id == "dino/Dino Notes.md#0"
    assert p.title == "Dinosaur Paleontology"
    assert p.heading_path == ("Discoveries", "The Nature #1")
    assert p.kind == "section" and p.line == 5
    assert p.tags == ("science", "paleo/dino")
    assert p.links.file == "dino/Dino Notes.md:5"
    assert p.links.obsidian == (
        "obsidian://open?vault=My%20Vault&file=dino%2FDino%20Notes%23Discoveries%23The%20Nature%20%231"
    )
    assert p.links.web == "dino/Dino%20Notes#the-nature-1"
    assert p.links.video == "https://www.youtube.com/watch?v=RDoVLHaYfgM&t=72s"
    assert p.explanation is None
    d = p.to_dict()
    assert d["links"]["file"] == p.links.file and d["heading_path"] == list(p.heading_path)


def test_callout_passage(searcher):
    (p,) = run(searcher, "backup vault")
    assert p.kind == "callout" and p.callout_type == "warning"
    assert p.callout_title == "Careful now"
    assert p.links.video is None and p.timestamp is None


def test_snippet_highlights_stemmed_matches(searcher):
    (p,) = run(searcher, "run digs")
    assert p.snippet.startswith("Scientists are running digs")
    marked = [p.snippet[a:b] for a, b in p.highlights]
    assert marked == ["running", "digs"]
    assert "<mark>running</mark> <mark>digs</mark>" in p.snippet_marked


def test_snippet_marked_is_html_escaped(searcher):
    (p,) = run(searcher, "bold")
    assert "&lt;b&gt;<mark>bold</mark>&lt;/b&gt; &amp; more" in p.snippet_marked
    assert "<b>bold</b> & more" in p.snippet


def test_snippet_without_body_match_is_the_passage_start(searcher):
    (p,) = run(searcher, "title:paleontology")
    assert p.snippet.startswith("The current era") and p.highlights == ()
    assert p.timestamp == 44  # no match in the body: the first timestamp


def test_timestamp_nearest_the_best_match(searcher):
    assert run(searcher, "dinosaur")[0].timestamp == 44
    assert run(searcher, "alberta river")[0].timestamp == 72
    p = run(searcher, "fossilized")[0]
    assert p.timestamp == 120
    assert p.links.video.endswith("&t=120s")


def test_nearest_timestamp_rules():
    text = "[00:00:05] Host: hello world. Second sentence here [00:00:20]. Tail."
    stamps = [[5, 0], [20, text.index("[00:00:20]")]]
    assert nearest_timestamp(stamps, text.index("hello"), text) == 5  # leading stamp
    assert nearest_timestamp(stamps, text.index("Second"), text) == 20  # trailing stamp
    assert nearest_timestamp(stamps, text.index("Tail"), text) == 20
    assert nearest_timestamp(stamps, None, text) == 5
    assert nearest_timestamp([], 3, text) is None


def test_explain(searcher):
    (p,) = run(searcher, "alberta", explain=True)
    assert p.explanation is not None
    assert p.explanation.startswith(f"{p.score:.2f} = ")
    assert "alberta" in p.explanation
    res = run(searcher, "tag:travel", explain=True)
    assert "filters only" in res[0].explanation


def test_did_you_mean_for_each_unknown_word(searcher):
    res = run(searcher, "dinosuar")
    assert paths(res) == ["dino/Dino Notes.md"] and res.suggestion == "dinosaur"
    # A misspelled word among known ones still gets its suggestion.
    res = run(searcher, "fosilized rock")
    assert res.suggestion == "fossilized rock"
    assert run(searcher, "fossilized rock").suggestion is None
    res = run(searcher, "albreta digz")
    assert res.suggestion == "alberta digs"  # the word as written in the notes
    assert run(searcher, "zzzzqqq").suggestion is None


def test_threads_with_their_own_searchers(searcher):
    ix = searcher._ix
    errors: list[BaseException] = []

    def work():
        try:
            with ix.searcher() as s:
                for _ in range(20):
                    assert paths(search(s, "alberta", vault_name="v")) == ["dino/Dino Notes.md"]
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize(
    "text", ["path:\udcff", "tag:\udcff", "\udcff*", "caf\udce9", '"\udcff x"']
)
def test_lone_surrogates_are_searched_not_crashed(searcher, text):
    res = run(searcher, text)
    assert isinstance(list(res), list)


def test_a_query_of_more_words_than_mask_bits_is_searched(tmp_path):
    # Each query word is one bit of an int64 mask per passage: 70 distinct words once
    # overflowed it (OverflowError) instead of searching.
    from vaults import write_vault

    import searchkit

    words = [f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(70)]
    vault = write_vault(tmp_path / "v", {"n.md": "# N\n\n" + " ".join(words) + "\n"})
    with searchkit.open_index(tmp_path / "ix", vault=vault, embedder=None) as ix:
        ix.update()
        results = ix.search(" ".join(words))
        assert [p.path for p in results] == ["n.md"]
