"""Faults real machines and vaults have (issue #8): each test reproduces one and checks
that the index survives it with a typed, one-line error or warning.

Slow versions (many kills, long reader/writer runs) live in scripts/torture/torture.py.
"""

from __future__ import annotations

import ast
import builtins
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from vaults import write_vault
from whoosh.filedb.structfile import StructFile

import searchkit
from searchkit.api import open_index
from searchkit.errors import (
    DiskFullError,
    IndexCorruptError,
    IndexReadOnlyError,
    IndexWriteError,
    MassDeleteError,
    NoteError,
    VaultError,
)
from searchkit.ingest.notes import read_note
from searchkit.store.index import UpdateReport, needs_refresh, open_for_search, update_index
from searchkit.store.indexdir import LOCK_FILE, META_FILE, read_meta
from searchkit.store.status import check_index
from searchkit.surfaces.cli import main


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):  # nested (function-level) imports count too
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_workers_does_not_import_index():
    mods = _imported_modules(Path(searchkit.__file__).parent / "store" / "workers.py")
    assert not {".index", "searchkit.store.index"} & mods


# ---------------------------------------------------------------------------------------
# Shared fixtures


NOTES = {
    "alpha.md": "# Alpha\n\nAlpha intro about sleeping owls.\n",
    "beta.md": "# Beta\n\nBeta body with a [[alpha]] link.\n",
    "sub/gamma.md": "# Gamma\n\nGamma part text.\n",
    "sub/delta.md": "# Delta\n\nDelta text about rivers.\n",
}


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "vault", NOTES)


@pytest.fixture
def idx(tmp_path: Path) -> Path:
    return tmp_path / "index"


def sources(index_dir: Path) -> set[str]:
    ix, _meta = open_for_search(index_dir)
    with ix.searcher() as s:
        return {d["source"] for d in s.all_stored_fields()}


def warned(report: UpdateReport) -> dict[str, str]:
    return {w.path: w.message for w in report.warnings}


