"""The always-on path (issue 15): build workers that a server can always stop, watchers
that never drop an update, reads that cannot hang."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_http import TOKEN, Server, cli, start_server

import searchkit
from searchkit.api.watch import VaultChangeFilter
from searchkit.store import workers
from searchkit.store.indexdir import write_lock
from searchkit.surfaces.http_server import LOOPBACK_NAMES, LocalOnly
from searchkit.surfaces.serving import LiveIndex


def _worker_state(note: Any, chunks: list[Any]) -> list[dict[str, Any]]:
    """A `to_docs` that reports how the worker process was set up instead of documents."""
    return [{
        "sigterm": repr(signal.getsignal(signal.SIGTERM)),
        "pid": os.getpid(),
    }]


def _notes(root: Path, n: int) -> list[str]:
    root.mkdir(exist_ok=True)
    for i in range(n):
        (root / f"n{i:03}.md").write_text(f"# Note {i}\n\nbody {i}\n", encoding="utf-8")
    return [f"n{i:03}.md" for i in range(n)]


def test_build_workers_of_a_threaded_server_keep_no_foreign_sigterm_handler(tmp_path: Path):
    # uvicorn installs a SIGTERM handler that only sets a flag, and runs threads: a forked
    # pool worker inherits both, so Pool.terminate() could not stop one (issue 15 item 1).
    paths = _notes(tmp_path / "v", workers.POOL_MIN_NOTES)
    stop = threading.Event()
    flag_only = lambda signum, frame: None  # noqa: E731
    previous = signal.signal(signal.SIGTERM, flag_only)
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        loaded = list(workers.load_all(str(tmp_path / "v"), paths, 2, _worker_state))
    finally:
        stop.set()
        signal.signal(signal.SIGTERM, previous)
    states = [item.docs[0] for item in loaded]
    assert len(states) == len(paths)
    assert {s["pid"] for s in states} - {os.getpid()}, "the pool must have run"
    assert {s["sigterm"] for s in states} == {repr(signal.SIG_DFL)}


ABANDON = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from searchkit.store import workers

    def stubborn(note, chunks):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a worker that will not die politely
        if note.path >= "n016.md":  # past the first chunks (imap sends 8 at a time)
            time.sleep(600)
        return []

    vault = Path(sys.argv[1])
    paths = sorted(p.name for p in vault.iterdir())
    for _ in workers.load_all(str(vault), paths, 2, stubborn):
        break  # abandon the build while the workers are busy: its clean-up must end
    print("closed")
""")


def test_a_build_cut_short_never_waits_forever_on_its_workers(tmp_path: Path):
    _notes(tmp_path / "v", workers.POOL_MIN_NOTES)
    proc = subprocess.run(
        [sys.executable, "-c", ABANDON, str(tmp_path / "v")],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "closed" in proc.stdout


# ---------------------------------------------------------------------------------------
# Watchers: nothing dropped, nothing missed (items 2, 3, 4)


def _built(tmp_path: Path, notes: dict[str, str]) -> tuple[Path, Path]:
    vault = tmp_path / "vault"
    for rel, text in notes.items():
        (vault / rel).parent.mkdir(parents=True, exist_ok=True)
        (vault / rel).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    with searchkit.open_index(index, vault) as ix:
        ix.update()
    return vault, index


def _eventually(check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.1)


def _paths(live: LiveIndex, query: str) -> list[str]:
    return [p.path for p in live.search(query)]


NOTES = {"a.md": "# Alpha\n\nherons fish\n", "b.md": "# Beta\n\nowls hunt\n",
         "c.md": "# Gamma\n\nbats fly\n"}


def test_an_update_the_lock_refused_is_retried_until_it_lands(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)  # the watcher's first update
        with write_lock(index.absolute(), 1.0):  # another writer, busy for a while
            (vault / "a.md").write_text("# Alpha\n\nherons fish by a zeppelin\n")
            _eventually(live.warnings)  # the refused update says why answers may be stale
        # No further edit: the watcher must retry by itself.
        assert _eventually(lambda: _paths(live, "zeppelin")) == ["a.md"]
        assert live.warnings() == []
        assert live.status().stale == 0


def test_a_folder_with_a_dot_in_its_name_renamed_is_seen(tmp_path: Path):
    vault, index = _built(tmp_path, {"Project v1.2/plan.md": "# Plan\n\nzeppelin\n", **NOTES})
    flt = VaultChangeFilter(vault.resolve(), index.resolve())
    assert flt(None, str(vault.resolve() / "Project v1.3"))  # gone or a folder: may hold notes
    (vault / "pic.png").write_bytes(b"\x89PNG")
    assert not flt(None, str(vault.resolve() / "pic.png"))  # an existing non-note file
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)
        (vault / "Project v1.2").rename(vault / "Project v1.3")
        assert _eventually(lambda: _paths(live, "zeppelin") == ["Project v1.3/plan.md"])


