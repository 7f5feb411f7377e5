"""File names a vault can hold that text cannot (issue 23): a name that is not UTF-8, a
dangling symlink, newlines in names. Each is skipped with one warning naming it, or printed
escaped, and everything else goes on."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import searchkit
from searchkit.api.watch import VaultChangeFilter, watch_vault
from searchkit.surfaces.cli import main

BAD = b"bad\xff\xfename.md"  # legal on Linux, not UTF-8: unzip, rsync, a broken sync
BAD_SHOWN = "bad\\xff\\xfename.md"  # how warnings name it

pytestmark = pytest.mark.skipif(
    os.name != "posix" or os.uname().sysname == "Darwin",  # macOS refuses such names
    reason="needs a file system that takes any bytes in names",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every per-user location inside the test's tmp_path, the current folder too."""
    for name in ("SEARCHKIT_INDEX", "SEARCHKIT_VAULT", "SEARCHKIT_TOKEN", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for xdg in ("DATA", "CONFIG", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{xdg}_HOME", str(tmp_path / "xdg" / xdg.lower()))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    v = tmp_path / "vault"
    (v / "sub").mkdir(parents=True)
    (v / "good.md").write_text("# Good\n\nsleep and owls\n")
    (v / "sub" / "other.md").write_text("# Other\n\nsleep by rivers\n")
    return v


def add_bad(vault: Path, name: bytes = BAD) -> None:
    with open(os.path.join(os.fsencode(vault), name), "w") as f:
        f.write("# Bad\n\nsleep in a badly named note\n")


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def built(vault: Path) -> Path:
    result = cli("index", str(vault))
    assert result.exit_code == 0, result.output
    return vault


def warnings_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning:")]


# ---------------------------------------------------------------------------------------
# 1. A file name that is not valid UTF-8


def test_bad_name_is_skipped_by_index_with_one_warning(vault: Path):
    add_bad(vault)
    first = cli("index", str(vault))
    assert first.exit_code == 0, first.output
    assert first.exception is None or isinstance(first.exception, SystemExit)
    assert "Built 2 notes" in first.output
    assert [w for w in warnings_in(first.output) if BAD_SHOWN in w] == [
        f"warning: {BAD_SHOWN}: skipped: the file name is not valid UTF-8 (bad bytes shown "
        "as \\xNN); rename it to index it"
    ]
    # Unchanged since: not warned about again, by the next update or by a search.
    again = cli("index", str(vault))
    assert again.exit_code == 0 and warnings_in(again.output) == []
    found = cli("search", "sleep", "--vault", str(vault))
    assert found.exit_code == 0, found.output
    assert "good.md" in found.output and warnings_in(found.output) == []
    assert BAD_SHOWN in cli("status", "--vault", str(vault)).output


def test_bad_name_does_not_leave_a_first_build_unfinished(vault: Path):
    """It used to crash the first build half-way: every search then said "the first build
    did not finish", and `searchkit index` crashed again."""
    add_bad(vault)
    built = CliRunner().invoke(main, ["index", str(vault)])
    assert built.exit_code == 0, built.output
    assert built.stderr.count(BAD_SHOWN) == 1
    result = CliRunner().invoke(main, ["search", "sleep", "--vault", str(vault),
                                                       "--files"])
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.split()) == ["vault/good.md", "vault/sub/other.md"]
    assert result.stderr == ""


def test_bad_name_arriving_later_keeps_the_other_edits(vault: Path):
    assert cli("index", str(vault)).exit_code == 0
    add_bad(vault)
    (vault / "new.md").write_text("# New\n\nsleep newly written\n")
    result = cli("index", str(vault))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and BAD_SHOWN in result.output


def test_bad_folder_name_skips_its_notes_and_nothing_else(vault: Path):
    folder = os.path.join(os.fsencode(vault), b"dir\xff")
    os.mkdir(folder)
    add_bad(vault, b"dir\xff/inside.md")
    result = cli("index", str(vault))
    assert result.exit_code == 0, result.output
    assert "Built 2 notes" in result.output
    assert warnings_in(result.output) == [
        "warning: dir\\xff/: skipped: the folder name is not valid UTF-8 (bad bytes shown "
        "as \\xNN); rename it to index it"
    ]


def test_bad_name_through_the_api(vault: Path, tmp_path: Path):
    add_bad(vault)
    with searchkit.open_index(tmp_path / "index", vault) as ix:
        report = ix.update()
        assert report.notes == 2
        assert [w.path for w in report.warnings] == [BAD_SHOWN]
        assert {p.path for p in ix.search("sleep")} == {"good.md", "sub/other.md"}
        assert ix.update().warnings == ()


def test_read_of_a_bad_name_is_a_one_line_error(vault: Path):
    add_bad(vault)
    assert cli("index", str(vault)).exit_code == 0
    bad = os.fsdecode(BAD)
    for target in (bad, os.fsdecode(os.path.join(os.fsencode(vault), BAD)) + ":2"):
        result = cli("read", target, "--vault", str(vault))
        assert result.exit_code == 2, result.output
        assert not isinstance(result.exception, UnicodeError)
        assert result.output == (f"Error: {BAD_SHOWN}: not a note of the vault: the name is "
                                 "not valid UTF-8\n")


def test_watch_filter_takes_a_bad_name_without_failing(vault: Path, tmp_path: Path):
    keep = VaultChangeFilter(vault, tmp_path / "index")
    assert keep(1, os.fsdecode(os.path.join(os.fsencode(vault), BAD))) is True
    assert keep(1, os.fsdecode(os.path.join(os.fsencode(vault), b".hid\xff/x.md"))) is False


def _watching(vault: Path, index: Path, reports: list, **kw):
    stop = threading.Event()
    thread = threading.Thread(target=watch_vault, args=(index, vault, reports.append),
                              kwargs={"debounce_ms": 100, "stop_event": stop, **kw})
    thread.start()
    return stop, thread


def _wait_for(check, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _indexed(index: Path | None, vault: Path | None = None) -> set[str]:
    with searchkit.open_index(index, vault) as ix:
        found = ix.search("sleep", limit=50, per_note=0)
    # A note that is a copy of another (a symlink to it) is one result, `also_in` the other.
    return {p.path for p in found} | {x for p in found for x in p.also_in}


@pytest.mark.parametrize("where", ["file", "folder"])
def test_watch_survives_a_bad_name_and_keeps_indexing(vault: Path, tmp_path: Path, where: str):
    """A file event on such a name, or a folder the OS watcher must walk, makes
    watchfiles raise: the watcher (no on_error: it would raise) goes on."""
    index = tmp_path / "index"
    if where == "folder":
        os.mkdir(os.path.join(os.fsencode(vault), b"dir\xff"))
    reports: list = []
    stop, thread = _watching(vault, index, reports)
    try:
        assert _wait_for(lambda: reports)
        time.sleep(0.5)  # let the watcher arm
        add_bad(vault)
        time.sleep(0.3)
        (vault / "late.md").write_text("# Late\n\nsleep written after the bad one\n")
        assert _wait_for(lambda: "late.md" in _indexed(index)), "the watcher stopped"
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    warned = [w.path for r in reports for w in r.warnings if "UTF-8" in w.message]
    assert warned.count(BAD_SHOWN) == 1


# ---------------------------------------------------------------------------------------
# 12. A dangling symlink


def test_dangling_symlink_gets_one_warning_naming_its_target(vault: Path):
    os.symlink("gone.md", vault / "link.md")
    os.symlink("loop.md", vault / "loop.md")
    first = cli("index", str(vault))
    assert first.exit_code == 0, first.output
    assert warnings_in(first.output) == [
        f"warning: link.md: skipped: symlink to {vault / 'gone.md'}, which does not exist",
        f"warning: loop.md: skipped: symlink to {vault / 'loop.md'}, (Too many levels of "
        "symbolic links)",
    ]
    assert warnings_in(cli("index", str(vault)).output) == []  # unchanged: said once
    (vault / "gone.md").write_text("# Gone\n\nsleep is back\n")
    assert cli("index", str(vault)).exit_code == 0
    assert {"gone.md", "link.md"} <= _indexed(None, vault)


def test_format_vault_key_in_one_and_in_several_vaults(vault: Path, tmp_path: Path):
    two = tmp_path / "two"
    two.mkdir()
    (two / "t.md").write_text("# T\n\nsleep in the second vault\n")
    built(vault), built(two)
    one = cli("search", "sleep", "--vault", str(vault), "--format", "{vault}|{path}")
    assert one.exit_code == 0, one.output
    assert sorted(one.stdout.splitlines()) == [f"{vault}|good.md", f"{vault}|sub/other.md"]
    both = cli("search", "sleep", "--vault", str(vault), "--vault", str(two),
               "--format", "{vault}|{path}")
    assert both.exit_code == 0, both.output
    assert sorted(both.stdout.splitlines()) == sorted([
        f"{vault}|good.md", f"{vault}|sub/other.md", f"{two}|t.md"])
    bad = cli("search", "sleep", "--vault", str(vault), "--format", "{nope}")
    assert bad.exit_code == 2 and "shown_path, vault, " in bad.output


# ---------------------------------------------------------------------------------------
# 10. Newlines (and other control characters) in file names: --files, --vimgrep, -0


@pytest.fixture
def odd_vault(vault: Path) -> Path:
    (vault / "new\nline.md").write_text("# NL\n\nsleep under a newline name\n")
    (vault / "back\\slash.md").write_text("# BS\n\nsleep under a backslash name\n")
    (vault / "esc\x1b[2Jape.md").write_text("# ESC\n\nsleep under an escape name\n")
    return built(vault)


ODD_SHOWN = {"vault/new\\nline.md", "vault/back\\\\slash.md", "vault/esc\\x1b[2Jape.md",
             "vault/good.md", "vault/sub/other.md"}
ODD_RAW = {"vault/new\nline.md", "vault/back\\slash.md", "vault/esc\x1b[2Jape.md",
           "vault/good.md", "vault/sub/other.md"}


def test_files_and_vimgrep_escape_control_characters_one_record_a_line(odd_vault: Path):
    files = cli("search", "sleep", "--vault", str(odd_vault), "--files")
    assert files.exit_code == 0, files.output
    assert set(files.stdout.splitlines()) == ODD_SHOWN  # 5 lines: one per note
    vim = cli("search", "sleep", "--vault", str(odd_vault), "--vimgrep")
    assert vim.exit_code == 0, vim.output
    lines = vim.stdout.splitlines()
    assert len(lines) == 5
    assert {line.split(":", 1)[0] for line in lines} == ODD_SHOWN
    assert "vault/new\\nline.md:3:1:NL: sleep under a newline name" in lines
    # A note titled from its file name keeps its vimgrep line whole as well.
    (odd_vault / "new\nline.md").write_text("sleep with no heading\n")
    vim = cli("search", "heading", "--vault", str(odd_vault), "--vimgrep")
    assert vim.stdout == "vault/new\\nline.md:1:15:new line: sleep with no heading\n"


@pytest.mark.parametrize("mode", ["--files", "--vimgrep", "--jsonl", "--format={path}"])
def test_null_ends_records_with_nul_and_keeps_paths_as_they_are(odd_vault: Path, mode: str):
    result = cli("search", "sleep", "--vault", str(odd_vault), mode, "-0")
    assert result.exit_code == 0, result.output
    records = result.stdout_bytes.split(b"\0")
    assert records[-1] == b"" and b"\n" not in b"".join(r[-1:] for r in records[:-1])
    records = [r.decode() for r in records[:-1]]
    assert len(records) == 5
    if mode == "--files":
        assert set(records) == ODD_RAW
    elif mode == "--vimgrep":
        assert {r.rsplit(":", 4)[0].rsplit(":", 2)[0] for r in records} >= {"vault/good.md"}
        assert any(r.startswith("vault/new\nline.md:3:1:NL: ") for r in records)
    elif mode == "--jsonl":
        import json

        assert {json.loads(r)["path"] for r in records} == {p[6:] for p in ODD_RAW}
    else:
        assert "new\nline.md" in records


def test_null_without_a_record_output_is_a_usage_error(vault: Path):
    for extra in ([], ["--json"]):
        result = cli("search", "sleep", "--vault", str(vault), "-0", *extra)
        assert result.exit_code == 2
        assert "-0/--null goes with --files, --vimgrep, --jsonl or --format" in result.output
