"""Worker processes of a build: note chunking in a process pool, and Whoosh's indexing
sub-processes, both made to die with their parent.

Why the latter matters: forked workers inherit the writer-lock file descriptors, so an
orphan outliving a SIGKILLed parent would keep the index locked for the next writer.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from whoosh import multiproc
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import SegmentWriter

from ..errors import NoteError
from ..ingest.notes import Note, NoteWarning
from .fastindex import terms_function
from .indexdir import NoteRecord
from .pool import PackedPool

# Turns a read note and its chunks into index documents. Passed in by the caller (it is
# `index.note_documents`) so that this module never imports `index`, which imports it.
ToDocs = Callable[[Note, list[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Loaded:
    """One note read and chunked, or why it could not be."""

    path: str
    record: NoteRecord | None  # None: the note could not be read
    docs: list[dict[str, Any]]
    warnings: tuple[NoteWarning, ...]
    gone: bool = False  # the file no longer exists


def _load(to_docs: ToDocs, vault: str, path: str) -> Loaded:
    from ..ingest.chunker import load_note

    try:
        note, chunks = load_note(vault, path)
    except NoteError as exc:
        gone = not os.path.lexists(os.path.join(vault, path))
        return Loaded(path, None, [], (NoteWarning(path, exc.message),), gone)
    except Exception as exc:  # a chunker bug on one note must not stop the vault
        msg = f"skipped: internal error while chunking ({type(exc).__name__}: {exc})"
        return Loaded(path, None, [], (NoteWarning(path, msg),))
    record = NoteRecord(note.mtime_ns, note.size, note.content_hash, len(chunks))
    return Loaded(path, record, to_docs(note, chunks), tuple(note.warnings))


# Below this many notes the pool's start-up (~50 ms) costs more than it saves.
POOL_MIN_NOTES = 64


def load_all(vault: str, paths: Sequence[str], jobs: int, to_docs: ToDocs) -> Iterator[Loaded]:
    """Read and chunk `paths`, in order, with `jobs` worker processes when worth it.

    `to_docs` must be a module-level function: the pool pickles it by name.
    """
    if jobs <= 1 or len(paths) < POOL_MIN_NOTES:
        for path in paths:
            yield _load(to_docs, vault, path)
        return
    method = _start_method()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        # Workers fork from the server process: have the chunker imported there once.
        ctx.set_forkserver_preload(["searchkit.store.workers", "searchkit.ingest.chunker"])
    load = partial(_load, to_docs, vault)
    args = list(paths)
    parent = os.getpid() if method == "fork" else 0
    pool = ctx.Pool(jobs, initializer=_die_with_parent, initargs=(parent,))
    try:
        # imap has no back-pressure: if writing lags, every chunked note would pile up in
        # memory. Two windows in flight keep the workers busy and the backlog bounded.
        pending: Iterator[Loaded] | None = None
        for start in range(0, len(args), _WINDOW):
            window = pool.imap(load, args[start : start + _WINDOW], chunksize=8)
            if pending is not None:
                yield from pending
            pending = window
        if pending is not None:
            yield from pending
    finally:
        stop_pool(pool)


# How long a pool may take to stop before its workers are killed.
POOL_STOP_SECONDS = 5.0


def stop_pool(pool: Any, grace: float = POOL_STOP_SECONDS) -> bool:
    """Terminate `pool`, never waiting more than about `2 * grace` seconds.

    `Pool.terminate()` joins its workers and handler threads without a timeout: a worker
    that survives SIGTERM, or one killed while holding the task queue's lock, would block
    it forever, and with it the index write lock held by our caller. Here it runs in a
    helper thread; past `grace` the workers are killed (SIGKILL), and past another `grace`
    the helper is left behind. Returns whether the pool stopped cleanly.
    """
    procs = list(getattr(pool, "_pool", ()))
    done = threading.Event()

    def terminate() -> None:
        with contextlib.suppress(Exception):
            pool.terminate()
        done.set()

    threading.Thread(target=terminate, name="searchkit-pool-stop", daemon=True).start()
    if done.wait(grace):
        return True
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.kill()
    return done.wait(grace)


_WINDOW = 256  # notes


def _die_with_parent(parent: int) -> None:
    """Make this worker process die when its parent does, and leave signals to it.

    Forked workers inherit the lock file descriptors; an orphan outliving a SIGKILLed
    parent would keep the index locked. Linux: PR_SET_PDEATHSIG; the check after it
    closes the race of a parent that died before the call (`parent` 0: not forked from
    the caller, so no check; the fork server dies with the caller).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent and os.getppid() != parent:
        os._exit(1)
    # Ctrl-C reaches the whole process group: the parent stops the work and exits 130;
    # workers that took it too would only print a traceback each.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM is how a pool stops its workers: a handler inherited from the parent (a
    # server's, which only sets a flag) would make the worker unstoppable.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