def finishes(fn: Callable[[], Any], seconds: float = 15.0) -> Any:
    """Run `fn` in a daemon thread; fail (instead of hanging the suite) if it blocks."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---------------------------------------------------------------------------------------
# 3. FIFOs, devices, runaway reads


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_named_like_a_note_is_skipped_without_hanging(vault: Path, idx: Path):
    os.mkfifo(vault / "pipe.md")
    report = finishes(lambda: update_index(idx, vault, jobs=1))
    assert "FIFO" in warned(report)["pipe.md"]
    assert sources(idx) == set(NOTES)
    # A note replaced by a FIFO after the scan: the read itself refuses it.
    os.unlink(vault / "beta.md")
    os.mkfifo(vault / "beta.md")
    with pytest.raises(NoteError, match="FIFO"):
        finishes(lambda: read_note(vault, "beta.md"))
    # and a search-time refresh does not hang either
    finishes(lambda: open_index(idx).refresh())


def test_symlink_to_dev_zero_is_never_read(vault: Path, idx: Path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    os.symlink("/dev/zero", vault / "zero.md")
    report = finishes(lambda: update_index(idx, vault, jobs=1, follow_symlinks=True))
    assert "character device" in warned(report)["zero.md"]
    with pytest.raises(NoteError, match="not a regular file"):
        finishes(lambda: read_note(vault, "zero.md"))


def test_read_stops_one_byte_past_the_size_cap(vault: Path, monkeypatch: pytest.MonkeyPatch):
    (vault / "big.md").write_text("x" * 5_000_000)
    with pytest.raises(NoteError, match="size cap"):
        read_note(vault, "big.md", max_bytes=100)
    assert "owls" in read_note(vault, "alpha.md", max_bytes=100).body
    # A file growing after its size was taken (fstat says small): still cap + 1 bytes.
    real_fstat, real_read, total = os.fstat, os.read, []

    def small_fstat(fd: int) -> Any:
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, *st[1:6], 10, *st[7:]))

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        total.append(len(data))
        return data

    monkeypatch.setattr(os, "fstat", small_fstat)
    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(NoteError, match="size cap"):
        read_note(vault, "big.md", max_bytes=100)
    assert sum(total) == 101


# ---------------------------------------------------------------------------------------
# 8. Security: symlinks out of the vault, a planted lock link, unreadable folders


def test_symlinks_leaving_the_vault_are_not_followed_unless_asked(
    vault: Path, idx: Path, tmp_path: Path
):
    outside = write_vault(tmp_path / "outside", {"secret.md": "# Secret\n\npasswords\n",
                                                 "dir/private.md": "# P\n\nprivate\n"})
    os.symlink(outside / "secret.md", vault / "secret.md")
    os.symlink(outside / "dir", vault / "linked")
    os.symlink(vault / "alpha.md", vault / "again.md")  # stays in the vault: followed
    report = update_index(idx, vault, jobs=1)
    got = warned(report)
    assert "outside the vault" in got["secret.md"] and "outside the vault" in got["linked/"]
    assert sum("outside the vault" in w.message for w in report.warnings) == 2  # once each
    assert sources(idx) == set(NOTES) | {"again.md"}
    # Asked for: indexed, and remembered by later updates (a search's refresh has no flags).
    update_index(idx, vault, jobs=1, follow_symlinks=True)
    assert {"secret.md", "linked/private.md"} <= sources(idx)
    (vault / "alpha.md").write_text("# Alpha\n\nchanged\n")
    update_index(idx, vault, jobs=1)
    assert {"secret.md", "linked/private.md"} <= sources(idx)


def test_planted_lock_symlink_never_truncates_its_target(vault: Path, idx: Path, tmp_path):
    update_index(idx, vault, jobs=1)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (idx / LOCK_FILE).unlink()
    os.symlink(victim, idx / LOCK_FILE)
    with pytest.raises(IndexWriteError, match="symbolic link"):
        update_index(idx, vault, jobs=1)
    assert victim.read_text() == "precious\n"
    # The meta's temp file has a predictable name too.
    os.unlink(idx / LOCK_FILE)
    os.symlink(victim, idx / f"{META_FILE}.{os.getpid()}.sktmp")
    update_index(idx, vault, jobs=1, rebuild=True)
    assert victim.read_text() == "precious\n"


def test_unreadable_folder_is_named_and_its_notes_kept(
    vault: Path, idx: Path, monkeypatch: pytest.MonkeyPatch
):
    update_index(idx, vault, jobs=1)
    real_scandir = os.scandir
    blocked = str(vault / "sub")

    def scandir(path: Any = ".") -> Any:
        if str(path) == blocked:  # root ignores chmod: refuse it the way EACCES would
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = update_index(idx, vault, jobs=1)
    assert "cannot read this folder" in warned(report)["sub/"]
    assert report.removed == 0 and sources(idx) == set(NOTES)
    assert not needs_refresh(idx)  # or every search would try an update


# ---------------------------------------------------------------------------------------
# 1. An empty, vanished or half-vanished vault never empties the index


def _empty(vault: Path) -> None:
    for rel in NOTES:
        (vault / rel).unlink()


def test_refresh_over_an_empty_vault_keeps_the_index(vault: Path, idx: Path):
    update_index(idx, vault, jobs=1)
    _empty(vault)  # an unmounted drive leaves an empty mount point
    with open_index(idx) as ix:
        with pytest.raises(MassDeleteError, match="holds no notes") as info:
            ix.refresh()
        assert set(info.value.would_remove) == set(NOTES) and info.value.indexed == 4
        assert [p.path for p in ix.search("owls")] == ["alpha.md"]
    with pytest.raises(MassDeleteError):  # a rebuild (e.g. after an upgrade) is guarded too
        update_index(idx, vault, jobs=1, rebuild=True)
    assert sources(idx) == set(NOTES)


def test_more_than_half_vanishing_is_refused_less_is_applied(vault: Path, idx: Path):
    update_index(idx, vault, jobs=1)
    (vault / "beta.md").unlink()
    assert update_index(idx, vault, jobs=1).removed == 1  # 1 of 4: a normal delete
    (vault / "sub/gamma.md").unlink()
    (vault / "sub/delta.md").unlink()
    with pytest.raises(MassDeleteError, match="2 of the 3 indexed notes vanished"):
        update_index(idx, vault, jobs=1)
    assert sources(idx) == {"alpha.md", "sub/gamma.md", "sub/delta.md"}
    assert update_index(idx, vault, jobs=1, allow_mass_delete=True).removed == 2
    assert sources(idx) == {"alpha.md"}


def test_cli_index_lists_what_it_would_remove_and_needs_the_flag(vault: Path, idx: Path):
    runner = CliRunner()
    assert runner.invoke(main, ["index", str(vault), "--index", str(idx)]).exit_code == 0
    _empty(vault)
    result = runner.invoke(main, ["index", "--index", str(idx)])
    assert result.exit_code == 2, result.output
    assert "would remove 4 of 4 indexed notes" in result.stderr
    assert "sub/gamma.md" in result.stderr and "--allow-mass-delete" in result.stderr
    assert "Traceback" not in result.output
    # search: warns once that it could not refresh, then answers from the last index
    result = runner.invoke(main, ["search", "owls", "--index", str(idx), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("could not refresh") == 1
    result = runner.invoke(main, ["index", "--index", str(idx), "--allow-mass-delete"])
    assert result.exit_code == 0 and "4 removed" in result.stdout


def test_search_with_the_vault_gone_searches_the_last_index(vault: Path, idx: Path, tmp_path):
    update_index(idx, vault, jobs=1)
    vault.rename(tmp_path / "moved")
    result = CliRunner().invoke(main, ["search", "owls", "--index", str(idx)])
    assert result.exit_code == 0 and "alpha.md" in result.stdout
    assert "could not refresh" in result.stderr and "vault not found" in result.stderr


@pytest.mark.parametrize("replace_with_empty", [False, True])
def test_vault_moved_away_during_an_update_aborts_it(
    vault: Path, idx: Path, tmp_path: Path, replace_with_empty: bool
):
    update_index(idx, vault, jobs=1)
    before = sources(idx)
    for rel in NOTES:  # every note changed: the update reads each one again
        (vault / rel).write_text((vault / rel).read_text() + "\nmore\n")
    moved = []

    def progress(_p: Any) -> None:
        if not moved:
            vault.rename(tmp_path / "elsewhere")
            if replace_with_empty:
                vault.mkdir()
            moved.append(True)

    with pytest.raises(VaultError, match="disappeared or was replaced"):
        update_index(idx, vault, jobs=1, progress=progress)
    assert moved and sources(idx) == before


# ---------------------------------------------------------------------------------------
# 2. A full disk


def _fill_disk_after(
    monkeypatch: pytest.MonkeyPatch, budget: int, children_only: bool = False
) -> None:
    """Every Whoosh file write fails with ENOSPC once `budget` bytes were written (in
    each process; with `children_only`, only in forked sub-processes)."""
    written = [0]
    real_write = StructFile.write
    parent = os.getpid()

    def write(self: StructFile, data: Any, *args: Any) -> Any:
        written[0] += len(data)
        if written[0] > budget and not (children_only and os.getpid() == parent):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data, *args)

    monkeypatch.setattr(StructFile, "write", write)


def _files(index_dir: Path) -> set[str]:
    return set(os.listdir(index_dir)) - {LOCK_FILE}


@pytest.mark.parametrize("rebuild", [False, True])
def test_full_disk_cleans_up_keeps_the_index_and_recovers(
    vault: Path, idx: Path, monkeypatch: pytest.MonkeyPatch, rebuild: bool
):
    update_index(idx, vault, jobs=1)
    before, files = sources(idx), _files(idx)
    write_vault(vault, {f"new{i}.md": f"# New {i}\n\n" + "words here " * 200 for i in range(3)})
    with monkeypatch.context() as m:
        _fill_disk_after(m, 2000)
        with pytest.raises(DiskFullError, match=r"disk full .* MB free, about .* MB needed"):
            update_index(idx, vault, jobs=1, rebuild=rebuild)
    assert _files(idx) == files  # no temporary segment left to keep the disk full
    assert sources(idx) == before
    report = update_index(idx, vault, jobs=1)  # space is back
    assert report.added == 3 and len(sources(idx)) == 7


def test_full_disk_in_parallel_sub_writers_neither_hangs_nor_drops_notes(
    tmp_path: Path, idx: Path, monkeypatch: pytest.MonkeyPatch
):
    # Whoosh's MpWriter never checks its sub-processes: one dying of ENOSPC blocked the
    # parent forever, or its segment went missing from a "successful" commit.
    vault = write_vault(tmp_path / "vault", {f"n{i:03}.md": f"# N{i}\n\nowls {i}\n"
                                             for i in range(80)})  # fmt: skip
    _fill_disk_after(monkeypatch, 3000, children_only=True)  # forked sub-writers inherit it
    # `finishes` runs the build in a thread, which alone would keep Whoosh's (forked)
    # sub-writers out; its idle main thread holds no lock a fork could copy.
    from searchkit.store import workers

    monkeypatch.setattr(workers, "fork_is_safe", lambda: True)
    with pytest.raises(DiskFullError):
        finishes(lambda: update_index(idx, vault, jobs=2), seconds=60)
    assert not [n for n in os.listdir(idx) if n.endswith((".seg", ".toc"))]
    monkeypatch.undo()
    assert update_index(idx, vault, jobs=2).notes == 80


def test_full_disk_on_the_manifest_and_lock_writes(
    vault: Path, idx: Path, monkeypatch: pytest.MonkeyPatch
):
    update_index(idx, vault, jobs=1)
    (vault / "alpha.md").write_text("# Alpha\n\nnew words about herons\n")
    with monkeypatch.context() as m:
        def no_space(*_a: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        m.setattr(os, "fsync", no_space)  # the manifest's write
        m.setattr(os, "pwrite", no_space)  # the lock's pid
        with pytest.raises(DiskFullError):
            update_index(idx, vault, jobs=1)
        assert not [n for n in os.listdir(idx) if n.endswith(".sktmp")]
    # The commit went through before the manifest failed; the record is recovered.
    assert update_index(idx, vault, jobs=1).changed == 0
    with open_index(idx) as ix:
        assert [p.path for p in ix.search("herons")] == ["alpha.md"]


def test_cli_full_disk_is_one_line(vault: Path, idx: Path, monkeypatch: pytest.MonkeyPatch):
    update_index(idx, vault, jobs=1)
    (vault / "beta.md").write_text("# Beta\n\n" + "changed " * 500)
    _fill_disk_after(monkeypatch, 100)
    result = CliRunner().invoke(main, ["index", "--index", str(idx), "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "disk full" in result.stderr


# ---------------------------------------------------------------------------------------
# 5. A read-only index directory


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Make writes under a folder fail with EROFS (root ignores chmod, so the OS calls
    that write are refused the way a read-only mount refuses them)."""

    def apply(folder: Path) -> None:
        inside = str(folder.absolute())

        def under(path: Any) -> bool:
            return str(os.path.abspath(os.fspath(path))).startswith(inside)

        def refuse(path: Any) -> None:
            raise OSError(errno.EROFS, "Read-only file system", str(path))

        def guard(real: Callable[..., Any], writes: Callable[..., bool]) -> Callable[..., Any]:
            def call(path: Any, *args: Any, **kwargs: Any) -> Any:
                if not isinstance(path, int) and under(path) and writes(*args, **kwargs):
                    refuse(path)
                return real(path, *args, **kwargs)

            return call

        wflags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC

        def os_open_writes(flags: int, *_a: Any, **_k: Any) -> bool:
            return bool(flags & wflags)

        def open_writes(mode: str = "r", *_a: Any, **_k: Any) -> bool:
            return any(c in mode for c in "wax+")

        monkeypatch.setattr(os, "open", guard(os.open, os_open_writes))
        monkeypatch.setattr(builtins, "open", guard(builtins.open, open_writes))
        for name in ("unlink", "remove", "replace", "rename", "mkdir", "rmdir"):
            monkeypatch.setattr(os, name, guard(getattr(os, name), lambda *a, **k: True))

    return apply


