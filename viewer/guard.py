"""The Bottle plugin for what every route shares: security headers, the Host check, writes, body limits.

- Every response, errors included, carries a strict Content-Security-Policy and its companions,
  and an error is JSON that never echoes the request.
- Who sent the request, and over HTTPS or not, is found first (`viewer.peer`: the socket, or a
  trusted reverse proxy's X-Forwarded-For/-Proto) and kept in the environ for the routes.
- The Host header must name a loopback or the bound host, or on a wildcard bind this machine's
  name or an IP literal: a DNS-rebinding page's name gets 421. Through a trusted proxy, the name
  is the proxy's to choose.
- A write (any method but GET/HEAD) needs the page's token in `X-Geolocator-Token` and a
  same-origin (or absent) Origin: 403.
- With a password (`session` given), every route but those marked `public=True` (the login page,
  static files) needs a session: 401, or a redirect to /login for a page a browser asks for. A
  public write (the login itself) has no token to show: only its Origin is checked.
- A body is judged by its headers before a byte of it is read: a route accepts at most
  `max_body` bytes (route config, default 0) with a Content-Length (411 without one, 413 over).
  The server (cheroot) calls the app once the headers are in, so a refused body is never read.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import bottle

from viewer.peer import ENVIRON_KEY, Network, peer, peer_of

TOKEN_HEADER = "X-Geolocator-Token"  # noqa: S105 - a header name, not a secret
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 - recognised, not bound
ERROR_CODES = (400, 401, 403, 404, 405, 409, 411, 413, 416, 421, 429, 500, 503, 507)
READ_METHODS = {"GET", "HEAD"}


def tile_origin(tile_url: str) -> str | None:
    """The CSP source for a tile URL template: scheme://host[:port], `{s}` subdomains as `*`."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    netloc = re.sub(r"\{[a-z]+\}", "*", parts.netloc)
    if "*" in netloc and not netloc.startswith("*."):
        netloc = "*." + netloc.split(".", 1)[-1]  # CSP allows a wildcard only as the first label
    return f"{parts.scheme}://{netloc}"


def content_security_policy(tile_url: str) -> str:
    tiles = tile_origin(tile_url)
    img = "'self' data:" + (f" {tiles}" if tiles else "")  # data: Leaflet's blank tile
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {img}",
        "media-src 'self'",  # the photo viewer plays videos from /image/
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostRule:
    """Which Host names a request may carry. Bound to every interface, the page is also reached by
    this machine's own names or an IP literal; any other name is a DNS-rebinding page's."""

    def __init__(self, bound: str) -> None:
        self.wildcard = bound.strip().lower() in WILDCARD_HOSTS
        self.names = {"localhost", "127.0.0.1", "::1", bound.strip().lower().strip("[]")}
        if self.wildcard:
            hostname = socket.gethostname().lower()
            self.names |= {hostname, socket.getfqdn().lower(), hostname + ".local"}

    def allows(self, host_header: str) -> bool:
        try:
            name = (urlsplit("//" + host_header).hostname or "").lower()
        except ValueError:
            return False
        return name in self.names or (self.wildcard and _is_ip(name))


def _content_length(environ: dict[str, Any]) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class Guard:
    """Install with `app.install(Guard(token, csp, host[, session, trusted]))`; a route's body limit is
    `max_body=N`. `session(environ)` tells whether a request carries a valid login (None: no password
    is set); `trusted`: the reverse proxies whose forwarded headers are believed."""

    name = "geolocator-guard"
    api = 2

    def __init__(self, token: str, csp: str, hosts: HostRule, session: Callable[[dict[str, Any]], bool] | None = None,
                 trusted: tuple[Network, ...] = ()) -> None:
        self.token = token
        self.csp = csp
        self.hosts = hosts
        self.session = session
        self.trusted = trusted

    def setup(self, app: bottle.Bottle) -> None:
        app.add_hook("before_request", self.check_host)
        app.add_hook("after_request", self.secure_headers)
        for code in ERROR_CODES:
            app.error(code)(self.on_error)

    def secure_headers(self) -> None:
        set_header = bottle.response.set_header
        set_header("Content-Security-Policy", self.csp)
        set_header("X-Content-Type-Options", "nosniff")
        set_header("Referrer-Policy", "no-referrer")
        set_header("X-Frame-Options", "DENY")
        set_header("Cross-Origin-Resource-Policy", "same-origin")

    def check_host(self) -> None:
        environ = bottle.request.environ
        environ[ENVIRON_KEY] = found = peer_of(environ, self.trusted)
        if not found.proxied and not self.hosts.allows(environ.get("HTTP_HOST", "")):
            raise bottle.HTTPError(421, "unknown host")  # a DNS-rebinding page, or a misdirected request

    def on_error(self, error: bottle.HTTPError) -> str:
        self.secure_headers()
        bottle.response.content_type = "application/json"
        message = error.body if isinstance(error.body, str) else ""
        if message.startswith("Not found"):  # the router's 404 quotes the path: never echo it
            message = "not found"
        return json.dumps({"error": message or error.status_line})

    def check_write(self, request: bottle.BaseRequest) -> None:
        sent = request.get_header(TOKEN_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.token.encode()):
            raise bottle.HTTPError(403, "missing or wrong token")
        self.check_origin(request)

    @staticmethod
    def check_origin(request: bottle.BaseRequest) -> None:
        origin = request.get_header("Origin")
        scheme = "https" if peer(request.environ).https else "http"
        if origin is not None and origin != f"{scheme}://{request.get_header('Host', '')}":
            raise bottle.HTTPError(403, "cross-origin request")

    @staticmethod
    def check_body(environ: dict[str, Any], limit: int) -> None:
        if environ.get("HTTP_TRANSFER_ENCODING"):
            raise bottle.HTTPError(411, "send a Content-Length")
        length = _content_length(environ)
        if length is None:
            raise bottle.HTTPError(400, "bad Content-Length")
        if length > limit:
            raise bottle.HTTPError(413, f"body larger than {limit} bytes")

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        write = route.method not in READ_METHODS
        limit = int(route.config.get("max_body", 0))
        public = bool(route.config.get("public", False))

        def guarded(*args: Any, **kwargs: Any) -> Any:
            request = bottle.request
            if self.session is not None and not public and not self.session(request.environ):
                if not write and "text/html" in request.get_header("Accept", ""):
                    raise bottle.HTTPResponse(status=303, headers={"Location": "/login"})
                raise bottle.HTTPError(401, "log in first")
            if write and public:
                self.check_origin(request)
            elif write:
                self.check_write(request)  # first: an unauthenticated body gets 403, whatever its size
            self.check_body(request.environ, limit)
            return callback(*args, **kwargs)

        return guarded
