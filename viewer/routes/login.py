"""A password for a map page served beyond this machine.

Bound to anything but a loopback address, or reached through a reverse proxy
(`[viewer] trusted_proxies`), the page needs a password (set with `daemon.py password`, kept in
its own 0600 file: geolocator.auth.password_file): `Access.for_config` refuses to build the app without
one, so the service does not start and says how. With a password, the guard asks every route for
a session except those marked `public` (this login page, the static files):

- `GET /login`   the login page (its script posts the password; the page's CSP allows no form posts)
- `POST /login`  {"password": "..."}: sets the session cookie (HttpOnly, SameSite=Strict, and Secure
                 over HTTPS) or 403; 429 / 503 with Retry-After when the throttle refuses first
- `POST /logout` ends the session, on the server too

Sessions live on the server (viewer.sessions), under the password's generation: a new password
ends them all, also while the service runs (the password file is looked at again when it changes).
Guessing is slowed per address and password checks are bounded (viewer.throttle).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import bottle

from geolocator.auth import cleared_cookie, cookie_token, generation, session_cookie, verify_password
from geolocator.auth.password_file import StoredHash, page_password, password_path, read_hash
from geolocator.config import Config
from geolocator.errors import ConfigError
from viewer.context import Context
from viewer.peer import peer
from viewer.routes import route
from viewer.sessions import Sessions, sessions_path
from viewer.throttle import Refused, Throttle

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


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Access:
    """The password (looked at again whenever its file changes), the sessions, and the throttle."""

    def __init__(self, stored: StoredHash, file: Path, sessions: Sessions) -> None:
        self._file = file
        self._legacy = stored if stored.legacy else None  # the config's line, while there is no file
        self._lock = threading.Lock()
        self._state = _file_state(file)
        self._hash: str | None = stored.encoded
        self.sessions = sessions
        self.throttle = Throttle()

    @classmethod
    def for_config(cls, config: Config) -> Access | None:
        """None when no password is set (and none is needed); ConfigError when one is needed and
        missing, or its file is unreadable or damaged."""
        stored = page_password(config)
        if stored is None:
            return None
        file = password_path(config)
        if stored.legacy:
            log.warning("the map page's password is read from %s, where others may read it: run `daemon.py password` to keep it in %s (mode 0600)",
                        stored.where, file)
        return cls(stored, file, Sessions(sessions_path(config.paths.database)))

    def current_hash(self) -> str | None:
        """The password hash now: the file's, read again when it changed (`daemon.py password` while
        the service runs). None while the file is damaged or unreadable: nobody gets in (logged)."""
        state = _file_state(self._file)
        with self._lock:
            if state != self._state:
                self._state = state
                self._hash = self._read_again()
            return self._hash

    def _read_again(self) -> str | None:
        try:
            encoded = read_hash(self._file)
        except ConfigError as exc:
            log.error("%s: the map page refuses every login until it is fixed", exc)
            return None
        if encoded is None and self._legacy is not None:
            encoded = self._legacy.encoded
        if encoded is None:
            log.error("%s is gone: the map page refuses every login until `daemon.py password` sets one", self._file)
        elif encoded != self._hash:
            log.info("the map page's password changed: every session ends")
        return encoded

    def allows(self, environ: dict[str, Any]) -> bool:
        encoded = self.current_hash()
        return encoded is not None and self.sessions.valid(cookie_token(environ.get("HTTP_COOKIE")), generation(encoded), time.time())

    def log_in(self, password: str, address: str) -> str:
        """A new session's token for the right password; HTTPError otherwise (403 wrong, 429/503
        refused by the throttle before any check)."""
        encoded = self.current_hash()
        if encoded is None:
            raise bottle.HTTPError(503, "the password file is damaged or unreadable: see the service's log")
        try:
            self.throttle.admit(address)
        except Refused as refused:
            raise bottle.HTTPError(refused.status, str(refused), Retry_After=str(refused.retry_after)) from None
        right = False
        try:
            right = verify_password(password, encoded)
        finally:
            self.throttle.settle(address, right)
        if not right:
            log.warning("a wrong password for the map page from %s", address)
            raise bottle.HTTPError(403, "wrong password")
        return self.sessions.open(generation(encoded), time.time())


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
    def answer_ok(cookie: str) -> str:
        bottle.response.set_header("Set-Cookie", cookie)
        bottle.response.set_header("Cache-Control", "no-store")
        bottle.response.content_type = "application/json"
        return '{"ok":true}'

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
        who = peer(bottle.request.environ)
        token = access.log_in(password, who.address)
        return answer_ok(session_cookie(token, secure=who.https))

    @route(app, "POST", "/logout")
    def logout() -> str:
        if access is not None:
            access.sessions.end(cookie_token(bottle.request.get_header("Cookie")))
        return answer_ok(cleared_cookie(secure=peer(bottle.request.environ).https))
