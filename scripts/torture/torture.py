"""Fault torture run for searchkit (issue #8; not a test: slow, and it prints a table).

    python scripts/torture/torture.py VAULT [--quick] [--kills 30] [--duration 120]
                                    [--queries 2000] [--jobs 2] [--work DIR] [--seed 1]

Works on copies of VAULT in a temp folder (VAULT itself is never modified):

1. kills: SIGKILL of `searchkit index` (its whole process group) at random moments of a
   first build, an incremental update and a `--rebuild`. After each kill the committed
   index must be the state before or the state after (never a mixture), and the next
   update must take the lock at once and converge to a clean build.
2. readers/writers: 2 writer processes (edits + updates, one of them also rebuilding) and
   4 readers (2 threads sharing one `SearchIndex`, 2 processes) for `--duration` seconds.
3. faults: each fault of issue #8 on its own copy; the last committed index must answer
   a search afterwards.
4. queries: generated queries (words, phrases, prefixes, fuzzy, fields, boolean, long
   nonsense words, odd characters) timed through the API.

Prints a markdown table; exit status 1 if any required figure is not met.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import dataclasses
import errno
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchkit.api import open_index
from searchkit.errors import (
    DiskFullError,
    IndexLockedError,
    IndexNotFoundError,
    IndexReadOnlyError,
    MassDeleteError,
    QuerySyntaxError,
    SearchkitError,
    VaultError,
)
from searchkit.ingest.notes import scan_vault
from searchkit.store.index import open_for_search, update_index
from searchkit.store.indexdir import LOCK_FILE, read_meta, write_meta
from searchkit.store.status import check_index


@dataclass
class Row:
    part: str
    case: str
    runs: int = 0
    failures: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.failures == 0


ROWS: list[Row] = []


def row(part: str, case: str) -> Row:
    r = Row(part, case)
    ROWS.append(r)
    return r


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Helpers


def state(index_dir: Path) -> str | None:
    """A digest of the committed index (every chunk's id, note and text); None if none."""
    try:
        ix, _meta = open_for_search(index_dir)
    except IndexNotFoundError:
        return None
    with ix.searcher() as s:
        rows = sorted((d["id"], d["source"], d["body"]) for d in s.all_stored_fields())
    return hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()


def searchable(index_dir: Path, word: str) -> bool:
    try:
        with open_index(index_dir) as ix:
            return len(ix.search(word, limit=3)) > 0
    except SearchkitError:
        return False


def copy_vault(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def edit_vault(vault: Path, rng: random.Random, share: float = 0.1) -> None:
    """Change, add and delete a share of the notes (stays well under the mass-delete rule)."""
    notes = sorted(f.path for f in scan_vault(vault))
    for rel in rng.sample(notes, max(1, int(len(notes) * share))):
        p = vault / rel
        p.write_text(p.read_text(encoding="utf-8", errors="replace") + f"\n\nedit {rng.random()}\n")
    for rel in rng.sample(notes, max(1, int(len(notes) * share / 5))):
        with contextlib.suppress(OSError):
            (vault / rel).unlink()
    for i in range(max(1, int(len(notes) * share / 5))):
        (vault / f"torture-new-{rng.randrange(10**9)}-{i}.md").write_text(
            f"# Added {i}\n\nfresh note number {i} about torture testing\n"
        )


def common_word(index_dir: Path) -> str:
    """A frequent indexed word that a search finds (stop words and odd stems would not)."""
    with open_index(index_dir) as ix:
        for word in _words(index_dir, 50):
            if len(ix.search(word, limit=1)):
                return word
    raise SystemExit(f"no searchable word in {index_dir}")


def cli(*args: str, timeout: float = 600, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchkit", *args],
        capture_output=True, text=True, timeout=timeout, **kw,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# 1. Kills


def kill_once(args: list[str], delay: float) -> bool:
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Workers die with their parent (PR_SET_PDEATHSIG); wait until the group is gone.
    for _ in range(200):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    return alive


def kills(work: Path, vault_a: Path, n: int, jobs: int, rng: random.Random) -> None:
    """Kill build, update and rebuild runs. The vault folder stays at state B; the index
    starts empty (build) or as a copy of the index of state A (update, rebuild)."""
    vault_b = copy_vault(vault_a, work / "kill-vault-b")
    edit_vault(vault_b, rng)
    kv, idx, ref_a = work / "kill-vault", work / "kill-index", work / "kill-ref-a"
    copy_vault(vault_a, kv)
    update_index(ref_a, kv, jobs=jobs)  # records the path kv, at state A
    digest_a = state(ref_a)
    shutil.rmtree(kv)
    copy_vault(vault_b, kv)
    update_index(work / "kill-ref-b", kv, jobs=jobs)
    digest_b = state(work / "kill-ref-b")
    modes = {  # CLI args, starting index, states allowed right after the kill
        "build": (["index", str(kv), "--jobs", str(jobs)], None, {None, digest_b}),
        "update": (["index", "--jobs", str(jobs)], ref_a, {digest_a, digest_b}),
        "rebuild": (["index", "--rebuild", "--jobs", str(jobs)], ref_a, {digest_a, digest_b}),
    }
    for mode, (args, start, allowed) in modes.items():
        r = row("kills", f"SIGKILL during {mode}")
        _reset(idx, start)
        t = time.monotonic()
        cli(*args, "--index", str(idx))
        whole = time.monotonic() - t  # the run from spawn to exit, imports included
        landed = stale_locks = wrong = 0
        for _ in range(n):
            _reset(idx, start)
            landed += kill_once([*args, "--index", str(idx)], rng.uniform(0.0, whole))
            got = state(idx)
            r.runs += 1
            try:
                update_index(idx, kv, jobs=jobs, lock_timeout=2)
            except IndexLockedError:
                stale_locks += 1
                continue
            if got not in allowed or state(idx) != digest_b:
                wrong += 1
        r.failures = wrong + stale_locks
        r.detail = (f"run takes {whole:.1f} s; {landed} kills landed mid-run; wrong "
                    f"indexes {wrong}, stale locks {stale_locks}")  # fmt: skip
        say(f"kills {mode}: {r.detail}")


def _reset(idx: Path, start: Path | None) -> None:
    shutil.rmtree(idx, ignore_errors=True)
    if start is not None:
        shutil.copytree(start, idx)


# ---------------------------------------------------------------------------------------
# 2. Readers and writers


WRITER = """
import random, sys, time
from searchkit.errors import IndexLockedError
from searchkit.store.index import update_index
sys.path.insert(0, sys.argv[4])
from torture import edit_vault
idx, vault, end, rebuilds = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[5] == "1"
rng = random.Random(int(sys.argv[6]))
n = 0
while time.time() < end:
    edit_vault(__import__("pathlib").Path(vault), rng, share=0.02)
    try:
        update_index(idx, rebuild=rebuilds and n % 2 == 1, jobs=2, lock_timeout=60)
    except IndexLockedError:
        pass
    n += 1
print(n)
"""

READER = """
import sys, time
from searchkit.api import open_index
idx, end, words = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
n = errors = 0
first = ""
with open_index(idx) as ix:
    while time.time() < end:
        try:
            ix.search(words[n % len(words)], limit=5)
        except Exception as exc:
            errors += 1
            first = first or f"{type(exc).__name__}: {exc}"
        n += 1
print(n, errors, first.replace(" ", "_")[:200])
"""


def readers_writers(work: Path, vault: Path, duration: float, jobs: int) -> None:
    vault = copy_vault(vault, work / "rw-vault")
    idx = work / "rw-index"
    update_index(idx, vault, jobs=jobs)
    words = _words(idx, 20)
    end = time.time() + duration
    here = str(Path(__file__).resolve().parent)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(idx), str(vault), str(end), here,
                          "1" if k == 0 else "0", str(k)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(2)
    ]  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-c", READER, str(idx), str(end), ",".join(words)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    counts = [0, 0]
    errors: list[str] = []
    with open_index(idx) as shared:

        def reader(k: int) -> None:
            while time.time() < end:
                try:
                    shared.search(words[counts[k] % len(words)], limit=5)
                except Exception as exc:  # every kind counts
                    errors.append(f"{type(exc).__name__}: {exc}")
                counts[k] += 1

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    r = row("readers", f"2 writers + 4 readers, {duration:.0f} s")
    writer_runs, tracebacks = [], 0
    for w in writers:
        out, err = w.communicate(timeout=600)
        tracebacks += "Traceback" in err
        writer_runs.append(out.strip() or "?")
    proc_searches = 0
    for p in procs:
        out, err = p.communicate(timeout=600)
        tracebacks += "Traceback" in err
        parts = out.split()
        if len(parts) >= 2:
            proc_searches += int(parts[0])
            if int(parts[1]):
                errors.append(f"{parts[1]} in a reader process: {' '.join(parts[2:])}")
    r.runs = sum(counts) + proc_searches
    r.failures = len(errors) + tracebacks
    r.detail = (f"{r.runs} searches ({sum(counts)} thread, {proc_searches} process), "
                f"writer updates {'+'.join(writer_runs)}, errors {len(errors)}, "
                f"tracebacks {tracebacks}"
                + (f"; first: {errors[0][:80]}" if errors else ""))  # fmt: skip
    update_index(idx, jobs=jobs, lock_timeout=60)
    clean = work / "rw-clean"
    update_index(clean, vault, jobs=jobs)
    if state(idx) != state(clean):
        r.failures += 1
        r.detail += "; final index differs from a clean build"
    say(f"readers: {r.detail}")


def _words(idx: Path, n: int) -> list[str]:
    ix, _meta = open_for_search(idx)
    with ix.reader() as r:
        terms = [(r.doc_frequency("body", t), t.decode("utf-8", "replace"))
                 for t in r.lexicon("body")]  # fmt: skip
    terms.sort(reverse=True)
    return [t for _f, t in terms[5 : 5 + n] if t.isalpha()] or ["the"]


# ---------------------------------------------------------------------------------------
# 3. Each fault


@contextlib.contextmanager
def fault(name: str) -> Iterator[Row]:
    r = row("faults", name)
    r.runs = 1
    try:
        yield r
    except Exception as exc:  # a fault case that raises unexpectedly is a failure
        r.failures += 1
        r.detail = f"raised {type(exc).__name__}: {str(exc)[:120]}"
    say(f"fault {name}: {'ok' if r.ok else 'FAILED'} {r.detail}")


def check(r: Row, ok: bool, what: str) -> None:
    if not ok:
        r.failures += 1
        r.detail = (r.detail + "; " if r.detail else "") + f"not {what}"


def faults(work: Path, vault_src: Path, jobs: int) -> None:
    base_vault = work / "f-vault"
    copy_vault(vault_src, base_vault)
    base_idx = work / "f-index"
    update_index(base_idx, base_vault, jobs=jobs)
    word = common_word(base_idx)
    n = 0

    def fresh() -> tuple[Path, Path]:
        nonlocal n
        n += 1
        v, i = work / f"f{n}-vault", work / f"f{n}-index"
        copy_vault(base_vault, v)  # copytree keeps mtimes: the manifest still matches
        shutil.copytree(base_idx, i)
        meta = read_meta(i)
        assert meta is not None
        write_meta(i, dataclasses.replace(meta, vault=str(v.resolve())))  # as a moved vault
        assert not update_index(i, jobs=1).changed
        return v, i

    with fault("empty vault: refresh refused") as r:
        v, i = fresh()
        for f in list(scan_vault(v)):
            (v / f.path).unlink()
        before = state(i)
        with open_index(i) as ix:
            try:
                ix.refresh()
                check(r, False, "refused")
            except MassDeleteError as exc:
                r.detail = f"MassDeleteError, {len(exc.would_remove)} listed"
        p = cli("index", "--index", str(i))
        check(r, p.returncode == 2 and "--allow-mass-delete" in p.stderr, "exit 2 with flag")
        check(r, state(i) == before and searchable(i, word), "kept")

    with fault("half the vault vanished: refused") as r:
        v, i = fresh()
        notes = [f.path for f in scan_vault(v)]
        for rel in notes[: len(notes) * 2 // 3]:
            (v / rel).unlink()
        try:
            update_index(i, jobs=1)
            check(r, False, "refused")
        except MassDeleteError:
            pass
        check(r, searchable(i, word), "searchable")

    with fault("vault moved away mid-update") as r:
        v, i = fresh()
        for f in scan_vault(v):
            (v / f.path).write_text((v / f.path).read_text(errors="replace") + "\nx\n")
        before = state(i)
        moved: list[bool] = []

        def progress(_p: Any) -> None:
            if not moved:
                v.rename(v.with_name(v.name + "-moved"))
                moved.append(True)

        try:
            update_index(i, jobs=1, progress=progress)
            check(r, False, "aborted")
        except VaultError:
            pass
        check(r, state(i) == before and searchable(i, word), "kept")

    with fault("disk full (ENOSPC at the write layer)") as r:
        v, i = fresh()
        edit_vault(v, random.Random(7))
        files = set(os.listdir(i))
        from whoosh.filedb.structfile import StructFile

        real = StructFile.write
        budget = [20_000]

        def write(self: Any, data: Any, *a: Any) -> Any:
            budget[0] -= len(data)
            if budget[0] < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, data, *a)

        StructFile.write = write  # type: ignore[method-assign]
        try:
            update_index(i, jobs=1, rebuild=True)
            check(r, False, "DiskFullError")
        except DiskFullError as exc:
            r.detail = str(exc).split(":")[1].split(";")[0].strip()
        finally:
            StructFile.write = real  # type: ignore[method-assign]
        check(r, set(os.listdir(i)) <= files | {LOCK_FILE}, "cleaned up")
        check(r, searchable(i, word), "searchable")
        update_index(i, jobs=1)
        check(r, check_index(i).sound, "sound after recovery")

    with fault("disk full in parallel sub-writers") as r:
        v, i = fresh()
        from whoosh.filedb.structfile import StructFile

        real, me = StructFile.write, os.getpid()
        left = [20_000]

        def child_write(self: Any, data: Any, *a: Any) -> Any:
            left[0] -= len(data)
            if left[0] < 0 and os.getpid() != me:  # only the forked sub-writers fail
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, data, *a)

        StructFile.write = child_write  # type: ignore[method-assign]
        box: list[BaseException] = []
        t = threading.Thread(target=lambda: _catch(box, lambda: update_index(
            i, jobs=max(2, jobs), rebuild=True)), daemon=True)  # fmt: skip
        t.start()
        t.join(300)
        StructFile.write = real  # type: ignore[method-assign]
        check(r, not t.is_alive(), "finished (hang)")
        check(r, bool(box) and isinstance(box[0], DiskFullError), "DiskFullError")
        check(r, searchable(i, word), "searchable")

    with fault("FIFO note + symlink to /dev/zero") as r:
        v, i = fresh()
        os.mkfifo(v / "torture-fifo.md")
        os.symlink("/dev/zero", v / "torture-zero.md")
        try:
            p = cli("index", "--index", str(i), "--follow-symlinks", timeout=120)
            check(r, p.returncode == 0 and "torture-fifo.md" in p.stderr
                  and "torture-zero.md" in p.stderr, "skipped and named")  # fmt: skip
            p = cli("search", word, "--index", str(i), timeout=120)
            check(r, p.returncode == 0, "searched")
        except subprocess.TimeoutExpired:
            check(r, False, "finished (hang)")

    with fault("symlinks out of the vault") as r:
        v, i = fresh()
        outside = work / "f-outside"
        outside.mkdir(exist_ok=True)
        (outside / "secret.md").write_text("# Secret\n\nzyxwvu secret\n")
        os.symlink(outside / "secret.md", v / "torture-secret.md")
        os.symlink(outside, v / "torture-outdir")
        report = update_index(i, jobs=1)
        named = [w.path for w in report.warnings if "outside the vault" in w.message]
        check(r, sorted(named) == ["torture-outdir/", "torture-secret.md"], "named once each")
        check(r, not searchable(i, "zyxwvu"), "kept out")

    with fault("planted searchkit.lock symlink") as r:
        v, i = fresh()
        victim = work / "victim.txt"
        victim.write_text("precious\n")
        (i / LOCK_FILE).unlink(missing_ok=True)
        os.symlink(victim, i / LOCK_FILE)
        edit_vault(v, random.Random(3))
        p = cli("index", "--index", str(i))
        check(r, p.returncode == 2 and "symbolic link" in p.stderr, "refused")
        check(r, victim.read_text() == "precious\n", "target intact")
        check(r, searchable(i, word), "searchable")

    with fault("read-only index dir") as r:
        v, i = fresh()
        edit_vault(v, random.Random(5))
        with read_only(i):
            try:
                update_index(i, jobs=1)
                check(r, False, "IndexReadOnlyError")
            except IndexReadOnlyError:
                pass
            check(r, searchable(i, word), "searchable")

    for how in ("truncated", "overwritten"):
        with fault(f"corrupt segment ({how})") as r:
            v, i = fresh()
            segs = [p for p in i.iterdir() if p.suffix == ".seg"]
            seg = max(segs, key=lambda p: p.stat().st_size)
            data = bytearray(seg.read_bytes())
            if how == "truncated":
                data = data[: len(data) // 2]
            else:
                data[len(data) // 3 : len(data) // 3 + 64] = bytes(64)
            seg.write_bytes(bytes(data))
            st = cli("status", "--check", "--index", str(i))
            check(r, st.returncode == 2 and "NOT sound" in st.stderr, "found by status --check")
            # Same-size damage is found by checksums, which only --verify reads (a full
            # read of the index); a truncated segment is refused by any update.
            verify = ("--verify",) if how == "overwritten" else ()
            ix_run = cli("index", *verify, "--index", str(i))
            check(r, ix_run.returncode == 2, "refused by index")
            s = cli("search", word, "--index", str(i), "--no-refresh")
            check(r, s.returncode in (0, 2) and "Traceback" not in s.stderr, "no traceback")
            cli("index", "--rebuild", "--index", str(i))
            check(r, searchable(i, word) and check_index(i).sound, "recovered by --rebuild")

    with fault("SIGINT during index --rebuild") as r:
        v, i = fresh()
        before, live = state(i), read_meta(i).index_name  # type: ignore[union-attr]
        proc = subprocess.Popen(
            [sys.executable, "-m", "searchkit", "index", "--rebuild", "--index", str(i)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_default_sigint,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not [x for x in os.listdir(i) if x.endswith(".toc") and live not in x]:
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        mid_run = proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
        r.detail = f"exit {proc.returncode}" + ("" if mid_run else " (finished before)")
        last = err.strip().splitlines()[-1:] or [""]
        check(r, proc.returncode == 130 and "Traceback" not in err, f"130 ({last[0][:100]})")
        check(r, state(i) == before, "kept")


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and an ignored signal stays
    # ignored across exec: Python would then never raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _catch(box: list[BaseException], fn: Callable[[], Any]) -> None:
    try:
        fn()
    except BaseException as exc:  # handed to the caller
        box.append(exc)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Writes under `folder` fail with EROFS (as root, chmod would not stop them)."""
    inside = str(folder.absolute())
    saved: dict[tuple[Any, str], Any] = {}

    def guard(owner: Any, name: str, writes: Callable[..., bool]) -> None:
        real = getattr(owner, name)
        saved[(owner, name)] = real

        def call(path: Any, *a: Any, **k: Any) -> Any:
            if (not isinstance(path, int) and os.path.abspath(os.fspath(path)).startswith(inside)
                    and writes(*a, **k)):  # fmt: skip
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real(path, *a, **k)

        setattr(owner, name, call)

    wflags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC
    guard(os, "open", lambda flags, *a, **k: bool(flags & wflags))
    guard(builtins, "open", lambda mode="r", *a, **k: any(c in mode for c in "wax+"))
    for name in ("unlink", "remove", "replace", "rename", "mkdir", "rmdir"):
        guard(os, name, lambda *a, **k: True)
    try:
        yield
    finally:
        for (owner, name), real in saved.items():
            setattr(owner, name, real)


# ---------------------------------------------------------------------------------------
# 4. Generated queries


def queries(work: Path, vault: Path, n: int, rng: random.Random, jobs: int) -> None:
    idx = work / "f-index"
    if not idx.exists():
        update_index(idx, vault, jobs=jobs)
    ix0, _meta = open_for_search(idx)
    with ix0.reader() as r:
        words = [t.decode("utf-8", "replace") for t in r.lexicon("body")]
        tags = [t.decode("utf-8", "replace") for t in r.lexicon("tags")][:500] or ["x"]
    common = [w for w in words if w.isalpha()]
    odd = ["\udcff", "\x00", "😀", "ß", "İ", "\u202e", "a" * 300, '"', "(", ")", "*", "~", "-",
           ":", "\\", "OR", "AND", "NOT"]  # fmt: skip

    def one() -> str:
        kind = rng.randrange(10)
        w = lambda: rng.choice(common)  # noqa: E731
        if kind == 0:
            return f'"{w()} {w()}"'
        if kind == 1:
            return w()[: rng.randint(1, 4)] + "*"
        if kind == 2:
            return w() + "~"
        if kind == 3:
            return f"tag:{rng.choice(tags)} {w()}"
        if kind == 4:
            return f"path:{w()[:3]}* {w()}"
        if kind == 5:
            return f"({w()} OR {w()}) -{w()}"
        if kind == 6:  # a long word with no match: did-you-mean's worst case
            letters = "abcdefghijklmnopqrstuvwxyz"
            return "".join(rng.choice(letters) for _ in range(rng.randint(12, 30)))
        if kind == 7:
            return " ".join(rng.choice(odd + common[:50]) for _ in range(rng.randint(1, 5)))
        return " ".join(w() for _ in range(rng.randint(1, 4)))

    times: list[float] = []
    errors: list[str] = []
    slow: list[tuple[float, str]] = []
    with open_index(idx) as ix:
        ix.search("warm up")
        for _ in range(n):
            q = one()
            t = time.perf_counter()
            try:
                ix.search(q, limit=10)
            except QuerySyntaxError:
                pass
            except Exception as exc:  # any other exception is a failure
                errors.append(f"{q!r}: {type(exc).__name__}: {str(exc)[:60]}")
            dt = time.perf_counter() - t
            times.append(dt)
            if dt > 1.0:
                slow.append((dt, q))
    times.sort()
    r = row("queries", f"{n} generated queries")
    r.runs = n
    r.failures = len(errors) + len(slow)
    slow.sort(reverse=True)
    r.detail = (f"p50 {times[len(times) // 2] * 1000:.0f} ms, p99 "
                f"{times[int(len(times) * 0.99)] * 1000:.0f} ms, max {times[-1]:.2f} s, "
                f"over 1 s: {len(slow)}, errors: {len(errors)}"
                + (f"; slowest {slow[0][1][:30]!r} {slow[0][0]:.1f} s" if slow else "")
                + (f"; first error {errors[0][:90]}" if errors else ""))  # fmt: skip
    say(f"queries: {r.detail}")
    for e in errors[:10]:
        say(f"  query error: {e}")


# ---------------------------------------------------------------------------------------


def always_on(work: Path, vault: Path, duration: float) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from torture_alwayson import run_case

    for case, detail, ok in run_case(vault, work / "alwayson", duration, 1400, 30.0, 1):
        r = row("always-on", case)
        r.runs, r.failures, r.detail = 1, 0 if ok else 1, detail


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("vault", type=Path)
    ap.add_argument("--quick", action="store_true", help="5 kills each, 20 s, 300 queries")
    ap.add_argument("--kills", type=int, default=None, help="kills per mode (default 30)")
    ap.add_argument("--duration", type=float, default=None, help="readers/writers seconds (120)")
    ap.add_argument("--queries", type=int, default=None, help="generated queries (2000)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    ap.add_argument("--only", default="kills,readers,faults,queries",
                    help="comma-separated parts; `alwayson` (slow, not in the default) runs "
                         "scripts/torture/torture_alwayson.py's case")
    a = ap.parse_args()
    n_kills = a.kills if a.kills is not None else (5 if a.quick else 30)
    duration = a.duration if a.duration is not None else (20.0 if a.quick else 120.0)
    n_queries = a.queries if a.queries is not None else (300 if a.quick else 2000)
    rng = random.Random(a.seed)
    work = Path(a.work or tempfile.mkdtemp(prefix="searchkit-torture-"))
    work.mkdir(parents=True, exist_ok=True)
    vault = copy_vault(a.vault.resolve(), work / "vault")
    only = set(a.only.split(","))
    started = time.monotonic()
    try:
        if "faults" in only:
            faults(work, vault, a.jobs)
        if "kills" in only:
            kills(work, vault, n_kills, a.jobs, rng)
        if "readers" in only:
            readers_writers(work, vault, duration, a.jobs)
        if "queries" in only:
            queries(work, vault, n_queries, rng, a.jobs)
        if "alwayson" in only:
            always_on(work, a.vault.resolve(), duration if a.duration or a.quick else 150.0)
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    notes = sum(1 for _ in scan_vault(vault if vault.exists() else a.vault))
    settings = {"kills": f"kills {n_kills}/mode", "readers": f"readers {duration:.0f} s",
                "faults": "faults", "queries": f"{n_queries} queries"}  # fmt: skip
    print(f"\nsearchkit torture: {a.vault} ({notes} notes), {time.monotonic() - started:.0f} s, "
          + ", ".join(v for k, v in settings.items() if k in only) + "\n")
    print("| part | case | runs | failures | detail |")
    print("|---|---|---:|---:|---|")
    for r in ROWS:
        print(f"| {r.part} | {r.case} | {r.runs} | {r.failures} | {r.detail} |")
    return 0 if all(r.ok for r in ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