_UNKNOWN = object()


class FastSegmentWriter(SegmentWriter):
    """Whoosh's SegmentWriter with its postings packed by term (`pool.PackedPool`) and
    written straight from there. The rest is Whoosh 2.7.4's, which pyproject pins; the
    files written are byte-identical (tests/test_writer.py).

    - `add_document` hands each field's terms to the pool at once instead of making a
      tuple per posting: Whoosh's pool held ~200 bytes a posting (1 GB of RSS at 9k notes),
      this one ~7 plus the positions, and the final sort is of terms, not postings.
    - The segment flush asks for the length of each posting's field in its document: 7 %
      of a build's CPU through the lengths column's reader (289,508 calls for 4,957
      documents of a tubegraph sample). Each length is read once, then looked up.
    """

    def __init__(self, ix: Any, *args: Any, limitmb: float = 128, **kwargs: Any) -> None:
        super().__init__(ix, *args, limitmb=limitmb, **kwargs)
        self.pool = PackedPool(self._tempstorage, limitmb)
        self._terms: dict[str, Callable[[Any], Any]] = {}  # fieldname -> its terms function

    def add_document(self, **fields: Any) -> None:
        # Whoosh 2.7.4's SegmentWriter.add_document, with the field's terms going to the
        # pool in one call.
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        pool = self.pool
        terms = self._terms

        docboost = self._doc_boost(fields)
        fieldnames = sorted([name for name in fields if not name.startswith("_")])
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if value is None:
                continue
            field = schema[fieldname]

            length = 0
            if field.indexed:
                fieldboost = self._field_boost(fields, fieldname, docboost)
                index = terms.get(fieldname)
                if index is None:
                    index = terms[fieldname] = terms_function(field)
                length = pool.add_terms(fieldname, docnum, index(value), fieldboost, field.scorable)

            if field.separate_spelling():
                spellfield = field.spelling_fieldname(fieldname)
                for word in field.spellable_words(value):
                    pool.add((spellfield, word.encode("utf-8"), 0, 1, None))

            vformat = field.vector
            if vformat:
                vitems = vformat.word_values(value, field.analyzer, mode="index")
                vitems = sorted((text, weight, vbytes) for text, _, weight, vbytes in vitems)
                perdocwriter.add_vector_items(fieldname, field, vitems)

            customval = fields.get(f"_stored_{fieldname}", value)
            sv = customval if field.stored else None
            perdocwriter.add_field(fieldname, field, sv, length)

            column = field.column_type
            if column and customval is not None:
                cv = field.to_column_value(customval)
                perdocwriter.add_column_value(fieldname, column, cv)

        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        if pool.full():
            pool.save()

    def _flush_segment(self) -> None:
        # Whoosh's _flush_segment and FieldWriter.add_postings in one, reading the pool
        # term by term (it gives them sorted) instead of checking every posting's field
        # and term against the previous one's.
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        fw = self.fieldwriter
        schema = self.schema
        skipped = sorted(self.pool.skipped_fields())
        lastfn: str | None = None
        lengths: list[Any] = []
        dfl: Callable[..., Any] = lambda docnum, fieldname, default=0: 0  # noqa: E731
        if pdr is not None:
            dfl = pdr.doc_field_length
        ndocs = self.docnum
        for fieldname, tbytes, postings in self.pool.terms():
            if fieldname != lastfn:
                if lastfn is not None:
                    fw.finish_field()
                while skipped and skipped[0] < fieldname:
                    name = skipped.pop(0)
                    fw.start_field(name, schema[name])
                    fw.finish_field()
                fw.start_field(fieldname, schema[fieldname])
                lastfn = fieldname
                lengths = [_UNKNOWN] * ndocs
            fw.start_term(tbytes)
            for docnum, weight, value in postings:
                length = lengths[docnum] if docnum < ndocs else _UNKNOWN
                if length is _UNKNOWN:
                    length = dfl(docnum, fieldname, 0)
                    if docnum < ndocs:
                        lengths[docnum] = length
                fw.add(docnum, weight, b"" if value is None else value, length)
            fw.finish_term()
        if lastfn is not None:
            fw.finish_field()
        for name in skipped:
            fw.start_field(name, schema[name])
            fw.finish_field()
        fw.close()
        if pdr is not None:
            pdr.close()


