"""Where an index lives, and how a command finds it without `--index`.

An index is derived data, machine-local and often large (70 MB for 9k notes), so by
default it lives in the per-user data folder, one folder per vault keyed by the vault's
absolute path, never inside the vault (which is usually synced or under git) and never in
the current folder:

    <user data dir>/searchkit/indexes/<vault name>-<12 hex of sha256(vault path)>/

Finding it (`locate`), first match wins:

1. `--index DIR` / `SEARCHKIT_INDEX`: that directory (explicit, like GIT_DIR);
2. `--vault DIR` / `SEARCHKIT_VAULT`: that vault's default index;
3. the current folder or its nearest parent that has an index: a few stats, like git
   looking for `.git`;
4. `./index` holding a searchkit index (where searchkit <= 0.1 built by default);
5. the per-user config file's `vault` (or `index`) key: the default vault;
6. the only index there is.

`SEARCHKIT_HOME` replaces the per-user data and config folders (portable installs, tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, IndexCorruptError, IndexNotFoundError, VaultError
from .indexdir import LOCK_FILE, META_FILE, foreign_entries, is_ours, read_meta, write_lock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ENV_HOME = "SEARCHKIT_HOME"
LEGACY_INDEX_DIR = "index"
CONFIG_KEYS = ("vault", "index", "semantic")
ENV_SEMANTIC = "SEARCHKIT_SEMANTIC"
_OFF = ("off", "false", "no", "0")
_ON = ("on", "true", "yes", "1")
_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class Location:
    """An index directory, the vault to use with it, and how it was found."""

    index_dir: Path
    vault: Path | None  # None: the vault the index records
    how: str  # "--index", "--vault", "current folder", "./index", "config", "only index"
    # Whether the index is not the vault's default one, so a suggested `searchkit index …`
    # command must repeat `--index DIR` to reach it.
    explicit_index: bool = False


def data_dir() -> Path:
    """The per-user folder indexes live in (platformdirs: XDG on Linux, Application
    Support on macOS, LocalAppData on Windows)."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser().absolute() / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir("searchkit", appauthor=False))


def config_path() -> Path:
    """The per-user config file (TOML)."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser().absolute() / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("searchkit", appauthor=False)) / "config.toml"


def indexes_dir() -> Path:
    return data_dir() / "indexes"


def default_index_dir(vault: str | os.PathLike[str]) -> Path:
    """The index folder of `vault`: its name (for people listing the folder) plus a hash
    of its resolved path (two vaults called `notes` do not collide)."""
    path = Path(vault).expanduser().resolve()
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = _UNSAFE.sub("_", path.name).strip("._")[:40] or "vault"
    return indexes_dir() / f"{name}-{digest}"


def _has_meta(index_dir: Path) -> bool:
    return (index_dir / META_FILE).is_file()


def find_from(start: str | os.PathLike[str]) -> tuple[Path, Path] | None:
    """(vault, index dir) of the nearest folder at or above `start` that has a default
    index, or None."""
    here = Path(start).expanduser().resolve()
    for folder in (here, *here.parents):
        ix = default_index_dir(folder)
        if _has_meta(ix):
            return folder, ix
    return None


def known_indexes() -> list[tuple[Path, Path]]:
    """(vault, index dir) of every index in the per-user folder, by vault path."""
    found = []
    try:
        entries = sorted(indexes_dir().iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            meta = read_meta(entry) if entry.is_dir() else None
        except IndexCorruptError:
            continue
        if meta is not None:
            found.append((Path(meta.vault), entry))
    return sorted(found)


# ---------------------------------------------------------------------------------------
# Config file


def read_config() -> dict[str, str]:
    """The config file's keys (`vault`, `index`); empty if there is no file."""
    path = config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it") from exc
    out = {}
    for key, value in data.items():
        if key in CONFIG_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"{path}: `{key}` must be a string (a folder path)")
            out[key] = value
    return out


def semantic_enabled() -> bool:
    """Whether search by meaning is on by default: `SEARCHKIT_SEMANTIC`, else the config's
    `semantic` key (on/off), else on. An empty value counts as not set."""
    # Set but empty (`SEARCHKIT_SEMANTIC=`, as a shell or a client's config leaves it) is
    # not set, as for every other variable: the config decides, else on.
    value = os.environ.get(ENV_SEMANTIC, "").strip() or None
    if value is None:
        value = read_config().get("semantic", "").strip() or None
    if value is None:
        return True
    norm = value.lower()
    if norm in _OFF:
        return False
    if norm in _ON:
        return True
    raise ConfigError(f"semantic must be on or off, not {value!r}")