def test_a_vault_folder_replaced_under_the_watcher_is_watched_again(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)
        # `mv vault vault.old && cp -a vault.old vault`: the old inode is watched no more.
        vault.rename(tmp_path / "vault.old")
        shutil.copytree(tmp_path / "vault.old", vault, symlinks=True)
        time.sleep(1.5)
        (vault / "b.md").write_text("# Beta\n\nowls hunt a zeppelin\n")
        assert _eventually(lambda: _paths(live, "zeppelin")) == ["b.md"]


def test_ctrl_c_stops_watch(tmp_path: Path):
    # SIGINT made watchfiles return, and the loop around it watched again (issue 23 item 5).
    vault, index = _built(tmp_path, NOTES)
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "watch", str(vault), "--index", str(index)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert "Watching" in proc.stderr.readline()
        assert proc.stdout.readline()  # the first update's summary: the loop is running
        time.sleep(1.5)  # inside watchfiles' wait by now
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        try:
            code = proc.wait(timeout=45)
        except subprocess.TimeoutExpired:  # say what it printed: a hang is to be explained
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"watch still running 45 s after SIGINT; stderr: {err!r}; "
                                 f"stdout: {out!r}") from None
        waited = time.monotonic() - started
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (code, err.strip().splitlines()[-1:]) == (0, ["Stopped watching."]), err
    # Promptly: well under the 10 s of the embedding slice it used to wait out (a loaded
    # CI machine is slow to start and stop a Python process at all).
    assert waited < 8
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


