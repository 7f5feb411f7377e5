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
