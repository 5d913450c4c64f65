"""A password for a map page served beyond this machine.

Bound to anything but a loopback address, the page needs `[viewer] password_hash` (set with
`daemon.py password`): `Access.for_config` refuses to build the app without one, so the service
does not start and says how. With a password, the guard asks every route for a session except
those marked `public` (this login page, the static files):

- `GET /login`   the login page (its script posts the password; the page's CSP allows no form posts)
- `POST /login`  {"password": "..."}: sets the session cookie (HttpOnly, SameSite=Strict) or 403
- `POST /logout` ends the session in this browser

Sessions are signed tokens (`geolocator.auth`) under a secret drawn at each start: a restart, or a
new password, logs everyone out. Password checks run one at a time (scrypt takes ~0.1 s and 32 MiB
each), which also slows guessing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import bottle

from geolocator.auth import cleared_cookie, cookie_token, issue_session, needs_password, new_secret, session_cookie, verify_password, verify_session
from geolocator.config import Config
from geolocator.errors import ConfigError
from viewer.context import Context
from viewer.routes import route

log = logging.getLogger(__name__)

MAX_LOGIN_BODY = 4096

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>geolocator — log in</title>
<link rel="stylesheet" href="/static/edit.css">
</head>
<body class="login">
<form id="login" autocomplete="on">
  <h1>geolocator</h1>
  <label>Password <input type="password" name="password" autocomplete="current-password" required autofocus></label>
  <button type="submit">Log in</button>
  <p id="login-message" role="status"></p>
</form>
<script type="module" src="/static/js/login.js"></script>
</body>
</html>
"""


def missing_password_message(config: Config) -> str:
    where = f" --config {config.source}" if config.source else ""
    return (f"[viewer] host = {config.viewer.host!r} serves the map beyond this machine, so it needs a password: "
            f"run `python daemon.py password{where}` (it stores a salted hash as [viewer] password_hash), "
            "or set host = \"127.0.0.1\"")


@dataclass(frozen=True)
class Access:
    """The password hash and this run's session secret."""

    password_hash: str
    secret: bytes = field(default_factory=new_secret, repr=False)
    checking: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def for_config(cls, config: Config) -> Access | None:
        """None when no password is set (and none is needed); ConfigError when one is needed and missing."""
        if config.viewer.password_hash:
            return cls(config.viewer.password_hash)
        if needs_password(config.viewer.host):
            raise ConfigError(missing_password_message(config))
        return None

    def allows(self, environ: dict[str, Any]) -> bool:
        return verify_session(cookie_token(environ.get("HTTP_COOKIE")), self.secret, self.password_hash, now=time.time())

    def check(self, password: str) -> bool:
        with self.checking:
            return verify_password(password, self.password_hash)


def _password(raw: bytes) -> str:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise bottle.HTTPError(400, "body must be JSON") from None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(password, str):
        raise bottle.HTTPError(400, 'body must be {"password": "..."}')
    return password


def install(app: bottle.Bottle, ctx: Context, access: Access | None) -> None:
    def secure() -> bool:
        return bool(bottle.request.urlparts.scheme == "https")

    @route(app, "GET", "/login", public=True)
    def login_page() -> str:
        if access is None:
            return bottle.redirect("/", 303)  # type: ignore[no-any-return]
        bottle.response.set_header("Cache-Control", "no-store")
        return PAGE

    @route(app, "POST", "/login", public=True, max_body=MAX_LOGIN_BODY)
    def login() -> str:
        if access is None:
            raise bottle.HTTPError(404, "no password is set")
        password = _password(bottle.request.environ["wsgi.input"].read(MAX_LOGIN_BODY))
        if not access.check(password):
            log.warning("a wrong password for the map page from %s", bottle.request.remote_addr)
            raise bottle.HTTPError(403, "wrong password")
        token = issue_session(access.secret, access.password_hash, now=time.time())
        bottle.response.set_header("Set-Cookie", session_cookie(token, secure=secure()))
        bottle.response.set_header("Cache-Control", "no-store")
        bottle.response.content_type = "application/json"
        return '{"ok":true}'

    @route(app, "POST", "/logout")
    def logout() -> str:
        bottle.response.set_header("Set-Cookie", cleared_cookie(secure=secure()))
        bottle.response.content_type = "application/json"
        return '{"ok":true}'
