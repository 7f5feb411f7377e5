"""Search by meaning with the real shipped models (all-MiniLM-L6-v2 int8, WordLlama) on a
tiny vault: paraphrases found, constraints kept, embedding resumable, model changes
re-embed, partial vectors said."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from vaults import write_vault

import searchkit
from searchkit.errors import (
    IndexCorruptError,
    InvalidArgumentError,
    SemanticUnavailableError,
)
from searchkit.store import embedding
from searchkit.surfaces.cli import main

# No note shares a content word with the query "fear of public speaking": the answer is
# found by meaning only.
NOTES = {
    "talks.md": (
        "---\ntitle: Giving talks\ntags: [work]\n---\n\n"
        "## Stage fright\n"
        "Many presenters get anxious and nervous before they go on stage in front of an "
        "audience; their hands shake and their voice trembles.\n\n"
        "## Slides\nKeep each slide to a single idea and use large fonts.\n"
    ),
    "garden.md": (
        "# Garden\n\n## Tomatoes\nWater tomatoes deeply twice a week and stake them early.\n\n"
        "## Compost\nTurn the compost heap every fortnight so it stays warm.\n"
    ),
    "rust.md": (
        "# Rust ownership\n\n## Borrowing\nReferences borrow values without taking "
        "ownership; the borrow checker enforces lifetimes.\n"
    ),
    "sleep.md": (
        "---\ntitle: Sleep and memory\ntags: [health]\n---\n\n"
        "## Slow-wave sleep\nDuring deep sleep the hippocampus replays the day.\n\n"
        "## Dreams\nREM sleep brings vivid dreams and emotional processing.\n"
    ),
}
PARAPHRASE = "fear of public speaking"


@pytest.fixture(autouse=True)
def _semantic_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHKIT_SEMANTIC", "on")  # conftest.py turns it off elsewhere


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "vault", NOTES)


@pytest.fixture
def built(vault: Path, tmp_path: Path) -> Path:
    index = tmp_path / "index"
    with searchkit.open_index(index, vault=vault) as ix:
        ix.update()
        report = ix.embed()
    assert report.embedded == report.passages == report.with_vectors > 0
    return index


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for var in ("SEARCHKIT_INDEX", "SEARCHKIT_VAULT", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEARCHKIT_NO_SERVER", "1")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_paraphrase_found_by_meaning_and_not_by_words(built: Path):
    with searchkit.open_index(built) as ix:
        hybrid = ix.search(PARAPHRASE)
        assert hybrid[0].path == "talks.md" and hybrid[0].heading_path == ("Stage fright",)
        assert hybrid.semantic == {"mode": "hybrid", "embedded": 7, "passages": 7, "share": 1.0}
        # By words (with spelling corrections) the answer is not found at all.
        lexical = ix.search(PARAPHRASE, mode="lexical", per_note=0, limit=50)
        assert ("Stage fright",) not in [p.heading_path for p in lexical]
        semantic = ix.search(PARAPHRASE, mode="semantic")
        assert semantic[0].heading_path == ("Stage fright",)
        # Unrelated words find nothing by meaning either: "no match" is still said.
        assert len(ix.search("quantum chromodynamics lattice")) == 0


def test_cli_index_embeds_and_search_modes(run, vault: Path):
    result = run("index", str(vault))
    assert result.exit_code == 0, result.output
    assert "Embedded 7 passages" in result.output and "7 of 7 passages (100 %)" in result.output
    found = run("search", PARAPHRASE, "--json")
    assert found.exit_code == 0
    data = json.loads(found.output)
    assert data["results"][0]["heading_path"] == ["Stage fright"]
    assert data["semantic"]["share"] == 1.0
    lexical = run("search", PARAPHRASE, "--mode", "lexical", "--json").output
    assert "Stage fright" not in lexical
    explained = run("search", PARAPHRASE, "--explain", "--mode", "hybrid").output
    assert "hybrid" in explained and "meaning" in explained and "cosine" in explained
    status = run("status").output
    assert "semantic     on (all-MiniLM-L6-v2-int8): 7 of 7 passages embedded (100 %)" in status
    again = run("index")
    assert "No passage to embed" in again.output


def test_hard_constraints_hold_for_passages_found_by_meaning(built: Path):
    with searchkit.open_index(built) as ix:
        assert all(p.path == "sleep.md" for p in ix.search(PARAPHRASE, tag="health"))
        assert ix.search(PARAPHRASE, tag="work")[0].path == "talks.md"
        # An excluded word, a required phrase and a path filter bind meaning too.
        assert all(p.path != "talks.md" for p in ix.search(f"{PARAPHRASE} -anxious"))
        assert all(p.path != "talks.md" for p in ix.search(f'{PARAPHRASE} "deep sleep"'))
        assert all(p.path == "garden.md" for p in ix.search(PARAPHRASE, path="garden"))
        # Word forms asked for (fuzzy, prefix) bring in nothing by meaning alone.
        assert all(p.path != "talks.md" for p in ix.search("fearr~ publi* speak*"))


def test_no_semantic_opt_out_and_config(run, vault: Path, monkeypatch: pytest.MonkeyPatch):
    result = run("index", str(vault), "--no-semantic")
    assert "Embedded" not in result.output
    assert "semantic     on" in run("status").output
    monkeypatch.delenv("SEARCHKIT_SEMANTIC")  # the config file decides from here
    assert "0 of 7 passages embedded (0 %)" in run("status").output
    assert "Stage fright" not in run("search", PARAPHRASE).output  # no vectors: words only
    assert run("config", "semantic", "off").exit_code == 0
    assert "semantic     off" in run("status").output
    run("index")
    assert "0 of 7" not in run("status").output  # off: nothing embedded, status says off
    assert run("config", "semantic", "on").exit_code == 0
    assert "Embedded 7 passages" in run("index").output


def test_an_empty_semantic_variable_means_the_default(run, vault: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    """`SEARCHKIT_SEMANTIC=` (set but empty) is not set: on, unless the config says off."""
    assert run("index", str(vault), "--no-semantic").exit_code == 0
    monkeypatch.setenv("SEARCHKIT_SEMANTIC", "")
    result = run("status")
    assert result.exit_code == 0 and "semantic     on" in result.output, result.output
    from searchkit.api import semantic_enabled

    assert semantic_enabled()
    assert run("config", "semantic", "off").exit_code == 0
    assert "semantic     off" in run("status").output
    monkeypatch.setenv("SEARCHKIT_SEMANTIC", "maybe")  # a wrong value is still an error
    assert "semantic must be on or off" in run("status").output


def test_interrupted_embedding_keeps_its_work_and_resumes(vault: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(embedding, "BATCH", 2)
    monkeypatch.setattr(embedding, "FLUSH_SECONDS", 0.0)
    index = tmp_path / "index"
    calls = []

    def stop_after_two(p: embedding.EmbedProgress) -> None:
        calls.append(p.done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with searchkit.open_index(index, vault=vault) as ix:
        ix.update()
        with pytest.raises(KeyboardInterrupt):
            ix.embed(progress=stop_after_two)
        status = ix.semantic_status()
        assert (status.embedded, status.passages) == (4, 7)
        results = ix.search("sleep")
        assert results.semantic["share"] == round(4 / 7, 4)
        report = ix.embed()
        assert report.embedded == 3 and report.with_vectors == 7


def test_partial_vectors_are_said_by_the_cli(run, vault: Path, monkeypatch):
    monkeypatch.setattr(embedding, "BATCH", 2)
    monkeypatch.setattr(embedding, "FLUSH_SECONDS", 0.0)
    run("index", str(vault), "--no-semantic")
    index = next((Path("home") / "data" / "indexes").resolve().iterdir())
    with searchkit.open_index(index) as ix, pytest.raises(KeyboardInterrupt):
        ix.embed(progress=lambda p: (_ for _ in ()).throw(KeyboardInterrupt))
    result = run("search", "sleep")
    assert "semantic: 29 % of passages embedded (2 of 7)" in result.output


def test_killed_index_run_resumes_embedding(vault: Path, tmp_path: Path):
    # Enough passages that embedding outlasts the first flush.
    many = {f"bulk/n{i}.md": f"# Note {i}\n\n" + "".join(
        f"## Part {j}\nSection {j} of note {i} about topic {i * 31 + j}.\n\n" for j in range(20)
    ) for i in range(60)}
    write_vault(vault, many)
    index = tmp_path / "index"
    env = {**os.environ, "SEARCHKIT_HOME": str(tmp_path / "home"), "SEARCHKIT_NO_SERVER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "index", str(vault), "--index", str(index)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    segments: list[Path] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        segments = list((index / "vectors").glob("*/seg-*.npy"))
        if segments:
            break
        time.sleep(0.2)
    if proc.poll() is not None:
        pytest.skip("the embedding pass finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with searchkit.open_index(index) as ix:
        first = ix.semantic_status()
        assert 0 < first.embedded < first.passages  # what was written is kept, and whole
        assert ix.check().sound
        report = ix.embed()
        assert report.embedded == first.passages - first.embedded
        assert ix.semantic_status().embedded == first.passages


def test_model_change_reembeds_and_auto_follows_it(built: Path):
    with searchkit.open_index(built, embedder="wordllama") as ix:
        report = ix.embed()
        assert report.embedded == 7 and report.model.startswith("wordllama")
        assert len(report.dropped_models) == 1  # the MiniLM vectors are gone
        assert ix.search(PARAPHRASE, mode="semantic")[0].path == "talks.md"
    folders = [p.name for p in (built / "vectors").iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].startswith("wordllama")
    with searchkit.open_index(built) as ix:  # "auto": the model the vectors were made with
        assert ix.semantic_status().model.startswith("wordllama")
        assert ix.semantic_status().embedded == 7


def test_edited_note_reembeds_only_changed_passages(built: Path, vault: Path):
    text = (vault / "garden.md").read_text().replace("twice a week", "every morning")
    (vault / "garden.md").write_text(text)
    (vault / "garden2.md").write_text((vault / "rust.md").read_text())  # same text: reused
    with searchkit.open_index(built) as ix:
        ix.update()
        assert ix.embed().embedded == 1


class Letters:
    """A user's own embedder: letter counts (deterministic, no model)."""

    name, version, dimension = "letters", "1", 26

    def embed_passages(self, texts):
        return np.vstack([self.embed_query(t) for t in texts])

    def embed_query(self, text):
        v = np.zeros(26, dtype=np.float32)
        for ch in text.lower():
            if "a" <= ch <= "z":
                v[ord(ch) - 97] += 1
        return v / max(float(np.linalg.norm(v)), 1e-9)


