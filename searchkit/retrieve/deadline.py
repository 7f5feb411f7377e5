"""A search's time budget: wall clock, checked between units of work.

Scoring is bounded per unit (a posting block, a concept, a round of phrase checks) but
not per query: 600 OR'ed words or 300 exclusions under the 4,096-character cap once cost
26 s and 12.6 s of CPU, and a server kept scoring after the client left. Every stage that
loops over concepts, posting blocks, candidates or snippets calls `Deadline.check()`
between units; past the budget (or once `cancel` is set) it raises
`QueryTooCostlyError`, whose message names what was being done and what to shorten.
"""

from __future__ import annotations

import time
from typing import Protocol

from ..errors import QueryTooCostlyError

# The default budget of one search, in seconds of wall clock. An ordinary query takes
# milliseconds; the slowest ordinary ones on tubegraph (8,904 notes) well under a second.
DEFAULT_DEADLINE = 3.0

HINT = ("shorten it (fewer words, OR alternatives, \"phrases\" or -exclusions) "
        "or narrow it with tag: or path:")


class Flag(Protocol):
    """What `cancel` needs to be: a `threading.Event` will do. A flag with a `reason`
    attribute (a string, when set) gives it as the error's message instead."""

    def is_set(self) -> bool: ...


class Deadline:
    """The end of a search's budget. `seconds` None: no limit (only `cancel` stops it)."""

    __slots__ = ("cancel", "seconds", "until")

    def __init__(self, seconds: float | None = DEFAULT_DEADLINE, cancel: Flag | None = None
                 ) -> None:
        self.seconds = seconds
        self.until = time.monotonic() + seconds if seconds is not None else float("inf")
        self.cancel = cancel

    def check(self, doing: str = "searching") -> None:
        """Raise `QueryTooCostlyError` if the budget is spent or the search was called
        off; `doing` says what the search was doing ("scoring words")."""
        if self.cancel is not None and self.cancel.is_set():
            # A flag may say why (a server's lane for costly queries: serving.py).
            reason = getattr(self.cancel, "reason", None)
            if reason:
                raise QueryTooCostlyError(str(reason))
            raise QueryTooCostlyError(f"the search was called off while {doing}",
                                      cancelled=True)
        if time.monotonic() > self.until:
            raise QueryTooCostlyError(
                f"the query is too costly: it ran past its {self.seconds:g} s budget while "
                f"{doing}; {HINT}"
            )

    def left(self) -> float:
        """Seconds left (inf without a limit)."""
        return self.until - time.monotonic()


NO_DEADLINE = Deadline(None)


def make(deadline: float | Deadline | None, cancel: Flag | None = None) -> Deadline:
    """A `Deadline` from what the API takes: seconds, a `Deadline`, or None (no limit)."""
    if isinstance(deadline, Deadline):
        return deadline
    if deadline is None and cancel is None:
        return NO_DEADLINE
    return Deadline(None if deadline is None else float(deadline), cancel)
