"""Issue 17 ("daily use, second pass") and issue 15 item 11: what a new user trips on.
Each test drives the CLI (CliRunner) or the API on a vault written in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from vaults import write_vault

import searchkit
from searchkit.surfaces.cli import main


@pytest.fixture(autouse=True)
def _own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    for var in ("SEARCHKIT_INDEX", "SEARCHKIT_VAULT", "COLUMNS", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


def run(*args: str, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def built(root: Path, notes: dict[str, str]) -> Path:
    vault = write_vault(root, notes)
    # Words only: these tests are about matching words and output (tests/test_semantic.py
    # covers search by meaning).
    result = run("index", str(vault), "--no-semantic")
    assert result.exit_code == 0, result.output
    return vault


# --- 1. fuzzy words match the words written in the notes -----------------------------------

MEMORY_NOTES = {
    "sleep.md": "# Sleep\n\nSleep helps memory. Memory consolidation and memory replay.\n",
    "recall.md": "# Recall\n\nWorking memory holds a few items; memory fades.\n",
    "odd.md": "# Odd\n\nThe word metry appears once here.\n",
    "memos.md": "# Memos\n\nShort memos about nothing.\n",
}


def test_fuzzy_matches_written_words_not_stems(tmp_path):
    vault = built(tmp_path / "v", MEMORY_NOTES)
    with searchkit.open_index(vault=vault) as ix:
        # One swap from "memory" (two from its stem "memori").
        fuzzy = ix.search("memroy~")
        assert fuzzy and {p.path for p in fuzzy} == {"sleep.md", "recall.md"}
        # Closest first, then most written: "memory" (common) before "metry" (rare).
        res = ix.search("memry~")
        assert res and res[0].path in ("sleep.md", "recall.md")
        assert "odd.md" not in [p.path for p in res]
        # A plain misspelling is corrected; the fuzzy form must never do worse.
        plain = ix.search("memroy")
        assert [p.id for p in fuzzy] == [p.id for p in plain]
        assert fuzzy.total >= plain.total
        # Two edits reach "memos" too, but never lose "memory".
        assert {"sleep.md", "recall.md"} <= {p.path for p in ix.search("memroy~2")}


# --- 3. Obsidian heading links as Obsidian writes them -----------------------------------

HEADING_FORMS = {
    "## See [[Other Note|the note]] today": "See Other Note the note today",
    "## See [[Other Note]] now": "See Other Note now",
    "## The **bold** claim": "The **bold** claim",
    "## Use `git rebase` here": "Use `git rebase` here",
    "## An _italic_ aside": "An _italic_ aside",
    "## Read [the docs](https://x.io) first": "Read [the docs](https //x.io) first",
    "## Ratio: 3^2 | C# notes": "Ratio 3 2 C notes",
}


@pytest.mark.parametrize("heading", sorted(HEADING_FORMS))
def test_obsidian_heading_link_keeps_the_heading_source(tmp_path, heading):
    from urllib.parse import quote

    vault = built(tmp_path / "v", {"n.md": f"# N\n\n{heading}\nzanzibar quokka text.\n"})
    with searchkit.open_index(vault=vault) as ix:
        (hit,) = ix.search("zanzibar quokka")
    subpath = HEADING_FORMS[heading]
    assert hit.links.obsidian == f"obsidian://open?vault=v&file={quote('n#' + subpath, safe='')}"


# --- 4. timestamps: parenthesised, own-player links, MM:SS:ff read per note ---------------


def _stamps(text: str) -> list[int]:
    from searchkit.ingest.chunker import chunk_markdown

    return [t.seconds for c in chunk_markdown(text, "n.md") for t in c.timestamps]


def test_parenthesised_and_own_player_timestamps_are_read():
    chunks_text = "# T\n\nThe claim (00:34:07) and the other [00:47:47](#t=00:47:47) one.\n"
    assert _stamps(chunks_text) == [34 * 60 + 7, 47 * 60 + 47]
    from searchkit.ingest.chunker import chunk_markdown

    (chunk,) = chunk_markdown(chunks_text, "n.md")
    assert "00:" not in chunk.text and "()" not in chunk.text
    # A link whose target is a time: the label stays text.
    (chunk,) = chunk_markdown("# T\n\nAmerican [history](00:01:19) and [05:00](0:05:00).\n", "n")
    assert chunk.text == "American history and." and [t.seconds for t in chunk.timestamps] == [
        79, 300
    ]
    # A time of day in parentheses is not a video moment.
    assert _stamps("# T\n\nMeet at the cafe (10:30) today.\n") == []


def test_mm_ss_frames_stamps_are_read_per_note():
    # A 20-minute talk written as MM:SS:ff: `08:24:08` is 8 min 24 s, not 8 h 24 min.
    note = "# Talk\n\n" + "".join(
        f'Point {i} <a class="yt-timestamp" data-t="{m:02d}:{s:02d}:{f:02d}">'
        f"[{m:02d}:{s:02d}:{f:02d}]</a>.\n\n"
        for i, (m, s, f) in enumerate([(0, 12, 5), (3, 40, 0), (8, 24, 8), (19, 2, 17)])
    )
    assert _stamps(note) == [12, 220, 504, 1142]
    # Hours, minutes, seconds stay that when the note's run of stamps fits a video.
    assert _stamps("# T\n\nA [00:12:05] and [01:40:17] b.\n") == [725, 6017]


# --- 5. one id per passage everywhere ------------------------------------------------------


def test_chunks_json_ids_and_paths_are_the_ones_search_gives(tmp_path):
    vault = built(tmp_path / "v", {"folder/note.md": "# Note\n\nQuokka facts here.\n"})
    rows = [json.loads(x) for x in run("chunks", str(vault / "folder" / "note.md"), "--json")
            .output.splitlines()]
    with searchkit.open_index(vault=vault) as ix:
        (hit,) = ix.search("quokka")
    assert rows[0]["id"] == hit.id == "folder/note.md#0"
    assert rows[0]["path"] == hit.path == "folder/note.md"
    assert rows[0]["abs_path"] == str((vault / "folder" / "note.md").resolve())


# --- issue 15 item 11: no terminal control from a note reaches the terminal ----------------

EVIL = (
    "---\ntitle: \"Evil \\e]0;pwned\\a title\"\n---\n\n"
    "## Head \x1b[2J ing\n\nquokka \x1b]52;c;ZWNobyBoaQ==\x07clip "
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ and \x9b31m red.\n"
)


@pytest.mark.parametrize("color", ["--color", "--no-color"])
def test_terminal_escapes_in_notes_are_stripped(tmp_path, color):
    vault = built(tmp_path / "v", {"evil\x1b[31m.md": EVIL})
    out = run("search", "quokka", color, "--vault", str(vault)).output
    assert "quokka" in out and "clip" in out and "link" in out
    for bad in ("\x1b]", "\x1b[2J", "\x07", "\x9b", "ZWNobyBoaQ", "evil\x1b[31m"):
        assert bad not in out
    if color == "--color":
        assert "\x1b[1m" in out or "\x1b[33m" in out  # our own styling stays
    data = run("search", "quokka", "--json", "--vault", str(vault)).output
    assert "\x1b" not in data and "\x9b" not in data and "\x07" not in data
    assert "\\u001b]52;" in data  # escaped in JSON, not lost
    out = run("chunks", str(vault / "evil\x1b[31m.md")).output
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out


# --- 14. narrow terminals: titles wrap under themselves, links never break ------------------


def test_narrow_terminal_wraps_titles_and_keeps_links_whole(tmp_path):
    long_title = "A rather long note title about the many ways quokkas spend their afternoons"
    vault = built(tmp_path / "vault with a long folder name",
                  {f"deeply nested folder/{long_title}.md": "---\nvideoId: abcdefghijk\n---\n"
                   f"# {long_title}\n\n## Where they sleep"
                   " under the big trees\nQuokka naps.\n"})
    out = run("search", "quokka", "naps", "--no-color", "--vault", str(vault),
              env={"COLUMNS": "72"}).output
    lines = out.splitlines()
    link = f"vault with a long folder name/deeply nested folder/{long_title}.md:6"
    # The link is whole on a line of its own; every other line fits the 72 columns.
    assert f"    {link}" in lines
    assert "    https://www.youtube.com/watch?v=abcdefghijk" in lines
    assert all(len(x) <= 72 for x in lines if link not in x)
    assert lines[0].startswith(" 1. A rather long") and lines[1].startswith("    ")
    assert long_title in " ".join(x.strip() for x in lines[:2]).removeprefix("1. ")


# --- 6. a filter that matches nothing is named; path: is Obsidian's --------------------------

SYNC_NOTES = {
    "Help/Obsidian Sync/Conflicts.md": "---\ntags: [sync]\n---\n# Conflicts\n\nA conflict file.\n",
    "Help/Editing.md": "# Editing\n\nA conflict in editing.\n",
}


def test_path_filter_is_a_case_insensitive_substring(tmp_path):
    vault = built(tmp_path / "v", SYNC_NOTES)
    with searchkit.open_index(vault=vault) as ix:
        for path in ("obsidian sync/", "OBSIDIAN SYNC", "sync/conf", "help/obsidian*"):
            assert [p.path for p in ix.search("conflict", path=path)] == [
                "Help/Obsidian Sync/Conflicts.md"
            ], path
        assert [p.path for p in ix.search("conflict path:editing")] == ["Help/Editing.md"]


def test_a_filter_that_matches_nothing_is_named(tmp_path):
    vault = built(tmp_path / "v", SYNC_NOTES)
    result = run("search", "conflict", "--path", "nosuchfolder/", "--vault", str(vault))
    assert result.exit_code == 1
    assert "path:nosuchfolder/" in result.output and "No passages match" not in result.output
    result = run("search", "conflict", "--tag", "nosuchtag", "--vault", str(vault))
    assert "tag:nosuchtag" in result.output and "No passages match" not in result.output
    # Each matches on its own, not together.
    result = run("search", "conflict", "--tag", "sync", "--path", "editing", "--vault",
                 str(vault))
    assert "together" in result.output and "tag:sync" in result.output
    data = json.loads(run("search", "conflict tag:nosuchtag", "--json", "--vault",
                          str(vault)).output)
    assert data["empty_filters"] == ["tag:nosuchtag"] and data["results"] == []


# --- 7, 8, 9, 11, 12, 15: exit codes and messages ------------------------------------------


def test_a_closed_pipe_is_not_no_result(tmp_path):
    import os
    import subprocess
    import sys

    vault = built(tmp_path / "v", MEMORY_NOTES)
    env = {**os.environ, "SEARCHKIT_HOME": str(tmp_path / "home")}
    for fmt in ("--no-color", "--json"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "searchkit", "search", "memory", "--vault", str(vault), fmt],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        # The reader is gone before the first result is written (`| head -0`, `| true`).
        proc.stdout.close()
        _, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (141, b""), fmt


def test_kind_in_the_query_is_checked_like_the_option(tmp_path):
    vault = built(tmp_path / "v", SYNC_NOTES)
    by_option = run("search", "conflict", "--kind", "foo", "--vault", str(vault))
    in_query = run("search", "conflict kind:foo", "--vault", str(vault))
    assert by_option.exit_code == in_query.exit_code == 2
    assert "not a passage kind" in in_query.output


def test_a_refresh_skipped_for_a_busy_writer_says_results_may_be_stale(tmp_path, monkeypatch):
    from searchkit import api
    from searchkit.errors import IndexLockedError

    vault = built(tmp_path / "v", SYNC_NOTES)
    (vault / "new.md").write_text("# New\n\nconflict again\n")

    def locked(self, **kw):
        raise IndexLockedError("another process holds the index")

    monkeypatch.setattr(api.SearchIndex, "update", locked)
    result = run("search", "conflict", "--vault", str(vault))
    assert result.exit_code == 0 and "may be stale" in result.output


def test_serve_without_an_index_names_the_index_in_its_fix(tmp_path):
    result = run("serve", "--index", "index")
    assert result.exit_code == 2
    assert f"--index {tmp_path / 'index'}" in result.output


def test_json_errors_are_json_on_stdout_too(tmp_path):
    vault = built(tmp_path / "v", SYNC_NOTES)
    for args, kind in (
        (["search", "the", "--json", "--vault", str(vault)], "query_syntax"),
        (["search", "x", "--json", "--index", str(tmp_path / "none")], "index_not_found"),
        (["search", "x", "--json", "--limit", "0", "--vault", str(vault)], "usage"),
        (["status", "--json", "--index", str(tmp_path / "none")], "index_not_found"),
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, args
        data = json.loads(result.stdout)
        assert data["kind"] == kind and data["error"], args
        assert "Error" in result.stderr


def test_config_key_alone_prints_its_value(tmp_path):
    (tmp_path / "notes").mkdir()
    assert run("config", "vault").exit_code == 1
    assert run("config", "vault", str(tmp_path / "notes")).exit_code == 0
    result = run("config", "vault")
    assert result.exit_code == 0 and result.output == f"{(tmp_path / 'notes').resolve()}\n"


# --- 13. progress: what happens after the last note, and Ctrl-C on a line of its own -------


def test_progress_says_merging_after_the_last_note_and_ctrl_c_starts_a_line(capsys):
    from searchkit.store.index import Progress
    from searchkit.surfaces.progress import ProgressBar

    bar = ProgressBar(enabled=True)
    for done in (0, 30, 60):
        bar(Progress(done, 60, done * 3))
    err = capsys.readouterr().err
    assert err.rstrip().endswith("Merging and committing the index…")
    bar.close()
    bar = ProgressBar(enabled=True)
    bar(Progress(10, 60, 30))
    capsys.readouterr()
    bar.close(interrupted=True)
    assert capsys.readouterr().err.startswith("\n")


def test_json_explanation_is_structured(tmp_path):
    vault = built(tmp_path / "v", MEMORY_NOTES)
    data = json.loads(run("search", "memory", "sleep", "--explain", "--json", "--vault",
                          str(vault)).output)
    why = data["results"][0]["explanation"]
    assert set(why) == {"score", "parts", "factors", "text"}
    assert {p["word"] for p in why["parts"]} == {"memory", "sleep"}
    assert all(isinstance(f["value"], float | int) and f["name"] for f in why["factors"])
    assert why["text"].startswith(f"{data['results'][0]['score']:.2f} = ")
    out = run("search", "memory", "sleep", "--explain", "--no-color", "--vault", str(vault))
    assert why["text"] in out.output


# --- 16. spelling: the common written form; far-fetched corrections find nothing -----------


def test_correction_names_the_common_written_form(tmp_path):
    notes = {"a.md": "# A\n\nThe Zuckerbergs and the Zuckerbergs again.\n"}
    notes |= {f"n{i}.md": f"# N{i}\n\nMark Zuckerberg spoke.\n" for i in range(6)}
    vault = built(tmp_path / "v", notes)
    with searchkit.open_index(vault=vault) as ix:
        res = ix.search("Zuckerburg")
    assert res.corrected == (("Zuckerburg", "zuckerberg"),) and len(res) == 7
    assert res.suggestion == "zuckerberg"


def test_a_far_fetched_correction_does_not_turn_no_match_into_results(tmp_path):
    vault = built(tmp_path / "v", {"x.md": "# X\n\nXenophon wrote the Anabasis.\n"})
    result = run("search", "xylophonic", "--vault", str(vault))
    assert result.exit_code == 1
    assert "also searched" not in result.output


def test_fuzzy_expansions_per_query_are_capped(tmp_path):
    from searchkit.retrieve.query import MAX_FUZZY_WORDS, compile_query

    vault = built(tmp_path / "v", MEMORY_NOTES)
    with searchkit.open_index(vault=vault) as ix:
        searcher, _ = ix._searcher()
        words = " ".join(f"memroy{i}~" for i in range(MAX_FUZZY_WORDS + 5))
        comp = compile_query(words, searcher.schema, reader=searcher.reader())
    fuzzy = [c for c in comp.concepts if c.label.endswith("~")]
    assert len(fuzzy) == MAX_FUZZY_WORDS and len(comp.concepts) == MAX_FUZZY_WORDS + 5


# --- 19. searchkit read PATH[:LINE] ----------------------------------------------------------

PODCAST = """\
---
videoId: Kx3mP9vLq2E
---
# Sleep

