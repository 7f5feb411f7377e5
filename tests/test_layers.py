"""The package's shape: stages import downward only, the public names stay where the README
says, and an index written before the stage folders asks for a rebuild instead of failing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from vaults import write_vault

import searchkit
from searchkit.errors import IndexVersionError
from searchkit.store import schema
from searchkit.surfaces.cli import main as cli

ROOT = Path(searchkit.__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package found first on the path from `cwd`."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def test_stages_import_downward_only():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "planted", "chain"), [
    # a stage importing upward
    ("ingest/notes.py", "from ..retrieve import links",
     "searchkit.ingest.notes -> searchkit.retrieve.links"),
    # one CLI command module importing another: the circle of cli/cli_more/cli_servers
    ("surfaces/cli/notes.py", "from . import searching",
     "searchkit.surfaces.cli.notes -> searchkit.surfaces.cli.searching"),
    # a surface reaching past the API into the store
    ("surfaces/render.py", "from ..store import locate",
     "searchkit.surfaces.render -> searchkit.store.locate"),
])
def test_a_planted_import_breaks_a_contract(tmp_path: Path, module: str, planted: str,
                                            chain: str):
    shutil.copytree(ROOT / "searchkit", tmp_path / "searchkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    target = tmp_path / "searchkit" / module
    target.write_text(target.read_text() + f"\n{planted}  # planted\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout
    assert chain in result.stdout


def test_every_name_the_readme_shows_imports():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = set(re.findall(r"searchkit\.([A-Za-z_]\w*)\(", readme))
    names |= {"SearchIndex", "SearchkitError", "open_index", "chunk_markdown", "load_note"}
    for name in sorted(names | set(searchkit.__all__)):
        assert getattr(searchkit, name) is not None, name
    from searchkit import errors

    assert issubclass(errors.IndexVersionError, searchkit.SearchkitError)
    proc = subprocess.run([sys.executable, "-m", "searchkit", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and searchkit.__version__ in proc.stdout


def test_index_from_before_the_move_asks_for_a_rebuild(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    vault = write_vault(tmp_path / "vault", {"a.md": "# A\n\nSleep and memory.\n"})
    index = tmp_path / "index"
    # Build as the previous layout did: the analyzer's stem function pickled under the old
    # module path `searchkit.schema`, the meta saying schema 7.
    monkeypatch.setitem(sys.modules, "searchkit.schema", schema)
    monkeypatch.setattr(schema.stem_word, "__module__", "searchkit.schema")
    with searchkit.open_index(index, vault=vault) as ix:
        ix.update()
    monkeypatch.undo()
    meta_file = index / "searchkit.json"
    meta = json.loads(meta_file.read_text())
    meta["schema_version"] = 7
    meta_file.write_text(json.dumps(meta))
    assert any(b"searchkit.schema" in p.read_bytes() for p in index.glob("*.toc"))

    with searchkit.open_index(index, vault=vault) as ix, \
            pytest.raises(IndexVersionError, match=r"must be rebuilt.*schema version 7"):
        ix.search("sleep")

    runner = CliRunner()
    env = {"SEARCHKIT_NO_SERVER": "1"}
    result = runner.invoke(cli, ["index", str(vault), "--index", str(index)], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["search", "sleep", "--index", str(index)], env=env)
    assert result.exit_code == 0 and "a.md" in result.output
