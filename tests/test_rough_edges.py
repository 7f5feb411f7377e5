"""Rough edges from the new-user run (issue 25, section 3), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from vaults import write_vault

from searchkit.surfaces.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for name in ("SEARCHKIT_INDEX", "SEARCHKIT_VAULT", "COLUMNS", "SEARCHKIT_MAX_NOTE_MB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_read_resolves_a_unique_bare_file_name(run, tmp_path):
    write_vault(tmp_path / "v", {
        "Help/Embed files.md": "# Embed files\n\nline two\nline three\n",
        "a/Twice.md": "# A\n\ntext\n", "b/Twice.md": "# B\n\ntext\n",
    })
    assert run("index", "v", "--no-semantic").exit_code == 0
    result = run("read", "--vault", "v", "Embed files.md:3", "-n", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "3  line two\n"
    # As Obsidian links write it: no extension, any case.
    result = run("read", "--vault", "v", "embed files:1", "--json")
    assert json.loads(result.stdout)["path"] == "Help/Embed files.md"
    result = run("read", "--vault", "v", "Twice.md")
    assert result.exit_code == 2
    assert "ambiguous: 2 notes have this name: a/Twice.md, b/Twice.md" in result.output
    assert run("read", "--vault", "v", "Nothing.md").exit_code == 2


def test_after_a_year_or_month_keeps_that_year_or_month(run, tmp_path):
    write_vault(tmp_path / "v", {
        "y23.md": "---\ndate: 2023-12-31\n---\n# A\n\nquokka\n",
        "jan.md": "---\ndate: 2024-01-01\n---\n# B\n\nquokka\n",
        "may.md": "---\ndate: 2024-05-31\n---\n# C\n\nquokka\n",
        "jun.md": "---\ndate: 2024-06-01\n---\n# D\n\nquokka\n",
    })
    assert run("index", "v", "--no-semantic").exit_code == 0

    def found(*args: str) -> list[str]:
        return sorted(run("search", "quokka", "--vault", "v", "--files", *args).stdout.split())

    assert found("--after", "2024") == ["v/jan.md", "v/jun.md", "v/may.md"]
    assert found("--after", "2024-05") == ["v/jun.md", "v/may.md"]
    assert found("--after", "2024-05-31") == ["v/jun.md"]  # a day: from the next day on
    assert run("search", "quokka after:2024-06", "--vault", "v", "--files").stdout.split() == [
        "v/jun.md"]
    assert found("--before", "2024") == ["v/y23.md"]
    assert "that month or year on" in " ".join(run("search", "--help").output.split())


def test_note_size_cap_is_a_setting_named_in_the_warning(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHKIT_MAX_NOTE_MB", "10")  # restored after the test
    big = "# Big\n\n" + "zebra words in a long transcript line.\n" * 40_000  # ~1.6 MB
    write_vault(tmp_path / "v", {"big.md": big, "small.md": "# Small\n\nzebra\n"})
    result = run("index", "v", "--no-semantic", "--max-note-mb", "1")
    assert result.exit_code == 0, result.output
    assert "over the 1 MB note size cap" in result.output
    assert "--max-note-mb" in result.output and "SEARCHKIT_MAX_NOTE_MB" in result.output
    assert run("search", "zebra", "--vault", "v", "--files").stdout.split() == ["v/small.md"]
    # A higher cap reads the skipped note on the next update, unchanged as it is.
    result = run("index", "v", "--no-semantic", "--max-note-mb", "2")
    assert result.exit_code == 0 and "size cap" not in result.output
    assert sorted(run("search", "zebra", "--vault", "v", "--files").stdout.split()) == [
        "v/big.md", "v/small.md"]
    assert run("index", "v", "--max-note-mb", "0").exit_code == 2


def test_a_callout_that_is_only_its_title_shows_it_once(run, tmp_path):
    write_vault(tmp_path / "v", {"s.md": (
        "# Sync\n\nIntro.\n\n> [!Example] You use Obsidian Sync to keep notes in step.\n\n"
        "> [!tip] Keep going\n> Sync often with Obsidian.\n")})
    assert run("index", "v", "--no-semantic").exit_code == 0
    out = run("search", "obsidian sync", "--vault", "v", "--no-color").stdout
    assert out.count("You use Obsidian Sync") == 1
    assert "Sync › [!example]\n" in out
    assert "[!tip] Keep going" in out  # a title that is not the text stays in the heading


def test_utf16_and_latin1_notes_are_read_as_text(run, tmp_path):
    """UTF-16 with a BOM (Windows Notepad's "Unicode") is read by its BOM, not skipped as
    binary; bytes that are not UTF-8 are Windows-1252 (one warning naming the file), so
    `Café` shows as itself and `pâté` finds the note instead of being "corrected"."""
    v = tmp_path / "v"
    v.mkdir()
    (v / "le.md").write_bytes("\ufeff# Ünïcode le\n\nquokka in UTF-16 LE\n".encode("utf-16-le"))
    (v / "be.md").write_bytes("\ufeff# Big end\n\nwombat in UTF-16 BE\n".encode("utf-16-be"))
    (v / "latin.md").write_bytes(
        "# Café notes\n\nA pâté recipe, “quoted” for 5 €.\n".encode("cp1252"))
    (v / "mixed.md").write_bytes(  # UTF-8 with one damaged byte stays UTF-8
        "# Naïve\n\nnaïve text\n".encode() + b"broken \xff byte\n")
    (v / "bin.md").write_bytes(b"\x00\x01binary")
    result = run("index", "v", "--no-semantic")
    assert result.exit_code == 0, result.output
    assert "Built 4 notes" in result.stdout, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len([w for w in warnings if "latin.md" in w]) == 1
    assert "latin.md: not UTF-8 (byte 5): read as Windows-1252 (Latin-1)" in result.stderr
    assert "mixed.md: invalid UTF-8 at byte" in result.stderr
    assert "bin.md: skipped: binary content" in result.stderr
    assert not [w for w in warnings if "le.md" in w or "be.md" in w]

    def hits(query: str) -> list[dict]:
        out = run("search", query, "--vault", "v", "--json")
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)["results"]

    found = hits("pâté")
    assert [(r["path"], r["title"]) for r in found] == [("latin.md", "Café notes")]
    assert "“quoted” for 5 €" in found[0]["snippet"]
    assert [r["path"] for r in hits("quokka")] == ["le.md"]
    assert hits("quokka")[0]["title"] == "Ünïcode le"
    assert [r["path"] for r in hits("wombat")] == ["be.md"]
    assert [r["path"] for r in hits("naïve")] == ["mixed.md"]
    read = run("read", "--vault", "v", "latin.md:3", "-n", "1")
    assert read.stdout == "3  A pâté recipe, “quoted” for 5 €.\n"
    assert run("read", "--vault", "v", "le.md:3", "-n", "1").stdout == "3  quokka in UTF-16 LE\n"


def test_a_note_skipped_as_binary_by_an_older_version_is_read_again():
    """An index built before UTF-16 was read by its BOM remembers the note as skipped with
    the old reason: it is read again (once), not left out until it changes."""
    from searchkit.ingest.notes import BINARY_SKIP, FileInfo
    from searchkit.store.records import unchanged_skips

    scan = {p: FileInfo(p, 5, 10) for p in ("old.md", "now.md")}
    skipped = {"old.md": (5, 10, "skipped: binary content in a markdown file"),
               "now.md": (5, 10, BINARY_SKIP)}
    assert unchanged_skips(scan, {}, skipped) == {"now.md"}


def test_a_misspelt_hyphenated_name_is_corrected_to_the_whole_name(run, tmp_path):
    """`Invok-Comand` finds Invoke-Command first: its parts are corrected together, as the
    name the notes write whole, not one part alone ("command" is also in Invoke-Expression's
    text). Of corrections as close, the one the notes write as the name wins over the most
    written word ("Commant": "comment" is written more, "Invoke-Comment" never)."""
    write_vault(tmp_path / "v", {
        "cmd.md": "# Invoke-Command\n\nInvoke-Command runs commands on remote computers.\n",
        "expr.md": "# Invoke-Expression\n\nInvoke-Expression evaluates a string as a "
                   "command. A command, a command: avoid it.\n",
        "item.md": "# Invoke-Item\n\nInvoke-Item opens an item with its default action.\n",
        "review.md": "# Review\n\nA comment on a comment, another comment, comment again.\n",
    })
    assert run("index", "v", "--no-semantic").exit_code == 0

    def search(query: str) -> dict:
        out = run("search", query, "--vault", "v", "--json")
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    for typed, name, path in [("Invok-Comand", "Invoke-Command", "cmd.md"),
                              ("Invok-Commant", "Invoke-Command", "cmd.md"),
                              ("invoke-expresion", "Invoke-Expression", "expr.md"),
                              ("Invoke-Iten", "Invoke-Item", "item.md")]:
        found = search(typed)
        assert found["results"][0]["path"] == path, (typed, found["results"])
        assert found["corrected"] == [[typed, name]], typed
        assert found["suggestion"] == name, typed
    text = run("search", "Invok-Comand", "--vault", "v", "--no-color")
    assert "also searched for 'Invoke-Command'" in text.output
    assert search("Invoke-Command")["corrected"] == []  # a name as written: nothing to fix


class _Vectors:
    """A tiny embedder: no model runs."""

    name, version, dimension = "tiny", "1", 4

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, float(len(t) % 7), 0.0, 1.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0, 1.0]


def test_watch_says_when_a_change_is_searchable_by_meaning(run, tmp_path, monkeypatch):
    """After "Updated …", `watch` prints one line when the background embedder has given
    the new passages vectors, e.g. `12:00:01 Embedded 2 passages: searchable by meaning`."""
    import re
    import time

    from searchkit import api

    vault = write_vault(tmp_path / "v", {"a.md": "# A\n\nquokka\n"})
    opened = api.open_index
    with opened(tmp_path / "index", vault, embedder=_Vectors()) as ix:
        ix.update()
        ix.embed()  # nothing left to embed when watch starts: no line for that
    monkeypatch.setattr(api, "open_index", lambda *a, **kw: opened(
        *a, **{**kw, "embedder": _Vectors()}))

    def watch_vault(index_dir, vault_dir, on_report, **kw):
        (vault_dir / "b.md").write_text("# B\n\n## One\nwombat\n\n## Two\nnumbat\n")
        with opened(index_dir, vault_dir) as writer:
            on_report(writer.update())
        with opened(index_dir, vault_dir, embedder=_Vectors()) as reader:
            deadline = time.monotonic() + 20
            while reader.semantic_status().embedded < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        raise KeyboardInterrupt  # Ctrl-C: the embedder finishes its line before it stops

    monkeypatch.setattr(api, "watch_vault", watch_vault)
    result = run("watch", str(vault), "--index", str(tmp_path / "index"))
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.output
    assert re.fullmatch(r"\d\d:\d\d:\d\d Updated .*\(1 added.*", lines[0]), lines
    assert re.fullmatch(r"\d\d:\d\d:\d\d Embedded 2 passages: searchable by meaning",
                        lines[1]), lines


def test_the_commit_after_the_last_note_shows_time_and_segments(run, tmp_path, capsys):
    """"Merging and committing…" ran minutes with nothing moving: the build reports the
    segments it writes at commit, and on a terminal the line shows the time and the
    segments, redrawn at most once a second; not on a pipe."""
    import time

    import searchkit
    from searchkit.surfaces.progress import ProgressBar

    notes = {f"n{i}.md": f"# Note {i}\n\nword{i} and quokka {i}\n" for i in range(70)}
    vault = write_vault(tmp_path / "v", notes)
    events = []
    with searchkit.open_index(tmp_path / "index", vault) as ix:
        ix.update(progress=events.append, jobs=2)
    committing = [e for e in events if e.phase == "committing"]
    assert committing and committing[0].notes_done == 70
    last = committing[-1]
    if last.segments_total:  # parallel writers: one segment each
        assert last.segments_done == last.segments_total >= 1

    bar = ProgressBar(enabled=True)
    for e in events:
        bar(e)
    time.sleep(1.3)  # one redraw with the time
    bar.close()
    err = capsys.readouterr().err
    line = err[err.index("Merging and committing"):]
    assert line.count("\r") <= 2, line  # a redraw a second, and the last one
    written = f", {last.segments_done} of {last.segments_total} segments written"
    assert line.rstrip("\n").endswith(" 0:01" + (written if last.segments_total else ""))
    assert line.endswith("\n")

    # Not a terminal (a pipe, CI, --json): no bar and no commit line.
    result = run("index", str(vault), "--rebuild")
    assert result.exit_code == 0 and "Merging" not in result.output