class _SubWriterTask(SubWriterTask):
    """Whoosh's indexing sub-process, made to die with its parent (see above)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._parent = os.getpid()

    def run(self) -> None:
        _die_with_parent(self._parent)
        # Whoosh's run() makes its writer from this module global; in this process only
        # (it exists for nothing else), it is our faster subclass.
        multiproc.SegmentWriter = FastSegmentWriter  # type: ignore[misc]
        try:
            super().run()
        except OSError as exc:
            # The parent cannot see our exception; an exit code carrying the errno lets
            # it raise the same OSError (a full disk must read as a full disk).
            os._exit(_ERRNO_EXIT + exc.errno if exc.errno and exc.errno < 256 - _ERRNO_EXIT
                     else 1)  # fmt: skip


# Exit code of a sub-writer that failed with an OSError: this plus its errno.
_ERRNO_EXIT = 100


class DyingMpWriter(MpWriter):
    """Whoosh's MpWriter, with sub-processes that die with us and failures that surface,
    and batches that never cut a note (its passages are added as one group): a note's
    passages are in one segment, in order, whichever sub-writer took them.

    Whoosh 2.7.4 never checks on its sub-writers: one that dies (a full disk) leaves the
    parent blocked forever on a full job queue, or, at commit, its segment is silently
    missing from the index. Here a dead sub-writer raises in the parent instead.
    """

    def _enqueue(self) -> None:
        # Whoosh's own version, with a job queue put that notices dead sub-writers.
        import pickle

        name = f"{os.urandom(8).hex()}.doclist"
        with self.temp_storage().create_file(name).raw_file() as f:
            for item in self.docbuffer:
                pickle.dump(item, f, 2)
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put((name, len(self.docbuffer)))
        self.docbuffer = []

    def end_group(self) -> None:
        # Whoosh's end_group leaves a full buffer until the next add_document, which in a
        # group never sends it: send it here, so a batch always ends with a whole note.
        super().end_group()
        if not self._grouping and len(self.docbuffer) >= self.batchsize:
            self._enqueue()

    def _put(self, job: Any) -> None:
        while True:
            try:
                self.jobqueue.put(job, timeout=0.2)
                return
            except queue.Full:
                self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        for task in self.tasks:
            code = task.exitcode
            if code is None or code == 0:
                continue
            if code > _ERRNO_EXIT:
                err = code - _ERRNO_EXIT
                raise OSError(err, f"{os.strerror(err)} (in an indexing process)")
            raise OSError(errno.EIO, f"an indexing process failed (exit code {code})")

    # Called with (segments finished, segments) as each sub-writer finishes its segment at
    # commit (merging its sorted runs: most of a big build's commit).
    on_segment: Callable[[int, int], None] | None = None

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        # Finish the sub-writers and check them before Whoosh collects their segments.
        if self.docbuffer:
            self._enqueue()
        for _task in self.tasks:
            self._put(None)
        finished: set[int] = set()
        total = len(self.tasks)
        while len(finished) < total:
            for i, task in enumerate(self.tasks):
                if i not in finished and not task.is_alive():
                    finished.add(i)
                    if self.on_segment is not None:
                        self.on_segment(len(finished), total)
            self._raise_if_failed()
            if len(finished) < total:
                time.sleep(0.2)
        self._raise_if_failed()
        # Whoosh's commit sends its own end markers again (harmless: nobody reads them)
        # and joins the finished tasks at once.
        super()._commit(mergetype, optimize, merge)

    def _new_task(self) -> Any:
        task = _SubWriterTask(
            self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs,
            self.multisegment,
        )  # fmt: skip
        self.tasks.append(task)
        task.start()
        return task


def _start_method() -> str:
    # fork is cheapest, but only safe in a single-threaded process with no signal handlers
    # of its own: a fork copies the calling thread only (a lock another thread held stays
    # locked in the child), and Python-level handlers survive it. A server (uvicorn's
    # SIGTERM handler, a watcher thread, a thread pool) gets the fork server instead.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform.startswith("linux") and fork_is_safe():
        return "fork"
    return "forkserver" if "forkserver" in methods else methods[0]


def fork_is_safe() -> bool:
    """Whether this process can fork workers: one thread, default SIGTERM handling."""
    if threading.active_count() > 1:
        return False
    with contextlib.suppress(ValueError):
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
            return False
    return True


def default_jobs() -> int:
    """Writer processes for a build: the cores free right now, at most 2. On a busy
    2-core machine a second writer cost 1.41x the CPU of one and was no faster (issue 16):
    with one core free, one writer."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): assume idle
        busy = 0.0
    return max(1, min(2, cores, round(cores - busy)))
