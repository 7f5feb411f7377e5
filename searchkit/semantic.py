"""One index's semantic side, for `SearchIndex`: which embedder, the vectors, the pass.

It joins what the stages below hold apart: the embedder (`embed.models`), the vectors on
disk and the embedding pass (`store.vectors`, `store.embedding`), and the fusion
(`retrieve.hybrid`). The model is loaded on first use, the vectors once per set of vector
files, and the document → vector-row map once per searcher, so a query pays for one query
embedding and one scan of the vectors' int8 codes (then a few hundred rows re-scored).
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, InvalidArgumentError, SemanticUnavailableError
from .retrieve.hybrid import DEFAULT_HYBRID, HybridParams, Int8Scan, SemanticSide
from .store import embedding as _embedding
from .store.vectors import Vectors, VectorStore

DEFAULT_MODEL = "minilm"
INSTALL_HINT = "pip install 'searchkit[semantic]'"
_QUERY_CACHE = 256  # recent query vectors kept (as-you-type repeats the same words)

EmbedderChoice = Any  # "auto", None, a backend name, or an object with the Embedder shape


@dataclass(frozen=True)
class SemanticStatus:
    """Whether search by meaning is on for an index, and how far its vectors are."""

    enabled: bool
    model: str | None
    embedded: int  # passages with a vector
    passages: int
    reason: str | None = None  # why it is off, and how to turn it on
    # How long embedding the rest should take, at the pace of the last pass (None: all
    # embedded, or no pass timed yet).
    seconds_left: float | None = None

    @property
    def share(self) -> float:
        return self.embedded / self.passages if self.passages else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": round(self.share, 4)}


def load_embedder(name: str) -> Any:
    """A shipped backend by name: "minilm" (all-MiniLM-L6-v2 int8, the default) or
    "wordllama" (static vectors, ~40x faster to embed, weaker). Raises
    `SemanticUnavailableError` saying what to install."""
    try:
        from .embed import models
    except ImportError as exc:  # numpy or the backends' packages are missing
        raise SemanticUnavailableError(
            f"search by meaning needs the semantic extra ({exc}); {INSTALL_HINT}"
        ) from exc
    return models.load(name)


def check_embedder(obj: Any) -> Any:
    missing = [a for a in ("name", "version", "dimension", "embed_passages", "embed_query")
               if not hasattr(obj, a)]
    if missing:
        raise InvalidArgumentError(
            f"embedder {obj!r} lacks {', '.join(missing)}: it needs name, version, "
            "dimension, embed_passages(texts) and embed_query(text)"
        )
    return obj


class Semantic:
    """The semantic state of one `SearchIndex` (thread-safe)."""

    def __init__(self, index_dir: Path, choice: EmbedderChoice = "auto",
                 params: HybridParams = DEFAULT_HYBRID) -> None:  # fmt: skip
        self.index_dir = index_dir
        self.choice = choice
        self.params = params
        self._lock = threading.Lock()
        self._embedder: Any = None
        self._problem: str | None = None
        self._warming = False
        self._store: VectorStore | None = None
        self._product: Any = None  # the int8 product of the first step (embed.int8)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pending: dict[str, threading.Event] = {}  # texts being embedded (`_prefetch`)
        self._rows: weakref.WeakKeyDictionary[Any, tuple[tuple[str, ...], Any]] = (
            weakref.WeakKeyDictionary()
        )
        if choice not in (None, "auto") and not isinstance(choice, str):
            self._embedder = check_embedder(choice)

    # -- which embedder ---------------------------------------------------------------------

    def embedder(self) -> Any | None:
        """The embedder in use, loaded on first call; None when semantic search is off
        (`problem()` says why)."""
        if self.choice is None:
            return None
        with self._lock:
            if self._embedder is None and self._problem is None:
                name = self.choice
                if name == "auto":
                    try:
                        recorded = _embedding.recorded_model(self.index_dir)
                    except IndexCorruptError:  # `store()` says so; embedding rewrites it
                        recorded = None
                    name = recorded.name if recorded else DEFAULT_MODEL
                try:
                    self._embedder = load_embedder(name)
                except SemanticUnavailableError as exc:
                    self._problem = str(exc)
            return self._embedder

    def problem(self) -> str | None:
        if self.choice is None:
            return "turned off (--no-semantic, `semantic = false` in the config, or embedder=None)"
        self.embedder()
        return self._problem

    def store(self) -> VectorStore | None:
        """The vectors the index has, as `vectors/model.json` records them, whatever model
        this process would embed with (`_mismatch` says when the two differ). Read without
        loading the model, so a search that finds no vectors never loads it."""
        if self._store is not None or self.choice is None:
            return self._store
        recorded = _embedding.recorded_model(self.index_dir)
        if recorded is None:
            return None  # nothing embedded yet (an embedding pass records the model first)
        self._store = VectorStore(self.index_dir, recorded.key, recorded.dimension)
        return self._store

    def side(self, searcher: Any) -> SemanticSide | None:
        """What the vectors bring to a search on `searcher`; None when there are none."""
        return self._side(searcher)[0]

    def _side(self, searcher: Any) -> tuple[SemanticSide | None, int, int]:
        """The side (or None) and (passages with a vector, passages), from one read of the
        vector folder and the cached document → row map."""
        store = self.store()
        if store is None:  # nothing embedded yet
            return None, 0, int((_embedding.live_keys(searcher) != 0).sum())
        vectors = store.load()
        rows, embedded, passages = self._doc_rows(searcher, vectors)
        if len(vectors) == 0:
            return None, embedded, passages
        side = SemanticSide(rows, vectors.matrix, self._query_vector, self.params,
                            prefetch=self._prefetch, scan=self._scan(vectors))
        return side, embedded, passages

    def _scan(self, vectors: Vectors) -> Int8Scan | None:
        q = vectors.quantised
        if q is None:
            return None
        if self._product is None:
            from .embed.int8 import Int8Product

            self._product = Int8Product()
        return Int8Scan(q.codes, q.bounds, q.mean, q.exact, self._product)

    def search_side(
        self, searcher: Any, mode: str
    ) -> tuple[tuple[SemanticSide, str] | None, dict[str, Any] | None]:
        """For one search: (the vectors' side and the mode, or None for words only) and
        what the results say about it (`SearchResults.semantic`). Damaged vector files
        make it words only, with a `warning` saying so (`IndexCorruptError` in "semantic"
        mode)."""
        try:
            side, embedded, passages = self._side(searcher)
        except IndexCorruptError as exc:
            if mode == "semantic":
                raise
            return None, {"mode": "lexical", "warning": f"searched by words only: {exc}"}
        mismatch = self._mismatch() if side is not None else None
        if mismatch is not None:
            if mode == "semantic":
                raise SemanticUnavailableError(mismatch)
            return None, None  # words only; `status` says why
        if side is None:
            if mode == "semantic":
                raise SemanticUnavailableError(
                    "no passage has a vector yet: run `searchkit index` with the semantic "
                    f"extra installed ({self.problem() or 'then search again'})"
                )
            return None, None
        self._warm_up()
        return (side, mode), {
            "mode": mode, "embedded": embedded, "passages": passages,
            "share": round(embedded / passages, 4) if passages else 0.0,
        }

    def prepare(self, text: str = "") -> bool:
        """Start, in one background thread, building the query model (a quick session,
        see `MiniLMEmbedder.warm_up`) and then embedding `text` (what the fusion will
        embed for the coming query), when this index has vectors; True if started. For a
        process that runs one search: the model's start-up and the query's vector then
        overlap the refresh check and the word scoring."""
        try:
            if self.choice is None or self.store() is None:
                return False
        except IndexCorruptError:  # the search says so
            return False
        with self._lock:
            if self._warming:
                return True
            self._warming = True
        self._background(text, warm="quick")
        return True

    def _warm_up(self) -> None:
        """Start building the model's session in the background, once: a cold search
        scores the words meanwhile and embeds the query when it needs the vector (the
        first query vector waits for it). Errors are left to that call to raise."""
        with self._lock:
            if self._warming:
                return
            self._warming = True
        self._background(warm="full")

    def _background(self, text: str = "", warm: str | None = None) -> None:
        """Start one thread that builds the model's session (`warm`: "quick", see
        `MiniLMEmbedder.warm_up`, or "full"; None: none) and then embeds `text` (none when
        empty or done): `_query_vector` waits for it rather than embedding it a second
        time. A failure here is left to the call that needs the model, which raises it."""
        with self._lock:
            done = None
            if text and text not in self._queries and text not in self._pending:
                done = self._pending[text] = threading.Event()
        if warm is None and done is None:
            return

        def work() -> None:
            try:
                with contextlib.suppress(Exception):
                    if warm is not None:
                        self._warm(quick=warm == "quick")
                    if done is not None:
                        self._embed_query(text)
            finally:
                if done is not None:
                    with self._lock:
                        self._pending.pop(text, None)
                    done.set()

        _start(work)

    def _warm(self, quick: bool) -> None:
        warm = getattr(self.embedder(), "warm_up", None)
        if warm is None:
            return
        if quick and "quick" in inspect.signature(warm).parameters:
            warm(quick=True)
        else:
            warm()

    def _mismatch(self) -> str | None:
        """Why the stored vectors cannot be compared with this model's query vectors (made
        by another model or version), or None."""
        emb = self.embedder()
        store = self.store()
        if emb is None or store is None:
            return self._problem
        if store.key != _embedding.store_for(self.index_dir, emb).key:
            return (
                f"the index's vectors were made by another model ({store.key}); run "
                "`searchkit index` to embed the passages again"
            )
        return None

    def _doc_rows(self, searcher: Any, vectors: Vectors) -> tuple[np.ndarray, int, int]:
        """Each document's row in the vectors (-1: none), and (embedded, passages)."""
        key = searcher.reader()
        with self._lock:
            cached = self._rows.get(key)
        if cached is not None and cached[0] == vectors.stamp:
            return cached[1]
        keys = _embedding.live_keys(searcher)
        rows = vectors.rows_for(keys)
        live = keys != 0
        entry = (rows, int((rows[live] >= 0).sum()), int(live.sum()))
        with self._lock:
            self._rows[key] = (vectors.stamp, entry)
        return entry

    def _prefetch(self, text: str) -> None:
        """Start embedding `text` in the background (`SemanticSide.prefetch`)."""
        self._background(text)

    def _query_vector(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._queries.get(text)
            if hit is not None:
                self._queries.move_to_end(text)
                return hit
            pending = self._pending.get(text)
        if pending is not None:
            pending.wait()
            with self._lock:
                hit = self._queries.get(text)
            if hit is not None:
                return hit
        return self._embed_query(text)

    def _embed_query(self, text: str) -> np.ndarray:
        emb = self.embedder()
        if emb is None:
            raise SemanticUnavailableError(self._problem or "no embedder")
        problem = self._mismatch()
        if problem is not None:  # comparing with another model's vectors ranks by noise
            raise SemanticUnavailableError(problem)
        vec = np.asarray(emb.embed_query(text), dtype=np.float32).reshape(-1)
        vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
        with self._lock:
            self._queries[text] = vec
            while len(self._queries) > _QUERY_CACHE:
                self._queries.popitem(last=False)
        return vec

    def coverage(self, searcher: Any) -> tuple[int, int]:
        """(passages with a vector, passages)."""
        _side, embedded, passages = self._side(searcher)
        return embedded, passages

    def status(self, searcher: Any | None) -> SemanticStatus:
        problem = self.problem()
        emb = self.embedder()
        if emb is None:
            return SemanticStatus(False, None, 0, 0, problem)
        try:
            mismatch = self._mismatch()
            if mismatch is not None:
                return SemanticStatus(False, emb.name, 0, 0, mismatch)
            embedded, passages = self.coverage(searcher) if searcher is not None else (0, 0)
        except IndexCorruptError as exc:  # damaged vector files: off until embedded again
            return SemanticStatus(False, emb.name, 0, 0, str(exc))
        left = None
        if embedded < passages:
            store = self.store()
            if store is not None:
                left = _embedding.time_left(store, passages - embedded)
        return SemanticStatus(True, emb.name, embedded, passages, seconds_left=left)

    # -- writing ----------------------------------------------------------------------------

    def embed(self, open_searcher: Callable[[], Any], *,
              progress: Callable[[_embedding.EmbedProgress], None] | None = None,
              lock_timeout: float = 10.0,
              max_seconds: float | None = None,
              stop: Callable[[], bool] | None = None) -> _embedding.EmbedReport:  # fmt: skip
        emb = self.embedder()
        if emb is None:
            raise SemanticUnavailableError(
                f"search by meaning is off: {self._problem or 'no embedder'}"
            )
        try:
            return _embedding.embed_index(
                self.index_dir, emb, progress=progress, lock_timeout=lock_timeout,
                open_searcher=open_searcher, max_seconds=max_seconds, stop=stop,
            )
        finally:
            self._store = None  # the pass records its model: read which store anew


def _start(work: Callable[[], None]) -> None:
    # Not a daemon: a process that ends while onnxruntime builds a session (a search that
    # failed, or needed no vector after all) must wait for it, or the C++ runtime aborts
    # the process at exit ("terminate called without an active exception", exit 134).
    threading.Thread(target=work, name="searchkit-model").start()


