"""`SearchIndex.read_note` / `line_ends`: the vault-confined reading shared by MCP and HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import searchkit
from searchkit.errors import NoteError
from searchkit.retrieve.reading import MAX_CHARS

NOTE = """\
---
title: Sleep and memory
---

Intro line.

## Slow-wave sleep
During deep sleep the hippocampus replays the day.
Memory consolidation happens here.

## REM sleep
Dreams and emotional memory.
"""


@pytest.fixture()
def ix(tmp_path: Path):
    vault = tmp_path / "vault"
    (vault / "sub").mkdir(parents=True)
    (vault / "sleep.md").write_text(NOTE, encoding="utf-8")
    (vault / "sub" / "long.md").write_text("# Long\n\n" + "word " * 10_000 + "\n", encoding="utf-8")
    (vault / ".obsidian").mkdir()
    (vault / ".obsidian" / "hidden.md").write_text("# hidden memory\n", encoding="utf-8")
    (vault / "plain.txt").write_text("not a note\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret memory\n\nkeys\n", encoding="utf-8")
    os.symlink(outside / "secret.md", vault / "linked.md")
    with searchkit.open_index(tmp_path / "index", vault) as index:
        index.update()
        yield index


def test_read_window_numbers_match_search_lines(ix) -> None:
    hit = next(p for p in ix.search("hippocampus") if p.path == "sleep.md")
    window = ix.read_note(hit.path, hit.line, 3)
    assert window.lines[0] == "## Slow-wave sleep"
    assert (window.start, window.end, window.total) == (hit.line, hit.line + 2, 12)
    assert window.numbered().splitlines()[0] == f"{hit.line}  ## Slow-wave sleep"
    assert window.next_start == hit.line + 3


def test_line_ends_give_the_passage_range(ix) -> None:
    hit = next(p for p in ix.search("hippocampus") if p.path == "sleep.md")
    end = ix.line_ends([hit.id])[hit.id]
    lines = ix.read_note(hit.path, hit.line, end - hit.line + 1).lines
    assert "Memory consolidation happens here." in lines
    assert "## REM sleep" not in lines


def test_window_is_clamped_to_the_note(ix) -> None:
    tail = ix.read_note("sleep.md", 500, 80)
    assert (tail.start, tail.end, tail.lines) == (12, 12, ("Dreams and emotional memory.",))
    assert tail.next_start is None
    assert ix.read_note("./sleep.md").path == "sleep.md"


def test_a_huge_line_is_cut_at_the_character_budget(ix) -> None:
    window = ix.read_note("sub/long.md", 1, 80)
    assert window.lines[:2] == ("# Long", "")
    assert window.end == 2  # the 50 kB line would overflow the budget: next window
    cut = ix.read_note("sub/long.md", 3, 80)
    assert cut.truncated and len(cut.lines[0]) == MAX_CHARS + 1


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../outside/secret.md", "leaves the vault"),
        ("sub/../../outside/secret.md", "leaves the vault"),
        ("/etc/passwd", "not a vault-relative"),
        ("linked.md", "symlink"),
        (".obsidian/hidden.md", "not a note"),
        ("plain.txt", "not a note"),
        ("missing.md", "not an indexed note"),
        ("", "not a vault-relative"),
    ],
)
def test_paths_outside_the_indexed_vault_are_refused(ix, path: str, why: str) -> None:
    with pytest.raises(NoteError, match=why):
        ix.read_note(path)


def test_symlink_out_of_the_vault_is_neither_indexed_nor_readable(ix) -> None:
    # Links that leave the vault are not followed unless asked (--follow-symlinks).
    assert not any(p.path == "linked.md" for p in ix.search("secret"))
    with pytest.raises(NoteError, match="symlink"):
        ix.read_note("linked.md")
