"""Build settings that adapt to the machine and the vault (issue 16)."""

from __future__ import annotations

import os

from searchkit.store import index as index_mod
from searchkit.store import workers


def test_one_writer_when_one_core_is_free(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert workers.default_jobs() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert workers.default_jobs() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert workers.default_jobs() == 1


def test_posting_pool_grows_with_the_vault_within_memory(monkeypatch):
    mb = 2**20
    small = index_mod.writer_limitmb(1 * mb, 1)
    nine_k = index_mod.writer_limitmb(74 * mb, 2)  # tubegraph: 74 MB of notes
    assert small == index_mod.LIMITMB_MIN
    assert 512 <= nine_k <= 1024  # spills no run file (measured: 256 did, 1024 did not)
    assert index_mod.writer_limitmb(5000 * mb, 2) <= index_mod.LIMITMB_MAX
    # A quarter of the memory across writers at most: 4 GB of RAM, 2 writers -> 512.
    pages = 4 * 1024 * mb // os.sysconf("SC_PAGE_SIZE")
    real = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda k: pages if k == "SC_PHYS_PAGES" else real(k))
    assert index_mod.writer_limitmb(5000 * mb, 2) == 512
    monkeypatch.setattr(index_mod, "WRITER_LIMITMB", 300)
    assert index_mod.writer_limitmb(5000 * mb, 2) == 300