class _SlowEmbedder:
    """An embedder that takes its time: a background slice would run for seconds."""

    name, version, dimension = "slow", "1", 4

    def __init__(self) -> None:
        self.called = threading.Event()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        self.called.set()
        time.sleep(0.2)
        return [[1.0, 0.0, 0.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0, 0.0]


def test_stopping_does_not_wait_for_the_embedding_slice_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Ctrl-C on `watch` (or stopping a server) waited for the background embedder's 10 s
    # slice; it now stops after the batch at hand, keeping what was embedded.
    from searchkit.store import embedding
    from searchkit.surfaces.serving import BackgroundEmbedder

    monkeypatch.setattr(embedding, "BATCH", 1)
    vault, index = _built(tmp_path, {f"n{i}.md": f"# Note {i}\n\nbody {i}\n" for i in range(60)})
    slow = _SlowEmbedder()
    with searchkit.open_index(index, vault, embedder=slow) as ix:
        embedder = BackgroundEmbedder(ix)
        assert slow.called.wait(30)
        started = time.monotonic()
        embedder.close()
        assert time.monotonic() - started < 2
        kept = ix.semantic_status().embedded
        assert 0 < kept < 60


def test_a_background_embedding_error_that_repeats_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A damaged vectors folder fails every retry alike: `serve` printed it every 5 s.
    from searchkit.surfaces.serving import BackgroundEmbedder

    class Broken(_SlowEmbedder):
        def embed_passages(self, texts: list[str]) -> list[list[float]]:
            raise OSError("the model file is unreadable")

    monkeypatch.setattr(BackgroundEmbedder, "RETRY", 0.02)
    vault, index = _built(tmp_path, NOTES)
    errors: list[Exception] = []
    with searchkit.open_index(index, vault, embedder=Broken()) as ix:
        embedder = BackgroundEmbedder(ix, on_error=errors.append)
        time.sleep(1.0)  # dozens of retries
        embedder.close()
    assert len(errors) == 1, errors


def test_the_warm_cli_warns_of_a_refused_refresh_as_the_local_cli_does(tmp_path: Path):
    for server in start_server(tmp_path):
        time.sleep(0.5)
        for name in ("sleep.md", "rust.md"):  # every note gone: the update is refused
            (server.vault / name).unlink()
        _eventually(lambda s=server: "warnings" in s.get("/search", q="memory")[1])
        cold = cli(server, "memory", warm=False)
        warm = cli(server, "memory", warm=True)
        assert cold[3] is True and warm[3] is False
        warned = [line for line in cold[2].splitlines() if line.startswith("warning:")]
        assert warned and "could not refresh" in warned[0]
        assert [line for line in warm[2].splitlines() if line.startswith("warning:")] == warned
        assert warm[:2] == cold[:2]


# ---------------------------------------------------------------------------------------
# Reads that cannot hang or leak (items 7, 13, 14)


def test_a_fifo_swapped_in_for_an_indexed_note_does_not_hang_read(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)
    (vault / "a.md").unlink()
    os.mkfifo(vault / "a.md")
    box: dict[str, Any] = {}

    def read() -> None:
        try:
            # No refresh first: the swap lands between an update and the read.
            with searchkit.open_index(index, vault) as ix:
                box["value"] = ix.read_note("a.md")
        except Exception as exc:
            box["error"] = exc

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so the suite can go on, then fail
        fd = os.open(vault / "a.md", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert not t.is_alive(), "read hung on a FIFO"
    assert "not a regular file" in str(box.get("error"))


def test_a_symlink_to_a_hidden_file_is_neither_indexed_nor_read(tmp_path: Path):
    vault = tmp_path / "vault"
    (vault / ".private").mkdir(parents=True)
    (vault / ".private" / "creds.md").write_text("# Creds\n\npassword hunter2\n")
    (vault / "ignored").mkdir()
    (vault / "ignored" / "keys.md").write_text("# Keys\n\npassword swordfish\n")
    (vault / ".searchkitignore").write_text("ignored/\n")
    (vault / "open.md").write_text("# Open\n\nnothing secret\n")
    os.symlink(".private/creds.md", vault / "a.md")
    os.symlink("ignored/keys.md", vault / "b.md")
    with searchkit.open_index(tmp_path / "index", vault) as ix:
        report = ix.update()
        assert report.notes == 1
        assert {w.path for w in report.warnings} >= {"a.md", "b.md"}
        assert list(ix.search("password")) == []
        for path in ("a.md", "b.md"):
            try:
                ix.read_note(path)
            except searchkit.NoteError:
                continue
            raise AssertionError(f"{path} was read")


def test_a_nul_in_a_read_path_is_a_note_error(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)
    with searchkit.open_index(index, vault) as ix:
        try:
            ix.read_note("a\x00.md")
        except searchkit.NoteError as exc:
            assert "NUL" in str(exc)
        else:
            raise AssertionError("read a path with a NUL")


# ---------------------------------------------------------------------------------------
# The HTTP guard and its answers (items 12, 14; issue 17 item 11)

@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("http"))


def _guard(token: str | None = None) -> LocalOnly:
    return LocalOnly(None, allowed_hosts=LOOPBACK_NAMES, token=token)


def _wire(value: str) -> str:
    return value.encode("utf-8").decode("latin-1")  # a header as the server decodes it


def test_cross_site_browser_requests_are_refused_same_origin_ones_served():
    g = _guard()
    local = {"host": "127.0.0.1:8765"}
    # A cross-site no-cors GET: no Origin, maybe no Referer.
    assert g._problem({**local, "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors"})
    assert g._problem({**local, "sec-fetch-mode": "no-cors"})
    assert g._problem({**local, "referer": "https://evil.example/page"})
    assert g._problem({**local, "sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors"})
    # The user typing the URL, a same-origin page, a script with no browser headers.
    assert g._problem({**local, "sec-fetch-site": "none", "sec-fetch-mode": "navigate"}) is None
    assert g._problem({**local, "sec-fetch-site": "same-origin",
                       "referer": "http://127.0.0.1:8765/"}) is None
    assert g._problem(local) is None


def test_tokens_any_case_bearer_and_non_ascii():
    g = _guard("pässwört")
    local = {"host": "localhost:1"}
    assert g._problem({**local, "authorization": _wire("Bearer pässwört")}) is None
    assert g._problem({**local, "authorization": _wire("bearer pässwört")}) is None
    assert g._problem({**local, "authorization": _wire("BEARER  pässwört ")}) is None
    assert g._problem({**local, "authorization": _wire("Bearer passwort")})[0] == 401
    assert g._problem({**local, "authorization": _wire("Basic pässwört")})[0] == 401


def _raw(
    server: Server, method: str, route: str, token: str | None = TOKEN
) -> tuple[int, Any, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{route}", method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_every_route_answers_json_with_one_kind_per_cause(http: Server):
    server = http
    status, headers, data = _raw(server, "GET", "/")
    assert status == 200 and set(data["endpoints"]) == {"/search", "/read", "/status"}
    status, headers, data = _raw(server, "GET", "/nope")
    assert (status, data["kind"]) == (404, "not_found")
    assert headers["content-type"] == "application/json"
    status, headers, data = _raw(server, "POST", "/search")
    assert (status, data["kind"]) == (405, "method")
    status, headers, data = _raw(server, "GET", "/status", token=None)
    assert (status, data["kind"]) == (401, "unauthorized")
    assert headers["www-authenticate"].lower().startswith("bearer")
    status, headers, data = _raw(server, "GET", "/read?path=a%00.md")
    assert (status, data["kind"]) == (404, "not_found")
    assert server.get("/search", q="has:nothing")[1]["kind"] == "query"
    assert server.get("/search", q="memory", limit="x")[1]["kind"] == "usage"


# ---------------------------------------------------------------------------------------
# MCP: every line answered; the same defaults as the CLI (item 14; issue 17 item 22)


def _mcp_lines(args: list[str], lines: list[bytes], expect: int,
               cwd: Path | None = None) -> tuple[list[dict[str, Any]], str]:
    """Send `lines` to `searchkit mcp`, read `expect` answers, then close its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "mcp", *args], cwd=cwd,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(cwd or "/nonexistent")},
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"".join(line + b"\n" for line in lines))
    proc.stdin.flush()
    timer = threading.Timer(60, proc.kill)  # a missing answer fails, never hangs
    timer.start()
    answers = []
    try:
        while len(answers) < expect:
            line = proc.stdout.readline()
            if not line:
                break
            answers.append(json.loads(line))
    finally:
        timer.cancel()
        proc.stdin.close()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(30)
    return answers, err.decode()


INIT = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "t", "version": "1"}}}).encode()
INITED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'


def _tool(ident: int, name: str, **args: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}).encode()


def test_mcp_answers_every_malformed_line(tmp_path: Path):
    _, index = _built(tmp_path, NOTES)
    answers, _ = _mcp_lines(["--index", str(index)], [
        b"not json", b"\xff\xfe", b"[1, 2]", b'{"id": 7}',
        b'{"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"s": "\\ud800"}}',
        b'{"jsonrpc": "2.0", "id": 9, "method": "ping"}',
    ], expect=6)
    by_id = {(a.get("id"), a.get("error", {}).get("code")) for a in answers}
    assert (None, -32700) in by_id and (7, -32600) in by_id and (8, -32600) in by_id
    assert (None, -32600) in by_id
    assert any(a.get("id") == 9 and "result" in a for a in answers)
    assert len(answers) == 6


def test_mcp_without_an_index_stays_up_and_names_vault(tmp_path: Path):
    answers, err = _mcp_lines([], [INIT, INITED, _tool(1, "search", query="owls")],
                              expect=2, cwd=tmp_path)
    assert "--vault" in err
    result = next(a for a in answers if a.get("id") == 1)["result"]
    assert result["isError"] and "--vault" in result["content"][0]["text"]


STAMPED = ("# Talk\n\nintro\n\n## Part\n"
           + "".join(f'owls {i} <a data-t="00:0{i}:00">[00:0{i}:00]</a>\\n\n' for i in range(5)))


def test_mcp_pages_with_offset_and_defaults_as_the_cli(tmp_path: Path):
    # Distinct notes (the same text in several notes is one result: issue 22).
    notes = {f"n{i}.md": f"# N{i}\n\n" + "\n\n".join(f"## S{j}\nowls hunt {j}" for j in range(5))
             for i in range(3)}
    notes["talk.md"] = STAMPED
    _, index = _built(tmp_path, notes)
    answers, _ = _mcp_lines(["--index", str(index)], [
        INIT, INITED,
        _tool(1, "search", query="owls hunt", limit=50),
        _tool(2, "search", query="owls hunt", limit=4),
        _tool(3, "search", query="owls hunt", limit=4, offset=4),
        _tool(4, "read", path="talk.md", start_line=6, max_lines=1),
        _tool(5, "read", path="talk.md", start_line=6, max_lines=1, raw=True),
    ], expect=6)
    text = {a["id"]: a["result"]["content"][0]["text"] for a in answers if a.get("id")}
    every = json.loads(text[1])["results"]
    assert max(sum(r["path"] == p for r in every) for p in notes) == 3  # per_note as CLI/HTTP
    first, second = json.loads(text[2]), json.loads(text[3])
    assert "offset=4" in first["more"]
    assert [r["rank"] for r in second["results"]] == [5, 6, 7, 8]
    assert [(r["path"], r["lines"]) for r in first["results"] + second["results"]] == [
        (r["path"], r["lines"]) for r in every[:8]]
    assert "<a" not in text[4] and "[00:00:00]" in text[4]
    assert 'data-t="00:00:00"' in text[5]


# ---------------------------------------------------------------------------------------
# The warm CLI believes only its own server (item 9)


def _rogue() -> tuple[int, list[bytes], threading.Thread]:
    """A loopback listener answering any request with a well-formed search answer."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(8)
    got: list[bytes] = []
    body = json.dumps({"query": "owls", "total": 1, "offset": 0, "vault": None, "results": [
        {"id": "evil.md#0", "path": "evil.md", "title": "\x1b]52;c;cHduZWQ=\x07Evil",
         "heading_path": [], "highlights": [], "tags": [], "links": {}}]}).encode()

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            srv.close()
            return
        with conn:
            got.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], got, t


def test_a_planted_serve_file_gets_no_query_and_no_trust(tmp_path: Path):
    from click.testing import CliRunner

    from searchkit.surfaces.cli import main
    from searchkit.surfaces.remote import SERVE_FILE

    vault, index = _built(tmp_path, NOTES)
    port, got, t = _rogue()
    planted = {"pid": os.getpid(), "host": "127.0.0.1", "port": port, "token": None,
               "index_dir": str(index.absolute()), "vault": str(vault.resolve())}
    path = index / SERVE_FILE
    path.write_text(json.dumps(planted))
    path.chmod(0o600)
    result = CliRunner().invoke(main, ["search", "--index", str(index), "owls", "--json"],
                                env={"SEARCHKIT_NO_SERVER": "0"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0]["path"] == "b.md"  # searched locally
    t.join(0.5)
    assert got == [], "the query went to a server that never proved it wrote the file"


# ---------------------------------------------------------------------------------------
# Index folders are private (item 10)


def test_index_folders_are_0700_and_their_files_0600(tmp_path: Path):
    vault, index = _built(tmp_path, NOTES)

    def modes() -> tuple[int, set[int]]:
        files = {p.stat().st_mode & 0o777 for p in index.iterdir() if p.is_file()}
        return index.stat().st_mode & 0o777, files

    assert modes() == (0o700, {0o600})
    index.chmod(0o755)  # an index made by an older version
    for p in index.iterdir():
        if p.is_file():
            p.chmod(0o644)
    (vault / "a.md").write_text("# Alpha\n\nherons again\n")
    with searchkit.open_index(index, vault) as ix:
        ix.update()
    assert modes() == (0o700, {0o600})


def test_serve_without_an_index_gives_the_hint_search_gives(tmp_path: Path):
    from click.testing import CliRunner

    from searchkit.surfaces.cli import main

    index = str(tmp_path / "nowhere")
    served = CliRunner().invoke(main, ["serve", "--index", index, "--port", "0"])
    searched = CliRunner().invoke(main, ["search", "--index", index, "owls"],
                                  env={"SEARCHKIT_NO_SERVER": "1"})
    assert served.exit_code == searched.exit_code == 2
    hint = searched.output.strip().splitlines()[-1]
    assert f"--index {index}" in hint
    assert served.output.strip().splitlines()[-1] == hint


# ---------------------------------------------------------------------------------------
# Slow clients cannot exhaust the server (item 8)


def test_idle_connections_cannot_exhaust_the_servers_descriptors(tmp_path: Path):
    import resource
    import socket
    import urllib.request

    _, index = _built(tmp_path, NOTES)

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "serve", "--index", str(index), "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=low_limit,
    )
    idle: list[socket.socket] = []
    try:
        from searchkit.surfaces.remote import SERVE_FILE

        info = index / SERVE_FILE
        _eventually(info.exists, 20)
        port = json.loads(info.read_text())["port"]
        for _ in range(400):  # connect, never send a request
            try:
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)

        def answered() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/search?q=owls",
                                            timeout=3) as resp:
                    return json.loads(resp.read())["results"][0]["path"] == "b.md"
            except OSError:
                return False

        assert _eventually(answered, 25)
    finally:
        for s in idle:
            s.close()
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert len(err) < 20_000, err[-2000:]  # no flood of tracebacks