## Slow-wave sleep
The hippocampus replays the day <a class="yt-timestamp" data-t="00:01:40">[00:01:40]</a>.
Memory consolidation happens here <a class="yt-timestamp" data-t="01:02:03">[01:02:03]</a>.
The end.
"""


def test_read_prints_numbered_lines_with_short_timestamps(tmp_path):
    vault = built(tmp_path / "v", {"pod/sleep.md": PODCAST})
    result = run("read", "pod/sleep.md:7", "-n", "2", "--vault", str(vault))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "7  The hippocampus replays the day [1:40].",
        "8  Memory consolidation happens here [1:02:03].",
    ]
    assert "searchkit read pod/sleep.md:9" in result.stderr
    raw = run("read", "pod/sleep.md:7", "-n", "1", "--raw", "--vault", str(vault)).stdout
    assert 'data-t="00:01:40"' in raw
    # A path as search shows it, relative to the current folder, works too.
    assert run("read", "v/pod/sleep.md:9", "-n", "1").stdout == "9  The end.\n"
    data = json.loads(run("read", "pod/sleep.md", "--json", "--vault", str(vault)).stdout)
    assert (data["start"], data["end"], data["total_lines"], data["next_start"]) == (1, 9, 9, None)
    assert run("read", "nope.md", "--vault", str(vault)).exit_code == 2


# --- 20. output for scripts and editors ------------------------------------------------------


def test_files_jsonl_vimgrep_and_format(tmp_path):
    vault = built(tmp_path / "v", MEMORY_NOTES)
    v = ["--vault", str(vault)]
    files = run("search", "memory", "--files", *v)
    assert files.exit_code == 0
    assert files.stdout.splitlines() == ["v/sleep.md", "v/recall.md"]  # once each, best first
    rows = [json.loads(x) for x in run("search", "memory", "--jsonl", *v).stdout.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["abs_path"].endswith("sleep.md")
    grep = run("search", "memory", "--vimgrep", *v).stdout.splitlines()
    # The first match's line and byte column, for a quickfix list to jump to.
    assert grep[0].startswith("v/sleep.md:3:13:Sleep: ") and "memory" in grep[0].lower()
    fmt = run("search", "memory", "--format", r"{rank}\t{path}:{line}\t{links[file]}", *v)
    assert fmt.stdout.splitlines()[0] == "1\tsleep.md:1\tsleep.md:1"
    bad = run("search", "memory", "--format", "{nope}", *v)
    assert bad.exit_code == 2 and "keys:" in bad.output
    assert run("search", "memory", "--files", "--json", *v).exit_code == 2
    none = run("search", "zzzqqq", "--files", *v)
    assert none.exit_code == 1 and none.stdout == ""


# --- 17, 18. nested indexes are refused; an index can be forgotten ---------------------------


def test_indexing_a_folder_inside_an_indexed_vault_is_refused(tmp_path, monkeypatch):
    vault = built(tmp_path / "v", {"sub/a.md": "# A\n\nquokka\n", "b.md": "# B\n\nquokka\n"})
    monkeypatch.chdir(vault / "sub")
    result = run("index", ".")
    assert result.exit_code == 2 and str(vault.resolve()) in result.output
    assert "--nested" in result.output
    # Searches from the subfolder still see the whole vault.
    assert sorted(run("search", "quokka", "--files").stdout.splitlines()) == ["../b.md", "a.md"]
    assert run("index", ".", "--nested").exit_code == 0


def test_forget_deletes_the_index_not_the_notes(tmp_path):
    vault = built(tmp_path / "v", {"a.md": "# A\n\nquokka\n"})
    assert "v" in run("config").output
    result = run("forget", str(vault))
    assert result.exit_code == 0 and "Deleted the index of" in result.output
    assert (vault / "a.md").exists()
    assert str(vault.resolve()) not in run("config").output
    assert not list((tmp_path / "home" / "data" / "indexes").iterdir())
    assert run("search", "quokka", "--vault", str(vault)).exit_code == 2
    assert run("forget", str(vault)).exit_code == 2  # nothing left to forget


# --- 21. dates: --after/--before and --sort ------------------------------------------------


def test_after_before_and_sort_by_date(tmp_path):
    import os

    notes = {
        "old.md": "---\ndate: 2021-03-04\n---\n# Old\n\nquokka quokka quokka facts.\n",
        "new.md": "---\ncreated: 2024-06-01T10:00:00\n---\n# New\n\nquokka facts.\n",
        "plain.md": "# Plain\n\nquokka notes.\n",
    }
    vault = write_vault(tmp_path / "v", notes)
    os.utime(vault / "plain.md", (1_500_000_000, 1_500_000_000))  # 2017, no frontmatter date
    os.utime(vault / "old.md", (1_700_000_000, 1_700_000_000))  # modified 2023
    assert run("index", str(vault)).exit_code == 0
    v = ["--vault", str(vault), "--files"]
    assert run("search", "quokka", "--after", "2022", *v).stdout.split() == ["v/new.md"]
    assert run("search", "quokka", "--before", "2021-03-04", *v).stdout.split() == [
        "v/plain.md"]
    assert sorted(run("search", "quokka", "--after", "2021-03-03", "--before", "2024-06",
                      *v).stdout.split()) == ["v/old.md"]
    assert run("search", "quokka", "--sort", "created", *v).stdout.split() == [
        "v/new.md", "v/old.md", "v/plain.md"]
    modified = run("search", "quokka", "--sort", "modified", *v).stdout.split()
    assert modified[1:] == ["v/old.md", "v/plain.md"]
    assert run("search", "quokka after:2022", *v).stdout.split() == ["v/new.md"]
    bad = run("search", "quokka", "--after", "last tuesday", *v)
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_several_vaults_are_searched_as_one_on_one_scale(tmp_path):
    a = {"a1.md": "# A1\n\nquokka island trip.\n", "a2.md": "# A2\n\nquokka quokka photos.\n",
         "a3.md": "# A3\n\nferry timetable.\n"}
    b = {"b1.md": "# B1\n\nquokka diet of leaves.\n", "b2.md": "# B2\n\nisland ferry notes.\n"}
    va, vb = built(tmp_path / "alpha", a), built(tmp_path / "beta", b)
    both = built(tmp_path / "both", {**a, **b})  # the same notes in one vault
    with searchkit.open_index(vault=both) as ix:
        one = {p.path: p.score for p in ix.search("quokka island", per_note=0)}
    with searchkit.open_index(vault=va) as ia, searchkit.open_index(vault=vb) as ib:
        many = searchkit.api.search_many([ia, ib], "quokka island", per_note=0)
    assert {p.path: p.score for p in many} == pytest.approx(one)
    assert dict(zip([p.path for p in many], [v.name for v in many.vaults], strict=True)) == {
        "a1.md": "alpha", "a2.md": "alpha", "b1.md": "beta", "b2.md": "beta"}
    assert "vault=beta&" in next(p for p in many if p.path == "b1.md").links.obsidian
    files = run("search", "quokka", "--vault", str(va), "--vault", str(vb), "--files")
    assert sorted(files.stdout.split()) == ["alpha/a1.md", "alpha/a2.md", "beta/b1.md"]
    data = json.loads(run("search", "quokka", "--all-vaults", "--json").stdout)
    assert {(r["vault"], r["path"]) for r in data["results"]} == {
        (str(va.resolve()), "a1.md"), (str(va.resolve()), "a2.md"),
        (str(vb.resolve()), "b1.md"), (str(both.resolve()), "a1.md"),
        (str(both.resolve()), "a2.md"), (str(both.resolve()), "b1.md")}


# --- 10. skipped files: remembered, warned once per change, not stale ----------------------


def test_skipped_files_warn_once_per_change_and_are_not_stale(tmp_path):
    import os

    vault = write_vault(tmp_path / "v", {"a.md": "# A\n\nquokka\n"})
    (vault / "bin.md").write_bytes(b"\x00\x01binary\x00")
    os.mkfifo(vault / "pipe.md")
    first = run("index", str(vault))
    assert "bin.md" in first.output and "pipe.md" in first.output
    with searchkit.open_index(vault=vault) as ix:
        assert not ix.needs_update()
        st = ix.status()
    assert st.stale == 0 and {p for p, _ in st.skipped} == {"bin.md", "pipe.md"}
    out = run("status", "--vault", str(vault)).output
    assert "stale        0 new, 0 changed, 0 removed" in out and "  bin.md: skipped" in out
    again = run("search", "quokka", "--vault", str(vault))
    assert again.exit_code == 0 and "warning" not in again.output
    (vault / "bin.md").write_bytes(b"\x00\x01binary, longer now\x00")
    changed = run("search", "quokka", "--vault", str(vault))
    assert "bin.md" in changed.output and "pipe.md" not in changed.output
    assert "warning" not in run("search", "quokka", "--vault", str(vault)).output
    assert "Updated" in run("index", str(vault)).output  # an explicit run, no warning left


def test_watch_ctrl_c_prints_only_our_line(tmp_path, monkeypatch, caplog):
    import logging

    from searchkit import api

    vault = built(tmp_path / "v", {"a.md": "# A\n\nquokka\n"})

    def interrupted(*args, **kw):
        # What watchfiles does when Ctrl-C lands inside its loop.
        logging.getLogger("watchfiles.main").warning("KeyboardInterrupt caught, stopping watch")
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "watch_vault", interrupted)
    try:
        result = run("watch", str(vault))
    finally:
        logging.getLogger("watchfiles").setLevel(logging.NOTSET)
    assert result.output.rstrip().endswith("Stopped watching.")
    # Nothing reaches a handler (pytest's capture stands in for the terminal's stderr).
    assert "KeyboardInterrupt caught" not in result.output + caplog.text


def test_a_broken_pipe_elsewhere_is_not_taken_for_a_closed_stdout(tmp_path, monkeypatch):
    from searchkit import api

    vault = built(tmp_path / "v", MEMORY_NOTES)

    def worker_died(self, *a, **kw):
        raise BrokenPipeError(32, "Broken pipe")  # a worker process's pipe, not stdout

    monkeypatch.setattr(api.SearchIndex, "search", worker_died)
    result = CliRunner().invoke(main, ["search", "memory", "--vault", str(vault)])
    assert result.exit_code != 141
