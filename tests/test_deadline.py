"""Costly queries (issue 23, item 2): a deadline in the scorer, caps on costly query shapes,
matching from the cached postings, and the same one-line error through the API, the CLI,
HTTP and a shared server. No timed assertions: the budget is set tiny through the API (or
`SEARCHKIT_DEADLINE`), or the search is called off with an Event that is already set."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import searchkit
import searchkit.api
from searchkit.errors import QueryTooCostlyError, SearchkitError
from searchkit.retrieve import matching
from searchkit.retrieve.deadline import NO_DEADLINE
from searchkit.retrieve.query import MAX_ALTERNATIVES, MAX_EXCLUSIONS, MAX_PHRASES, compile_query
from searchkit.surfaces.cli import main

WORDS = ["sleep", "memory", "dream", "brain", "garden", "rust", "borrow", "tomato", "water",
         "light", "night", "morning", "habit", "focus", "music", "river"]


@pytest.fixture(autouse=True)
def _own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    monkeypatch.delenv("SEARCHKIT_VAULT", raising=False)
    monkeypatch.delenv("SEARCHKIT_DEADLINE", raising=False)


def write_vault(root: Path) -> Path:
    root.mkdir(parents=True)
    for i in range(30):
        words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(8))
        (root / f"n{i:02d}.md").write_text(
            f"# Note {i}\n\n## Part {i % 4}\n{words}. The deep sleep of the night helps "
            f"memory. Words {words} again.\n"
        )
    return root


@pytest.fixture
def ix(tmp_path):
    with searchkit.open_index(tmp_path / "ix", write_vault(tmp_path / "v")) as index:
        index.update()
        yield index


COSTLY = " OR ".join(WORDS * 3)  # 48 alternatives: under the cap, over a tiny budget


def test_a_tiny_budget_stops_the_search_with_a_one_line_error(ix):
    assert ix.search(COSTLY)  # ordinary: the default budget is plenty
    with pytest.raises(QueryTooCostlyError) as err:
        ix.search(COSTLY, deadline=1e-9)
    message = str(err.value)
    assert "\n" not in message and "budget" in message and "shorten" in message
    assert not err.value.cancelled
    # A filter-only search and several vaults are bounded the same way.
    with pytest.raises(QueryTooCostlyError):
        ix.search("-dream", deadline=1e-9)
    with pytest.raises(QueryTooCostlyError):
        searchkit.api.search_many([ix], COSTLY, deadline=1e-9)
    # Nothing was left half-done: the next search answers as before.
    assert [p.id for p in ix.search("deep sleep")] == [p.id for p in ix.search(
        "deep sleep", deadline=None)]


def test_a_search_called_off_stops(ix):
    gone = threading.Event()
    gone.set()
    with pytest.raises(QueryTooCostlyError) as err:
        ix.search("sleep memory", cancel=gone)
    assert err.value.cancelled and "called off" in str(err.value)


def test_deadline_arguments_are_checked(ix, monkeypatch):
    for bad in (0, -1, "soon", float("nan"), True):
        with pytest.raises(searchkit.InvalidArgumentError):
            ix.search("sleep", deadline=bad)
    with pytest.raises(searchkit.InvalidArgumentError):
        ix.search("sleep", cancel=object())
    monkeypatch.setenv("SEARCHKIT_DEADLINE", "1e-9")
    with pytest.raises(QueryTooCostlyError):
        ix.search("sleep memory")
    assert ix.search("sleep memory", deadline=5)  # the argument wins over the setting
    monkeypatch.setenv("SEARCHKIT_DEADLINE", "off")
    assert ix.search("sleep memory")


@pytest.mark.parametrize(("query", "what"), [
    (" ".join(f'"{a} {b}"' for a, b in zip(WORDS * 3, WORDS[1:] * 3, strict=False)
              )[:4000], "phrases"),
    ("sleep " + " ".join(f"-x{i}" for i in range(MAX_EXCLUSIONS + 1)), "exclusions"),
    (" OR ".join(f"w{i}" for i in range(MAX_ALTERNATIVES + 1)), "OR alternatives"),
])
def test_costly_shapes_are_capped_by_count(ix, query, what):
    with pytest.raises(QueryTooCostlyError, match=what):
        ix.search(query)


def test_shapes_under_the_caps_still_search(ix):
    phrases = " ".join(['"deep sleep"'] * MAX_PHRASES)
    assert ix.search(phrases)
    assert ix.search("sleep " + " ".join(f"-x{i}" for i in range(MAX_EXCLUSIONS)))
    assert ix.search(" OR ".join(WORDS[:8]))


def test_matching_from_postings_is_whooshs(ix):
    """The cached-postings matcher finds exactly what Whoosh's matcher tree finds."""
    searcher, _ = ix._searcher()
    queries = ['"deep sleep" memory', "sleep AND (memory OR dream)", "title:note sleep",
               '(sleep OR rest) AND "the night"', "sleep -dream", "sleep AND NOT dream",
               'heading:"part 1" focus', '"helps memory" OR "words sleep"', "rust AND borr*",
               "memroy~ AND sleep"]
    for q in queries:
        comp = compile_query(q, searcher.schema, reader=searcher.reader())
        parts = [comp.required, comp.mask, *comp.phrases.values()]
        for sub in (p for p in parts if p is not None):
            fast = set(matching.docs(searcher, sub, NO_DEADLINE, "test").tolist())
            assert fast == set(searcher.docs_for_query(sub)), (q, sub)