def test_a_request_that_runs_too_long_is_answered_with_a_timeout_error():
    import anyio

    from searchkit.surfaces.http_server import create_app

    class Slow:
        watching = True

        def search(self, query: str, **kwargs: Any) -> Any:
            time.sleep(3)
            raise AssertionError("not reached in time")

        def warnings(self) -> list[str]:
            return []

    app = create_app(Slow(), request_timeout=0.5)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        scope = {"type": "http", "method": "GET", "path": "/search", "raw_path": b"/search",
                 "query_string": b"q=owls", "headers": [(b"host", b"127.0.0.1:1")],
                 "scheme": "http", "server": ("127.0.0.1", 1), "root_path": "",
                 "http_version": "1.1", "client": ("127.0.0.1", 2)}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    start = time.monotonic()
    anyio.run(run)
    assert time.monotonic() - start < 2.5
    assert sent[0]["status"] == 503
    assert json.loads(sent[1]["body"])["kind"] == "timeout"


# ---------------------------------------------------------------------------------------
# No text lost to nesting (item 15)


def _all_text(text: str, path: str = "n.md") -> tuple[str, tuple[Any, ...]]:
    from searchkit.ingest.chunker import split_note
    from searchkit.ingest.notes import parse_note

    note, chunks = split_note(parse_note(text, path))
    return "\n".join(c.text for c in chunks), note.warnings


