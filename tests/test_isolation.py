"""The test suite never touches the per-user folders of whoever runs it (issue 23 item 6)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Writes the config three ways, as the suite's tests do: in-process through the CLI, in a
# subprocess, and through the API's default index location.
INNER = '''
import subprocess, sys
from click.testing import CliRunner
import searchkit
from searchkit.surfaces.cli import main

def test_writes_config(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "a.md").write_text("# A\\n\\nowls\\n")
    assert CliRunner().invoke(main, ["config", "vault", str(vault)]).exit_code == 0
    subprocess.run([sys.executable, "-m", "searchkit", "config", "vault", str(vault)],
                   check=True, capture_output=True)
    assert CliRunner().invoke(main, ["index", str(vault)]).exit_code == 0
'''


def test_a_config_writing_test_leaves_the_users_folders_alone(tmp_path: Path):
    """Run a test that writes the config with SEARCHKIT_HOME, HOME and XDG_* pointing at
    sentinel folders, as a developer's shell may: nothing may appear in them."""
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(HERE / "conftest.py", suite / "conftest.py")
    (suite / "test_inner.py").write_text(INNER, encoding="utf-8")
    sentinels = {name: tmp_path / name for name in
                 ("searchkit-home", "home", "data", "config", "state", "cache")}
    for folder in sentinels.values():
        folder.mkdir()
    env = {
        **os.environ,
        "SEARCHKIT_HOME": str(sentinels["searchkit-home"]),
        "SEARCHKIT_VAULT": str(sentinels["searchkit-home"]),
        "HOME": str(sentinels["home"]),
        "XDG_DATA_HOME": str(sentinels["data"]),
        "XDG_CONFIG_HOME": str(sentinels["config"]),
        "XDG_STATE_HOME": str(sentinels["state"]),
        "XDG_CACHE_HOME": str(sentinels["cache"]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--basetemp={tmp_path / 'basetemp'}", str(suite)],
        cwd=suite, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    written = {name: sorted(p.name for p in folder.rglob("*"))
               for name, folder in sentinels.items()}
    assert written == {name: [] for name in sentinels}
