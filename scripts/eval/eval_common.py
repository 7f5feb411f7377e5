"""Shared pieces of scripts/eval/eval.py: ranking settings from flags, cached indexes, the peer.

Both judged sets are measured the same way: a searchkit index and an FTS5 peer database,
kept in a work folder and refreshed only when their inputs changed, so that a rerun after a
ranking change costs the queries and nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def log(msg: str) -> None:
    """Progress goes to stderr so that `--json` output stays one clean line on stdout."""
    print(msg, file=sys.stderr, flush=True)


def load_module(path: Path, name: str) -> ModuleType:
    """Import a shared script by path (they are not packages), so that the numbers come
    from the very scorer and peer everyone else runs, not from a copy."""
    if not path.is_file():
        raise SystemExit(f"eval: {path} not found (set --shared, or the option naming it)")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))]


def timing(ms: list[float]) -> dict[str, float]:
    """Per-query milliseconds, for a glance only: scripts/bench/bench.py is the benchmark."""
    return {"p50": round(percentile(ms, 0.5), 1), "p95": round(percentile(ms, 0.95), 1),
            "total_s": round(sum(ms) / 1000, 1)}


@dataclasses.dataclass
class SetResult:
    """Both systems' numbers on one judged set, plus per-query rows for failure analysis."""

    name: str
    queries: int = 0
    searchkit: dict[str, float] = dataclasses.field(default_factory=dict)
    peer: dict[str, float] = dataclasses.field(default_factory=dict)
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # system → its run: score_passages.py lines (notes), or query id → documents (BEIR)
    runs: dict[str, Any] = dataclasses.field(default_factory=dict)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)  # timings, corpora


# --- ranking settings from flags ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Settings:
    """What searchkit runs with: None means the library's own default object, passed as
    None so that a run without flags is exactly what the CLI does."""

    params: Any = None  # searchkit.retrieve.ranking.RankParams | None
    tuning: Any = None  # searchkit.retrieve.query.Tuning | None
    mode: str = "hybrid"  # the library's default: words and meaning when vectors exist
    hybrid: Any = None  # searchkit.retrieve.hybrid.HybridParams | None

    def describe(self) -> dict[str, Any]:
        """The fields that differ from the library defaults ({} = the defaults)."""
        from searchkit.retrieve.hybrid import DEFAULT_HYBRID
        from searchkit.retrieve.query import DEFAULT_TUNING
        from searchkit.retrieve.ranking import DEFAULT_PARAMS

        out: dict[str, Any] = {} if self.mode == "hybrid" else {"mode": self.mode}
        for obj, default in ((self.params, DEFAULT_PARAMS), (self.tuning, DEFAULT_TUNING),
                             (self.hybrid, DEFAULT_HYBRID)):
            if obj is None:
                continue
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if value != getattr(default, f.name):
                    out[f.name] = _plain(value)
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def parse_assignments(spec: str | None, flag: str) -> dict[str, str]:
    """`a=1,b=2` → {"a": "1", "b": "2"}; a part without `=` is an error naming the flag."""
    out: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise SystemExit(f"eval: {flag}: expected NAME=VALUE, got {part.strip()!r}")
        out[key.strip()] = value.strip()
    return out


