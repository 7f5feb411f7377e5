"""What `searchkit index` (and `watch`) show while and after they work: the progress bar
on stderr, the one-line summary of an update, warnings, the notes a refused update would
remove."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import click

from ..errors import MassDeleteError
from .render import clean


def warn_all(warnings: Any) -> None:
    for w in warnings:
        click.echo(clean(f"warning: {w.path}: {w.message}"), err=True)


class ProgressBar:
    """A click progress bar on a terminal (stderr); silent when stderr is not one. After
    the last note, one status line for the commit, redrawn every second: elapsed time and
    the segments written or merged so far."""

    TICK = 1.0  # seconds between redraws of the commit line

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.chunks = 0
        self.started = time.perf_counter()
        self._commit_started: float | None = None
        self._segments = (0, 0)  # (done, total; 0: not known ahead)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, p: Any) -> None:
        if not self.enabled or p.notes_total < 50:
            return  # a few notes finish before a bar is worth drawing
        if self._commit_started is not None:
            if getattr(p, "phase", "") == "committing" and p.segments_done:
                self._segments = (p.segments_done, p.segments_total)  # drawn by the tick
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=p.notes_total, label="Indexing", file=sys.stderr,
                item_show_func=self._rate, show_eta=True,
            )
            self.bar.__enter__()
        self.chunks = p.chunks
        self.bar.update(p.notes_done - self.done, current_item=p)
        self.done = p.notes_done
        if p.notes_done >= p.notes_total or getattr(p, "phase", "") == "committing":
            # Every note is read; merging segments and committing can take a while (70 s
            # of a 295 s rebuild of 8,904 notes, 2 min on a bigger vault), and a bar at
            # 100 % looks stuck: a line that keeps time instead.
            self._close_bar()
            self._commit_started = time.perf_counter()
            click.echo(self._commit_line(), err=True, nl=False)
            self._ticker = threading.Thread(target=self._tick, name="searchkit-commit-line",
                                            daemon=True)
            self._ticker.start()

    def _commit_line(self) -> str:
        line = "Merging and committing the index…"
        if self._commit_started is None:
            return line
        secs = int(time.perf_counter() - self._commit_started)
        if secs:
            line += f" {secs // 60}:{secs % 60:02d}"
        done, total = self._segments
        if done and total:
            line += f", {done} of {total} segments written"
        elif done:
            line += f", {done} segment{'' if done == 1 else 's'} merged"
        return line

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            with self._lock:
                if not self._stop.is_set():
                    click.echo("\r\x1b[K" + self._commit_line(), err=True, nl=False)

    def _rate(self, _: Any) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        return f"{self.done / elapsed:,.0f} notes/s {self.chunks / elapsed:,.0f} chunks/s"

    def close(self, interrupted: bool = False) -> None:
        if self._ticker is not None:
            with self._lock:
                self._stop.set()
            self._ticker.join()
            self._ticker = None
            # The commit line ends: said once more with its last time, then a new line.
            click.echo("\r\x1b[K" + self._commit_line(), err=True)
            return
        if self.bar is not None and interrupted:
            # Ctrl-C lands mid-bar: end its line, so what follows starts a new one.
            click.echo(err=True)
        self._close_bar()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def update_summary(report: Any) -> str:
    """One line saying what the update did: a build counts the notes it read, an
    incremental update the notes that changed."""
    size = f"{report.notes:,} notes, {report.chunks:,} chunks in {report.seconds:.2f} s"
    n_warn = len(report.warnings)
    warned = f"; {n_warn} warning{'' if n_warn == 1 else 's'}" if n_warn else ""
    if report.rebuilt:
        # Every note was read again; the added/changed/removed counts only compare the new
        # index with the one it replaced.
        line = f"Rebuilt {size}{warned}"
        if report.reason:
            line += f" — {report.reason}"
        diff = (report.added, report.changed, report.removed)
        if any(diff):
            line += " (vs. the old index: {} added, {} changed, {} removed)".format(*diff)
        return line
    if report.reason:  # the first build
        return f"Built {size}{warned}"
    return (
        f"Updated {size} ({report.added} added, {report.changed} changed, "
        f"{report.removed} removed, {report.unchanged} unchanged{warned})"
    )


def embedded_summary(n: int, remaining: int) -> str:
    """One line saying that passages got vectors in the background (`watch`, `serve`)."""
    what = f"Embedded {n:,} passage{'' if n == 1 else 's'}"
    if remaining:
        return f"{what} ({remaining:,} to go before all are searchable by meaning)"
    return f"{what}: searchable by meaning"


def list_removals(exc: MassDeleteError, shown: int = 20) -> None:
    click.echo(f"This update would remove {len(exc.would_remove)} of {exc.indexed} indexed "
               "notes:", err=True)  # fmt: skip
    for path in exc.would_remove[:shown]:
        click.echo(clean(f"  {path}"), err=True)
    if len(exc.would_remove) > shown:
        click.echo(f"  … and {len(exc.would_remove) - shown} more", err=True)



class EmbedBar:
    """The embedding pass's bar: passages done, rate and the time left, as the pass
    estimates it from the model's tokens (`store.embedding.EtaModel`)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.rate = ""

    def __call__(self, p: Any) -> None:
        if not self.enabled or p.total < 20:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=p.total, label="Embedding", file=sys.stderr,
                item_show_func=lambda _: self.rate, show_eta=False,
            )
            self.bar.__enter__()
        eta = p.eta
        left = f", {duration(eta)} left" if eta is not None else ""
        self.rate = f"{p.done / max(p.seconds, 1e-6):,.0f} passages/s{left}"
        self.bar.update(p.done - self.done, current_item=p)
        self.done = p.done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def duration(seconds: float) -> str:
    """A time as 1h05m, 3m20s or 40s."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def embed_summary(report: Any) -> str:
    """One line saying what the embedding pass did."""
    share = report.with_vectors / report.passages if report.passages else 1.0
    done = (
        f"Embedded {report.embedded:,} passages in {report.seconds:.1f} s"
        if report.embedded else "No passage to embed"
    )
    return (
        f"{done} ({report.model}); {report.with_vectors:,} of {report.passages:,} "
        f"passages ({100 * share:.0f} %) searchable by meaning"
    )
