"""The embedding pass: give every passage of the committed index a vector, resumably.

Runs after the lexical update has committed (the notes are searchable by words at once)
and under its own lock, not the index's write lock: a pass over a large vault takes
minutes, and `watch` must go on applying note changes meanwhile. Only passages whose text
has no vector yet are embedded (store/vectors.py is content-addressed), the newest notes'
first (what is likeliest to be searched next), in blocks each embedded shortest first so
that batches pad little; what is embedded is written every few seconds as a segment, so
Ctrl-C or a kill keeps it and the next pass resumes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..embed.text import passage_text
from ..errors import IndexCorruptError
from .indexdir import atomic_write_json, index_write_error
from .vectorfiles import MODEL_FILE, ModelRecord, read_model_record
from .vectors import VectorStore, model_key, vectors_root

if TYPE_CHECKING:
    from ..embed.models import Embedder

EKEY_COLUMN = "ekey"
BATCH = 32  # texts per model call: long enough to amortise, short enough to stop quickly
# A segment at least this often, and every FLUSH_PASSAGES: what a kill can lose.
# Passages are embedded the newest notes' first, in blocks of this many, each block
# shortest first: batches of like lengths pad little. Against sorting a whole pass by
# length, blocks of 1,024 cost +0.5 % padded tokens on tubegraph and powershell-docs
# (+0.1 % on SciFact); no sorting at all cost +43 % and +59 %.
EMBED_BLOCK = 1024
FLUSH_SECONDS = 5.0
FLUSH_PASSAGES = 256
# Segments past this many are merged at the end of a complete pass (garbage dropped then).
MAX_SEGMENTS_BEFORE_COMPACT = 8


@dataclass(frozen=True)
class EmbedProgress:
    """Where an embedding pass is: passages and characters done of the total, and the
    time the rest should take (`EtaModel`: from the model's tokens, not characters)."""

    done: int
    total: int
    chars_done: int
    chars_total: int
    seconds: float
    eta: float | None = None  # seconds left; None until a batch has been timed
    tokens_done: int = 0  # the model's tokens (cut at its window), of tokens_total
    tokens_total: int = 0


# A passage's cost is taken as its tokens (cut at the window) to this power: measured on
# 12,312 tubegraph passages (MiniLM int8, 2 threads), seconds per token rose from
# 0.15 ms at 38 tokens a passage to 0.19 ms at 128; the cost per passage beyond its
# tokens fitted at about nothing.
TOKEN_EXPONENT = 1.1
# Weight of a batch's timing halves every this many batches: the estimate follows the
# machine's load without jumping at each batch.
HALF_LIFE_BATCHES = 200


def passage_cost(tokens: float) -> float:
    """A passage's share of a pass's time, in units `EtaModel` times."""
    return float(tokens) ** TOKEN_EXPONENT if tokens > 0 else 0.0


class EtaModel:
    """The time the rest of a pass will take, from the batches done so far.

    A batch costs its passages' `passage_cost` (tokens cut at the model's window, to the
    power 1.1) times a rate in seconds, measured over the batches done, recent ones
    weighing more. Passages go shortest first within each block, so batches differ in
    cost per passage: counting passages, or characters (which the window cuts), promised 1.6–2×
    too much, and counting from the start of the pass charged its setup to every batch.
    """

    def __init__(self, costs: Sequence[float]) -> None:
        self.left_passages = len(costs)
        self.left_cost = float(sum(costs))
        self.mean_cost = self.left_cost / len(costs) if costs else 0.0
        self._seconds = self._cost = 0.0  # weighted sums over the timed batches
        self._decay = 0.5 ** (1.0 / HALF_LIFE_BATCHES)
        self.timed = 0

    def observe(self, n: int, cost: float, seconds: float) -> None:
        """A batch of `n` passages costing `cost` took `seconds`."""
        self.left_passages -= n
        self.left_cost -= cost
        if n <= 0 or seconds <= 0 or cost <= 0:
            return
        self._seconds = self._seconds * self._decay + seconds
        self._cost = self._cost * self._decay + cost
        self.timed += 1

    def rate(self) -> float | None:
        """Seconds per unit of cost, or None before any timed batch."""
        return self._seconds / self._cost if self.timed else None

    def eta(self) -> float | None:
        rate = self.rate()
        if rate is None:
            return None
        return rate * max(self.left_cost, 0.0)


def passage_tokens(embedder: Any, texts: Sequence[str]) -> list[int]:
    """Each text's tokens as the model sees them (cut at its window), or, for an embedder
    that cannot count them, a guess from characters (~4 a token)."""
    window = getattr(embedder, "max_tokens", None)
    count = getattr(embedder, "count_tokens", None)
    counts: list[int]
    if callable(count) and texts:
        try:
            counts = [int(c) for c in count(list(texts))]
        except Exception:  # a guess does for an ETA
            counts = []
        if len(counts) != len(texts):
            counts = [len(t) // 4 + 2 for t in texts]
    else:
        counts = [len(t) // 4 + 2 for t in texts]
    if isinstance(window, int) and window > 0:
        counts = [min(c, window) for c in counts]
    return counts


@dataclass(frozen=True)
class EmbedReport:
    """What an embedding pass did."""

    model: str
    embedded: int  # passages given a vector by this pass
    passages: int  # passages in the index
    with_vectors: int  # passages that have a vector now
    seconds: float
    remaining: int = 0  # passages left without a vector (a time budget ran out)
    compacted: bool = False
    dropped_models: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def store_for(index_dir: Path, embedder: Embedder) -> VectorStore:
    return VectorStore(
        index_dir, model_key(embedder.name, embedder.version, embedder.dimension),
        embedder.dimension,
    )


def recorded_model(index_dir: Path) -> ModelRecord | None:
    """The model the index's vectors were made with, or None when nothing was embedded.
    Raises `IndexCorruptError` when `vectors/model.json` is damaged (vectorfiles.py)."""
    return read_model_record(vectors_root(index_dir))


def _record_model(index_dir: Path, embedder: Embedder, key: str) -> None:
    vectors_root(index_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    # As strings and an int whatever a custom embedder holds: the record is read back
    # against a schema.
    record = ModelRecord(str(embedder.name), str(embedder.version), int(embedder.dimension), key)
    atomic_write_json(vectors_root(index_dir) / MODEL_FILE, record.to_dict())


def segment_keys(reader: Any) -> np.ndarray:
    """The `ekey` of every document of one segment (0 where a document has none)."""
    count = reader.doc_count_all()
    try:
        creader = reader.column_reader(EKEY_COLUMN, translate=False)
        raw = bytes(creader._dbfile.get(creader._basepos, creader._count * 8))
    except (AttributeError, KeyError, ValueError):
        return np.zeros(count, dtype="<u8")
    keys = np.zeros(count, dtype="<u8")
    have = np.frombuffer(raw, dtype="<u8")[:count]
    keys[: len(have)] = have
    return keys


def live_keys(searcher: Any) -> np.ndarray:
    """The content keys of every live (not deleted) passage, by document number order."""
    parts = []
    for sub, _offset in searcher.subsearchers or [(searcher, 0)]:
        reader = sub.reader()
        keys = segment_keys(reader)
        if reader.has_deletions():
            dead = _deleted_docs(reader)
            keys = keys.copy()
            keys[[d for d in dead if d < len(keys)]] = 0
        parts.append(keys)
    return np.concatenate(parts) if parts else np.zeros(0, dtype="<u8")


def _deleted_docs(reader: Any) -> list[int]:
    segment = getattr(reader, "segment", None)
    if segment is not None:
        try:
            return list(segment().deleted_docs())
        except (AttributeError, NotImplementedError, TypeError):
            pass
    return [d for d in range(reader.doc_count_all()) if reader.is_deleted(d)]


def embed_index(
    index_dir: Path,
    embedder: Embedder,
    *,
    progress: Callable[[EmbedProgress], None] | None = None,
    lock_timeout: float = 10.0,
    open_searcher: Callable[[], Any],
    max_seconds: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> EmbedReport:
    """Embed every passage of the committed index that has no vector yet (or as many as
    `max_seconds` allows: a long-lived process embeds in slices between note changes; or
    until `stop()` says so, checked after each batch: a process stopping need not wait for
    the slice to end).

    `open_searcher()` gives a Whoosh searcher over the committed index (the caller owns
    how indexes are opened). Raises `IndexLockedError` when another pass holds the lock.
    KeyboardInterrupt keeps what was embedded (written before it propagates).
    """
    try:
        return _embed_index(
            index_dir, embedder, progress, lock_timeout, open_searcher, max_seconds, stop
        )
    except OSError as exc:
        raise index_write_error(exc, index_dir) from exc


def _embed_index(
    index_dir: Path,
    embedder: Embedder,
    progress: Callable[[EmbedProgress], None] | None,
    lock_timeout: float,
    open_searcher: Callable[[], Any],
    max_seconds: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> EmbedReport:
    started = time.perf_counter()
    store = store_for(index_dir, embedder)
    with store.lock(lock_timeout):
        _record_model(index_dir, embedder, store.key)
        searcher = open_searcher()
        try:
            keys = live_keys(searcher)
            have = store.load().keys
            live = np.unique(keys[keys != 0])
            missing = np.setdiff1d(live, have, assume_unique=True)
            todo = _texts_for(searcher, keys, missing)
        finally:
            searcher.close()
        deadline = started + max_seconds if max_seconds is not None else None
        embedded = _embed_all(store, embedder, todo, progress, started, deadline, stop)
        compacted = False
        dropped: list[str] = []
        if embedded == len(todo):  # complete: tidy up
            if _garbage(store, live):
                compacted = store.compact(live)
            elif len(store.segments()) > MAX_SEGMENTS_BEFORE_COMPACT:
                compacted = store.compact(live, tail_only=True)
            dropped = store.drop_other_models()
            # For searches to map (a slice of a pass writes none); only a speed-up, so a
            # full disk here costs the next cold search 0.3 s, not this pass.
            with contextlib.suppress(OSError):
                store.write_matrix()
        with_vectors = int(np.isin(keys[keys != 0], store.load().keys).sum())
    return EmbedReport(
        model=embedder.name, embedded=embedded, passages=int((keys != 0).sum()),
        with_vectors=with_vectors, seconds=time.perf_counter() - started,
        compacted=compacted, dropped_models=dropped, remaining=len(todo) - embedded,
    )


def _garbage(store: VectorStore, live: np.ndarray) -> bool:
    """Whether more than a third of the stored vectors belong to no live passage."""
    stored = store.load().keys
    if len(stored) == 0:
        return False
    dead = len(stored) - int(np.isin(stored, live).sum())
    return dead * 3 > len(stored)


def _texts_for(searcher: Any, keys: np.ndarray, missing: np.ndarray) -> list[tuple[int, str]]:
    """(key, text to embed) for each missing key, read from one passage holding it; the
    passages of the most recently modified notes first."""
    if len(missing) == 0:
        return []
    want = set(missing.tolist())
    out: list[tuple[int, str]] = []
    mtimes: list[int] = []
    for d in np.flatnonzero(np.isin(keys, missing)).tolist():
        key = int(keys[d])
        if key not in want:
            continue
        want.discard(key)
        f = searcher.stored_fields(d)
        text = passage_text(
            f.get("title") or "", f.get("heading_path") or (), f.get("callout_title"),
            f.get("body") or "",
        )
        out.append((key, text))
        mtimes.append(-int(f.get("mtime") or 0))
    order = sorted(range(len(out)), key=mtimes.__getitem__)  # stable: index order within
    return [out[i] for i in order]


def _embed_all(
    store: VectorStore,
    embedder: Embedder,
    todo: list[tuple[int, str]],
    progress: Callable[[EmbedProgress], None] | None,
    started: float,
    deadline: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    # In the order given (newest notes first), by blocks of EMBED_BLOCK passages, each
    # shortest first in the model's tokens: batches of like lengths pad little.
    tokens = passage_tokens(embedder, [t for _, t in todo])
    order = [i for start in range(0, len(todo), EMBED_BLOCK) for i in sorted(
        range(start, min(start + EMBED_BLOCK, len(todo))),
        key=lambda i: (tokens[i], len(todo[i][1])))]
    todo[:] = [todo[i] for i in order]
    tokens = [tokens[i] for i in order]
    costs = [passage_cost(t) for t in tokens]
    eta = EtaModel(costs)
    chars_total = sum(len(t) for _, t in todo)
    tokens_total = sum(tokens)
    tokens_done = 0
    pending_keys: list[int] = []
    pending_vecs: list[np.ndarray] = []
    done = chars_done = written = 0
    last_flush = batch_end = time.perf_counter()

    def flush() -> None:
        nonlocal written, last_flush
        if pending_keys:
            store.append(np.asarray(pending_keys, dtype="<u8"), np.vstack(pending_vecs))
            written += len(pending_keys)
            pending_keys.clear()
            pending_vecs.clear()
        last_flush = time.perf_counter()

    try:
        for i in range(0, len(todo), BATCH):
            batch = todo[i : i + BATCH]
            # The batch is timed from the end of the last one: writes and the rest of the
            # loop are part of what the remaining passages will cost.
            batch_start = batch_end
            vecs = np.asarray(embedder.embed_passages([t for _, t in batch]), dtype=np.float32)
            if vecs.shape != (len(batch), store.dimension) or not np.all(np.isfinite(vecs)):
                raise IndexCorruptError(
                    f"the embedder {embedder.name!r} returned vectors of shape {vecs.shape}, "
                    f"not ({len(batch)}, {store.dimension}) finite numbers"
                )
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = vecs / np.maximum(norms, 1e-12)
            pending_keys.extend(k for k, _ in batch)
            pending_vecs.append(vecs)
            done += len(batch)
            chars_done += sum(len(t) for _, t in batch)
            if (time.perf_counter() - last_flush >= FLUSH_SECONDS
                    or len(pending_keys) >= FLUSH_PASSAGES):
                flush()
            batch_end = time.perf_counter()
            tokens_done += sum(tokens[i : i + BATCH])
            eta.observe(len(batch), sum(costs[i : i + BATCH]), batch_end - batch_start)
            if progress is not None:
                progress(EmbedProgress(done, len(todo), chars_done, chars_total,
                                       batch_end - started, eta.eta(),
                                       tokens_done, tokens_total))
            if deadline is not None and batch_end >= deadline:
                break
            if stop is not None and stop():
                break
    finally:
        # Ctrl-C, a kill signal turned into an exception, a model error: keep what is done.
        flush()
        _record_pace(store, eta)
    return written


PACE_FILE = "pace.json"


def _record_pace(store: VectorStore, eta: EtaModel) -> None:
    """Keep the pass's measured pace beside its vectors: `status` says from it how long the
    passages still without a vector would take (a hint: never an error)."""
    rate = eta.rate()
    if rate is None:
        return
    left = max(eta.left_passages, 0)
    record = {
        "seconds_per_cost": rate, "token_exponent": TOKEN_EXPONENT,
        # The passages left: their mean cost, if any.
        "cost_per_passage": (eta.left_cost / left) if left else eta.mean_cost,
    }
    with contextlib.suppress(OSError):
        atomic_write_json(store.folder / PACE_FILE, record)


def time_left(store: VectorStore, passages: int) -> float | None:
    """Seconds the last pass's pace says `passages` more would take, or None unknown."""
    import json

    try:
        record = json.loads((store.folder / PACE_FILE).read_text(encoding="utf-8"))
        rate = float(record["seconds_per_cost"])
        per = float(record["cost_per_passage"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (rate >= 0 and per >= 0) or rate * per == float("inf"):
        return None
    return passages * rate * per
