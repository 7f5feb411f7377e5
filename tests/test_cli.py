"""The CLI, driven through click's CliRunner on vaults written in tmp_path."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchkit.surfaces.cli import main

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
    data = json.loads(
        run("search", "bedtime", "--json", "--tag", "sleep", "--mode", "lexical").output
    )
    (hit,) = data["results"]
    assert (hit["kind"], hit["callout_type"]) == ("callout", "tip")
    assert hit["callout_title"] == "Practical advice"
    assert hit["heading_path"] == ["Slow-wave sleep"]
    result = run("search", "bedtime", "--tag", "rust")
    assert result.exit_code == 1


def test_unknown_word_searched_as_its_correction(run, vault):
    run("index", str(vault))
    result = run("search", "hipocampus")
    assert result.exit_code == 0
    assert "No 'hipocampus' in the notes: also searched for 'hippocampus'." in result.output
    data = json.loads(run("search", "hipocampus", "--json").output)
    assert data["corrected"] == [["hipocampus", "hippocampus"]] and data["results"]


def test_no_results_exit_1_with_suggestion(run, vault):
    run("index", str(vault))
    # Words with digits are names, never replaced by a correction, only suggested.
    # (By meaning, "hippocampus9" is close to the hippocampus passage: words only here.)
    result = run("search", "hippocampus9", "--mode", "lexical")
    assert result.exit_code == 1
    assert "No passages match" in result.output


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
        {"path": "bad.md",
         "message": "skipped: binary content in a markdown file (NUL bytes and no UTF-16 BOM)"}
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


# --- where things are --------------------------------------------------------------------


def test_every_command_finds_the_index_from_inside_the_vault(run, vault, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("index", str(vault)).exit_code == 0
    assert list(elsewhere.iterdir()) == []  # building from elsewhere writes nothing here
    other = tmp_path / "Other"
    other.mkdir()
    (other / "o.md").write_text("## Borrowing\nborrow money from banks\n")
    assert run("index", str(other)).exit_code == 0
    monkeypatch.chdir(vault / "sub")
    result = run("search", "borrow", "--no-color")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == " 1. Rust ownership › Borrowing"
    assert lines[2] == "    rust notes.md:3"  # opens from the current folder
    result = run("search", "hippocampus", "--no-color")
    assert "    ../sleep.md:9  https://" in result.output
    assert json.loads(run("status", "--json").output)["vault"] == str(vault.resolve())
    (vault / "sub" / "new.md").write_text("## Fresh\nzebrafish\n")
    assert "1 added" in run("index").output  # updates the vault it is in, not `Other`
    monkeypatch.chdir(other)
    data = json.loads(run("search", "borrow", "--json").output)
    assert [r["path"] for r in data["results"]] == ["o.md"]


def test_outside_any_vault_the_default_vault_or_the_only_index(run, vault, tmp_path, monkeypatch):
    neutral = tmp_path / "neutral"
    neutral.mkdir()
    monkeypatch.chdir(neutral)
    run("index", str(vault))
    result = run("search", "borrow", "--no-color")  # the only index there is
    assert result.exit_code == 0
    assert f"    {vault.resolve()}/sub/rust notes.md:3" in result.output  # absolute here
    other = tmp_path / "Other"
    other.mkdir()
    (other / "o.md").write_text("## Borrowing\nborrow money\n")
    run("index", str(other))
    result = run("search", "borrow")
    assert result.exit_code == 2
    assert "not inside an indexed vault" in result.output
    assert "searchkit config vault DIR" in result.output and str(other.resolve()) in result.output
    assert run("config", "vault", str(other)).exit_code == 0
    assert (tmp_path / "home" / "config.toml").is_file()
    shown = run("config").output
    assert f"vault        {other.resolve()}" in shown
    data = json.loads(run("search", "borrow", "--json").output)
    assert data["vault"] == str(other.resolve())
    assert data["results"][0]["abs_path"] == str(other.resolve() / "o.md")
    # The environment is explicit and wins over the config file, like --vault.
    data = json.loads(run("search", "borrow", "--json", env={"SEARCHKIT_VAULT": str(vault)}).output)
    assert data["vault"] == str(vault.resolve())
    assert "vault unset" in run("config", "vault", "--unset").output
    assert run("search", "borrow").exit_code == 2


def test_an_index_folder_in_the_current_folder_is_still_used(run, vault, tmp_path):
    assert run("index", str(vault), "--index", "index").exit_code == 0
    assert (tmp_path / "index" / "searchkit.json").is_file()
    data = json.loads(run("search", "borrow", "--json").output)
    assert data["index"] == str(tmp_path / "index")
    assert "./index" in run("status").output


def test_suggested_fixes_repeat_the_index_option(run, vault, tmp_path):
    fresh = tmp_path / "fresh"
    result = run("search", "borrow", "--index", str(fresh))
    assert result.exit_code == 2
    assert f"`searchkit index VAULT --index {fresh}`" in result.output
    result = run("search", "borrow", "--index", str(fresh), "--vault", str(vault))
    assert f"`searchkit index '{vault.resolve()}' --index {fresh}`" in result.output
    assert run("index", str(vault), "--index", str(fresh)).exit_code == 0
    (vault / "sleep.md").write_text(SLEEP + "\nMore.\n")
    assert f"run `searchkit index --index {fresh}` to update" in run(
        "status", "--index", str(fresh)
    ).output


@contextlib.contextmanager
def _first_build_held(index_dir, vault):
    """A first build of `vault` (into `index_dir`; None: its default index) in a thread,
    held after its first note until the block ends."""
    import threading

    import searchkit

    reached, release = threading.Event(), threading.Event()

    def slow(p):
        reached.set()
        release.wait(10)

    def build():
        with searchkit.open_index(index_dir, vault) as ix:
            ix.update(progress=slow, jobs=1)

    worker = threading.Thread(target=build)
    worker.start()
    try:
        assert reached.wait(10)
        yield
    finally:
        release.set()
        worker.join(10)


def test_search_during_a_first_build_says_how_far_it_got(run, vault, tmp_path):
    import searchkit

    for i in range(5):
        (vault / f"extra{i}.md").write_text(f"## Extra {i}\nfiller words {i}\n")
    ix_dir = tmp_path / "ix"
    with _first_build_held(ix_dir, vault):
        result = run("search", "borrow", "--index", str(ix_dir))
        assert result.exit_code == 2
        assert "the first build of" in result.output
        assert "is in progress (1 of 7 notes)" in result.output
    assert run("search", "borrow", "--index", str(ix_dir)).exit_code == 0

    def boom(p):
        raise KeyboardInterrupt  # an interrupted first build

    broken = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt), searchkit.open_index(broken, vault) as ix:
        ix.update(progress=boom, jobs=1)
    result = run("search", "borrow", "--index", str(broken))
    assert result.exit_code == 2
    assert "did not finish" in result.output
    assert f"`searchkit index '{vault.resolve()}' --index {broken}`" in result.output


# --- honest numbers ----------------------------------------------------------------------


@pytest.fixture
def garden(tmp_path: Path) -> Path:
    v = tmp_path / "garden"
    v.mkdir()
    for i in range(5):
        (v / f"g{i}.md").write_text(f"## Bed {i}\nGardening notes number {i}.\n")
    return v


def test_footer_offers_more_only_when_there_is_more(run, garden):
    run("index", str(garden))
    result = run("search", "gardening", "-n", "2")
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("1–2 of 5 results; --offset 2 for more")
    result = run("search", "gardening", "-n", "2", "--offset", "4")
    assert result.output.rstrip().endswith("5 of 5 results; no more")
    assert "for more" not in run("search", "gardening").output
    result = run("search", "gardening", "--offset", "5")
    assert result.exit_code == 1
    assert "Nothing at --offset 5: the results for 'gardening' end before that" in result.output
    assert "No passages match" not in result.output
    data = json.loads(run("search", "gardening", "-n", "2", "--json").output)
    assert data["total"] == 5 and isinstance(data["total_exact"], bool)


def test_empty_and_stopword_queries_say_what_happened(run, garden):
    run("index", str(garden))
    result = run("search", "")
    assert result.exit_code == 2 and "the query is empty" in result.output
    result = run("search", "the", "of", "a")
    assert result.exit_code == 2
    assert "too common or too short" in result.output
    assert "No passages match" not in result.output


# --- output ------------------------------------------------------------------------------


def test_json_result_is_passage_to_dict_plus_abs_path(run, vault):
    import searchkit

    run("index", str(vault))
    data = json.loads(run("search", "consolidation", "--json", "--explain").output)
    with searchkit.open_index(vault=vault) as ix:
        expected = [p.to_dict() for p in ix.search("consolidation", explain=True)]
    got = [{k: v for k, v in r.items() if k != "abs_path"} for r in data["results"]]
    assert got == expected


def test_breadcrumb_does_not_repeat_an_h1_title(run, vault):
    run("index", str(vault))
    lines = run("search", "borrow", "checker").output.splitlines()
    assert lines[0] == " 1. Rust ownership › Borrowing"
    data = json.loads(run("search", "borrow", "checker", "--json").output)
    assert data["results"][0]["heading_path"] == ["Rust ownership", "Borrowing"]  # data kept


def test_long_snippets_wrap_to_the_terminal_width(run, tmp_path):
    v = tmp_path / "wide"
    v.mkdir()
    words = " ".join(f"word{i}" for i in range(60))
    (v / "long note with a long name.md").write_text(f"## Long\nalpha {words} omega\n")
    run("index", str(v))
    flat = run("search", "alpha").output.splitlines()
    assert len(flat[1]) > 200  # piped: one line, for grep
    wrapped = run("search", "alpha", env={"COLUMNS": "50"}).output.splitlines()
    body = wrapped[1 : wrapped.index("") - 1]
    assert len(body) > 4 and all(len(line) <= 50 and line.startswith("    ") for line in body)
    assert " ".join(line.strip() for line in body) == flat[1].strip()
    assert wrapped[len(body) + 1] == flat[2]  # the link line is never cut
    coloured = run("search", "alpha", "word26", "--color", env={"COLUMNS": "50"}).output
    rows = coloured.splitlines()
    (row26,) = [r for r in rows if "word26" in r]
    assert "\x1b[33m" in rows[1] and row26 != rows[1] and "\x1b[33m" in row26


def test_help_is_not_cut_off_and_shows_defaults(run):
    out = run("--help").output
    commands = out[out.index("Commands:") :].splitlines()[1:]
    assert commands and not any(line.rstrip().endswith("...") for line in commands)
    for command in ("index", "search", "status", "watch", "chunks", "config"):
        assert f"  {command} " in out
    assert "[default: (CPU count, at most 2)" in " ".join(run("index", "--help").output.split())


def test_rebuild_reports_the_notes_it_built(run, vault):
    run("index", str(vault))
    result = run("index", "--rebuild")
    assert result.exit_code == 0
    assert result.output.startswith("Rebuilt 2 notes, 5 chunks in ")
    assert "rebuild requested" in result.output and "added" not in result.output
    assert run("index").output.startswith("Updated 2 notes, 5 chunks in ")


def test_minute_second_frame_timestamps_link_into_the_video(run, tmp_path):
    v = tmp_path / "lectures"
    v.mkdir()
    (v / "backprop.md").write_text(
        "---\nvideoId: IHZwWFHWa-w\n---\n## Cost\n"
        'The cost function averages errors <a class="yt-timestamp" data-t="13:02:00">x</a>.\n'
    )
    # Stamps are read per note (issue 17): this one's fit a video as h:mm:ss.
    (v / "long.md").write_text(
        "---\nvideoId: IHZwWFHWa-x\n---\n## Recap\n"
        'An input layer of 784 neurons <a class="yt-timestamp" data-t="01:09:30">y</a>.\n'
    )
    run("index", str(v))
    data = json.loads(run("search", "cost", "function", "--json").output)
    assert data["results"][0]["timestamp"] == 13 * 60 + 2
    assert data["results"][0]["links"]["video"].endswith("&t=782s")
    data = json.loads(run("search", "784", "neurons", "--json").output)
    assert data["results"][0]["timestamp"] == 3600 + 9 * 60 + 30  # real h:mm:ss kept


def test_a_deleted_current_folder_still_finds_the_only_index(run, vault, tmp_path, monkeypatch):
    run("index", str(vault))
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    result = run("search", "borrow", "--no-color")
    assert result.exit_code == 0, result.output
    assert f"    {vault.resolve()}/sub/rust notes.md:3" in result.output


def test_rebuild_replaces_an_unreadable_index_record(run, vault, tmp_path):
    ix = tmp_path / "ix"
    assert run("index", str(vault), "--index", str(ix)).exit_code == 0
    (ix / "searchkit.json").write_text("{broken")
    result = run("search", "borrow", "--index", str(ix))
    assert result.exit_code == 2 and f"--rebuild VAULT --index {ix}" in result.output
    assert run("index", str(vault), "--index", str(ix), "--rebuild").exit_code == 0
    assert run("search", "borrow", "--index", str(ix)).exit_code == 0


def test_several_vaults_search_the_built_ones_while_one_is_mid_first_build(run, vault, tmp_path):
    """Issue 23, item 8: a vault whose first build runs must not empty the others' results."""
    assert run("index", str(vault)).exit_code == 0
    other = tmp_path / "Other"
    other.mkdir()
    for i in range(3):
        (other / f"o{i}.md").write_text(f"## Other {i}\nborrow words {i}\n")
    with _first_build_held(None, other):
        result = run("search", "borrow", "--vault", str(vault), "--vault", str(other),
                     "--no-color", "--no-refresh")
        assert result.exit_code == 0, result.output
        assert "Rust ownership" in result.stdout
        warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
        assert len(warnings) == 1 and str(other) in warnings[0]
        assert "first build" in warnings[0] and "in progress" in warnings[0]
        as_json = run("search", "borrow", "--vault", str(vault), "--vault", str(other),
                      "--json", "--no-refresh")
        assert as_json.exit_code == 0 and json.loads(as_json.stdout)["results"]
        # Nothing searchable in any of them: the error, as before.
        alone = run("search", "borrow", "--vault", str(other), "--vault", str(other),
                    "--no-refresh")
        assert alone.exit_code == 2 and "first build" in alone.output