def test_a_list_nested_ten_deep_keeps_the_rest_of_the_note():
    text = ("# T\n\n" + "".join("  " * i + f"- level{i}\n" for i in range(12))
            + "\n## After\n\nzeppelin words\n")
    body, warnings = _all_text(text)
    assert "level11" in body and "zeppelin" in body
    assert warnings == ()


def test_nesting_past_the_limit_is_kept_flat_with_a_warning():
    body, warnings = _all_text("# Q\n\n" + ">" * 5000 + " deep text\n\nafter\n", "deep.md")
    assert "deep text" in body and "after" in body
    assert [w.path for w in warnings] == ["deep.md"] and "flat" in warnings[0].message


@pytest.mark.parametrize("broken", ["folder", "readonly"])
def test_config_that_cannot_be_written_is_a_one_line_error(tmp_path: Path, broken: str):
    from click.testing import CliRunner

    from searchkit.surfaces.cli import main

    conf = tmp_path / "conf" / "searchkit"
    if broken == "folder":
        (conf / "config.toml").mkdir(parents=True)
    else:
        conf.mkdir(parents=True)
        conf.chmod(0o500)
        if os.access(conf, os.W_OK):
            (conf / "config.toml").mkdir()  # root writes anywhere: a folder again
    result = CliRunner().invoke(main, ["config", "vault", str(tmp_path)],
                                env={"XDG_CONFIG_HOME": str(tmp_path / "conf")})
    conf.chmod(0o700)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error: cannot write" in result.output


