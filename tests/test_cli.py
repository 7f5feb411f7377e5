"""The CLI, driven through click's CliRunner on vaults written in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchkit.cli import main

SLEEP = """\
---
title: Sleep and memory
videoId: Kx3mP9vLq2E
tags: [sleep, neuroscience]
---

Intro about [[brain_notes|the brain]].

## Slow-wave sleep
During deep sleep the hippocampus replays the day <a data-t="00:01:40">[00:01:40]</a>.
Memory consolidation happens here <a class="yt-timestamp" data-t="00:02:00">[00:02:00]</a>.

> [!tip] Practical advice
> Keep a regular bedtime for better consolidation.

## REM sleep
Dreams and emotional memory <a class="yt-timestamp" data-t="00:05:00">[00:05:00]</a>.
"""

RUST = """\
# Rust ownership

## Borrowing
A reference borrows a value without taking ownership; the borrow checker enforces it.
"""


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    v = tmp_path / "My Vault"
    (v / "sub").mkdir(parents=True)
    (v / "sleep.md").write_text(SLEEP)
    (v / "sub" / "rust notes.md").write_text(RUST)
    return v


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    monkeypatch.delenv("SEARCHKIT_VAULT", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    # Per-user data and config folders inside the test's own tmp_path.
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_index_then_search_default_index_dir(run, vault, tmp_path):
    result = run("index", str(vault))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Built 2 notes, 5 chunks in ")
    # The index lives in the per-user data folder, nothing is written to the current one.
    assert not (tmp_path / "index").exists()
    assert len(list((tmp_path / "home" / "data" / "indexes").glob("My_Vault-*"))) == 1
    result = run("search", "hippocampus", "replays", "--no-color")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == " 1. Sleep and memory › Slow-wave sleep"
    assert "hippocampus replays" in lines[1]
    # The file link opens from the current folder (tmp_path holds the vault).
    assert lines[2].startswith("    My Vault/sleep.md:9  ")
    assert "https://www.youtube.com/watch?v=Kx3mP9vLq2E&t=100s" in lines[2]


def test_index_dir_with_only_a_readme_is_usable(run, vault, tmp_path):
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "README.md").write_text("generated, ignored by git\n")
    assert run("index", str(vault), "--index", "index").exit_code == 0
    assert (tmp_path / "index" / "README.md").is_file()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.docx").write_text("not ours")
    result = run("index", str(vault), "--index", str(tmp_path / "other"))
    assert result.exit_code == 2 and "thesis.docx" in result.output
    assert (tmp_path / "other" / "thesis.docx").read_text() == "not ours"


def test_search_json_keys_and_links(run, vault):
    run("index", str(vault))
    result = run("search", "borrow checker", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) >= {"query", "total", "results"}
    assert data["query"] == "borrow checker"
    first = data["results"][0]
    assert set(first) >= {
        "rank", "score", "path", "title", "heading_path", "kind", "callout_type",
        "callout_title", "line", "snippet", "timestamp", "tags", "links", "abs_path",
    }
    assert first["path"] == "sub/rust notes.md"
    assert first["abs_path"] == str(vault.resolve() / "sub" / "rust notes.md")
    assert first["heading_path"] == ["Rust ownership", "Borrowing"]
    assert first["callout_type"] is None and first["timestamp"] is None
    assert first["links"]["file"] == "sub/rust notes.md:3"
    assert first["links"]["obsidian"].startswith("obsidian://open?vault=My%20Vault&file=sub%2F")
    assert first["links"]["video"] is None


def test_callout_result_and_tag_filter(run, vault):
    run("index", str(vault))
    data = json.loads(run("search", "bedtime", "--json", "--tag", "sleep").output)
    (hit,) = data["results"]
    assert (hit["kind"], hit["callout_type"]) == ("callout", "tip")
    assert hit["callout_title"] == "Practical advice"
    assert hit["heading_path"] == ["Slow-wave sleep"]
    result = run("search", "bedtime", "--tag", "rust")
    assert result.exit_code == 1


def test_no_results_exit_1_with_suggestion(run, vault):
    run("index", str(vault))
    result = run("search", "hipocampus")
    assert result.exit_code == 1
    assert "No passages match" in result.output
    assert "hippocampus" in result.output  # did-you-mean


def test_exclusion_word_in_quotes_or_after_double_dash(run, vault):
    run("index", str(vault))
    everything = json.loads(run("search", "sleep", "--json", "--per-note", "0").output)
    assert any("REM" in " ".join(r["heading_path"]) for r in everything["results"])
    for args in (["sleep -dreams"], ["-dreams sleep"], ["sleep", "--", "-dreams"],
                 ["--json", "--", "sleep", "-dreams"]):
        opts = ["--per-note", "0"] + ([] if "--json" in args else ["--json"])
        result = run("search", *opts, *args)
        assert result.exit_code == 0, (args, result.output)
        results = json.loads(result.output)["results"]
        assert results and len(results) < len(everything["results"]), args
        assert all("REM" not in " ".join(r["heading_path"]) for r in results), args


def test_unknown_options_are_errors_with_a_suggestion(run, vault):
    run("index", str(vault))
    result = run("search", "sleep", "--limt", "1")
    assert result.exit_code == 2
    assert "No such option '--limt'" in result.output and "'--limit'" in result.output
    result = run("search", "sleep", "--josn")
    assert result.exit_code == 2 and "--json" in result.output
    result = run("search", "sleep", "-dreams")
    assert result.exit_code == 2
    assert "No such option '-dreams'" in result.output
    assert '"sleep -dreams"' in result.output and "-- -dreams" in result.output
    # Short options and their values still parse, in any position.
    data = json.loads(run("search", "-n", "1", "sleep", "--json").output)
    assert len(data["results"]) == 1
    assert len(json.loads(run("search", "sleep", "-n1", "--json").output)["results"]) == 1
    assert len(json.loads(run("search", "sleep", "--limit=1", "--json").output)["results"]) == 1
    # An option's value may start with a dash-free word that looks like a query word.
    data = json.loads(run("search", "--tag", "sleep", "bedtime", "--json").output)
    assert data["results"][0]["path"] == "sleep.md"


def test_missing_index_exits_2_with_build_command(run):
    result = run("search", "anything")
    assert result.exit_code == 2
    assert "searchkit index" in result.output
    assert "Traceback" not in result.output


def test_index_without_vault_or_index_is_usage_error(run):
    result = run("index")
    assert result.exit_code == 2
    assert "name the vault" in result.output


def test_refresh_before_search_and_no_refresh(run, vault):
    run("index", str(vault))
    (vault / "new.md").write_text("## Fresh\nzebrafish regeneration\n")
    assert run("search", "zebrafish", "--no-refresh").exit_code == 1
    result = run("search", "zebrafish", "--json")
    assert json.loads(result.output)["results"][0]["path"] == "new.md"


def test_index_json_report_and_update(run, vault):
    first = json.loads(run("index", str(vault), "--json").output)
    assert {k: first[k] for k in ("added", "changed", "removed", "unchanged")} == {
        "added": 2, "changed": 0, "removed": 0, "unchanged": 0
    }
    assert set(first) >= {"notes", "chunks", "seconds", "warnings"}
    (vault / "sleep.md").write_text(SLEEP.replace("Dreams", "Vivid dreams"))
    (vault / "sub" / "rust notes.md").unlink()
    (vault / "bad.md").write_bytes(b"\x00\x01binary")
    again = json.loads(run("index", "--json").output)  # the index remembers its vault
    assert (again["added"], again["changed"], again["removed"]) == (0, 1, 1)
    assert again["warnings"] == [
        {"path": "bad.md", "message": "skipped: binary content in a markdown file"}
    ]


def test_status(run, vault):
    run("index", str(vault))
    (vault / "sleep.md").write_text(SLEEP + "\nMore.\n")
    data = json.loads(run("status", "--json").output)
    assert data["notes"] == 2 and data["chunks"] >= 4
    assert data["stale"] == {"new": 0, "changed": 1, "removed": 0}
    text = run("status").output
    assert "1 changed" in text and "run `searchkit index`" in text


def test_index_and_vault_from_environment(run, vault, tmp_path):
    env = {"SEARCHKIT_INDEX": str(tmp_path / "elsewhere"), "SEARCHKIT_VAULT": str(vault)}
    assert run("index", env=env).exit_code == 0
    assert (tmp_path / "elsewhere" / "searchkit.json").is_file()
    assert run("search", "borrow", env=env).exit_code == 0


def test_colour_only_when_asked(run, vault):
    run("index", str(vault))
    plain = run("search", "hippocampus").output  # CliRunner is not a terminal
    assert "\x1b[" not in plain
    coloured = run("search", "hippocampus", "--color").output
    assert "\x1b[" in coloured


def test_bad_query_never_tracebacks(run, vault):
    run("index", str(vault))
    for query in ['"unbalanced', "(sleep", "AND", "title:", "C++", "snake_case_name", ")))"]:
        result = run("search", query)
        assert result.exit_code in (0, 1, 2), (query, result.output)
        assert "Traceback" not in result.output


def test_chunks_command(run, vault):
    result = run("chunks", str(vault / "sleep.md"), "--json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["kind"] for r in rows] == ["intro", "section", "callout", "section"]
    assert rows[1]["timestamps"][0][0] == 100


def test_help_lists_commands(run):
    out = run("--help").output
    for command in ("index", "search", "status", "watch", "chunks"):
        assert command in out


def test_python_dash_m_entry_point(vault, tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    index = tmp_path / "ix"
    subprocess.run([sys.executable, "-m", "searchkit", "index", str(vault), "--index", str(index)],
                   check=True, capture_output=True, env=env)
    out = subprocess.run(
        [sys.executable, "-m", "searchkit", "search", "borrow", "--index", str(index)],
        capture_output=True, text=True, env=env,
    )
    assert out.returncode == 0 and "Rust ownership › Borrowing" in out.stdout


def test_readme_api_example_runs(tmp_path, monkeypatch):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("```python\n") + len("```python\n")
    code = readme[start : readme.index("```", start)]
    vault = Path(__file__).parent.parent / "examples" / "vault"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(vault.parent)
    exec(compile(textwrap.dedent(code), "README.md", "exec"), {})
