"""`searchkit serve` in a subprocess on a free loopback port, driven with urllib; and the warm
CLI (`searchkit search` handing its query to that server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from vaults import RUST, SLEEP, serving

import searchkit
from searchkit.surfaces.remote import SERVE_FILE

TOKEN = "s3cret-token"



@dataclass
class Server:
    vault: Path
    index: Path
    port: int
    proc: subprocess.Popen[bytes]

    def get(self, route: str, token: str | None = TOKEN, headers: dict[str, str] | None = None,
            **params: Any) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.port}{route}?{urlencode(params, doseq=True)}"
        req = urllib.request.Request(url, headers=headers or {})
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


def make_vault(root: Path) -> tuple[Path, Path]:
    vault = root / "vault"
    vault.mkdir()
    (vault / "sleep.md").write_text(SLEEP, encoding="utf-8")
    (vault / "rust.md").write_text(RUST, encoding="utf-8")
    (root / "outside").mkdir()
    (root / "outside" / "secret.md").write_text("# Secret\n\npassword\n", encoding="utf-8")
    os.symlink(root / "outside" / "secret.md", vault / "linked.md")
    index = root / "index"
    with searchkit.open_index(index, vault) as ix:
        ix.update()
    return vault, index


def start_server(root: Path, *args: str, preexec_fn: Any = None) -> Iterator[Server]:
    vault, index = make_vault(root)
    for proc, port in serving(index, "--token", TOKEN, *args, preexec_fn=preexec_fn):
        yield Server(vault, index, port, proc)
    assert not (index / SERVE_FILE).exists(), "the server must remove its warm-CLI file on exit"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("http"))


def test_search_has_the_cli_json_shape(server: Server) -> None:
    status, data = server.get("/search", q="hippocampus", limit=5)
    assert status == 200
    assert {"query", "total", "total_exact", "offset", "suggestion", "results"} <= set(data)
    top = data["results"][0]
    assert (top["path"], top["heading_path"], top["line"]) == ("sleep.md", ["Slow-wave sleep"], 8)
    assert top["abs_path"].endswith("sleep.md")
    assert top["timestamp"] == 100 and top["links"]["video"].endswith("t=100s")
    assert "<mark>hippocampus</mark>" in top["snippet_marked"]

    status, data = server.get("/search", q="memory", path="rust.md")
    assert (status, data["results"]) == (200, [])
    status, data = server.get("/search", q="memory", kind="section", limit=1)
    assert status == 200 and len(data["results"]) == 1


def test_read_around_a_hit(server: Server) -> None:
    _, data = server.get("/search", q="hippocampus")
    hit = data["results"][0]
    status, window = server.get("/read", path=hit["path"], start=hit["line"], lines=2)
    assert status == 200
    assert window["lines"] == [
        "## Slow-wave sleep",
        'During deep sleep the hippocampus replays the day <a data-t="00:01:40">[00:01:40]</a>.',
    ]
    assert (window["start"], window["end"], window["next_start"]) == (8, 9, 10)


def test_bad_requests_get_one_line_errors(server: Server) -> None:
    status, data = server.get("/search", q="has:nothing")
    assert status == 400 and data["kind"] == "query"
    assert "has:nothing is not known" in data["error"]
    assert server.get("/search", q="")[0] == 400
    status, data = server.get("/search", q="sleep", limit="ten")
    assert status == 400 and "limit must be a whole number" in data["error"]
    for path, why in [("../outside/secret.md", "leaves the vault"),
                      ("/etc/passwd", "not a vault-relative"),
                      ("linked.md", "symlink"), ("nope.md", "not an indexed note")]:
        status, data = server.get("/read", path=path)
        assert status == 404 and why in data["error"], (path, data)
    # still serving; the symlink out of the vault is not indexed (nor read)
    assert server.get("/status")[1]["notes"] == 2


def test_foreign_host_and_origin_are_refused(server: Server) -> None:
    status, data = server.get("/status", headers={"Host": "attacker.example"})
    assert status == 403 and "Host" in data["error"]
    status, data = server.get("/status", headers={"Origin": "http://attacker.example"})
    assert status == 403
    assert server.get("/status", headers={"Host": f"localhost:{server.port}"})[0] == 200
    assert server.get("/status", headers={"Origin": f"http://127.0.0.1:{server.port}"})[0] == 200


def test_wrong_or_missing_token_is_refused(server: Server) -> None:
    assert server.get("/status", token="wrong")[0] == 401
    assert server.get("/status", token=None)[0] == 401
    assert server.get("/status")[0] == 200


# The warm CLI: a whole `searchkit search` process, run with and without the hand-off.
# The probe reports whether Whoosh was imported, so the test knows which path ran.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('WHOOSH=%s\\n' % ('whoosh' in sys.modules)))\n"
    "from searchkit.surfaces.cli import main\n"
    "main(sys.argv[1:], prog_name='searchkit')\n"
)


def cli(server: Server, *args: str, warm: bool) -> tuple[int, str, str, bool]:
    env = {**os.environ, "SEARCHKIT_NO_SERVER": "0" if warm else "1", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "search", "--index", str(server.index), *args],
        capture_output=True, text=True, env=env, timeout=60,
    )
    err, _, probe = done.stderr.rpartition("WHOOSH=")
    return done.returncode, done.stdout, err, probe.strip() == "True"


@pytest.mark.parametrize(
    "args",
    [
        ("hippocampus", "--json"),
        ("memory", "-n", "1"),  # text output, with the "more" line on stderr
        ("sleep", "--explain", "--json"),
        ("hipocampus",),  # no results: exit 1 and the did-you-mean line
        ("has:nothing",),  # a bad query: exit 2 and the one-line error
        ("memory", "--tag", "none", "--json"),
    ],
)
def test_warm_cli_prints_what_a_local_search_prints(server: Server, args: tuple[str, ...]) -> None:
    cold = cli(server, *args, warm=False)
    warm = cli(server, *args, warm=True)
    assert cold[3] is True and warm[3] is False  # only the cold run opened the index
    assert warm[:3] == cold[:3]


def test_a_note_edited_while_serving_is_found(tmp_path: Path) -> None:
    for server in start_server(tmp_path):
        assert server.get("/search", q="zeppelin")[1]["results"] == []
        time.sleep(0.3)  # let the watcher settle on its first scan
        (server.vault / "rust.md").write_text(RUST + "\n## Airships\nA zeppelin floats.\n",
                                              encoding="utf-8")
        deadline = time.monotonic() + 10
        while not (results := server.get("/search", q="zeppelin")[1]["results"]):
            assert time.monotonic() < deadline, "the edit never reached the index"
            time.sleep(0.1)
        assert results[0]["path"] == "rust.md"
        assert server.get("/read", path="rust.md", start=7)[1]["lines"] == ["A zeppelin floats."]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_a_note_name_that_is_not_utf8_leaves_search_and_watching_up(tmp_path: Path) -> None:
    """It used to answer 500 to every /search and stop the watcher (issue 23)."""
    for server in start_server(tmp_path):
        time.sleep(0.3)  # let the watcher settle on its first scan
        with open(os.path.join(os.fsencode(server.vault), b"bad\xff\xfename.md"), "w") as f:
            f.write("# Bad\n\nA zeppelin in a badly named note.\n")
        time.sleep(0.3)
        (server.vault / "rust.md").write_text(RUST + "\n## Airships\nA zeppelin floats.\n",
                                              encoding="utf-8")
        deadline = time.monotonic() + 10
        while True:
            status, data = server.get("/search", q="zeppelin")
            assert status == 200, data
            if data["results"]:
                break
            assert time.monotonic() < deadline, "the edit never reached the index"
            time.sleep(0.1)
        assert [r["path"] for r in data["results"]] == ["rust.md"]
        assert server.get("/status")[1]["watching"] is True
        # Bytes that are not UTF-8 in a URL come out of its decoding as U+FFFD: no such note.
        assert server.get("/read", path=b"bad\xff\xfename.md")[0] == 404


def test_a_stale_server_file_falls_back_to_a_local_search(tmp_path: Path) -> None:
    import socket

    from click.testing import CliRunner

    from searchkit.surfaces.cli import main
    from searchkit.surfaces.remote import ServerInfo, write_server_info

    vault, index = make_vault(tmp_path)
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for pid in (os.getpid(), 2**22 + 12345):  # a live process without a server; no process
        write_server_info(index, ServerInfo(pid, "127.0.0.1", port, None, str(index),
                                            str(vault.resolve())))
        result = CliRunner().invoke(main, ["search", "--index", str(index), "borrow", "--json"],
                                    env={"SEARCHKIT_NO_SERVER": "0"})
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["results"][0]["path"] == "rust.md"


# ---------------------------------------------------------------------------------------
# Only the server's own web origin; idle connections cannot crowd clients out (issue 23
# item 11).


def test_only_the_servers_own_origin_is_served(server: Server) -> None:
    port = server.port
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}",
                   f"http://[::1]:{port}", f"HTTP://LOCALHOST:{port}"):
        assert server.get("/status", headers={"Origin": origin})[0] == 200, origin
    # Another local app's page is as foreign as any site.
    for origin in ("http://localhost:3000", f"http://127.0.0.1:{port + 1}",
                   f"https://127.0.0.1:{port}", "http://localhost", "null",
                   f"http://127.0.0.1.evil.example:{port}"):
        status, data = server.get("/status", headers={"Origin": origin})
        assert (status, data.get("kind")) == (403, "refused"), origin
    assert server.get("/status", headers={"Referer": f"http://localhost:{port}/page"})[0] == 200
    assert server.get("/status", headers={"Referer": "http://localhost:3000/page"})[0] == 403


def test_configured_origins_are_served_too(tmp_path: Path) -> None:
    for server in start_server(tmp_path, "--allow-origin", "https://notes.example",
                               "--allow-origin", "http://localhost:3000"):
        for origin in ("https://notes.example", "https://notes.example:443",
                       "http://localhost:3000", f"http://localhost:{server.port}"):
            assert server.get("/status", headers={"Origin": origin})[0] == 200, origin
        for origin in ("http://notes.example", "https://other.example", "http://localhost:3001"):
            assert server.get("/status", headers={"Origin": origin})[0] == 403, origin


def test_a_malformed_allowed_origin_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from searchkit.surfaces.cli import main

    result = CliRunner().invoke(main, ["serve", "--index", str(tmp_path), "--allow-origin",
                                       "notes.example"])
    assert result.exit_code == 2 and "not an origin" in result.output


def _closed(sock: Any) -> bool:
    """Whether the server closed `sock` (an EOF or a reset is waiting behind any data)."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_a_connection_that_sends_nothing_is_closed_within_seconds(server: Server) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as silent, \
            socket.create_connection(("127.0.0.1", server.port), timeout=2) as trickle:
        # One request answered, then the next head started and never finished: it held
        # its connection for ever (uvicorn's keep-alive timer stops at the first byte).
        trickle.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        assert trickle.recv(65536).startswith(b"HTTP/1.1 200")
        trickle.sendall(b"GET /sta")
        started = time.monotonic()
        deadline = started + 9  # the head timeout was 10 s
        while not (_closed(silent) and _closed(trickle)):
            assert time.monotonic() < deadline, "an idle connection stayed open"
            time.sleep(0.1)
        assert time.monotonic() - started < 5


def test_idle_connections_of_one_client_are_capped(server: Server) -> None:
    import socket

    from searchkit.surfaces.http_server import PER_CLIENT

    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=2)
            for _ in range(PER_CLIENT + 40)]
    try:
        time.sleep(0.5)  # well inside the head timeout: only the cap closes any
        closed = sum(_closed(s) for s in idle)
        assert closed >= 40
        assert not any(_closed(s) for s in idle[-PER_CLIENT // 2:])  # the oldest went first
        assert server.get("/status")[0] == 200
    finally:
        for s in idle:
            s.close()


def test_a_full_connection_table_makes_room_for_a_new_client(tmp_path: Path) -> None:
    import resource
    import socket

    def low_limit() -> None:  # max_connections() is then 64
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    for server in start_server(tmp_path, preexec_fn=low_limit):
        idle = []
        try:
            for _ in range(100):  # connect, never send a request
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))
            time.sleep(0.3)
            started = time.monotonic()
            # At once, not once the head timeout frees a slot: the longest idle goes.
            assert server.get("/status")[0] == 200
            assert time.monotonic() - started < 2
        finally:
            for s in idle:
                s.close()