def test_cli_prints_one_line_and_kind(tmp_path):
    vault = write_vault(tmp_path / "cv")
    runner = CliRunner()
    env = {"SEARCHKIT_HOME": str(tmp_path / "home")}
    assert runner.invoke(main, ["index", str(vault)], env=env).exit_code == 0
    args = ["search", COSTLY, "--vault", str(vault)]
    ok = runner.invoke(main, args, env=env)
    assert ok.exit_code == 0, ok.output
    tiny = {**env, "SEARCHKIT_DEADLINE": "1e-9"}
    res = runner.invoke(main, args, env=tiny)
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: the query is too costly")
    res = runner.invoke(main, [*args, "--json"], env=tiny)
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    assert data["kind"] == "query_too_costly" and "shorten" in data["error"]
    capped = " OR ".join(f"w{i}" for i in range(MAX_ALTERNATIVES + 1))
    res = runner.invoke(main, ["search", capped, "--vault", str(vault), "--json"], env=env)
    assert res.exit_code == 2 and json.loads(res.stdout)["kind"] == "query_too_costly"


def test_a_shared_server_lets_one_costly_search_run_at_a_time(tmp_path, monkeypatch):
    from searchkit.surfaces import serving

    vault = write_vault(tmp_path / "sv")
    with searchkit.open_index(tmp_path / "six", vault) as built:
        built.update()
    monkeypatch.setattr(serving, "SLOW_AFTER", 0.0)  # every search counts as costly
    with serving.LiveIndex(tmp_path / "six", vault, watch=False) as live:
        assert live.search("sleep memory")  # it takes the lane and gives it back
        assert live.search("sleep memory")
        assert live._costly.acquire(blocking=False)  # another costly search holds it
        try:
            with pytest.raises(QueryTooCostlyError, match="another costly"):
                live.search("sleep memory")
        finally:
            live._costly.release()
        gone = threading.Event()
        gone.set()
        with pytest.raises(QueryTooCostlyError, match="called off"):
            live.search("sleep memory", cancel=gone)
        assert live.search("sleep memory")


def test_http_answers_503_with_kind(tmp_path, monkeypatch):
    from test_http import start_server

    monkeypatch.setenv("SEARCHKIT_DEADLINE", "1e-9")  # the server process inherits it
    gen = start_server(tmp_path)
    server = next(gen)
    try:
        status, data = server.get("/search", q="sleep memory")
        assert status == 503 and data["kind"] == "query_too_costly"
        assert "shorten" in data["error"]
        status, data = server.get("/status")  # the server is still up
        assert status == 200
    finally:
        with pytest.raises(StopIteration):
            next(gen)


def test_http_caps_answer_503_and_ordinary_queries_still_answer(tmp_path):
    from test_http import start_server

    gen = start_server(tmp_path)
    server = next(gen)
    try:
        capped = " OR ".join(f"w{i}" for i in range(MAX_ALTERNATIVES + 1))
        status, data = server.get("/search", q=capped)
        assert status == 503 and data["kind"] == "query_too_costly"
        status, data = server.get("/search", q="hippocampus")
        assert status == 200 and data["results"]
    finally:
        with pytest.raises(StopIteration):
            next(gen)


def test_error_is_a_searchkit_error():
    assert issubclass(QueryTooCostlyError, SearchkitError)
