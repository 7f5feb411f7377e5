"""Issue 17 ("daily use, second pass") and issue 15 item 11: what a new user trips on.
Each test drives the CLI (CliRunner) or the API on a vault written in tmp_path."""

from __future__ import annotations

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
    result = run("index", str(vault))
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
