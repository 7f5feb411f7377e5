"""The search page `searchkit serve` shows a browser at `/` (docs/page.md).

Static files in this package, served by searchkit itself: no build step, no framework,
nothing from another origin but video thumbnails (`https://i.ytimg.com`, allowed by the
Content-Security-Policy). The page and its assets are served without the bearer token (a
browser cannot send one on navigation; they hold no notes); everything they show comes
from `/search`, `/read` and `/status`, which keep the token rule. The `Host`, `Origin` and
cross-site checks apply to them as to every route.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

# Name on the server → (file in this package, media type).
ASSETS = {
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
HTML = ("index.html", "text/html; charset=utf-8")

# Scripts and styles from this server only (no inline code, no eval), no HTML sinks
# (Trusted Types: the page builds its DOM node by node), fetches to this server only,
# images from here and YouTube's thumbnail host, never framed.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' https://i.ytimg.com; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    # The query is in the page's URL: never tell another site (a thumbnail, a video link).
    "referrer-policy": "same-origin",
    "cache-control": "no-cache",
}


def wants_page(headers: Any) -> bool:
    """Whether a request for `/` comes from a browser (it accepts HTML); programs that
    accept JSON, or anything (curl's `*/*`), get the endpoint list."""
    return "text/html" in (headers.get("accept") or "")


def is_public(method: str, path: str, headers: Any) -> bool:
    """Whether this request is for the page or one of its assets (served without the
    token)."""
    if method not in ("GET", "HEAD"):
        return False
    return path in ASSETS or (path == "/" and wants_page(headers))


@cache
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def response(path: str) -> Any:
    """The Starlette response for `/` (the page) or an asset path."""
    from starlette.responses import Response

    name, media = ASSETS.get(path, HTML)
    headers = dict(HEADERS)
    if path == "/":
        headers["vary"] = "Accept"
    return Response(_read(name), media_type=media, headers=headers)


def routes() -> list[Any]:
    """The asset routes (the page itself is served by the `/` route when `wants_page`)."""
    from starlette.routing import Route

    async def asset(request: Any) -> Any:
        return response(request.url.path)

    return [Route(path, asset, methods=["GET"]) for path in ASSETS]
