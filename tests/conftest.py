"""Every test runs away from the user's own searchkit: no per-user folder is read or written.

searchkit finds its data and config folders from `SEARCHKIT_HOME`, else platformdirs (which
reads `XDG_*` and `HOME`), and takes `SEARCHKIT_INDEX`, `SEARCHKIT_VAULT`, `SEARCHKIT_TOKEN`…
from the environment. A test that runs `searchkit config vault X` or builds a default index
with the developer's `SEARCHKIT_HOME` set would otherwise write into their real config
(`vault = <a pytest temp folder>`, after which every search outside a vault fails).

So every `SEARCHKIT_*` variable is dropped, and `HOME` and the `XDG_*` folders point into a
fresh temporary home: once at import, for the whole session (module-scoped fixtures start
servers before any function-scoped fixture runs, and subprocesses inherit the
environment), and again for each test (`_isolated_home`), so one test's config never
reaches the next. A test that wants a setting sets it with monkeypatch, as before.

Search by meaning is off in the test processes unless a test turns it on: the `test` extra
installs the semantic layer, and with it on, every `searchkit index` would embed and every
server would embed in the background: the tests of matching words, output and servers would
then depend on the model and on timing. tests/test_semantic.py turns it on (monkeypatch)
and tests it with the real models.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

import pytest

# Where a per-user folder may come from: searchkit's own variables, the home folder, the
# XDG base directories platformdirs reads on Linux (macOS and Windows derive theirs from HOME
# and the Windows variables below).
_XDG_HOMES = {
    "XDG_DATA_HOME": ".local/share",
    "XDG_CONFIG_HOME": ".config",
    "XDG_CACHE_HOME": ".cache",
    "XDG_STATE_HOME": ".local/state",
    "XDG_RUNTIME_DIR": ".run",
}
_DROPPED = ("XDG_DATA_DIRS", "XDG_CONFIG_DIRS", "APPDATA", "LOCALAPPDATA", "USERPROFILE")


def isolate(env: MutableMapping[str, str], home: Path) -> None:
    """Point `env` at `home` for every per-user location and drop every searchkit setting
    but the session's `SEARCHKIT_SEMANTIC=off`."""
    for var in [v for v in env if v.startswith("SEARCHKIT_")]:
        del env[var]
    for var in _DROPPED:
        env.pop(var, None)
    env["HOME"] = str(home)
    for var, sub in _XDG_HOMES.items():
        folder = home / sub
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[var] = str(folder)
    env["SEARCHKIT_SEMANTIC"] = "off"


_SESSION_HOME = Path(tempfile.mkdtemp(prefix="searchkit-test-home-"))
atexit.register(shutil.rmtree, _SESSION_HOME, ignore_errors=True)
isolate(os.environ, _SESSION_HOME)


class _MonkeyEnv(MutableMapping[str, str]):
    """`os.environ` seen through monkeypatch, so each change is undone after the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._mp = monkeypatch

    def __getitem__(self, key: str) -> str:
        return os.environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._mp.setenv(key, value)

    def __delitem__(self, key: str) -> None:
        self._mp.delenv(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(os.environ))

    def __len__(self) -> int:
        return len(os.environ)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home for each test (see the module docstring)."""
    home = tmp_path_factory.mktemp("home")
    isolate(_MonkeyEnv(monkeypatch), home)
    return home
