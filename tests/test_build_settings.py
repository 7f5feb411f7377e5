"""Build settings that adapt to the machine and the vault (issue 16)."""

from __future__ import annotations

import os

from searchkit.store import workers


def test_one_writer_when_one_core_is_free(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert workers.default_jobs() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert workers.default_jobs() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert workers.default_jobs() == 1