def write_config(updates: Mapping[str, str | None]) -> Path:
    """Set (or, with None, remove) config keys; other keys in the file are kept."""
    path = config_path()
    current: dict[str, object] = {}
    if path.is_file():
        try:
            current = dict(tomllib.loads(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it") from exc
    for key, value in updates.items():
        if key not in CONFIG_KEYS:
            raise ConfigError(f"unknown config key {key!r}; known: {', '.join(CONFIG_KEYS)}")
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    lines = ["# searchkit settings (`searchkit config` edits this file)"]
    for key, value in current.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: `{key}` is not a string; edit the file by hand")
        # A JSON string literal is a valid TOML basic string (same escapes).
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder; remove it and run this again")
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


# ---------------------------------------------------------------------------------------
# Finding the index


def locate(
    index_dir: str | os.PathLike[str] | None = None,
    vault: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Location:
    """Which index a command means (see the module docstring for the order).

    Raises `IndexNotFoundError` when nothing names or implies one, with what to do next.
    """
    vault_path = Path(vault).expanduser().resolve() if vault is not None else None
    if index_dir is not None:
        ix = Path(index_dir).expanduser().absolute()
        explicit = vault_path is None or ix != default_index_dir(vault_path)
        return Location(ix, vault_path, "--index", explicit_index=explicit)
    if vault_path is not None:
        return Location(default_index_dir(vault_path), vault_path, "--vault")
    try:
        here: Path | None = Path(cwd if cwd is not None else os.getcwd()).absolute()
    except OSError:  # the current folder was deleted: only the defaults below can apply
        here = None
    if here is not None:
        found = find_from(here)
        if found is not None:
            return Location(found[1], found[0], "current folder")
        legacy = here / LEGACY_INDEX_DIR
        if _has_meta(legacy):
            return Location(legacy, None, "./index", explicit_index=True)
    config = read_config()
    if config.get("index"):
        ix = Path(config["index"]).expanduser().absolute()
        return Location(ix, None, "config", explicit_index=True)
    if config.get("vault"):
        v = Path(config["vault"]).expanduser().resolve()
        return Location(default_index_dir(v), v, "config")
    known = known_indexes()
    if len(known) == 1:
        return Location(known[0][1], known[0][0], "only index")
    if not known:
        raise IndexNotFoundError(
            "no index yet: name the vault to build one, e.g. `searchkit index PATH/TO/VAULT`"
        )
    vaults = ", ".join(str(v) for v, _ in known[:5]) + (", …" if len(known) > 5 else "")
    raise IndexNotFoundError(
        f"{here or 'the current folder'} is not inside an indexed vault and no default "
        f"vault is set (indexed vaults: {vaults}); cd into one, pass --vault DIR, or set a default "
        "with `searchkit config vault DIR`"
    )


# ---------------------------------------------------------------------------------------
# Nested vaults and removing an index


def enclosing_vault(folder: str | os.PathLike[str]) -> tuple[Path, Path] | None:
    """(vault, index dir) of an indexed vault strictly above `folder`, or None: indexing
    `folder` on its own would make a nested index that hides it from searches run there."""
    here = Path(folder).expanduser().resolve()
    return find_from(here.parent) if here.parent != here else None


def forget_index(index_dir: str | os.PathLike[str]) -> int:
    """Delete the searchkit index in `index_dir` (the notes are untouched) and return the
    bytes freed. Only searchkit's own files go; the folder too when nothing else is left.

    Raises `IndexNotFoundError` when no index is there, `IndexCorruptError` when the folder
    holds files searchkit did not write (nothing is deleted then), `IndexLockedError` when
    a writer is at work on it.
    """
    folder = Path(index_dir).expanduser().absolute()
    if not (folder / META_FILE).is_file():
        raise IndexNotFoundError(f"no searchkit index at {folder}")
    foreign = foreign_entries(folder)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise IndexCorruptError(
            f"{folder} also holds files searchkit did not write ({shown}); nothing deleted"
        )
    freed = 0
    with write_lock(folder, timeout=0.5):
        # The meta first: from then on nothing opens the index, whatever is left.
        for name in [META_FILE, *sorted(os.listdir(folder))]:
            path = folder / name
            if name == LOCK_FILE or not is_ours(name) or not os.path.lexists(path):
                continue
            try:
                freed += path.lstat().st_size
                if path.is_dir() and not path.is_symlink():
                    import shutil

                    freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as exc:
                raise VaultError(f"cannot delete {path}: {exc.strerror or exc}") from exc
    try:
        (folder / LOCK_FILE).unlink()
        folder.rmdir()  # only when empty (a README an index folder keeps stays)
    except OSError:
        pass
    return freed
