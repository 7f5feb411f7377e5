"""Obsidian's search operators (issue 25, section 2), through the CLI on a vault in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from vaults import write_vault

from searchkit.retrieve import operators
from searchkit.surfaces.cli import main

NOTES = {
    "Canvas.md": (
        "# Canvas\n\nMix the flour\nwith water and salt.\n\n"
        "HappyCat is the name. Version 2024-05-01 released.\n"
    ),
    "sub/other.md": (
        "# Other note\n\nmix flour with water in one line.\n"
        "happycat lower case here. Canvas word too.\n"
    ),
    "Help/Canvas ideas.md": "# Ideas\n\nDraft ideas about painting.\n",
}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for name in ("SEARCHKIT_INDEX", "SEARCHKIT_VAULT", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    write_vault(tmp_path / "v", NOTES)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert invoke("index", "v", "--no-semantic").exit_code == 0
    return invoke


def paths(run, query: str) -> list[str]:
    result = run("search", "--json", "--", query)
    assert result.exit_code in (0, 1), result.output
    return [r["path"] for r in json.loads(result.output)["results"]]


def test_file_operator_matches_the_file_name_only(run):
    # Not the word "Canvas" in sub/other.md: the file name, ignoring case, a substring.
    assert sorted(paths(run, "file:canvas")) == ["Canvas.md", "Help/Canvas ideas.md"]
    assert paths(run, 'file:"canvas ideas"') == ["Help/Canvas ideas.md"]
    assert paths(run, "file:help") == []  # a folder is not the file name (path: is)
    assert paths(run, "file:*.md painting") == ["Help/Canvas ideas.md"]
    assert paths(run, "path:help") == ["Help/Canvas ideas.md"]


def test_line_operator_needs_every_term_on_one_line(run):
    # Canvas.md has "Mix the flour" / "with water": mix and water on two lines.
    assert sorted(paths(run, "line:(mix flour)")) == ["Canvas.md", "sub/other.md"]
    assert paths(run, "line:(mix water)") == ["sub/other.md"]
    assert paths(run, 'line:("mix flour" water)') == ["sub/other.md"]
    assert paths(run, "-line:(mix water) flour") == ["Canvas.md"]


def test_section_and_content_require_all_terms_in_one_passage(run):
    assert paths(run, "section:(mix salt)") == ["Canvas.md"]
    assert paths(run, "section:(painting salt)") == []
    assert sorted(paths(run, "content:canvas")) == ["Canvas.md", "sub/other.md"]


def test_match_case_and_ignore_case(run):
    assert paths(run, "match-case:HappyCat") == ["Canvas.md"]
    assert paths(run, "match-case:happycat") == ["sub/other.md"]
    assert sorted(paths(run, "ignore-case:HAPPYCAT")) == ["Canvas.md", "sub/other.md"]
    assert paths(run, "-match-case:HappyCat happycat") == ["sub/other.md"]


def test_regex_searches_the_stored_text_and_marks_the_match(run):
    result = run("search", "--json", "--", r"/\d{4}-\d{2}-\d{2}/")
    assert result.exit_code == 0, result.output
    (hit,) = json.loads(result.output)["results"]
    assert hit["path"] == "Canvas.md"
    a, b = hit["highlights"][0]
    assert hit["snippet"][a:b] == "2024-05-01"
    assert sorted(paths(run, "/[Hh]appy[Cc]at/ water")) == ["Canvas.md", "sub/other.md"]
    assert paths(run, r"-/\d{4}/ flour") == ["sub/other.md"]
    assert paths(run, "/zzz+/") == []


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("/(a+)+/", "exponential time"),
        (r"/(x)\1/", "backreference"),
        ("/x(/", "not a valid regular expression"),
        ("/" + "a" * 300 + "/", "longer than 256"),
        ("line:(a) OR flour", "not inside OR"),
    ],
)
def test_regex_refused_with_a_reason(run, query, says):
    result = run("search", "--", query)
    assert result.exit_code == 2
    assert says in result.output


def test_regex_that_would_read_too_many_passages_says_so(run, monkeypatch):
    monkeypatch.setattr(operators, "MAX_CHECKED", 1)
    result = run("search", "--", "/flour/")
    assert result.exit_code == 2
    assert "/flour/ would read 3 passages" in result.output and "narrow" in result.output
    # Words narrow the candidates: one passage holds "painting".
    assert paths(run, "/Draft/ painting") == ["Help/Canvas ideas.md"]


@pytest.mark.parametrize(
    "query", ["task:todo", "task-todo:call", "task-done:(a b)", "block:(dog cat)",
              "[status:done]", "[aliases]"],
)
def test_unsupported_operators_are_named_not_searched(run, query):
    result = run("search", "--json", "--", query)
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["kind"] == "query_syntax"
    assert "does not support" in error["error"]
    # Quoted, they are words again.
    assert run("search", "--", f'"{query}"').exit_code in (0, 1)


def test_text_that_only_looks_like_an_operator_stays_text(run):
    # A path, a ratio, a bare "line:" and a citation are words, as before.
    for query in ("/usr/bin/env flour", "1/2 flour", "line: flour", "[1] flour", "http://x/ flour"):
        assert run("search", "--", query).exit_code == 0, query


def test_search_help_lists_the_operators(run):
    out = run("search", "--help").output
    for op in ("file:", "line:(", "section:(", "match-case:", "/regex/", "task:"):
        assert op in out