def test_read_only_index_searches_the_last_index_and_warns_once(
    vault: Path, idx: Path, read_only: Callable[[Path], None]
):
    update_index(idx, vault, jobs=1)
    (vault / "alpha.md").write_text("# Alpha\n\nsleeping owls and herons\n")
    read_only(idx)
    with pytest.raises(IndexReadOnlyError, match="cannot write in the index directory"):
        update_index(idx, vault, jobs=1)
    result = CliRunner().invoke(main, ["search", "owls", "--index", str(idx)])
    assert result.exit_code == 0 and "alpha.md" in result.stdout, result.output
    assert result.stderr.count("could not refresh") == 1
    assert "Read-only file system" in result.stderr


def test_read_only_index_with_nothing_to_do_is_unchanged(
    vault: Path, idx: Path, read_only: Callable[[Path], None]
):
    update_index(idx, vault, jobs=1)
    read_only(idx)
    result = CliRunner().invoke(main, ["index", "--index", str(idx)])
    assert result.exit_code == 0, result.output
    assert "4 unchanged" in result.stdout


# ---------------------------------------------------------------------------------------
# 4. Threads sharing one SearchIndex while another process rebuilds


def test_threads_sharing_an_index_during_rebuilds_see_no_errors(tmp_path: Path, idx: Path):
    notes = {f"n{i:03}.md": f"# Note {i}\n\nowls rivers herons {i}\n\n## Part\n\nmore owls\n"
             for i in range(30)}  # fmt: skip
    vault = write_vault(tmp_path / "vault", notes)
    update_index(idx, vault, jobs=1)
    rebuilder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from searchkit.store.index import update_index\n"
         "end = time.monotonic() + 1.5\n"
         "while time.monotonic() < end: update_index(sys.argv[1], rebuild=True, jobs=1)",
         str(idx)],
    )  # fmt: skip
    errors: list[str] = []
    counts = [0] * 4
    names: set[str] = set()

    def reader(k: int, ix: Any) -> None:
        while rebuilder.poll() is None:
            try:
                results = ix.search("owls" if k % 2 else "herons rivers", limit=5)
                assert len(results) == 5
            except Exception as exc:  # every kind counts: none is allowed
                errors.append(f"{type(exc).__name__}: {exc}")
            counts[k] += 1
            meta = read_meta(idx)
            if meta is not None:
                names.add(meta.index_name or "")

    with open_index(idx) as ix:
        threads = [threading.Thread(target=reader, args=(k, ix)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert rebuilder.wait(30) == 0
    assert len(names) >= 3, "the rebuilds did not switch indexes during the searches"
    assert errors == [], f"{len(errors)} errors in {sum(counts)} searches: {errors[:3]}"


# ---------------------------------------------------------------------------------------
# 6. A corrupt segment


def _segment(index_dir: Path) -> Path:
    (seg,) = [p for p in index_dir.iterdir() if p.suffix == ".seg"]
    return seg


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _overwrite(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 3
    data[mid : mid + 32] = bytes(range(32))
    path.write_bytes(bytes(data))


def test_truncated_segment_is_index_corrupt_error_everywhere(vault: Path, idx: Path):
    update_index(idx, vault, jobs=1)
    _truncate(_segment(idx))
    with open_index(idx) as ix, pytest.raises(IndexCorruptError, match="index --rebuild"):
        ix.search("owls")
    runner = CliRunner()
    result = runner.invoke(main, ["search", "owls", "--index", str(idx)])
    assert result.exit_code == 2 and "searchkit index --rebuild" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    result = runner.invoke(main, ["index", "--index", str(idx)])
    assert result.exit_code == 2 and "damaged" in result.stderr  # not "unchanged"
    result = runner.invoke(main, ["status", "--check", "--index", str(idx)])
    assert result.exit_code == 2 and "NOT sound" in result.stderr
    assert runner.invoke(main, ["index", "--rebuild", "--index", str(idx)]).exit_code == 0
    result = runner.invoke(main, ["status", "--check", "--index", str(idx)])
    assert result.exit_code == 0 and "index sound" in result.stdout
    assert sources(idx) == set(NOTES)


def test_overwritten_bytes_are_found_by_check_and_by_index(vault: Path, idx: Path):
    update_index(idx, vault, jobs=1)
    assert check_index(idx).sound
    _overwrite(_segment(idx))
    result = check_index(idx)
    assert not result.sound and "content changed" in result.problems[0]
    runner = CliRunner()
    result = runner.invoke(main, ["index", "--verify", "--index", str(idx)])
    assert result.exit_code == 2 and "content changed" in result.stderr
    result = runner.invoke(main, ["status", "--check", "--json", "--index", str(idx)])
    assert result.exit_code == 2 and json.loads(result.stdout)["sound"] is False


# ---------------------------------------------------------------------------------------
# 7. Ctrl-C during `searchkit index`


def _many_notes(n: int, word: str) -> dict[str, str]:
    return {
        f"d{i % 7}/n{i:04}.md": f"# Note {i}\n\n{word} text {i}\n\n"
        + "".join(f"## Part {k}\n\n{word} {'filler words ' * 40}\n\n" for k in range(6))
        for i in range(n)
    }


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and an ignored signal stays
    # ignored across exec: Python would then never raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_during_index_exits_130_and_leaves_the_index_as_a_kill_would(
    tmp_path: Path, idx: Path
):
    vault = write_vault(tmp_path / "vault", _many_notes(300, "owls"))
    update_index(idx, vault, jobs=1)
    before = sources(idx)
    live = read_meta(idx).index_name  # type: ignore[union-attr]
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "index", "--rebuild", "--jobs", "2", "--index",
         str(idx)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    # Wait until the rebuild is under way (its new index appears), then press Ctrl-C.
    while not [n for n in os.listdir(idx) if n.endswith(".toc") and live not in n]:
        assert proc.poll() is None and time.monotonic() < deadline, "rebuild never started"
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err
    assert read_meta(idx).index_name == live and sources(idx) == before  # type: ignore[union-attr]
    assert update_index(idx, jobs=1).unchanged == 300  # the next writer cleans up
    assert {n for n in os.listdir(idx) if n.endswith(".toc")} == {f"_{live}_1.toc"}
