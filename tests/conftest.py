"""Search by meaning is off in the test processes unless a test turns it on.

The `test` extra installs the semantic layer, and with it on, every `searchkit index` would
embed and every server would embed in the background: the tests of matching words, output
and servers would then depend on the model and on timing. tests/test_semantic.py turns it
on (monkeypatch) and tests it with the real models.

Set for the whole session, at import: module-scoped fixtures start servers before any
function-scoped fixture could set it, and subprocesses inherit it.
"""

from __future__ import annotations

import os

os.environ["SEARCHKIT_SEMANTIC"] = "off"
