"""The cold search path (issue 24 item 2): a cold CLI search still finds a note edited in
place (the refresh check stats every note), and a lexical search imports neither
Whoosh's `morph_en` nor `numpy.ma`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from vaults import write_vault

import searchkit

NOTES = {
    "a.md": "# A\nalpha words\n",
    "sub/b.md": "# B\nbeta words\n",
}


@pytest.fixture
def ix(tmp_path: Path):
    vault = write_vault(tmp_path / "vault", NOTES)
    index = searchkit.open_index(tmp_path / "ix", vault)
    index.update(jobs=1)
    yield index, vault
    index.close()


def _edit(vault: Path) -> None:
    note = vault / "sub" / "b.md"
    note.write_text("# B\nbeta words and zymurgy\n", encoding="utf-8")
    st = note.stat()
    os.utime(note, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_cold_cli_search_finds_an_edited_note(ix, tmp_path):
    index, vault = ix
    _edit(vault)
    env = {**os.environ, "SEARCHKIT_NO_SERVER": "1", "SEARCHKIT_HOME": str(tmp_path / "h")}
    done = subprocess.run(
        [sys.executable, "-m", "searchkit", "search", "--index", str(index.index_dir),
         "--mode", "lexical", "--files", "zymurgy"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("sub/b.md")


def test_whoosh_morph_en_is_not_imported_until_used():
    code = (
        "import sys; import searchkit._fastimport; "
        "assert 'whoosh.lang.morph_en' not in sys.modules; "
        "import whoosh.query.terms as t; assert 'rendered' in set(t.variations('render')); "
        "assert 'whoosh.lang.morph_en' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_a_lexical_search_imports_neither_numpy_ma_nor_morph_en(ix, tmp_path):
    index, _vault = ix
    code = (
        "import sys, searchkit\n"
        f"ix = searchkit.open_index({str(index.index_dir)!r})\n"
        "assert [r.path for r in ix.search('alpha OR beta', mode='lexical')]\n"
        "assert ix.search('alpha -beta', mode='lexical').total == 1\n"
        "assert ix.search('\"beta words\"', mode='lexical').total == 1\n"
        "print(sorted(m for m in ('numpy.ma', 'whoosh.lang.morph_en') if m in sys.modules))\n"
    )
    env = {**os.environ, "SEARCHKIT_HOME": str(tmp_path / "h")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_unique_without_numpy_ma_is_numpys_unique():
    import numpy as np

    from searchkit.retrieve.matching import _unique

    rng = np.random.default_rng(3)
    for size in (0, 1, 7, 500):
        a = rng.integers(0, 40, size)
        assert np.array_equal(_unique(np, a), np.unique(a))


def test_a_cli_search_imports_only_the_search_command(ix, tmp_path):
    index, _vault = ix
    code = (
        "import sys\n"
        "from searchkit.surfaces.cli import main\n"
        f"main(['search', '--index', {str(index.index_dir)!r}, 'alpha'], standalone_mode=False)\n"
        "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules\n"
        "             if m.startswith('searchkit.surfaces.cli.')))\n"
    )
    env = {**os.environ, "SEARCHKIT_HOME": str(tmp_path / "h"), "SEARCHKIT_NO_SERVER": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['base', 'handoff', 'searching']"
