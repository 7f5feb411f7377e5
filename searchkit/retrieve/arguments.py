"""The checks a search's arguments pass before anything is searched, for API callers.

What the CLI refuses through click's options (a non-string query, a limit below 1, an
unknown filter or passage kind, an unknown sort) the API refuses here with the same
limits and typed errors; `_explain_nothing` says why a query found nothing when it had
nothing to look for. Apart from api.py because they are argument rules, not index
handling, and `search_many` (multi.py) applies the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidArgumentError, QuerySyntaxError

# Passage kinds, shared with the CLI's --kind choices so both refuse the same values.
KINDS = ("intro", "section", "callout")

_FILTERS = {"tag", "path", "title", "heading", "callout", "kind", "video", "has", "after", "before"}
SORTS = ("score", "modified", "created")
MODES = ("hybrid", "lexical", "semantic")


def check_mode(mode: Any) -> str:
    """`mode`, if it is one of MODES; else `InvalidArgumentError` saying which are."""
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return str(mode)
FilterValue = str | Sequence[str]


def _check_search_args(
    query: Any, limit: Any, offset: Any, per_note: Any, filters: dict[str, Any]
) -> dict[str, Any]:
    """The CLI's option checks, for API callers: same limits, typed errors."""
    if not isinstance(query, str):
        raise InvalidArgumentError(f"query must be a string, not {type(query).__name__}")
    for name, value, least in (("limit", limit, 1), ("offset", offset, 0),
                               ("per_note", per_note, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidArgumentError(f"{name} must be a whole number >= {least}, not {value!r}")
    clean = {k: v for k, v in filters.items() if v not in (None, "", (), [])}
    unknown = sorted(set(clean) - _FILTERS)
    if unknown:
        raise InvalidArgumentError(
            f"unknown search filter(s): {', '.join(unknown)}; known: {', '.join(sorted(_FILTERS))}"
        )
    for key, value in clean.items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            raise InvalidArgumentError(f"filter {key}= takes a string or a list of strings")
        if key == "kind":
            bad = [v for v in values if v.strip().lower() not in (*KINDS, "*")]
            if bad:
                raise InvalidArgumentError(
                    f"kind={bad[0]!r} is not a passage kind; use one of: {', '.join(KINDS)}"
                )
    return clean


DEADLINE_ENV = "SEARCHKIT_DEADLINE"


def _deadline_arg(deadline: Any, cancel: Any = None) -> Any:
    """The `Deadline` of a search from the API's `deadline` (seconds, None: no limit, or
    "default": `SEARCHKIT_DEADLINE` if set, else DEFAULT_DEADLINE) and `cancel` (anything
    with `is_set()`, or None)."""
    import math
    import os

    from .deadline import DEFAULT_DEADLINE, Deadline, make

    if isinstance(deadline, Deadline):
        return deadline
    if isinstance(deadline, str) and deadline == "default":
        raw = os.environ.get(DEADLINE_ENV, "").strip().lower()
        if raw in ("off", "none"):
            deadline = None
        elif raw:
            try:
                deadline = float(raw)
            except ValueError:
                raise InvalidArgumentError(
                    f"{DEADLINE_ENV}={raw!r}: give seconds (e.g. 3) or off"
                ) from None
        else:
            deadline = DEFAULT_DEADLINE
    if deadline is not None and (
        isinstance(deadline, bool) or not isinstance(deadline, (int, float))
        or math.isnan(deadline) or deadline <= 0
    ):
        raise InvalidArgumentError(
            f"deadline must be a number of seconds > 0 (or None: no limit), not {deadline!r}"
        )
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise InvalidArgumentError("cancel must have an is_set() method (a threading.Event)")
    return make(deadline, cancel)


def _explain_nothing(searcher: Any, query: str, filters: dict[str, Any]) -> None:
    """Raise `QuerySyntaxError` when a query found nothing because it has nothing to look
    for: no words at all, or only words the index does not keep (stop words, 1 letter)."""
    from whoosh import query as Q

    from .query import compile_query

    comp = compile_query(query, searcher.schema, filters or None)
    if comp.primary is not Q.NullQuery:
        return
    if comp.has_text:
        raise QuerySyntaxError(
            f"nothing to search for in {query!r}: every word is too common or too short to "
            "be indexed (the, of, a…); add a more specific word"
        )
    raise QuerySyntaxError("the query is empty: type at least one word or a filter such as tag:x")