# ---------------------------------------------------------------------------------------
# Searchers of old generations are released (item 6, server side)


def _stale_searchers(live: LiveIndex) -> int:
    current = live.ix._current  # the generation the meta names (as last read)
    stale = 0
    for searcher in list(live.ix._searchers.values()):
        try:
            fresh = searcher.up_to_date() and searcher._ix.indexname == current.ix.indexname
        except Exception:  # its files are gone
            fresh = False
        stale += not fresh
    return stale


def test_idle_search_threads_let_go_of_replaced_index_files(tmp_path: Path):
    vault, index = _built(tmp_path, {f"n{i}.md": f"# N{i}\n\nowls {i}\n" for i in range(30)})
    with LiveIndex(index, vault) as live:
        time.sleep(0.5)
        # Request threads (a server's) search once each, then sit idle.
        callers = [threading.Thread(target=live.search, args=("owls",)) for _ in range(6)]
        for t in callers:
            t.start()
        for t in callers:
            t.join()
        with searchkit.open_index(index, vault) as ix:
            ix.update(rebuild=True)  # another process rebuilds: the old files are deleted
        (vault / "n1.md").write_text("# N1\n\nowls and herons\n")  # the watcher updates
        assert _eventually(lambda: _paths(live, "herons") == ["n1.md"])
        # No searcher of the replaced index is left open, whichever thread opened it.
        assert _eventually(lambda: _stale_searchers(live) == 0, 10)
        assert len(live.ix._searchers) <= 8


