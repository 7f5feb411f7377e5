"""Words and meaning together (issue 22), with the real shipped model: one passage copied
into several notes is one result; weak word evidence yields to meaning; a query naming
nothing the notes know lists nothing in any mode; an identifier typed verbatim brings its
passage first; frontmatter values are words; totals count what can be listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from vaults import write_vault

import searchkit
from searchkit.retrieve.hybrid import is_identifier
from searchkit.surfaces.cli import main

PAGE = (
    "---\ntitle: Invoke-Command\n---\n\n# Invoke-Command\n\n## Description\n"
    "Runs commands on local and remote computers and returns all output.\n"
)
NOTES = {
    # one reference page in three version folders: one answer, not three
    "5.1/Invoke-Command.md": PAGE,
    "7.4/Invoke-Command.md": PAGE,
    "7.5/Invoke-Command.md": PAGE,
    "talks.md": (
        "---\ntitle: Giving talks\n---\n\n## Stage fright\n"
        "Many presenters get anxious and nervous before they go on stage in front of an "
        "audience; their hands shake and their voice trembles.\n"
    ),
    # one common word of the paraphrase, and nothing of its meaning
    "library.md": (
        "# Library\n\n## Opening hours\nThe public library opens at nine on weekdays and "
        "closes early on public holidays.\n"
    ),
    "ssh.md": (
        "# Remote shells\n\n## Server settings\nEdit sshd_config to turn off password "
        "logins and allow keys only.\n\n## Connecting\nSecure shell clients connect to a "
        "server over an encrypted channel and log in with a key pair.\n"
    ),
    "video.md": (
        "---\ntitle: Octopus minds\nvideoId: Zq7Xw3Lm9Pk\nchannel: Deep Sea Lab\n---\n\n"
        "## Arms that think\nTwo thirds of an octopus's neurons sit in its arms.\n"
    ),
    "garden.md": "# Garden\n\n## Tomatoes\nWater tomatoes deeply twice a week.\n",
}


@pytest.fixture(autouse=True)
def _semantic_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHKIT_SEMANTIC", "on")  # conftest.py turns it off elsewhere


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fusion")
    vault = write_vault(root / "vault", NOTES)
    index = root / "index"
    with searchkit.open_index(index, vault=vault, embedder="auto") as ix:
        ix.update()
        ix.embed()
    return index


def cli(index: Path, *args: str) -> tuple[int, str]:
    env = {"SEARCHKIT_NO_SERVER": "1", "SEARCHKIT_SEMANTIC": "on", "NO_COLOR": "1",
           "COLUMNS": "100"}
    result = CliRunner().invoke(main, ["search", "--index", str(index), *args], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "semantic"])
def test_a_passage_copied_into_several_notes_is_one_result(built: Path, mode: str):
    with searchkit.open_index(built) as ix:
        found = ix.search("remote computers output", mode=mode, per_note=0)
    pages = [p for p in found if p.path.endswith("Invoke-Command.md")]
    assert len(pages) == 1, [p.path for p in found]
    others = {"5.1/Invoke-Command.md", "7.4/Invoke-Command.md", "7.5/Invoke-Command.md"}
    assert set(pages[0].also_in) == others - {pages[0].path}
    assert found.total == len(found) or found.total >= len(found)
    assert found.available is None or found.available >= len(found)


def test_copies_are_said_in_text_and_json(built: Path):
    code, text = cli(built, "remote computers output")
    assert code == 0 and text.count("Invoke-Command.md:") == 1
    assert "also in" in text
    code, raw = cli(built, "remote computers output", "--json")
    data = json.loads(raw)
    copies = [r for r in data["results"] if r["path"].endswith("Invoke-Command.md")]
    assert len(copies) == 1 and len(copies[0]["also_in"]) == 2
    assert data["total"] >= len(data["results"])


def test_weak_word_evidence_yields_to_meaning(built: Path):
    with searchkit.open_index(built) as ix:
        hybrid = ix.search("fear of public speaking")
        lexical = ix.search("fear of public speaking", mode="lexical")
    # By words the library's "public" is the best there is; by both, the stage fright.
    assert lexical[0].path == "library.md"
    assert hybrid[0].path == "talks.md"
    assert hybrid.total >= len(hybrid) and hybrid.available >= len(hybrid)


@pytest.mark.parametrize("query", [
    "xylophonic",  # a word in no note
    "Zr4Tq8Wn2Vb",  # a video ID no note has
    "a35d8512e9f04c11",  # a hash
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",  # a GUID
])
@pytest.mark.parametrize("mode", ["lexical", "hybrid", "semantic"])
def test_a_query_naming_nothing_the_notes_hold_lists_nothing(built: Path, query: str,
                                                               mode: str):
    with searchkit.open_index(built) as ix:
        found = ix.search(query, mode=mode)
    assert list(found) == [] and found.total == 0, [(p.path, p.score) for p in found]
    code, raw = cli(built, query, "--mode", mode, "--json")
    data = json.loads(raw)
    assert code == 1 and data["results"] == [] and data["total"] == 0


def test_an_identifier_typed_verbatim_comes_first(built: Path):
    for mode in ("lexical", "hybrid"):
        with searchkit.open_index(built) as ix:
            found = ix.search("sshd_config", mode=mode)
        assert found[0].path == "ssh.md" and found[0].heading_path[-1] == "Server settings"
    # Beside words meaning finds too, the holder still leads.
    with searchkit.open_index(built) as ix:
        found = ix.search("sshd_config secure login")
    assert found[0].heading_path[-1] == "Server settings"


def test_frontmatter_values_are_words(built: Path):
    with searchkit.open_index(built) as ix:
        by_id = ix.search("Zq7Xw3Lm9Pk")
        by_channel = ix.search("deep sea lab", mode="lexical")
    assert by_id and {p.path for p in by_id} == {"video.md"}
    assert by_channel[0].path == "video.md"


def test_identifier_shapes():
    for word in ("sshd_config", "System.Collections.Hashtable", "Get-ChildItem", "0x80070005",
                 "ExecutionPolicy", "dQw4w9WgXcQ", "notes.md", "COVID-19"):
        assert is_identifier(word), word
    for word in ("memory", "sleep", "self-doubt", "HTTP", "Hello", "e.g."):
        assert not is_identifier(word), word


def test_meaning_across_several_vaults_on_one_scale(tmp_path: Path):
    indexes = []
    for name, notes in (("talks", {"talks.md": NOTES["talks.md"]}),
                        ("home", {"library.md": NOTES["library.md"],
                                  "garden.md": NOTES["garden.md"]})):
        vault = write_vault(tmp_path / name, notes)
        ix = searchkit.open_index(tmp_path / f"{name}.index", vault=vault, embedder="auto")
        ix.update()
        ix.embed()
        indexes.append(ix)
    try:
        many = searchkit.api.search_many(indexes, "fear of public speaking")
        assert many[0].path == "talks.md" and many.vaults[0].name == "talks"
        assert many.semantic is not None and many.semantic["share"] == 1.0
        words = searchkit.api.search_many(indexes, "fear of public speaking", mode="lexical")
        assert [p.path for p in words] == ["library.md"]
        alone = searchkit.api.search_many(indexes, "fear of public speaking", mode="semantic")
        assert alone[0].path == "talks.md"
    finally:
        for ix in indexes:
            ix.close()


def _ranked(ix: searchkit.SearchIndex, query: str, mode: str) -> list[tuple[str, float]]:
    return [(p.id, round(p.score, 5)) for p in ix.search(query, mode=mode, limit=20)]


def test_vectors_are_scanned_from_the_codes_a_finished_pass_leaves(tmp_path: Path):
    # A finished pass leaves int8 codes, error bounds, the mean, float16 rows and keys; a
    # search over them ranks as the exact float32 scan of the segments does, and so does
    # one whose files are damaged or gone (the segments are read) or an index an older
    # version left (its float32 matrix is mapped).
    notes = {**{k: NOTES[k] for k in ("talks.md", "garden.md", "ssh.md", "library.md")},
             **{f"more/n{i}.md": f"# Note {i}\n\n## Part\nSleep, dreams and memory {i}; "
                f"tomatoes, servers and stage fright {i * 7}.\n" for i in range(30)}}
    vault = write_vault(tmp_path / "vault", notes)
    index = tmp_path / "index"
    queries = ["fear of public speaking", "password logins", "watering the garden"]
    with searchkit.open_index(index, vault=vault, embedder="auto") as ix:
        ix.update()
        ix.embed()
        scanned = {(q, m): _ranked(ix, q, m) for q in queries for m in ("hybrid", "semantic")}
    folder = next(p for p in (index / "vectors").iterdir() if p.is_dir())
    kinds = sorted(p.name.split("-")[0] for p in folder.glob("*-*.npy") if p.name[:4] != "seg-")
    assert kinds == ["bounds", "codes", "keys", "mean", "rows"]
    assert scanned[queries[0], "hybrid"][0][0].startswith("talks.md")

    def same_as_scanned(damaged: bool = False) -> None:
        with searchkit.open_index(index, vault=vault, embedder="auto") as ix:
            got = {(q, m): _ranked(ix, q, m) for q in queries for m in ("hybrid", "semantic")}
            check = ix.check()  # damaged search files are said, with the way out
            assert check.sound != damaged
            assert not damaged or "`searchkit index` writes them again" in check.problems[0]
        assert got == scanned

    # An older version's files: a float32 matrix beside the keys, no codes.
    import numpy as np

    name = next(folder.glob("keys-*.npy")).name[len("keys-"):]
    rows = np.load(folder / f"rows-{name}")
    np.save(folder / f"matrix-{name}", rows.astype(np.float32))
    for kind in ("codes", "bounds", "mean", "rows"):
        (folder / f"{kind}-{name}").unlink()
    same_as_scanned()
    # Damaged, the codes are passed over: the segments are the truth.
    with searchkit.open_index(index, vault=vault, embedder="auto") as ix:
        ix.embed()  # a finished pass over an older version's files writes the codes
    assert not list(folder.glob("matrix-*.npy"))
    codes = folder / f"codes-{name}"
    codes.write_bytes(codes.read_bytes()[:100])
    same_as_scanned(damaged=True)
    codes.unlink()
    same_as_scanned(damaged=True)
    # A later pass over changed notes leaves the files of the new segments only.
    (vault / "sleep.md").write_text("# Sleep\n\n## Dreams\nREM sleep brings vivid dreams.\n")
    with searchkit.open_index(index, vault=vault, embedder="auto") as ix:
        ix.update()
        ix.embed()
        assert ix.search("nightmares while asleep")[0].path == "sleep.md"
    assert len(list(folder.glob("codes-*.npy"))) == 1 and len(list(folder.glob("keys-*"))) == 1


def test_a_guid_is_not_corrected_part_by_part(tmp_path: Path):
    # "ACBC" is one edit from "abc", which a note holds: a GUID is a code, not a misspelt
    # name, and one no note holds lists nothing.
    vault = write_vault(tmp_path / "vault", {"abc.md": "# ABC\n\nThe abc of comparison.\n"})
    with searchkit.open_index(tmp_path / "index", vault=vault) as ix:
        ix.update()
        found = ix.search("34C2AB45-56F3-42F5-ACBC-CB9511B7C068", mode="lexical")
    assert list(found) == [] and found.corrected == ()
