"""The documentation stays runnable: README.md and docs/*.md.

- Every fenced ```python block is run in a copy of examples/vault (cwd = a temp folder
  holding `examples/vault`; HOME, XDG_* and SEARCHKIT_* point into it or are unset).
- Every `searchkit ...` command shown in a console/sh/bash block names a real subcommand
  (`searchkit SUB --help` works) and parses: its options exist. A command whose shown
  output is click's "No such option" error must fail to parse, as shown.
- Every relative link points to a file that exists, and a `#fragment` to a heading there.

A block that must not run is marked with `<!-- no-test -->` on the line before its fence.
"""

from __future__ import annotations

import re
import shlex
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from searchkit.surfaces.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NO_TEST = "<!-- no-test -->"
SHELL_LANGS = {"console", "sh", "shell", "bash"}
OPERATORS = {"&&", "||", "|", ";", "&"}

# The README's set-up block: CI runs its test command, so it must not drift.
SETUP_BLOCK = """```bash
# Install, index the demo vault, search it:
pip install . && searchkit index examples/vault && searchkit search sleep spindles

# Install the test dependencies and run the test suite (this is what CI runs):
pip install ".[test]" && python -m pytest
```
"""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    no_test: bool

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")


def fenced_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        no_test = i > 0 and lines[i - 1].strip() == NO_TEST
        out.append(Block(path, i + 1, lang, "\n".join(lines[i + 1 : j]) + "\n", no_test))
        i = j + 1
    return out


def all_blocks(*langs: str) -> list[Block]:
    return [b for p in DOCS for b in fenced_blocks(p) if b.lang in langs]


# --- python blocks ---------------------------------------------------------------------


PYTHON = [b for b in all_blocks("python") if not b.no_test]


