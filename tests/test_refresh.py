"""The refresh check (issue 16): after an update, `needs_update()` stats the recorded
folders and notes instead of listing the vault, and still sees every kind of change."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from vaults import write_vault

import searchkit
from searchkit.store import opening

NOTES = {
    "a.md": "# A\nalpha words\n",
    "sub/b.md": "# B\nbeta words\n",
    "sub/deep/c.md": "# C\ngamma words\n",
    "empty/keep.txt": "not a note\n",
    "bad.md": "# Bad\n\0\0 binary\n",
}


def _age(root: Path, seconds: float = 300) -> None:
    """Set every mtime under `root` into the past: a folder changed right before a scan
    is "racy" and always listed, which would hide the shortcut under test."""
    old = time.time() - seconds
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.utime(os.path.join(dirpath, name), (old, old))
    os.utime(root, (old, old))


@pytest.fixture
def ix(tmp_path: Path, monkeypatch):
    vault = write_vault(tmp_path / "vault", NOTES)
    (vault / ".searchkitignore").write_text("ignored/\n", encoding="utf-8")
    _age(vault)
    index = searchkit.open_index(tmp_path / "ix", vault)
    index.update(jobs=1)
    yield index, vault
    index.close()


def _no_listing(monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("the vault was listed")

    monkeypatch.setattr(opening, "scan_vault", refuse)


def test_unchanged_vault_is_decided_without_listing(ix, monkeypatch):
    index, _vault = ix
    _no_listing(monkeypatch)
    assert index.needs_update() is False


@pytest.mark.parametrize(
    "change",
    [
        "edit_same_size", "edit_longer", "add_in_subfolder", "add_in_empty_folder",
        "remove", "rename", "edit_ignore_file", "fix_unreadable_note", "add_folder",
    ],
)
def test_every_change_is_seen_without_listing(ix, monkeypatch, change):
    index, vault = ix
    if change == "edit_same_size":
        (vault / "sub/deep/c.md").write_text("# C\ngamma wordz\n", encoding="utf-8")
        os.utime(vault / "sub/deep/c.md", ns=(1, time.time_ns()))
    elif change == "edit_longer":
        (vault / "sub/b.md").write_text("# B\nbeta words and more\n", encoding="utf-8")
    elif change == "add_in_subfolder":
        (vault / "sub/deep/new.md").write_text("# New\n", encoding="utf-8")
    elif change == "add_in_empty_folder":
        (vault / "empty/new.md").write_text("# New\n", encoding="utf-8")
    elif change == "remove":
        (vault / "sub/b.md").unlink()
    elif change == "rename":
        (vault / "sub/deep/c.md").rename(vault / "sub/deep/d.md")
    elif change == "edit_ignore_file":
        with open(vault / ".searchkitignore", "r+", encoding="utf-8") as f:
            f.write("sub/\n")
    elif change == "fix_unreadable_note":
        (vault / "bad.md").write_text("# Bad\nnow readable\n", encoding="utf-8")
    elif change == "add_folder":
        (vault / "sub/newdir").mkdir()
        (vault / "sub/newdir/n.md").write_text("# N\n", encoding="utf-8")
    _no_listing(monkeypatch)
    assert index.needs_update() is True


def test_a_false_alarm_is_recorded_once(ix, monkeypatch):
    """A folder whose mtime moved without a note changing (an editor's temp file) is
    listed once by the next update; after it the shortcut holds again."""
    index, vault = ix
    (vault / "sub/.swap").write_text("x", encoding="utf-8")
    assert index.needs_update() is True
    report = index.update(jobs=1)
    assert (report.added, report.changed, report.removed) == (0, 0, 0)
    _age(vault)  # the folder is no longer "racy" for the next check
    index.update(jobs=1)
    _no_listing(monkeypatch)
    assert index.needs_update() is False


def test_recent_folders_are_listed(tmp_path: Path):
    """Folders modified just before the scan may change again in the same clock tick
    unseen: for them the check does not decide by stat (it lists the vault, as before)."""
    vault = write_vault(tmp_path / "vault", {k: v for k, v in NOTES.items() if k != "bad.md"})
    with searchkit.open_index(tmp_path / "ix", vault) as index:
        index.update(jobs=1)
        meta = opening.read_meta(tmp_path / "ix")
        manifest = opening.read_manifest(tmp_path / "ix", meta.index_name)
        assert manifest.stats and opening._changed_by_stat(vault.resolve(), manifest) is None
        assert index.needs_update() is False


def test_search_path_imports_no_chunker_nor_writer(tmp_path: Path):
    """Cold start: a process that checks for changes and searches loads neither the
    chunker (markdown-it) nor Whoosh's writers nor multiprocessing."""
    import json
    import subprocess
    import sys

    vault = write_vault(tmp_path / "vault", {"a.md": "# A\nalpha words\n"})
    with searchkit.open_index(tmp_path / "ix", vault) as index:
        index.update(jobs=1)
    code = (
        "import json, sys, searchkit\n"
        f"ix = searchkit.open_index({str(tmp_path / 'ix')!r}, {str(vault)!r})\n"
        "assert not ix.needs_update()\n"
        "assert ix.search('alpha')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    heavy = {
        "searchkit.ingest.chunker", "markdown_it", "frontmatter", "yaml",
        "searchkit.store.workers", "whoosh.writing", "whoosh.multiproc", "multiprocessing",
        "urllib.request",
    }
    assert not heavy & loaded, sorted(heavy & loaded)


def test_no_change_index_run_reads_no_checksums(ix, monkeypatch):
    """`searchkit index` with nothing to do does not read the whole index (1.45 GB at 90k
    notes); `--verify` does."""
    from click.testing import CliRunner

    from searchkit.store import indexdir
    from searchkit.surfaces.cli import main

    index, _vault = ix
    read: list[str] = []
    real = indexdir.file_digest
    monkeypatch.setattr(indexdir, "file_digest", lambda p: read.append(p) or real(p))
    result = CliRunner().invoke(main, ["index", "--index", str(index.index_dir)])
    assert result.exit_code == 0 and read == []
    result = CliRunner().invoke(main, ["index", "--verify", "--index", str(index.index_dir)])
    assert result.exit_code == 0 and read


def test_update_after_edits_in_place_lists_nothing(ix, monkeypatch):
    """An update whose only changes are notes edited in place (folders unchanged) stats the
    recorded notes instead of listing the vault, and still applies every edit."""
    index, vault = ix
    (vault / "sub/b.md").write_text("# B\nbeta words rewritten\n", encoding="utf-8")
    (vault / "bad.md").write_text("# Bad\nnow readable\n", encoding="utf-8")
    _no_listing(monkeypatch)
    from searchkit.store import records

    monkeypatch.setattr(records, "scan_vault", opening.scan_vault)  # the refusing one
    report = index.update(jobs=1)
    assert (report.added, report.changed, report.removed) == (1, 1, 0)
    assert [p.path for p in index.search("rewritten")] == ["sub/b.md"]
    assert [p.path for p in index.search("readable")] == ["bad.md"]


def test_update_after_a_new_note_lists_the_vault(ix, monkeypatch):
    index, vault = ix
    (vault / "sub/new.md").write_text("# New\nfresh words\n", encoding="utf-8")
    report = index.update(jobs=1)
    assert report.added == 1 and [p.path for p in index.search("fresh")] == ["sub/new.md"]


def test_one_note_update_appends_to_the_manifest_log(ix, monkeypatch):
    """A one-note update writes that note's record, not every note's (the whole manifest
    was rewritten and fsynced: 3 MB at 30k notes); reading gives the same records."""
    from searchkit.store import indexdir

    monkeypatch.setattr(indexdir, "LOG_MAX_SHARE", 100.0)  # this manifest is tiny

    index, vault = ix
    meta = indexdir.read_meta(index.index_dir)
    base = indexdir.manifest_path(index.index_dir, meta.index_name)
    before = base.read_bytes()
    for i in range(3):
        (vault / "sub/b.md").write_text(f"# B\nbeta words {i}\n", encoding="utf-8")
        index.update(jobs=1)
    assert base.read_bytes() == before
    log = indexdir.manifest_log_path(index.index_dir, meta.index_name)
    assert len(log.read_text().splitlines()) == 3 and '"a.md"' not in log.read_text()
    manifest = indexdir.read_manifest(index.index_dir, meta.index_name)
    assert manifest.generation == opening.latest_generation(index.index_dir, meta.index_name)
    assert manifest.notes["sub/b.md"].size == len("# B\nbeta words 2\n")
    assert set(manifest.notes) == {"a.md", "sub/b.md", "sub/deep/c.md"}
    assert index.needs_update() is False
    # A line cut short by a crash ends the log: the update before it still counts.
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"base": "x", "gener')
    assert indexdir.read_manifest(index.index_dir, meta.index_name).generation == (
        manifest.generation
    )


def test_manifest_log_is_folded_when_long(ix, monkeypatch):
    from searchkit.store import indexdir

    monkeypatch.setattr(indexdir, "LOG_MAX_LINES", 2)
    monkeypatch.setattr(indexdir, "LOG_MAX_SHARE", 100.0)
    index, vault = ix
    meta = indexdir.read_meta(index.index_dir)
    log = indexdir.manifest_log_path(index.index_dir, meta.index_name)
    for i in range(3):
        (vault / "sub/b.md").write_text(f"# B\nbeta words {i}\n", encoding="utf-8")
        index.update(jobs=1)
    assert not log.exists()  # folded into the .json on the third update
    (vault / "a.md").write_text("# A\nalpha changed\n", encoding="utf-8")
    index.update(jobs=1)
    assert len(log.read_text().splitlines()) == 1
    manifest = indexdir.read_manifest(index.index_dir, meta.index_name)
    assert manifest.notes["sub/b.md"].size == len("# B\nbeta words 2\n")
    assert [p.path for p in index.search("changed")] == ["a.md"]


def test_skipped_files_are_remembered_across_appended_manifest_updates(tmp_path: Path):
    # An update appends only what changed to the manifest's log: what was skipped (and
    # why) must ride along, or the next update warns again and counts the file as new.
    import searchkit

    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "a.md").write_text("# A\n\nalpha\n")
    (vault / "b.md").write_text("# B\n\nbeta\n")
    (vault / "bad.md").write_bytes(b"\x00\x01binary")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        assert [w.path for w in ix.update().warnings] == ["bad.md"]
        (vault / "a.md").write_text("# X\n\nalpha two\n")
        (vault / "bad2.md").write_bytes(b"\x00\x02binary")  # skipped by an appended update
        assert [w.path for w in ix.update().warnings] == ["bad2.md"]
        (vault / "b.md").write_text("# X\n\nbeta two\n")
        report = ix.update()
        assert report.changed == 1 and not report.warnings, report
        assert ix.status().stale == 0
        assert not ix.needs_update()
