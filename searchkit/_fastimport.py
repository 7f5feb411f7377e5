"""Import Whoosh without `urllib.request`: a cold-start saving for every CLI command.

`whoosh.compat` does `from urllib.request import urlretrieve` at import time, for a
download helper searchkit never calls; that one line pulls in http.client, email, ssl and
socket: ~20 ms of a ~220 ms cold `searchkit search` (measured with -X importtime). Here
`whoosh.compat` is imported once with a stand-in `urllib.request` module whose only name,
`urlretrieve`, imports the real one if it is ever called. The stand-in is taken out of
`sys.modules` right after, so any later `import urllib.request` gets the real module.

index.py imports `whoosh` from here, before any other searchkit module imports Whoosh.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def _urlretrieve(*args: Any, **kwargs: Any) -> Any:
    from urllib.request import urlretrieve

    return urlretrieve(*args, **kwargs)


def _import_whoosh_compat() -> None:
    if "whoosh.compat" in sys.modules or "urllib.request" in sys.modules:
        return  # too late, or nothing to save
    stand_in = types.ModuleType("urllib.request")
    stand_in.urlretrieve = _urlretrieve  # type: ignore[attr-defined]
    sys.modules["urllib.request"] = stand_in
    try:
        import whoosh.compat  # noqa: F401
    finally:
        if sys.modules.get("urllib.request") is stand_in:
            del sys.modules["urllib.request"]


_import_whoosh_compat()

import whoosh.index  # noqa: E402  (after the stand-in)

__all__ = ["whoosh"]