def test_user_embedder_and_bad_arguments(vault: Path, tmp_path: Path):
    index = tmp_path / "index"
    with searchkit.open_index(index, vault=vault, embedder=Letters()) as ix:
        ix.update()
        assert ix.embed().model == "letters"
        assert ix.semantic_status().model == "letters"
        with pytest.raises(InvalidArgumentError, match="mode"):
            ix.search("sleep", mode="vector")
    with pytest.raises(InvalidArgumentError, match="embed_query"):
        searchkit.open_index(index, embedder=object())
    with searchkit.open_index(index, embedder="nosuchmodel") as ix:
        assert "no embedding model named 'nosuchmodel'" in ix.semantic_status().reason
        with pytest.raises(SemanticUnavailableError):
            ix.embed()
    with searchkit.open_index(index, embedder=None) as ix:
        assert ix.semantic_status().enabled is False
        with pytest.raises(SemanticUnavailableError):
            ix.search("sleep", mode="semantic")


def test_damaged_vector_file_is_reported(built: Path):
    (segment,) = (built / "vectors").glob("*/seg-*.npy")
    segment.write_bytes(segment.read_bytes()[:100])
    with searchkit.open_index(built) as ix:
        check = ix.check()
        assert not check.sound and any("vector file" in p for p in check.problems)
        with pytest.raises(IndexCorruptError, match="vector file"):
            ix.search(PARAPHRASE, mode="semantic")
        # A hybrid search ranks by words and names the file (issue 23 item 7).
        assert "vector file" in ix.search("hippocampus").semantic["warning"]


