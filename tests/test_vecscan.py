"""The vectors' scan over int8 codes (issue 24 item 3): the same results as the float32
scan of the segments, whatever the query's constraints, with onnxruntime or without it,
and with the codes' files missing or damaged. An embedder of word vectors stands in for a
model, so that a vault of a thousand passages embeds at once and the bounds have many
passages to rule out."""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from vaults import write_vault

import searchkit

WORDS = ["sleep", "dream", "memory", "garden", "tomato", "server", "shell", "password",
         "stage", "fright", "audience", "octopus", "neuron", "river", "mountain", "coffee",
         "bread", "music", "piano", "violin", "train", "harbour", "winter", "summer",
         "lantern", "copper", "silver", "forest", "meadow", "comet", "planet"]


class _WordVectors:
    """Each passage: the normalised sum of its words' fixed random vectors."""

    name, version, dimension = "wordsum", "1", 32

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self._table = {w: rng.standard_normal(self.dimension) for w in WORDS}

    def _one(self, text: str) -> np.ndarray:
        vec = np.full(self.dimension, 1e-3)
        for word in text.lower().split():
            vec = vec + self._table.get(word.strip(".,:#"), 0.0)
        return (vec / np.linalg.norm(vec)).astype(np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)


@pytest.fixture(autouse=True)
def _semantic_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHKIT_SEMANTIC", "on")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("vecscan")
    rng = random.Random(24)
    notes = {}
    for i in range(500):
        parts = [" ".join(rng.choices(WORDS, k=rng.randint(3, 9))) for _ in range(2)]
        notes[f"{'ab'[i % 2]}/n{i}.md"] = (f"# Note {i}\n\n## One\n{parts[0]}.\n\n"
                                            f"## Two\n{parts[1]}.\n")
    vault = write_vault(root / "vault", notes)
    index = root / "index"
    with searchkit.open_index(index, vault=vault, embedder=_WordVectors()) as ix:
        ix.update()
        ix.embed()
    return vault, index


QUERIES = ["sleep dream", "garden tomato harbour", "stage fright audience", "piano",
           "violin comet river",
           "comet path:a", "river -mountain", '"copper silver" lantern', "winter OR summer"]


def _results(vault: Path, index: Path, damaged: str | None = None,
             ) -> dict[tuple[str, str], list[tuple[str, float]]]:
    """Every query's results in both modes; `status --check` finds the index sound, or
    (`damaged`) says that the search files are damaged and how they are written again."""
    out = {}
    with searchkit.open_index(index, vault=vault, embedder=_WordVectors()) as ix:
        for q in QUERIES:
            for mode in ("hybrid", "semantic"):
                found = ix.search(q, mode=mode, limit=30)
                out[q, mode] = [(p.id, round(p.score, 5)) for p in found]
        check = ix.check()
    if damaged is None:
        assert check.sound, check.problems
    else:
        assert len(check.problems) == 1 and damaged in check.problems[0], check.problems
        assert "`searchkit index` writes them again" in check.problems[0]
    return out


def _embed_again(vault: Path, index: Path) -> None:
    with searchkit.open_index(index, vault=vault, embedder=_WordVectors()) as ix:
        assert ix.embed().embedded == 0


def test_the_codes_rank_as_the_float32_scan(built: tuple[Path, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    vault, index = built
    folder = index / "vectors" / "wordsum-1-32"
    assert len(list(folder.glob("codes-*.npy"))) == 1
    scanned = _results(vault, index)
    assert all(scanned[q, "semantic"] for q in QUERIES[:4])
    # Without onnxruntime (an install with numpy alone), numpy makes the same product.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert _results(vault, index) == scanned
    monkeypatch.undo()
    # The segments alone (the codes gone): the float32 scan of every vector.
    plain = tmp_path / "index"
    shutil.copytree(index, plain)
    for path in (plain / "vectors" / "wordsum-1-32").glob("*-*.npy"):
        if not path.name.startswith("seg-"):
            path.unlink()
    assert _results(vault, plain) == scanned


@pytest.mark.parametrize("kind", ["codes", "bounds", "mean", "rows", "keys"])
def test_a_damaged_file_of_the_codes_is_passed_over(built: tuple[Path, Path], tmp_path: Path,
                                                    kind: str) -> None:
    vault, index = built
    scanned = _results(vault, index)
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    path = next((copy / "vectors" / "wordsum-1-32").glob(f"{kind}-*.npy"))
    if kind == "bounds":  # a whole file whose numbers are not numbers
        bounds = np.load(path)
        bounds[3, 0] = np.nan
        np.save(path, bounds)
        damaged = "are damaged"
    elif kind == "rows":  # whole and well-formed, but one vector changed: only a full
        rows = np.load(path)  # read (`status --check`) can tell
        rows[5] = -rows[5]
        np.save(path, rows)
        _results(vault, copy, "do not match the vector segments: delete them")
        for stale in path.parent.glob(f"*-{path.name.split('-')[1]}"):
            stale.unlink()
        _embed_again(vault, copy)
        assert _results(vault, copy) == scanned
        return
    else:
        path.write_bytes(path.read_bytes()[:-10])
        damaged = "are damaged"
    assert _results(vault, copy, damaged) == scanned
    _embed_again(vault, copy)  # a finished pass writes them again
    assert _results(vault, copy) == scanned


def test_updates_read_new_segments_beside_the_codes(built: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    """After a pass, an update that embeds a few passages neither rewrites the codes nor
    the big segment: searches read the new segments beside them and rank as the float32
    scan of every segment does; many such updates merge only the new segments."""
    vault0, index0 = built
    vault, index = tmp_path / "vault", tmp_path / "index"
    shutil.copytree(vault0, vault)
    shutil.copytree(index0, index)
    (index / "searchkit.json").write_text(
        (index / "searchkit.json").read_text().replace(str(vault0), str(vault)))
    folder = index / "vectors" / "wordsum-1-32"
    codes = {p.name: p.stat().st_mtime_ns for p in folder.glob("codes-*.npy")}
    big = max(folder.glob("seg-*.npy"), key=lambda p: p.stat().st_size)
    for i in range(12):  # past the segments merged at once (embedding.py)
        note = vault / "a" / f"n{2 * i}.md"
        note.write_text(note.read_text() + f"\n## Three\nviolin comet river {i}.\n")
        with searchkit.open_index(index, vault=vault, embedder=_WordVectors()) as ix:
            ix.update()
            assert ix.embed().embedded == 1
        assert {p.name: p.stat().st_mtime_ns for p in folder.glob("codes-*.npy")} == codes
    assert big.exists() and len(list(folder.glob("seg-*.npy"))) <= 9
    plain = tmp_path / "plain"  # the same segments, without the codes: the float32 scan
    shutil.copytree(index, plain)
    for path in (plain / "vectors" / "wordsum-1-32").glob("*-*.npy"):
        if not path.name.startswith("seg-"):
            path.unlink()
    def ties_in_id_order(results):  # scores equal to 5 decimals may swap (float noise)
        return {k: sorted(v, key=lambda r: (-r[1], r[0])) for k, v in results.items()}

    updated = _results(vault, index)
    assert ties_in_id_order(updated) == ties_in_id_order(_results(vault, plain))
    top = updated["violin comet river", "semantic"][:12]
    assert {pid.split("#")[0] for pid, _ in top} == {f"a/n{2 * i}.md" for i in range(12)}