def _coerce(default: Any, text: str, where: str) -> Any:
    """Read `text` as the type of the field's default (bool before int: bool is an int)."""
    try:
        if isinstance(default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            return tuple(p for p in text.split("+") if p)  # e.g. phrase_fields=title+body
        if isinstance(default, str):
            return text
    except ValueError:
        raise SystemExit(f"eval: {where}: {text!r} is not a {type(default).__name__}") from None
    raise SystemExit(f"eval: {where} cannot be set from the command line (use its own flag)")


def _replace(obj: Any, values: Mapping[str, str], flag: str) -> Any:
    """dataclasses.replace with values read as each field's type; unknown names are an
    error listing the known ones (the lead renames knobs while tuning)."""
    known = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, text in values.items():
        if key not in known:
            raise SystemExit(
                f"eval: {flag}: unknown name {key!r}; known: {', '.join(sorted(known))}"
            )
        changes[key] = _coerce(known[key], text, f"{flag} {key}")
    return dataclasses.replace(obj, **changes)


def _merge_floats(base: Mapping[str, float], values: Mapping[str, str], flag: str) -> dict:
    out = dict(base)
    for key, text in values.items():
        try:
            out[key] = float(text)
        except ValueError:
            raise SystemExit(f"eval: {flag} {key}: {text!r} is not a number") from None
    return out


def settings_from_args(a: Any) -> Settings:
    """Map the tuning flags onto RankParams / Tuning; no flag at all → Settings()."""
    from searchkit.retrieve.query import DEFAULT_TUNING
    from searchkit.retrieve.ranking import DEFAULT_PARAMS

    param_values = parse_assignments(a.param, "--param")
    if a.k1 is not None:
        param_values["k1"] = str(a.k1)
    weights = parse_assignments(a.weights, "--weights")
    field_b = parse_assignments(a.field_b, "--field-b")
    params = None
    if param_values or weights or field_b or a.b is not None:
        params = _replace(DEFAULT_PARAMS, param_values, "--param")
        changes: dict[str, Any] = {}
        if weights:
            changes["field_weights"] = _merge_floats(params.field_weights, weights, "--weights")
        if a.b is not None or field_b:
            every = {k: str(a.b) for k in params.field_b} if a.b is not None else {}
            changes["field_b"] = _merge_floats(params.field_b, {**every, **field_b}, "--field-b")
        params = dataclasses.replace(params, **changes)

    tuning_values = parse_assignments(a.tuning, "--tuning")
    if a.phrase_boost is not None:
        tuning_values["phrase_boost"] = str(a.phrase_boost)
    if a.slop is not None:
        tuning_values["phrase_slop"] = str(a.slop)
    tuning = _replace(DEFAULT_TUNING, tuning_values, "--tuning") if tuning_values else None
    from searchkit.retrieve.hybrid import DEFAULT_HYBRID

    hybrid_values = parse_assignments(a.hybrid, "--hybrid")
    hybrid = _replace(DEFAULT_HYBRID, hybrid_values, "--hybrid") if hybrid_values else None
    return Settings(params=params, tuning=tuning, mode=a.mode, hybrid=hybrid)


def add_settings_flags(ap: Any) -> None:
    g = ap.add_argument_group(
        "ranking overrides (none given = the library defaults, exactly as the CLI ranks)"
    )
    g.add_argument(
        "--param", metavar="K=V,..",
        help="RankParams fields, e.g. k1=1.5,function_weight=0.3,coordination=1,hub_penalty=0.7",
    )
    g.add_argument("--weights", "--boost", metavar="F=W,..",
                   help="field weights, merged into the defaults, e.g. title=3,headings=3,body=1")
    g.add_argument("--field-b", metavar="F=B,..", help="per-field b, e.g. title=0.4,body=0.75")
    g.add_argument("--b", type=float, help="one b for every field (then --field-b on top)")
    g.add_argument("--k1", type=float, help="same as --param k1=X")
    g.add_argument("--tuning", metavar="K=V,..",
                   help="query Tuning fields, e.g. phrase_boost=0,phrase_fields=title+body")
    g.add_argument("--phrase-boost", type=float, help="same as --tuning phrase_boost=X")
    g.add_argument("--slop", type=int, help="same as --tuning phrase_slop=N")
    g.add_argument("--mode", choices=["hybrid", "lexical", "semantic"], default="hybrid",
                   help="rank by words and meaning (the default), words or meaning only")
    g.add_argument("--hybrid", metavar="K=V,..",
                   help="HybridParams fields, e.g. weight=1.5,min_cosine=0.3,vector_pool=50")


# --- searchkit: a cached index, searched in process ---------------------------------------

# Modules whose code decides what an index holds. A change to any of them (the lead edits
# the chunker and analyzer while tuning, often without bumping a version) must rebuild the
# cached index, or the run would measure new ranking code over old chunks. Ranking-only
# modules (search.py, ranking.py, query.py…) are left out: changing them needs no rebuild.
_INDEX_MODULES = (
    "ingest/chunker", "ingest/inline_text", "ingest/notes", "ingest/timestamps", "ingest/slugs",
    "store/index", "store/indexdir", "store/records", "store/schema", "store/workers",
    "embed/text",
)


def index_fingerprint() -> str:
    import searchkit

    pkg = Path(searchkit.__file__).parent
    h = hashlib.sha256()
    for name in _INDEX_MODULES:
        path = pkg / f"{name}.py"  # a module that no longer exists counts as empty
        h.update(name.encode() + b"\0")
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _build_progress(label: str) -> Callable[[Any], None]:
    last = [time.monotonic(), -1]  # time and notes_done of the last line printed

    def report(p: Any) -> None:
        now = time.monotonic()
        done = p.notes_total and p.notes_done == p.notes_total
        if (now - last[0] >= 15 or done) and p.notes_done != last[1]:
            last[:] = [now, p.notes_done]
            log(f"  {label}: {p.notes_done:,}/{p.notes_total:,} notes, {p.chunks:,} passages")

    return report


# `--no-embed`: measure with the vectors the cached index already has (a first pass over a
# large vault takes long on a laptop CPU; results then say how many passages have one).
EMBED = True
# `--window N`: the embedder every index is embedded and searched with ("auto": the one
# its vectors were made with, else the default). Another window is another model key:
# run it with a --work folder of its own, or the pass replaces the cached index's vectors.
EMBEDDER: Any = "auto"


def ensure_index(
    vault: Path, index_dir: Path, label: str, rebuild: str = "auto", embed: bool | None = None
) -> float:
    """Build or refresh the searchkit index of `vault` in `index_dir`; return seconds spent.

    `rebuild`: "auto" (when the indexing code changed), "yes" or "no" (keep a cached index
    whatever changed in the code; searchkit still rebuilds on a schema version change).
    Stat-only check first (`needs_update`), so an up-to-date index costs well under a second.
    """
    import searchkit

    stamp = index_dir.parent / (index_dir.name + ".code")
    code = index_fingerprint()
    force = rebuild == "yes"
    if rebuild == "auto" and stamp.is_file() and stamp.read_text().strip() != code:
        log(f"{label}: searchkit's indexing code changed since the cached index was built: "
            "rebuilding (--reuse-index skips this)")
        force = True
    t0 = time.perf_counter()
    # The stamp names the code every passage was indexed with: written after a build from
    # scratch, or to adopt an index that has none; never after --reuse-index kept an index
    # built by other code (the next run then still rebuilds it).
    fresh = rebuild == "auto" and not stamp.is_file()
    with searchkit.open_index(index_dir, vault=vault, embedder=EMBEDDER) as ix:
        if force or not ix.exists() or ix.needs_update():
            if not ix.exists():
                log(f"{label}: first build of the searchkit index in {index_dir} "
                    "(minutes for a large vault; reused afterwards)")
            report = ix.update(rebuild=force, progress=_build_progress(label))
            fresh = fresh or report.rebuilt or report.reason is not None
            log(f"{label}: searchkit index {report.notes:,} notes, {report.chunks:,} passages "
                f"({report.seconds:.1f} s{', rebuilt' if report.rebuilt else ''})")
        if EMBED if embed is None else embed:
            _embed(ix, label)
        else:
            st = ix.semantic_status()
            log(f"{label}: not embedding: {st.embedded:,} of {st.passages:,} passages have "
                "a vector")
    if fresh:
        stamp.write_text(code + "\n")
    return time.perf_counter() - t0


def _embed(ix: Any, label: str) -> None:
    """Vectors for the passages that have none (search by meaning); resumable, so a long
    first pass can be stopped and continued by the next run."""
    from searchkit.errors import SemanticUnavailableError

    last = [time.monotonic()]

    def report(p: Any) -> None:
        if time.monotonic() - last[0] >= 30:
            last[0] = time.monotonic()
            eta = f", ~{p.eta / 60:.0f} min left" if p.eta is not None else ""
            log(f"  {label}: embedded {p.done:,}/{p.total:,} passages "
                f"({p.done / max(p.seconds, 1e-6):.1f}/s{eta})")

    try:
        r = ix.embed(progress=report)
    except SemanticUnavailableError as exc:
        log(f"{label}: no vectors ({exc})")
        return
    if r.embedded:
        log(f"{label}: embedded {r.embedded:,} passages in {r.seconds:.0f} s "
            f"({r.embedded / max(r.seconds, 1e-6):.1f}/s, {r.model})")


@contextlib.contextmanager
def open_searcher(index_dir: Path) -> Iterator[Any]:
    from searchkit.store.index import open_for_search

    ix, _meta = open_for_search(index_dir)
    searcher = ix.searcher()
    try:
        yield searcher
    finally:
        searcher.close()
        ix.close()


def semantic_side(index_dir: Path, searcher: Any, settings: Settings) -> Any:
    """The vectors' part of searches on `searcher`, as the API builds it (None: words only,
    or no vectors)."""
    if settings.mode == "lexical":
        return None
    try:
        from searchkit.retrieve.hybrid import DEFAULT_HYBRID
        from searchkit.semantic import Semantic
    except ImportError:
        return None
    meaning = Semantic(index_dir, EMBEDDER, settings.hybrid or DEFAULT_HYBRID)
    side = meaning.side(searcher)
    if side is None:
        log(f"{index_dir}: no vectors: ranking by words only")
        return None
    embedded, passages = meaning.coverage(searcher)
    log(f"{index_dir}: {settings.mode} ranking, {embedded:,} of {passages:,} passages "
        f"({100 * embedded / max(passages, 1):.0f} %) have a vector")
    return side, settings.mode


def searchkit_query(
    searcher: Any, query: str, vault_name: str, limit: int, per_note: int, settings: Settings,
    semantic: Any = None,
) -> list[Any]:
    """One query, ranked only (no snippets: they do not change the order)."""
    from searchkit.errors import SearchkitError
    from searchkit.retrieve.search import search

    # Overrides only when given: a run without flags calls search() as the API does.
    extra = {
        k: v for k, v in (("params", settings.params), ("tuning", settings.tuning)) if v is not None
    }
    if semantic is not None:
        extra["semantic"] = semantic
    try:
        return list(search(
            searcher, query, vault_name=vault_name, limit=limit, per_note=per_note,
            snippets=False, **extra,
        ))
    except SearchkitError:  # e.g. a query of stop words only: the CLI shows no results
        return []


# --- the FTS5 peer: built once per vault into the work folder -----------------------------


def _vault_state(vault: Path, peer_path: Path) -> dict[str, Any]:
    """What the peer database was built from: the notes' stats and the peer's own code."""
    count = size = newest = 0
    for root, dirs, files in os.walk(vault):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if f.endswith(".md"):
                st = os.stat(os.path.join(root, f))
                count, size, newest = count + 1, size + st.st_size, max(newest, st.st_mtime_ns)
    peer_code = hashlib.sha256(peer_path.read_bytes()).hexdigest()[:16]
    return {"vault": str(vault.resolve()), "notes": count, "bytes": size,
            "newest_mtime_ns": newest, "peer": peer_code}


def ensure_peer(peer: ModuleType, peer_path: Path, vault: Path, db: Path, label: str) -> float:
    """Build the peer's database with its own `build` unless it is up to date."""
    stamp = db.with_suffix(".state.json")
    state = _vault_state(vault, peer_path)
    try:
        fresh = db.is_file() and json.loads(stamp.read_text()) == state
    except (OSError, ValueError):
        fresh = False
    if fresh:
        return 0.0
    log(f"{label}: building the FTS5 peer database {db}")
    t0 = time.perf_counter()
    db.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)  # an interrupted build must not look fresh
    with contextlib.redirect_stdout(sys.stderr):  # build() prints its counts
        peer.build(str(vault), str(db))
    stamp.write_text(json.dumps(state) + "\n")
    return time.perf_counter() - t0


def peer_query(peer: ModuleType, con: sqlite3.Connection, query: str, k: int) -> list[dict]:
    try:
        return peer.search(con, query, k)
    except sqlite3.Error:
        return []
