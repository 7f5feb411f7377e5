"""The embeddable API: open_index() and SearchIndex."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import searchkit
from searchkit import IndexNotFoundError, QuerySyntaxError
from searchkit.errors import InvalidArgumentError


@pytest.fixture(autouse=True)
def _own_home(tmp_path, monkeypatch):
    # Default indexes and the config file go to the test's tmp_path, never the user's.
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    monkeypatch.delenv("SEARCHKIT_VAULT", raising=False)


def write_vault(root: Path, n: int = 12) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"note{i:02d}.md").write_text(
            f"---\ntitle: Note {i}\ntags: [t{i % 3}]\n---\n\n## Topic {i}\n"
            f"Shared words about gardening and topic{i} details.\n"
        )
    return root


def test_update_search_close(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        assert not ix.exists()
        report = ix.update()
        assert (report.added, report.notes, report.chunks) == (12, 12, 12)
        assert ix.exists() and ix.vault == vault.resolve() and ix.vault_name == "v"
        results = ix.search("topic7")
        assert [p.path for p in results] == ["note07.md"]
        assert results.total == 1 and results.suggestion is None
        assert isinstance(results[0], searchkit.Passage)
    with pytest.raises(searchkit.SearchkitError, match="closed"):
        ix.update()


def test_index_remembers_vault(tmp_path):
    vault = write_vault(tmp_path / "v")
    searchkit.open_index(tmp_path / "ix", vault).update()
    with searchkit.open_index(tmp_path / "ix") as ix:
        assert ix.vault == vault.resolve()
        assert ix.update().unchanged == 12


def test_search_sees_updates_without_reopening(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        assert len(ix.search("gardening", limit=50)) == 12
        (vault / "note03.md").unlink()
        (vault / "extra.md").write_text("# Extra\nbeekeeping and gardening\n")
        assert ix.needs_update()
        report = ix.refresh()
        assert report is not None and (report.added, report.removed) == (1, 1)
        paths = {p.path for p in ix.search("gardening", limit=50)}
        assert "note03.md" not in paths and "extra.md" in paths
        assert ix.refresh() is None  # nothing changed since


def test_search_after_rebuild_switches_index(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        assert ix.search("topic1")
        (vault / "note01.md").write_text("## Renamed\nnothing in common\n")
        assert ix.update(rebuild=True).rebuilt
        assert not ix.search("topic1")
        assert ix.search("common")[0].path == "note01.md"


def test_filters_as_keyword_arguments(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        tagged = ix.search("gardening", limit=50, tag="t1")
        assert {p.path for p in tagged} == {f"note{i:02d}.md" for i in range(12) if i % 3 == 1}
        assert {p.path for p in ix.search("gardening", limit=50, tag=["t0", "t1"])} == {
            f"note{i:02d}.md" for i in range(12) if i % 3 != 2
        }
        with pytest.raises(InvalidArgumentError, match="unknown search filter"):
            ix.search("gardening", colour="red")


def test_missing_index_raises_typed_error(tmp_path):
    with searchkit.open_index(tmp_path / "nothing") as ix, pytest.raises(
        IndexNotFoundError, match="searchkit index"
    ):
        ix.search("x")


def test_concurrent_searches_from_threads(tmp_path):
    vault = write_vault(tmp_path / "v", n=30)
    errors: list[BaseException] = []
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()

        def worker(k: int) -> None:
            try:
                for i in range(20):
                    n = (k * 7 + i) % 30
                    hits = ix.search(f"topic{n}")
                    assert [p.path for p in hits] == [f"note{n:02d}.md"]
            except BaseException as exc:  # collected for the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_query_errors_are_typed(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        for query in ['"open', "(", "AND", "-", "title:", "***", "~", "a OR"]:
            try:
                ix.search(query)
            except QuerySyntaxError as exc:
                assert "\n" not in str(exc)


def test_per_note_cap_when_one_note_dominates(tmp_path):
    vault = tmp_path / "v"
    vault.mkdir()
    sections = "\n".join(f"## Part {i}\nkelp kelp kelp forest {i}\n" for i in range(12))
    (vault / "kelp.md").write_text(sections)
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        # A second update adds a second segment: Whoosh collapses per segment.
        (vault / "other.md").write_text("## Aside\nA long passage that mentions kelp only "
                                        "once among many other words about tides and rocks.\n")
        ix.update()
        results = ix.search("kelp", limit=2, per_note=1)
        assert [p.path for p in results] == ["kelp.md", "other.md"]
        assert results.total >= 13
        assert len(ix.search("kelp", limit=20, per_note=3)) == 4


def test_arguments_the_cli_refuses_raise_typed_errors(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        bad = [
            dict(query=None), dict(query=b"bytes"), dict(query="x", limit=-1),
            dict(query="x", limit=0), dict(query="x", limit=True), dict(query="x", limit="3"),
            dict(query="x", offset=-5), dict(query="x", per_note=-1),
            dict(query="x", kind="bogus"), dict(query="x", kind=["section", "bogus"]),
            dict(query="x", tag=3), dict(query="x", colour="red"),
        ]
        for kwargs in bad:
            with pytest.raises(InvalidArgumentError) as info:
                ix.search(**kwargs)
            assert isinstance(info.value, searchkit.SearchkitError), kwargs
        assert ix.search("gardening", kind="section", tag=["t0"])
        with pytest.raises(InvalidArgumentError, match="jobs"):
            ix.update(jobs=0)


def test_update_with_a_missing_vault_creates_nothing(tmp_path):
    target = tmp_path / "ix"
    with pytest.raises(searchkit.VaultError, match="nonexistent"):
        searchkit.open_index(target, vault=tmp_path / "nonexistent").update()
    assert not target.exists()
    with pytest.raises(searchkit.VaultError, match="no vault given"):
        searchkit.open_index(target).update()
    assert not target.exists()


def test_empty_and_stopword_queries_are_explained(tmp_path):
    vault = write_vault(tmp_path / "v")
    with searchkit.open_index(tmp_path / "ix", vault) as ix:
        ix.update()
        with pytest.raises(QuerySyntaxError, match="empty"):
            ix.search("   ")
        with pytest.raises(QuerySyntaxError, match="too common or too short"):
            ix.search("the of")
        assert ix.search("", tag="t1")  # filters alone still select
        assert not ix.search("xylophone")  # a real word that is absent: no error


def test_open_index_finds_the_index_like_the_cli(tmp_path, monkeypatch):
    vault = write_vault(tmp_path / "v")
    (vault / "deep" / "er").mkdir(parents=True)
    with pytest.raises(IndexNotFoundError, match="no index yet"):
        searchkit.open_index()
    with searchkit.open_index(vault=vault) as ix:
        ix.update()
        assert ix.index_dir.parent == tmp_path / "home" / "data" / "indexes"
        assert ix.fix_command("VAULT") == f"searchkit index {vault.resolve()}"
    monkeypatch.chdir(vault / "deep" / "er")
    with searchkit.open_index() as ix:
        assert ix.location.how == "current folder" and ix.vault == vault.resolve()
        assert [p.path for p in ix.search("topic3")] == ["note03.md"]
    with searchkit.open_index(tmp_path / "custom", vault) as ix:
        assert ix.fix_command("--rebuild VAULT").endswith(f"--index {tmp_path / 'custom'}")