def test_a_change_no_event_announced_is_found_by_the_periodic_stat_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from searchkit.api import watch

    vault, index = _built(tmp_path, NOTES)
    monkeypatch.setattr(watch.VaultChangeFilter, "__call__", lambda self, c, p: False)
    reports: list[Any] = []
    stop = threading.Event()
    t = threading.Thread(target=watch.watch_vault, args=(index, vault, reports.append),
                         kwargs={"stop_event": stop, "recheck_seconds": 1.0}, daemon=True)
    t.start()
    try:
        _eventually(lambda: reports)  # the first update
        (vault / "c.md").write_text("# Gamma\n\nbats fly past a zeppelin\n")
        _eventually(lambda: any(r.changed for r in reports), 10)
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()


def test_a_serve_file_others_could_have_written_is_not_believed(http: Server):
    from searchkit.surfaces.remote import SERVE_FILE

    info = http.index / SERVE_FILE
    assert cli(http, "memory", warm=True)[3] is False  # handed off to the live server
    info.chmod(0o644)  # writable by its group or others: anyone may have planted it
    try:
        assert cli(http, "memory", warm=True)[3] is True  # searched locally
        info.chmod(0o600)
        if os.geteuid() == 0:  # another user's file, even 0600
            os.chown(info, 12345, -1)
            assert cli(http, "memory", warm=True)[3] is True
    finally:
        with contextlib.suppress(OSError):
            os.chown(info, os.getuid(), -1)
        info.chmod(0o600)


def test_prefix_words_expanded_per_query_are_capped(tmp_path: Path):
    # Item 8: a query of many prefixes (`ab* ac* ad* …`) must not expand every one of them.
    from searchkit.retrieve.query import MAX_PREFIX_WORDS, compile_query

    words = [f"{a}{b}" for a in "abcdefgh" for b in "aeiou"][:40]
    notes = {"n.md": "# N\n\n" + " ".join(w + "zz" for w in words) + "\n"}
    _, index = _built(tmp_path, notes)
    query = " ".join(w + "*" for w in words)
    with searchkit.open_index(index) as ix:
        searcher, _ = ix._searcher()
        comp = compile_query(query, searcher.schema, None)
        assert sum(c.kind == "prefix" for c in comp.concepts) == MAX_PREFIX_WORDS
        assert ix.search(query)  # the capped query still finds the note
