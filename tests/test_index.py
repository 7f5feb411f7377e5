"""The index: build, incremental update, crash safety, locking, versions, status, watch.

Every test works in tmp_path and checks the index by reading its stored fields back.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import whoosh.index
from vaults import write_vault

from searchkit.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    VaultError,
)
from searchkit.store.index import (
    Progress,
    needs_refresh,
    open_for_search,
    update_index,
)
from searchkit.store.indexdir import META_FILE, manifest_log_path, manifest_path, read_meta
from searchkit.store.status import index_status

NOTES = {
    "alpha.md": "---\ntitle: Alpha\ntags: [one]\n---\n# Alpha\n\nAlpha intro text.\n\n"
    "## Details\n\nMore about alpha and running.\n",
    "beta.md": "# Beta\n\nBeta body with a [[alpha]] link.\n\n> [!note] Remember\n> a callout\n",
    "sub/gamma.md": "Gamma has no heading.\n\n## Part\n\nGamma part text.\n",
}


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "vault", NOTES)


@pytest.fixture
def idx(tmp_path: Path) -> Path:
    return tmp_path / "index"


def contents(index_dir: Path) -> set[tuple[str, str, str]]:
    """The committed index as a set of (id, source, body) read from stored fields."""
    ix, _meta = open_for_search(index_dir)
    with ix.searcher() as s:
        return {(d["id"], d["source"], d["body"]) for d in s.all_stored_fields()}


def clean_build(vault: Path, where: Path) -> set[tuple[str, str, str]]:
    update_index(where, vault, jobs=1)
    return contents(where)


def generation(index_dir: Path) -> int:
    meta = read_meta(index_dir)
    assert meta is not None and meta.index_name
    return whoosh.index.open_dir(str(index_dir), indexname=meta.index_name).latest_generation()


def bump_mtime(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


# ---------------------------------------------------------------------------------------
# Build and incremental update


def test_first_build_creates_nested_dir_and_indexes_every_note(vault: Path, tmp_path: Path):
    index_dir = tmp_path / "a" / "b" / "index"
    report = update_index(index_dir, vault)
    assert (report.added, report.changed, report.removed, report.unchanged) == (3, 0, 0, 0)
    assert report.rebuilt is False and report.reason == "new index"
    got = contents(index_dir)
    assert {src for _id, src, _b in got} == set(NOTES)
    assert report.chunks == len(got) and report.notes == 3
    assert any("running" in body for _i, _s, body in got)
    meta = read_meta(index_dir)
    assert meta is not None and meta.vault == str(vault.resolve())


def test_no_change_update_commits_nothing(vault: Path, idx: Path):
    update_index(idx, vault)
    gen = generation(idx)
    assert needs_refresh(idx) is False
    report = update_index(idx)  # the index remembers its vault
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 3)
    assert generation(idx) == gen


def test_edit_add_delete_converge_to_a_clean_build(vault: Path, idx: Path, tmp_path: Path):
    update_index(idx, vault)
    (vault / "beta.md").write_text("# Beta\n\nRewritten entirely.\n\n## New\n\nSection.\n")
    (vault / "sub" / "delta.md").write_text("# Delta\n\nA new note.\n")
    (vault / "alpha.md").unlink()
    assert needs_refresh(idx) is True
    report = update_index(idx)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 1)
    got = contents(idx)
    assert not any(src == "alpha.md" for _i, src, _b in got)
    assert got == clean_build(vault, tmp_path / "clean")
    assert report.chunks == len(got)


def test_touch_reindexes_nothing_and_records_the_new_mtime(vault: Path, idx: Path):
    update_index(idx, vault)
    gen = generation(idx)
    bump_mtime(vault / "beta.md")
    assert needs_refresh(idx) is True  # stat-only: it cannot know yet
    report = update_index(idx)
    assert (report.changed, report.unchanged) == (0, 3)
    assert generation(idx) == gen
    assert needs_refresh(idx) is False  # the new mtime was recorded: no re-hash next time


def test_rename_leaves_no_stale_chunk(vault: Path, idx: Path, tmp_path: Path):
    update_index(idx, vault)
    (vault / "sub" / "gamma.md").rename(vault / "renamed.md")
    report = update_index(idx)
    assert (report.added, report.removed) == (1, 1)
    got = contents(idx)
    assert {src for _i, src, _b in got} == {"alpha.md", "beta.md", "renamed.md"}
    assert got == clean_build(vault, tmp_path / "clean")


def test_ignore_file_hidden_folders_and_symlink_loops(vault: Path, idx: Path):
    write_vault(vault, {"drafts/wip.md": "# WIP\n\ndraft\n", ".obsidian/x.md": "# X\n\nx\n"})
    (vault / ".searchkitignore").write_text("drafts/\n")
    os.symlink("..", vault / "sub" / "loop")
    update_index(idx, vault)
    sources = {src for _i, src, _b in contents(idx)}
    assert sources == set(NOTES)


def test_bad_files_are_reported_and_the_rest_indexed(vault: Path, idx: Path):
    (vault / "binary.md").write_bytes(b"\x00\x01\x02 not text")
    (vault / "badyaml.md").write_text("---\ntitle: [unclosed\n---\n# Body\n\nstill indexed\n")
    (vault / "latin1.md").write_bytes("# Caf\xe9\n\nna\xefve text\n".encode("latin-1"))
    report = update_index(idx, vault)
    by_path = {w.path: w.message for w in report.warnings}
    assert set(by_path) == {"binary.md", "badyaml.md", "latin1.md"}
    assert "binary" in by_path["binary.md"]
    sources = {src for _i, src, _b in contents(idx)}
    assert sources == {*NOTES, "badyaml.md", "latin1.md"}
    assert report.to_dict()["warnings"][0].keys() == {"path", "message"}


def test_note_that_becomes_unreadable_keeps_its_old_chunks(vault: Path, idx: Path):
    update_index(idx, vault)
    before = {c for c in contents(idx) if c[1] == "beta.md"}
    gen = generation(idx)
    (vault / "beta.md").write_bytes(b"\x00binary now")  # NoteError, also for root
    report = update_index(idx)
    assert [w.path for w in report.warnings] == ["beta.md"]
    assert generation(idx) == gen  # nothing to commit
    assert {c for c in contents(idx) if c[1] == "beta.md"} == before
    (vault / "beta.md").unlink()
    report = update_index(idx)
    assert report.removed == 1
    assert not any(c[1] == "beta.md" for c in contents(idx))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_note_is_warned_and_kept(vault: Path, idx: Path):
    update_index(idx, vault)
    before = contents(idx)
    path = vault / "alpha.md"
    path.write_text(NOTES["alpha.md"] + "\nmore\n")
    path.chmod(0)
    try:
        report = update_index(idx)
    finally:
        path.chmod(0o644)
    assert [w.path for w in report.warnings] == ["alpha.md"]
    assert contents(idx) == before


def test_progress_reports_notes_and_chunks(vault: Path, idx: Path):
    seen: list[Progress] = []
    report = update_index(idx, vault, progress=seen.append)
    assert seen and seen[-1] == Progress(3, 3, report.chunks)
    assert all(a.notes_done <= b.notes_done for a, b in itertools.pairwise(seen))


def test_report_to_dict_keys(vault: Path, idx: Path):
    d = update_index(idx, vault).to_dict()
    assert set(d) == {
        "added", "changed", "removed", "unchanged", "notes", "chunks", "seconds", "warnings",
        "rebuilt", "reason",
    }  # fmt: skip
    json.dumps(d)


def test_parallel_build_equals_serial_build(tmp_path: Path):
    vault = write_vault(tmp_path / "v", generated_notes(150))
    a = update_index(tmp_path / "i1", vault, jobs=2)
    b = update_index(tmp_path / "i2", vault, jobs=1)
    assert a.chunks == b.chunks > 150
    assert contents(tmp_path / "i1") == contents(tmp_path / "i2")


# ---------------------------------------------------------------------------------------
# Versions, vaults, bad directories


def test_schema_version_mismatch_rebuilds_with_reason(vault: Path, idx: Path, tmp_path: Path):
    update_index(idx, vault)
    meta_file = idx / META_FILE
    data = json.loads(meta_file.read_text())
    old_name = data["index_name"]
    data["schema_version"] = 1
    meta_file.write_text(json.dumps(data))
    with pytest.raises(IndexVersionError, match="rebuilt"):
        open_for_search(idx)
    assert needs_refresh(idx) is True
    report = update_index(idx)
    assert report.rebuilt is True and "schema version 1" in (report.reason or "")
    assert (report.added, report.unchanged) == (0, 3)
    assert contents(idx) == clean_build(vault, tmp_path / "clean")
    assert not any(old_name in name for name in os.listdir(idx))  # old files cleaned up


def test_rebuild_requested(vault: Path, idx: Path):
    update_index(idx, vault)
    report = update_index(idx, rebuild=True)
    assert report.rebuilt and report.reason == "rebuild requested"
    assert {c[1] for c in contents(idx)} == set(NOTES)


def test_other_vault_needs_rebuild(vault: Path, idx: Path, tmp_path: Path):
    update_index(idx, vault)
    other = write_vault(tmp_path / "other", {"o.md": "# O\n\nother vault\n"})
    with pytest.raises(VaultError, match="--rebuild"):
        update_index(idx, other)
    report = update_index(idx, other, rebuild=True)
    assert report.rebuilt and {c[1] for c in contents(idx)} == {"o.md"}


def test_missing_index(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="searchkit index"):
        open_for_search(tmp_path / "nothing")
    with pytest.raises(IndexNotFoundError):
        index_status(tmp_path / "nothing")
    with pytest.raises(VaultError):
        update_index(tmp_path / "nothing")  # no vault given, none recorded


def test_foreign_directory_is_refused_and_left_alone(vault: Path, tmp_path: Path):
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious")
    with pytest.raises(IndexCorruptError, match="not a searchkit index"):
        update_index(foreign, vault, rebuild=True)
    with pytest.raises(IndexCorruptError):
        open_for_search(foreign)
    assert os.listdir(foreign) == ["thesis.txt"]


def test_corrupt_meta_and_missing_toc(vault: Path, idx: Path):
    update_index(idx, vault)
    meta_bytes = (idx / META_FILE).read_bytes()
    (idx / META_FILE).write_text("{not json")
    for call in (lambda: open_for_search(idx), lambda: update_index(idx)):
        with pytest.raises(IndexCorruptError, match=r"searchkit index --rebuild"):
            call()
    (idx / META_FILE).write_bytes(meta_bytes)
    for toc in idx.glob("_ix*.toc"):
        toc.unlink()
    with pytest.raises(IndexCorruptError, match=r"--rebuild"):
        update_index(idx)
    report = update_index(idx, vault, rebuild=True)
    assert report.rebuilt and {c[1] for c in contents(idx)} == set(NOTES)


# ---------------------------------------------------------------------------------------
# Crashes, locks, readers


def test_crash_between_commit_and_manifest_write(vault: Path, idx: Path, tmp_path: Path):
    update_index(idx, vault)
    meta = read_meta(idx)
    assert meta is not None and meta.index_name
    manifest = manifest_path(idx, meta.index_name)
    log = manifest_log_path(idx, meta.index_name)
    stale = manifest.read_bytes()
    stale_log = log.read_bytes() if log.exists() else None
    (vault / "beta.md").write_text("# Beta\n\nchanged after the manifest\n")
    update_index(idx)
    # As if killed right after the Whoosh commit: the manifest files as they were.
    manifest.write_bytes(stale)
    if stale_log is None:
        log.unlink(missing_ok=True)
    else:
        log.write_bytes(stale_log)
    assert needs_refresh(idx) is True
    report = update_index(idx)  # record rebuilt from stored fields: nothing to redo
    assert (report.changed, report.added, report.removed, report.unchanged) == (0, 0, 0, 3)
    assert contents(idx) == clean_build(vault, tmp_path / "clean")
    assert needs_refresh(idx) is False


def generated_notes(n: int) -> dict[str, str]:
    words = [
        "river",
        "stone",
        "lantern",
        "orbit",
        "cedar",
        "violet",
        "harbor",
        "signal",
        "meadow",
        "ember",
    ]
    notes = {}
    for i in range(n):
        parts = [f"# Note {i}\n"]
        for j in range(4):
            body = " ".join(words[(i * 7 + j * 3 + k) % len(words)] for k in range(60))
            parts.append(f"## Section {j}\n\n{body} {i}-{j}\n")
        notes[f"d{i % 5}/note{i}.md"] = "\n".join(parts)
    return notes


RUNNER = textwrap.dedent(
    """
    import sys
    from searchkit.store.index import update_index
    update_index(sys.argv[1], sys.argv[2], rebuild=sys.argv[3] == "1", jobs=2)
    print("done", flush=True)
    """
)


def kill_during(
    index_dir: Path, vault: Path, delay: float, rebuild: bool = False, group: bool = True
) -> bool:
    """Start an update in a subprocess and SIGKILL it after `delay` (with its workers if
    `group`, else only the main process); True if it was still running when killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(index_dir), str(vault), "1" if rebuild else "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill reaches the workers too
    )
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        (os.killpg if group else os.kill)(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


def test_sigkill_during_builds_and_updates_converges(tmp_path: Path):
    vault = write_vault(tmp_path / "v", generated_notes(600))
    idx = tmp_path / "index"
    # Kill times scale with this machine's speed: a fixed delay lands after the work on a
    # fast idle machine and before it under load. A subprocess spends ~0.3 s importing.
    started = time.monotonic()
    clean_build(vault, tmp_path / "timing")
    build = time.monotonic() - started
    kills = 0
    for n, frac in enumerate((0.1, 0.2, 0.3)):  # during the first build
        kills += kill_during(idx, vault, 0.3 + frac * build, group=n != 1)
        # Whatever is committed is readable (not found: killed before the first commit).
        with contextlib.suppress(IndexNotFoundError):
            contents(idx)
    update_index(idx, vault)
    expected = clean_build(vault, tmp_path / "clean")
    assert contents(idx) == expected

    for i in range(0, 600, 3):  # edits for the next updates
        note = vault / f"d{i % 5}/note{i}.md"
        note.write_text(note.read_text() + f"\nedited {i}\n")
    for i in range(1, 600, 50):
        (vault / f"d{i % 5}/note{i}.md").unlink()
    edited = clean_build(vault, tmp_path / "clean-edited")
    for frac in (0.1, 0.25):  # during a rebuild, readers see the old index or the new one
        kills += kill_during(idx, vault, 0.3 + frac * build, rebuild=True)
        # The kill may land after the switch to the new index (a fast machine finishes the
        # rebuild first); what must never be seen is a mixture or an unreadable index.
        assert contents(idx) in (expected, edited)
    # During an incremental update, killing only the main process: its orphaned workers
    # must not keep the lock (they die with their parent).
    kills += kill_during(idx, vault, 0.3 + 0.05 * build, group=False)
    contents(idx)
    update_index(idx, lock_timeout=2)
    assert contents(idx) == clean_build(vault, tmp_path / "clean2")
    assert kills >= 3, "the build finished before the kills: make the vault bigger"


LOCK_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from searchkit.store.indexdir import write_lock
    with write_lock(Path(sys.argv[1]), 5):
        print("locked", flush=True)
        time.sleep(30)
    """
)


def test_second_writer_waits_then_gets_index_locked_error(vault: Path, idx: Path):
    update_index(idx, vault)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(idx)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(IndexLockedError) as err:
            update_index(idx, lock_timeout=0.5)
        waited = time.monotonic() - start
        assert 0.5 <= waited < 5
        assert "searchkit.lock" in str(err.value) and str(holder.pid) in str(err.value)
        assert {c[1] for c in contents(idx)} == set(NOTES)  # readers are not blocked
    finally:
        holder.kill()
        holder.wait()
    assert update_index(idx).unchanged == 3  # the kernel dropped the dead holder's lock


def test_reader_during_a_write_sees_the_last_commit(vault: Path, idx: Path):
    update_index(idx, vault)
    before = contents(idx)
    (vault / "beta.md").write_text("# Beta\n\nnew words\n")
    in_writer, release = threading.Event(), threading.Event()

    def hold(_p: Progress) -> None:
        in_writer.set()
        release.wait(10)

    thread = threading.Thread(target=update_index, args=(idx,), kwargs={"progress": hold})
    thread.start()
    try:
        assert in_writer.wait(10)
        assert contents(idx) == before
    finally:
        release.set()
        thread.join(10)
    assert contents(idx) != before


# ---------------------------------------------------------------------------------------
# Status and watch


def test_status_counts_stale_notes_without_updating(vault: Path, idx: Path):
    update_index(idx, vault)
    gen = generation(idx)
    (vault / "new.md").write_text("# New\n\nnew\n")
    (vault / "beta.md").write_text("# Beta\n\nlonger changed text here\n")
    (vault / "alpha.md").unlink()
    bump_mtime(vault / "sub" / "gamma.md")  # touched only: not stale
    status = index_status(idx)
    assert (status.stale_new, status.stale_changed, status.stale_removed) == (1, 1, 1)
    assert status.notes == 3 and status.chunks == len(contents(idx))
    assert status.size_bytes > 0 and status.last_update is not None
    assert status.to_dict()["stale"] == {"new": 1, "changed": 1, "removed": 1}
    assert status.to_dict()["vault"] == str(vault.resolve())
    assert generation(idx) == gen


def test_watch_reindexes_on_change_and_stops(vault: Path, tmp_path: Path):
    from searchkit.api.watch import watch_vault

    idx = vault / "index"  # inside the vault: its own writes must not trigger updates
    reports: list = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_vault,
        args=(idx, vault, reports.append),
        kwargs={"debounce_ms": 100, "stop_event": stop},
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not reports and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reports and reports[0].added == 3
        time.sleep(0.5)  # let the watcher start
        (vault / "sub" / "fresh.md").write_text("# Fresh\n\nwatched words\n")
        while len(reports) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(reports) >= 2 and reports[1].added == 1
        time.sleep(1.0)  # no update echoes from the index's own files
        assert len(reports) == 2
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert "sub/fresh.md" in {c[1] for c in contents(idx)}