@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp folder holding a copy of examples/vault, as cwd, with per-user folders
    inside it and no SEARCHKIT_* setting from outside."""
    shutil.copytree(ROOT / "examples" / "vault", tmp_path / "examples" / "vault")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in [("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")]:
        monkeypatch.setenv(var, str(home / sub))
    for var in ("SEARCHKIT_HOME", "SEARCHKIT_INDEX", "SEARCHKIT_VAULT", "SEARCHKIT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SEARCHKIT_NO_SERVER", "1")
    monkeypatch.setenv("SEARCHKIT_SEMANTIC", "off")  # no model runs: see conftest.py
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("block", PYTHON, ids=[b.name for b in PYTHON])
def test_python_block_runs(block: Block, docs_env: Path) -> None:
    code = compile(block.text, block.name, "exec")
    exec(code, {"__name__": "__docs__"})


def test_there_are_python_examples() -> None:
    assert len(PYTHON) >= 2, "the README and docs/python-api.md show runnable Python"


# --- searchkit command lines -----------------------------------------------------------


@dataclass(frozen=True)
class Command:
    block: Block
    line: str  # as shown, without the prompt
    args: tuple[str, ...]  # after `searchkit`
    output: str  # what the doc shows it printing (console blocks)

    @property
    def name(self) -> str:
        return f"{self.block.name}: searchkit {' '.join(self.args)}"


def _split(line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at &&, ||, |, ; and &, comments cut."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    segments: list[list[str]] = [[]]
    for token in lex:
        if token in OPERATORS:
            segments.append([])
        else:
            segments[-1].append(token)
    return [s for s in segments if s]


def commands(block: Block) -> list[Command]:
    lines = block.text.rstrip("\n").split("\n")
    found: list[Command] = []
    for i, raw in enumerate(lines):
        if block.lang == "console":
            if not raw.startswith("$ "):
                continue
            line = raw[2:]
            rest = []
            for later in lines[i + 1 :]:
                if later.startswith("$ "):
                    break
                rest.append(later)
            output = "\n".join(rest)
        else:
            line = raw.removeprefix("$ ").strip()
            if not line or line.startswith("#"):
                continue
            output = ""
        for segment in _split(line):
            if segment[0] == "searchkit":
                found.append(Command(block, line, tuple(segment[1:]), output))
    return found


SHELL = [b for b in all_blocks(*SHELL_LANGS) if not b.no_test]
COMMANDS = [c for b in SHELL for c in commands(b)]


def test_there_are_command_examples() -> None:
    shown = {c.args[0] for c in COMMANDS if c.args}
    assert {"index", "search", "read", "status"} <= shown


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_command_line_parses(cmd: Command) -> None:
    args = list(cmd.args)
    sub = args[0] if args and not args[0].startswith("-") else None
    result = CliRunner().invoke(main, [sub, "--help"] if sub else ["--help"])
    assert result.exit_code == 0, f"`searchkit {sub} --help` failed:\n{result.output}"
    assert "Usage:" in result.output
    if sub is None:
        return
    command = main.get_command(click.Context(main, info_name="searchkit"), sub)
    assert command is not None, f"no command `searchkit {sub}`"
    parent = click.Context(main, info_name="searchkit")
    expect_error = "No such option" in cmd.output
    try:
        command.make_context(sub, args[1:], parent=parent)
    except click.NoSuchOption as exc:
        assert expect_error, f"`{cmd.line}` does not parse: {exc.format_message()}"
        return
    except click.BadParameter:
        pass  # a value this machine lacks (a path in an example): the names parsed
    except click.UsageError as exc:
        pytest.fail(f"`{cmd.line}` does not parse: {exc.format_message()}")
    assert not expect_error, f"`{cmd.line}` parses, but the doc shows an error"


# --- links -----------------------------------------------------------------------------


_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def outside_fences(path: Path) -> str:
    """The text of a markdown file with fenced code blocks blanked out."""
    lines = path.read_text(encoding="utf-8").split("\n")
    kept: list[str] = []
    fence: str | None = None
    for line in lines:
        m = _FENCE.match(line)
        if fence is None and m is not None:
            fence = m.group(1)
            kept.append("")
        elif fence is not None:
            if line.startswith(fence):
                fence = None
            kept.append("")
        else:
            kept.append(line)
    return "\n".join(kept)


def prose(path: Path) -> str:
    """The text of a markdown file outside fenced code blocks and inline code."""
    return _INLINE_CODE.sub("", outside_fences(path))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower case, punctuation dropped
    (hyphens and underscores kept), spaces as hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_]{1,2}([^*_]+)[*_]{1,2}", r"\1", text)
    out = []
    for ch in text.strip().lower():
        cat = unicodedata.category(ch)
        if ch in "-_" or cat[0] in "LN" or cat == "Mn":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in outside_fences(path).split("\n"):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m is None:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    text = prose(path)
    return _LINK.findall(text) + _REF_DEF.findall(text)


LINKED = [(p, target) for p in DOCS for target in links(p)]


def test_the_docs_link_to_each_other() -> None:
    assert any(t.startswith("docs/") for p, t in LINKED if p.name == "README.md")
    assert len(LINKED) > 20


@pytest.mark.parametrize(("path", "target"), LINKED,
                         ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in LINKED])
def test_relative_link_resolves(path: Path, target: str) -> None:
    if _SCHEME.match(target):
        return  # http(s), mailto…: not checked offline
    file_part, _, fragment = target.partition("#")
    dest = (path.parent / file_part).resolve() if file_part else path
    assert dest.exists(), f"{path.relative_to(ROOT)} links to missing {target}"
    if fragment and dest.suffix == ".md":
        assert fragment in anchors(dest), (
            f"{path.relative_to(ROOT)} links to #{fragment}, not a heading of {dest.name}"
        )


# --- the front door ----------------------------------------------------------------------


def test_readme_setup_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SETUP_BLOCK in readme


def test_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"README.md has {lines} lines; move detail into docs/"
