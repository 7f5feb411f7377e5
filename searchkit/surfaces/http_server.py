"""`searchkit serve`: a read-only local HTTP JSON API over one warm `LiveIndex`.

Starlette routes run by uvicorn (both come with the `mcp` SDK), three GET endpoints:

- `/search?q=…&limit=&offset=&per_note=&tag=&path=&callout=&kind=&explain=&mode=` → the CLI's
  `--json` shape (full `Passage.to_dict()` rows, which the warm CLI
  uses it to print exactly what a local search prints);
- `/read?path=…&start=…&lines=…` → numbered lines of an indexed note;
- `/status` → `IndexStatus.to_dict()` plus whether the watcher runs.

A browser asking for `/` gets the search page instead of the endpoint list (`page`,
docs/page.md); the page and its files are the only routes served without the token.

A server on localhost is reachable from any web page the user opens (DNS rebinding): every
request whose `Host` is not a loopback name, or whose `Origin` (sent by browsers) is not
the server's own (`http://127.0.0.1:PORT`, `http://localhost:PORT`, or one configured with
`--allow-origin`), is refused before routing: another local app's page
(`http://localhost:3000`) is as foreign as any site. `--token` adds a bearer token check.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import (
    NoteError,
    QuerySyntaxError,
    QueryTooCostlyError,
    SearchkitError,
)
from . import page
from .remote import (
    PROOF_HEADER,
    ServerInfo,
    process_started,
    proof,
    remove_server_info,
    write_server_info,
)
from .serving import LiveIndex

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
KINDS = ("intro", "section", "callout")

# Slow and costly clients: a connection must send its request head within HEADER_TIMEOUT
# of connecting or of its previous answer (idle sockets otherwise pile up until the server
# runs out of file descriptors; a local client sends its request at once), at most
# max_connections() are open at once and PER_CLIENT of them from one address, requests
# run on SEARCH_THREADS threads (each open searcher holds memory), and a request taking
# over REQUEST_TIMEOUT is answered with an error (its thread finishes in the background,
# still counted against SEARCH_THREADS). At a cap, the connection idle the longest is
# closed for the new one: 1,100 idle sockets held every client out for the 10 s the head
# timeout then was.
HEADER_TIMEOUT = 3.0
KEEP_ALIVE_TIMEOUT = 2
PER_CLIENT = 128
SEARCH_THREADS = 8
REQUEST_TIMEOUT = 20.0
DISCONNECT_POLL = 0.1  # seconds between looks at whether a searching client is still there


ACCEPT_BACKLOG = 64  # asyncio accepts up to this many connections in one go


def max_connections() -> int:
    """Connections open at once: half the descriptors this process may open, less one
    accept batch (the rest are the index's and the watcher's)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - Windows
        return 512
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(16, min(1024, soft // 2 - ACCEPT_BACKLOG))


def _protocol(header_timeout: float, limit: int, per_client: int = PER_CLIENT) -> Any:
    """uvicorn's h11 protocol, with a deadline for each request head and connection caps
    (all connections, and those of one client address) that make room by closing the
    connection idle the longest."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Guarded(H11Protocol):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._idle_since = self.loop.time()
            if not self._make_room():
                transport.abort()  # every connection is busy: refuse this one
                return
            self._arm_head_timer()

        def _idle(self) -> bool:
            """Waiting for a request head: none yet, or the last one answered."""
            return (self.cycle is None or self.cycle.response_complete) \
                and not self.transport.is_closing()

        def _make_room(self) -> bool:
            """Close the longest idle connection of a cap this one goes over; False when
            there is none to close."""
            mine = self.client[0] if self.client else None
            for same_client, cap in ((True, per_client), (False, limit)):
                group = [c for c in self.connections if c is not self
                         and (not same_client or (c.client and c.client[0] == mine))]
                if len(group) < cap:
                    continue
                idle = [c for c in group if c._idle()]
                if not idle:
                    return False
                victim = min(idle, key=lambda c: c._idle_since)
                victim.transport.abort()
                self.connections.discard(victim)  # counted out now, not on its callback
            return True

        def _arm_head_timer(self) -> None:
            self._head_timer = self.loop.call_later(header_timeout, self._head_timeout)

        def _head_timeout(self) -> None:
            if self._idle():
                self.transport.abort()  # connected, yet no request head in time

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._idle_since = self.loop.time()
            timer = getattr(self, "_head_timer", None)
            if timer is not None:
                timer.cancel()
            if not self.transport.is_closing():
                # The next head has the same deadline: without it, a client trickling a
                # second request's head byte by byte held its connection for ever.
                self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            timer = getattr(self, "_head_timer", None)
            if timer is not None:
                timer.cancel()
            super().connection_lost(exc)

    return Guarded


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.startswith("127.")


def other_users() -> bool:
    """Whether other people may log in here (another account with a login shell)."""
    try:
        import pwd
    except ImportError:  # pragma: no cover - Windows
        return False
    me = os.getuid()
    return any(
        u.pw_uid != me and (u.pw_uid >= 1000 or u.pw_uid == 0) and u.pw_uid != 65534
        and not u.pw_shell.endswith(("nologin", "false", "sync"))
        for u in pwd.getpwall()
    )


def _hostname(value: str) -> str | None:
    """The host name of a `Host` header (`name[:port]`, `[v6]:port`) or an origin URL."""
    try:
        parts = urlsplit(value if "//" in value else f"//{value}")
        _ = parts.port  # a malformed port raises ValueError
    except ValueError:
        return None
    return parts.hostname


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, lower case, the port made explicit;
    None when it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a malformed port
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


class LocalOnly:
    """ASGI middleware: refuse foreign `Host`/`Origin`/`Referer` and cross-site browser
    requests (403), and a wrong token (401).

    A browser's `Origin` (and `Referer`) must be the server's own: http, a name in
    `allowed_hosts` (loopback names are one another's equivalents) and `port`, the port it
    listens on (None: the port the `Host` header names); or one of `origins`, configured.
    """

    def __init__(
        self, app: Any, *, allowed_hosts: frozenset[str], token: str | None,
        port: int | None = None, origins: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        # Compared as bytes: a header is latin-1 on the wire, a token typed as UTF-8.
        self.token = token.encode("utf-8") if token is not None else None
        self.port = port
        self.origins = frozenset(o for o in map(origin_of, origins) if o is not None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        public = page.is_public(scope.get("method", ""), scope.get("path", ""), headers)
        problem = self._problem(headers, public=public)
        if problem is not None:
            status, message = problem
            kind = "unauthorized" if status == 401 else "refused"
            extra = [(b"www-authenticate", b'Bearer realm="searchkit"')] if status == 401 else []
            await _send_json(send, status, {"error": message, "kind": kind}, extra)
            return
        await self.app(scope, receive, send)

    def _own(self, url: str, host_header: str) -> bool:
        """Whether `url` (an Origin or a Referer) is of this server's origin or a
        configured one."""
        origin = origin_of(url)
        if origin is None:
            return False  # `null` (a sandboxed frame, a file:// page) is no one's own
        if origin in self.origins:
            return True
        scheme, name, port = origin
        if self.port is not None:
            own_port = self.port
        else:
            own = origin_of(f"http://{host_header}")
            own_port = own[2] if own is not None else -1
        return scheme == "http" and name in self.allowed_hosts and port == own_port

    def _problem(self, headers: dict[str, str], public: bool = False) -> tuple[int, str] | None:
        host = _hostname(headers.get("host", ""))
        if host is None or host.lower() not in self.allowed_hosts:
            return 403, "refused: the Host header is not a local name (DNS rebinding guard)"
        origin = headers.get("origin")
        if origin is not None and not self._own(origin, headers["host"]):
            return 403, ("refused: requests from another web origin are not served "
                         "(--allow-origin adds one)")
        referer = headers.get("referer")
        if referer is not None and not self._own(referer, headers["host"]):
            return 403, ("refused: requests from another web page are not served "
                         "(--allow-origin adds its origin)")
        # A browser says where a request comes from (Sec-Fetch-Site); a no-cors GET from
        # another site carries no Origin, and may carry no Referer either.
        site = headers.get("sec-fetch-site")
        browser = site is not None or any(k.startswith("sec-fetch-") for k in headers)
        if site == "cross-site" or (
            browser and site not in ("same-origin", "none")
            and origin is None and referer is None
        ):
            return 403, "refused: a cross-site browser request"
        if self.token is not None and not public \
                and not self._token_ok(headers.get("authorization", "")):
            return 401, "a valid `Authorization: Bearer TOKEN` header is required"
        return None

    def _token_ok(self, given: str) -> bool:
        scheme, _, credentials = given.strip().partition(" ")
        if scheme.lower() != "bearer":  # the scheme is case-insensitive (RFC 9110)
            return False
        assert self.token is not None
        return hmac.compare_digest(credentials.strip().encode("latin-1"), self.token)


async def _send_json(
    send: Any, status: int, data: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *(extra or [])],
    })
    await send({"type": "http.response.body", "body": body})


class _BadRequest(Exception):
    pass


def _int(params: Any, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _BadRequest(f"{name} must be {bound}, not {value}")
    return value


# The `kind` of an error answer, one word per cause, on every route:
#   usage (400, a bad parameter), query (400, a query that does not parse),
#   not_found (404, a note or route), method (405), refused (403), unauthorized (401),
#   unavailable (503: no index, a locked, broken or outdated one), timeout (503: the
#   request took over REQUEST_TIMEOUT), query_too_costly (503: the search ran past its
#   deadline, or gave way to another costly one; the message says what to shorten),
#   internal (500).
ENDPOINTS = {
    "/search": "q, limit, offset, per_note, tag, path, callout, kind, explain, "
               "mode (hybrid|lexical|semantic), after, before: ranked passages",
    "/read": "path, start, lines: numbered lines of an indexed note",
    "/status": "what is indexed and how fresh it is",
}


def _error_status(exc: SearchkitError) -> tuple[int, str]:
    if isinstance(exc, QueryTooCostlyError):
        return 503, "query_too_costly"
    if isinstance(exc, QuerySyntaxError):
        return 400, "query"
    if isinstance(exc, NoteError):
        return 404, "not_found"
    return 503, "unavailable"  # no index, a locked, broken or outdated one


def _obsidian(vault: Path | None) -> bool:
    """Whether `vault` is an Obsidian vault (the page opens notes there)."""
    return vault is not None and (vault / ".obsidian").is_dir()


def create_app(
    live: LiveIndex, *, token: str | None = None, allowed_hosts: frozenset[str] = LOOPBACK_NAMES,
    secret: str = "",
    threads: int = SEARCH_THREADS,
    request_timeout: float = REQUEST_TIMEOUT,
    port: int | None = None,
    origins: frozenset[str] = frozenset(),
) -> Any:
    """The ASGI app (Starlette) serving `live`, wrapped in the local-only guard (`port`,
    the one it listens on, and `origins`: the web origins it serves; see `LocalOnly`)."""
    import anyio
    import anyio.to_thread
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ..api import DEFAULT_PER_NOTE
    from .render import results_json

    box: list[Any] = []

    def limiter() -> Any:
        if not box:  # made in the event loop, on first use
            box.append(anyio.CapacityLimiter(threads))
        return box[0]

    def fail(status: int, message: str, kind: str) -> JSONResponse:
        return JSONResponse({"error": message, "kind": kind}, status_code=status)

    async def watch(request: Request, cancel: threading.Event) -> None:
        """Set `cancel` when the client goes away: its search stops at the next look
        at the clock instead of scoring for nobody."""
        while not cancel.is_set():
            if await request.is_disconnected():
                cancel.set()
                return
            await anyio.sleep(DISCONNECT_POLL)

    async def guarded(fn: Callable[[], Any], nonce: str | None = None,
                      request: Request | None = None,
                      cancel: threading.Event | None = None) -> Any:
        if request is None or cancel is None:
            data, code = await answer(fn)
        else:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch, request, cancel)
                try:
                    data, code = await answer(fn)
                finally:
                    cancel.set()  # done, timed out or gone: stop the work and the watch
                    tg.cancel_scope.cancel()
        if nonce and secret and isinstance(data, dict):
            data["proof"] = proof(secret, nonce)  # for the warm CLI: see remote.py
        return JSONResponse(data, status_code=code)

    async def answer(fn: Callable[[], Any]) -> tuple[Any, int]:
        try:
            with anyio.fail_after(request_timeout):
                return await anyio.to_thread.run_sync(
                    fn, abandon_on_cancel=True, limiter=limiter()
                ), 200
        except TimeoutError:
            return {
                "error": f"the request took over {request_timeout:g} s and was abandoned; "
                         "narrow the query (fewer prefix* and ~ words)",
                "kind": "timeout",
            }, 503
        except _BadRequest as exc:
            return {"error": str(exc), "kind": "usage"}, 400
        except SearchkitError as exc:
            code, kind = _error_status(exc)
            return {"error": str(exc), "kind": kind}, code

    async def search(request: Request) -> Any:
        params = request.query_params
        cancel = threading.Event()

        def run() -> Any:
            query = params.get("q", "").strip()
            if not query:
                raise _BadRequest("q (the query) is required")
            kind = params.get("kind") or None
            if kind is not None and kind not in KINDS:
                raise _BadRequest(f"kind must be one of {', '.join(KINDS)}")
            mode = params.get("mode") or "hybrid"
            if mode not in ("hybrid", "lexical", "semantic"):
                raise _BadRequest("mode must be one of hybrid, lexical, semantic")
            results = live.search(
                query,
                limit=_int(params, "limit", 10, 1, 1000),
                offset=_int(params, "offset", 0, 0),
                per_note=_int(params, "per_note", DEFAULT_PER_NOTE, 0),
                explain=params.get("explain", "") in ("1", "true", "yes"),
                tag=params.getlist("tag"),
                path=params.get("path") or None,
                callout=params.get("callout") or None,
                kind=kind,
                mode=mode,
                cancel=cancel,
                after=params.get("after") or None,
                before=params.get("before") or None,
            )
            out = results_json(results, live.vault, live.ix.index_dir)
            warnings = live.warnings()
            if warnings:  # the warm CLI prints these as a local search would
                out["warnings"] = warnings
            return out

        return await guarded(run, request.headers.get(PROOF_HEADER), request, cancel)

    async def read(request: Request) -> Any:
        params = request.query_params

        def run() -> Any:
            path = params.get("path", "")
            if not path:
                raise _BadRequest("path is required")
            window = live.read(path, _int(params, "start", 1, 1), _int(params, "lines", 80, 1, 500))
            return window.to_dict()

        return await guarded(run)

    async def status(request: Request) -> Any:
        return await guarded(lambda: {**live.status().to_dict(), "watching": live.watching,
                                      "obsidian": _obsidian(live.vault)})

    async def root(request: Request) -> Any:
        from .. import __version__

        if page.wants_page(request.headers):
            return page.response("/")  # a browser: the search page (docs/page.md)
        return JSONResponse({"service": "searchkit", "version": __version__,
                             "endpoints": ENDPOINTS}, headers={"vary": "Accept"})

    async def http_error(request: Request, exc: Exception) -> Any:
        code = getattr(exc, "status_code", 500)
        if code == 404:
            return fail(404, f"no such endpoint: {request.url.path} (try /)", "not_found")
        if code == 405:
            return fail(405, f"{request.method} is not served: GET only", "method")
        return fail(code, str(getattr(exc, "detail", "")) or "bad request", "usage")

    async def internal_error(request: Request, exc: Exception) -> Any:
        return fail(500, f"internal error: {type(exc).__name__}", "internal")

    app = Starlette(
        routes=[
            Route("/", root, methods=["GET"]),
            Route("/search", search, methods=["GET"]),
            Route("/read", read, methods=["GET"]),
            Route("/status", status, methods=["GET"]),
            *page.routes(),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    return LocalOnly(app, allowed_hosts=allowed_hosts, token=token, port=port, origins=origins)


def serve(
    index_dir: str | Path,
    vault: str | Path | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    origins: Sequence[str] = (),
    on_ready: Callable[[str], None] | None = None,
    on_report: Callable[[Any], None] | None = None,
    on_embedded: Callable[[int, int], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. `port=0` picks a free port (`on_ready` gets the URL).
    `origins`: web origins served besides the server's own (`https://notes.example`).

    While serving, `searchkit.serve.json` in the index directory tells `searchkit search`
    where to send queries (the warm CLI); it is removed on exit.
    """
    import uvicorn

    live = LiveIndex(index_dir, vault, on_report=on_report, on_error=on_error,
                     on_embedded=on_embedded)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
        # when the socket says TCP (proto 0 does not), and without it each small response
        # waits ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listen now, before the warm-CLI file names the port: connections made before
        # uvicorn runs wait in the backlog instead of being refused.
        sock.listen(128)
        port = sock.getsockname()[1]
        allowed = LOOPBACK_NAMES | ({host} if host not in ("0.0.0.0", "::") else set())
        secret = secrets.token_hex(16)
        app = create_app(live, token=token, allowed_hosts=frozenset(allowed), secret=secret,
                         port=port, origins=frozenset(origins))
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            http=_protocol(HEADER_TIMEOUT, max_connections()),
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT, backlog=ACCEPT_BACKLOG,
        )
        _quiet_accept_errors()
        server = uvicorn.Server(config)
        local = "::1" if host == "::" else ("127.0.0.1" if host == "0.0.0.0" else host)
        info = ServerInfo(
            pid=os.getpid(), host=local, port=port, token=token,
            index_dir=str(live.ix.index_dir), vault=str(live.vault), secret=secret,
            started=process_started(os.getpid()),
        )
        written = _try_write_info(live.ix.index_dir, info, on_error)
        if on_ready is not None:
            shown = f"[{local}]" if ":" in local else local
            on_ready(f"http://{shown}:{port}")
        try:
            with _sigterm_as_interrupt():
                server.run(sockets=[sock])
        finally:
            if written:
                remove_server_info(live.ix.index_dir, info.pid)
            sock.close()
    finally:
        live.close()


class _OncePerMinute(logging.Filter):
    """asyncio logs a traceback for every failed accept (out of descriptors): one a
    minute says it as well as thousands."""

    def __init__(self) -> None:
        super().__init__()
        self._last = -60.0

    def filter(self, record: logging.LogRecord) -> bool:
        if "out of system resource" not in record.getMessage():
            return True
        now = time.monotonic()
        if now - self._last < 60:
            return False
        self._last = now
        record.exc_info = None  # the one line is enough
        return True


def _quiet_accept_errors() -> None:
    log = logging.getLogger("asyncio")
    if not any(isinstance(f, _OncePerMinute) for f in log.filters):
        log.addFilter(_OncePerMinute())


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """uvicorn re-raises the SIGTERM it caught once it has shut down; by default that kills
    the process before `finally:` blocks run (the warm-CLI file would stay behind)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _try_write_info(
    index_dir: Path, info: ServerInfo, on_error: Callable[[Exception], None] | None
) -> bool:
    try:
        write_server_info(index_dir, info)
        return True
    except OSError as exc:  # a read-only index dir: serve anyway, without the warm CLI
        if on_error is not None:
            on_error(SearchkitError(f"{index_dir}: cannot write the warm-CLI file: {exc}"))
        return False