def test_time_budget_embeds_in_slices(vault: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(embedding, "BATCH", 3)
    with searchkit.open_index(tmp_path / "index", vault=vault) as ix:
        ix.update()
        first = ix.embed(max_seconds=0)
        assert (first.embedded, first.remaining) == (3, 4)
        rest = ix.embed()
        assert (rest.embedded, rest.remaining, rest.with_vectors) == (4, 0, 7)


def _eventually(check, seconds: float = 90.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_live_index_embeds_new_passages_in_the_background(vault: Path, tmp_path: Path):
    from searchkit.surfaces.serving import LiveIndex

    index = tmp_path / "index"
    with searchkit.open_index(index, vault=vault) as ix:
        ix.update()  # words only: the server gives the vectors
    with LiveIndex(index, vault, watch=False) as live:
        assert _eventually(lambda: live.ix.semantic_status().embedded == 7)
        assert live.search(PARAPHRASE)[0].heading_path == ("Stage fright",)
        (vault / "new.md").write_text("# Lakes\n\n## Ice\nSkating on frozen ponds in winter.\n")
        live.search("ponds")  # refreshes (no watcher here), which wakes the embedder
        assert _eventually(lambda: live.ix.semantic_status().embedded == 8)


def test_mcp_takes_the_mode(built: Path):
    from test_alwayson import INIT, INITED, _mcp_lines, _tool

    answers, _ = _mcp_lines(["--index", str(built)], [
        INIT, INITED,
        _tool(1, "search", query=PARAPHRASE, mode="semantic"),
        _tool(2, "search", query=PARAPHRASE, mode="nonsense"),
    ], expect=3)
    by_id = {a["id"]: a for a in answers if a.get("id")}
    found = json.loads(by_id[1]["result"]["content"][0]["text"])["results"]
    assert found[0]["heading"] == ["Stage fright"]
    assert by_id[2].get("error") or by_id[2]["result"]["isError"]


def test_http_takes_the_mode(built: Path, vault: Path):
    from test_http import SERVE_FILE, TOKEN, Server

    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "serve", "--index", str(built), "--port", "0",
         "--token", TOKEN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        info = built / SERVE_FILE
        assert _eventually(info.exists, 30)
        server = Server(vault, built, json.loads(info.read_text())["port"], proc)
        status, data = server.get("/search", q=PARAPHRASE, mode="semantic")
        assert status == 200 and data["results"][0]["heading_path"] == ["Stage fright"]
        assert data["semantic"]["mode"] == "semantic"
        status, data = server.get("/search", q=PARAPHRASE, mode="lexical")
        assert status == 200 and data["semantic"] is None
        status, data = server.get("/search", q=PARAPHRASE, mode="vector")
        assert status == 400 and "mode" in data["error"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_vectors_of_another_model_version_fall_back_to_words(built: Path):
    model_file = built / "vectors" / "model.json"
    record = json.loads(model_file.read_text())
    folder = built / "vectors" / record["key"]
    folder.rename(folder.with_name(record["key"] + "-old"))
    model_file.write_text(json.dumps({**record, "key": record["key"] + "-old"}))
    with searchkit.open_index(built) as ix:
        results = ix.search("hippocampus")  # words only, no error
        assert results and results.semantic is None
        status = ix.semantic_status()
        assert not status.enabled and "another model" in status.reason
        with pytest.raises(SemanticUnavailableError, match="another model"):
            ix.search("hippocampus", mode="semantic")
        assert ix.embed().embedded == 7  # embedding again makes them usable
        assert ix.search(PARAPHRASE).semantic["share"] == 1.0


def test_index_embeds_again_after_a_model_version_change(run, vault: Path):
    # `status` says "run searchkit index to embed again": the CLI's index must do it.
    run("index", str(vault))
    index = next((Path("home") / "data" / "indexes").resolve().iterdir())
    model_file = index / "vectors" / "model.json"
    record = json.loads(model_file.read_text())
    folder = index / "vectors" / record["key"]
    folder.rename(folder.with_name(record["key"] + "-old"))
    model_file.write_text(json.dumps({**record, "key": record["key"] + "-old"}))
    assert "another model" in run("status").output
    assert "Embedded 7 passages" in run("index").output
    assert "7 of 7 passages embedded (100 %)" in run("status").output


def test_index_while_another_process_embeds_says_how_to_finish(run, vault: Path):
    # A watcher embedding in the background holds the embedding lock: `index` indexed the
    # words, skipped the vectors and said only "index is locked … try again" (issue 23
    # item 9). One warning line now says what waits and how it gets done.
    from searchkit.store.indexdir import write_lock

    assert run("index", str(vault)).exit_code == 0
    index = next((Path("home") / "data" / "indexes").resolve().iterdir())
    (vault / "lakes.md").write_text("# Lakes\n\n## Ice\nSkating on frozen ponds.\n")
    key = json.loads((index / "vectors" / "model.json").read_text())["key"]
    with write_lock(index / "vectors" / key, 1.0):  # the watcher's embedding slice
        result = run("index", "--lock-timeout", "0.5")
    assert result.exit_code == 0
    assert "1 added" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "another process is embedding" in warnings[0]
    assert "`searchkit watch`" in warnings[0] and "run `searchkit index` again" in warnings[0]
    assert "7 of 8 passages embedded" in run("status").output


# ---------------------------------------------------------------------------------------
# The vectors folder is not trusted (issue 23 item 7): a planted or damaged model.json or
# segment is reported as damage (IndexCorruptError: `--mode semantic`, `status --check`)
# and a hybrid search ranks by words, saying so; nothing hangs, nothing is read from
# outside the index.


def _model_file(index: Path) -> Path:
    return index / "vectors" / "model.json"


def _plant_model(index: Path, **changes: Any) -> None:
    path = _model_file(index)
    record = json.loads(path.read_text())
    for key, value in changes.items():
        if value is _MISSING:
            record.pop(key)
        else:
            record[key] = value
    path.write_text(json.dumps(record))


_MISSING = object()


def _segment(index: Path) -> Path:
    (segment,) = (index / "vectors").glob("*/seg-*.npy")
    return segment


def _segment_dtype(index: Path) -> np.dtype:
    return np.load(_segment(index)).dtype


def _npy_claiming(dtype: np.dtype, shape: tuple[int, ...], body: bytes) -> bytes:
    """An .npy file whose header claims `shape` of `dtype`, followed by `body`."""
    import io

    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": shape})
    return out.getvalue() + body


def _assert_damage_reported(index: Path, damaged: str) -> None:
    with searchkit.open_index(index) as ix:
        hybrid = ix.search("hippocampus")  # words go on, and say why meaning did not
        assert hybrid and hybrid[0].path == "sleep.md"
        assert hybrid.semantic["mode"] == "lexical"
        assert damaged in hybrid.semantic["warning"]
        with pytest.raises(IndexCorruptError, match=damaged):
            ix.search("hippocampus", mode="semantic")
        check = ix.check()
        assert not check.sound and any(damaged in p for p in check.problems), check
        status = ix.semantic_status()
        assert not status.enabled and damaged in status.reason


@pytest.mark.parametrize("changes", [
    {"key": _MISSING}, {"name": 5}, {"dimension": "abc"}, {"dimension": -5},
    {"dimension": 10**15}, {"dimension": True}, {"key": ".."}, {"key": "a/b"},
], ids=["no-key", "name-number", "dim-abc", "dim-negative", "dim-huge", "dim-bool",
        "key-dotdot", "key-slash"])
def test_a_damaged_model_record_is_reported_and_words_go_on(built: Path, changes: dict):
    _plant_model(built, **changes)
    _assert_damage_reported(built, "model.json is damaged")


def test_a_model_key_outside_the_index_is_never_read(built: Path, tmp_path: Path):
    # A key naming another folder made searches read the segments there.
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(_segment(built).parent, elsewhere)
    _plant_model(built, key=str(elsewhere))
    _assert_damage_reported(built, "model.json is damaged")


def test_a_vectors_folder_that_is_a_symlink_is_not_followed(built: Path, tmp_path: Path):
    folder = _segment(built).parent
    elsewhere = tmp_path / "elsewhere"
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere)
    _assert_damage_reported(built, "is a symbolic link")


@pytest.mark.parametrize("kind", ["2-D", "0-d", "10**12 rows", "float64", "truncated",
                                  "symlink", "garbage header"])
def test_a_damaged_segment_is_reported_and_words_go_on(built: Path, tmp_path: Path, kind: str):
    segment = _segment(built)
    dtype = _segment_dtype(built)
    rows = np.load(segment)
    if kind == "2-D":
        np.save(segment.with_suffix(""), np.zeros((2, 3), dtype))  # np.save adds .npy
    elif kind == "0-d":
        np.save(segment.with_suffix(""), np.zeros((), dtype))
    elif kind == "10**12 rows":
        segment.write_bytes(_npy_claiming(dtype, (10**12,), rows.tobytes()))
    elif kind == "float64":
        np.save(segment.with_suffix(""), np.zeros(7))
    elif kind == "truncated":
        segment.write_bytes(segment.read_bytes()[:-10])
    elif kind == "symlink":
        outside = tmp_path / "outside.npy"
        segment.rename(outside)
        segment.symlink_to(outside)
    else:
        segment.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': (((( }  \n" + b"\0" * 64)
    _assert_damage_reported(built, "is damaged")


def _cli(index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`searchkit ARGS --index INDEX` in a subprocess: a hang fails (timeout), never waits."""
    return subprocess.run(
        [sys.executable, "-m", "searchkit", *args, "--index", str(index)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "SEARCHKIT_SEMANTIC": "on", "SEARCHKIT_NO_SERVER": "1"},
    )


@pytest.mark.parametrize("which", ["model.json", "segment"])
def test_a_fifo_in_the_vectors_folder_hangs_nothing(built: Path, which: str):
    path = _model_file(built) if which == "model.json" else _segment(built)
    path.unlink()
    os.mkfifo(path)
    found = _cli(built, "search", "hippocampus")
    assert found.returncode == 0 and "sleep.md" in found.stdout
    warning = [line for line in found.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "not a regular file" in warning[0], found.stderr
    assert "searched by words only" in warning[0]
    semantic = _cli(built, "search", "hippocampus", "--mode", "semantic")
    assert semantic.returncode == 2 and "Traceback" not in semantic.stderr
    assert semantic.stderr.startswith("Error: ") and len(semantic.stderr.splitlines()) == 1
    check = _cli(built, "status", "--check")
    assert check.returncode == 2 and "not a regular file" in check.stderr
    assert "--rebuild" not in check.stderr  # a rebuild of the words would not fix it
    status = _cli(built, "status")
    assert status.returncode == 0 and "semantic     off:" in status.stdout
    # The fix the messages name works.
    shutil.rmtree(built / "vectors")
    assert "Embedded 7 passages" in _cli(built, "index").stdout
    assert _cli(built, "status", "--check").returncode == 0


def test_embedding_again_replaces_a_damaged_model_record(built: Path):
    _plant_model(built, dimension="abc")
    with searchkit.open_index(built) as ix:
        assert ix.embed().with_vectors == 7  # the pass records the model anew
        assert ix.search(PARAPHRASE).semantic["share"] == 1.0
        assert ix.check().sound


def test_eta_counts_the_cost_of_the_passages_left_at_the_measured_rate():
    # Shortest first; a batch takes 0.002 s per unit of cost (tokens ** 1.1).
    lengths = [10] * 64 + [40] * 64 + [128] * 64
    costs = [embedding.passage_cost(n) for n in lengths]
    assert costs[-1] / costs[0] == pytest.approx(12.8 ** embedding.TOKEN_EXPONENT)
    eta = embedding.EtaModel(costs)
    assert eta.eta() is None  # nothing timed yet
    for i in range(0, 64, 8):
        eta.observe(8, sum(costs[i : i + 8]), 0.002 * sum(costs[i : i + 8]))
    # After the short passages only, the long ones are still priced by their tokens: a
    # count of passages would have said 128 passages at the short ones' pace.
    assert eta.eta() == pytest.approx(0.002 * sum(costs[64:]))
    assert eta.eta() > 5 * 0.002 * sum(costs[:64]) * 2
    # A machine twice as busy: the estimate follows, recent batches weighing more.
    for i in range(64, 128, 8):
        eta.observe(8, sum(costs[i : i + 8]), 0.004 * sum(costs[i : i + 8]))
    assert 0.002 * sum(costs[128:]) < eta.eta() < 0.004 * sum(costs[128:])
    for i in range(128, 192, 8):
        eta.observe(8, sum(costs[i : i + 8]), 0.004 * sum(costs[i : i + 8]))
    assert eta.eta() == pytest.approx(0.0, abs=1e-9) and eta.left_passages == 0


def test_passage_tokens_are_cut_at_the_window():
    class Counting:
        max_tokens = 16

        def count_tokens(self, texts):
            return [len(t.split()) + 2 for t in texts]

    assert embedding.passage_tokens(Counting(), ["a b", "w " * 40]) == [4, 16]
    assert embedding.passage_tokens(object(), ["x" * 40]) == [12]  # ~4 characters a token


def test_progress_carries_the_eta_and_status_says_the_time_left(run, vault: Path,
                                                                monkeypatch):
    monkeypatch.setattr(embedding, "BATCH", 2)
    run("index", str(vault), "--no-semantic")
    index = next((Path("home") / "data" / "indexes").resolve().iterdir())
    seen: list[embedding.EmbedProgress] = []

    def stop_after_two(p: embedding.EmbedProgress) -> None:
        seen.append(p)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with searchkit.open_index(index) as ix:
        with pytest.raises(KeyboardInterrupt):
            ix.embed(progress=stop_after_two)
        assert all(p.eta is not None and p.eta > 0 for p in seen)
        assert 0 < seen[0].tokens_done < seen[1].tokens_done < seen[1].tokens_total
        status = ix.semantic_status()
        assert status.embedded == 4 and status.seconds_left is not None
        assert status.seconds_left > 0
    out = run("status").output
    assert "to embed the rest (about " in out and "at the last pass's pace" in out
    run("index")
    with searchkit.open_index(index) as ix:
        assert ix.semantic_status().seconds_left is None  # all embedded


def test_a_cold_cli_search_ranks_as_a_warm_process_does(built: Path):
    """The cold CLI embeds its one query with the quick (unoptimised) session: the same
    ranking and, to rounding, the same fused scores as a process that built the full one."""
    with searchkit.open_index(built) as ix:
        ix.search("warm up")  # the full session, as `serve` has it
        warm = ix.search("nervous before a talk", explain=True)
    cold = _cli(built, "search", "nervous before a talk", "--json", "--explain")
    assert cold.returncode == 0, cold.stderr
    rows = json.loads(cold.stdout)["results"]
    assert [(r["path"], r["line"]) for r in rows] == [(p.path, p.line) for p in warm]
    assert [r["score"] for r in rows] == pytest.approx([p.score for p in warm], abs=1e-4)


@pytest.mark.parametrize("sort", ["modified", "created"])
def test_newest_first_on_an_index_with_vectors_ends_cleanly(built: Path, sort: str):
    """Newest first compares no vectors: the model is not started, and the process ends
    with its results (a model thread still starting at exit aborted it: exit 134)."""
    done = _cli(built, "search", "sleep", "--sort", sort)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "sleep.md" in done.stdout and "terminate" not in done.stderr


def test_prepare_starts_the_model_only_for_a_search_that_uses_it(built: Path):
    """`prepare` loads onnxruntime for a search by meaning, never for one by words or by
    date (a process that needs no model does not pay its memory)."""
    script = (
        "import sys, searchkit\n"
        "ix = searchkit.open_index(sys.argv[1])\n"
        "ix.prepare('sleep', sys.argv[2], sort=sys.argv[3])\n"
        "hits = ix.search('sleep', mode=sys.argv[2], sort=sys.argv[3])\n"
        "print(hits[0].path, 'onnxruntime' in sys.modules)\n"
    )
    env = {**os.environ, "SEARCHKIT_SEMANTIC": "on"}
    for mode, sort, loaded in [("lexical", "score", False), ("hybrid", "modified", False),
                               ("hybrid", "score", True), ("semantic", "score", True)]:
        out = subprocess.run([sys.executable, "-c", script, str(built), mode, sort],
                             capture_output=True, text=True, timeout=60, env=env, check=True)
        assert out.stdout.split() == ["sleep.md", str(loaded)], (mode, sort, out.stderr)


def test_the_quick_session_gives_the_full_sessions_vectors():
    """A few passages (an update after one note changed) and a cold process's first query
    are embedded with the quick session (no graph optimisation); more work builds the
    optimised one. Both give the same vectors, to float noise."""
    from searchkit.embed.models import QUICK_PASSAGES, MiniLMEmbedder

    texts = [f"Note {i}: the hippocampus replays the day during deep sleep." for i in range(3)]
    full = MiniLMEmbedder()
    full.warm_up()
    expected = full.embed_passages([*texts, *texts, *texts, *texts])
    expected_query = full.embed_query("what happens in deep sleep")
    quick = MiniLMEmbedder()
    quick.warm_up(quick=True)
    np.testing.assert_allclose(quick.embed_query("what happens in deep sleep"),
                               expected_query, atol=2e-5)
    first = quick.embed_passages(texts)  # within the quick budget
    np.testing.assert_allclose(first, expected[:3], atol=2e-5)
    more = quick.embed_passages(texts * QUICK_PASSAGES)  # past it: the optimised session
    np.testing.assert_allclose(more[:3], expected[:3], atol=2e-5)


def test_the_newest_notes_are_embedded_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A pass stopped early has given vectors to the most recently modified notes (in
    blocks, each shortest first: here blocks of two passages)."""
    monkeypatch.setattr(embedding, "BATCH", 2)
    monkeypatch.setattr(embedding, "EMBED_BLOCK", 2)
    monkeypatch.setattr(embedding, "FLUSH_SECONDS", 0.0)
    topics = ["tomatoes in the garden", "rust borrow checker", "sleep and memory",
              "public speaking nerves", "baking sourdough bread", "violin practice"]
    vault = write_vault(tmp_path / "vault",
                        {f"n{i}.md": f"# Note {i}\n\n{t}.\n" for i, t in enumerate(topics)})
    for i in range(len(topics)):  # n5 is the newest, n0 the oldest
        os.utime(vault / f"n{i}.md", (1_700_000_000 + i * 86_400,) * 2)
    done: list[int] = []
    with searchkit.open_index(tmp_path / "index", vault=vault) as ix:
        ix.update()
        ix.embed(progress=lambda p: done.append(p.done), stop=lambda: len(done) >= 1)
        assert ix.semantic_status().embedded == 2
        has_vector = [f"n{i}.md" in {p.path for p in ix.search(t, mode="semantic")}
                      for i, t in enumerate(topics)]
    assert has_vector == [False, False, False, False, True, True]
