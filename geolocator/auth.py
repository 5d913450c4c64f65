"""Passwords and sessions for a map page served beyond this machine.

Pure apart from `os.urandom`: no files, no clock (callers pass `now`, seconds since the epoch).

- A password is kept as one string, `scrypt$n=32768,r=8,p=1$<salt>$<key>` (base64url, no padding):
  the parameters travel with the hash, so they can be raised later without breaking old ones.
- A session is a signed token, `v1.<expiry>.<nonce>.<mac>`: HMAC-SHA256 under the install's secret
  and the current password hash, so changing the password ends every session. It is carried in
  an HttpOnly, SameSite=Strict cookie (`session_cookie`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
from dataclasses import dataclass

from geolocator.errors import GeolocatorError

COOKIE_NAME = "geolocator_session"
SESSION_SECONDS = 7 * 24 * 3600  # a login lasts a week
SECRET_BYTES = 32
MAX_PASSWORD_CHARS = 1024  # scrypt reads it all: a megabyte "password" is refused, not hashed
_SALT_BYTES = 16
_KEY_BYTES = 32
_DEFAULT = (2**15, 8, 1)  # n, r, p: 32 MiB and ~0.1 s per hash
# A tampered config must not make one login cost gigabytes: scrypt needs 128*n*r bytes.
_MAX_MEMORY, _MAX_R, _MAX_P = 256 << 20, 16, 4
_MAX_TOKEN_CHARS = 256
_HASH = re.compile(r"scrypt\$n=(\d{1,8}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{16,128})")
_TOKEN = re.compile(r"v1\.(\d{1,12})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})")


class PasswordError(GeolocatorError):
    """A password or stored password hash that cannot be used; the message says why."""


@dataclass(frozen=True)
class _Scrypt:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_password(password: str) -> bytes:
    if not password:
        raise PasswordError("the password is empty")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordError(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
    return password.encode("utf-8", "surrogatepass")


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL refuses above its default 32 MiB unless told; allow what the parameters need.
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=256 * n * r + (1 << 20))


def hash_password(password: str) -> str:
    """The string to keep in `[viewer] password_hash` for `password` (fresh random salt each time)."""
    n, r, p = _DEFAULT
    salt = os.urandom(_SALT_BYTES)
    key = _derive(_check_password(password), salt, n, r, p)
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def _parse_hash(encoded: str) -> _Scrypt:
    match = _HASH.fullmatch(encoded)
    if not match:
        raise PasswordError("password_hash is not a geolocator password hash (set it with `daemon.py password`)")
    n, r, p = (int(g) for g in match.group(1, 2, 3))
    if n < 2 or n & (n - 1) or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P or 128 * n * r > _MAX_MEMORY:
        raise PasswordError(f"password_hash has unusable scrypt parameters n={n}, r={r}, p={p}")
    try:
        salt, key = _unb64(match.group(4)), _unb64(match.group(5))
    except (binascii.Error, ValueError):
        raise PasswordError("password_hash is damaged (its salt or key is not base64)") from None
    return _Scrypt(n, r, p, salt, key)


def check_password_hash(encoded: str) -> None:
    """Raise PasswordError when `encoded` is not a usable hash (for the config's validation)."""
    _parse_hash(encoded)


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` is the one `encoded` was made from; the comparison is constant-time.

    A malformed `encoded` raises PasswordError (a broken config, not a wrong password); an
    empty or overlong `password` is simply wrong.
    """
    stored = _parse_hash(encoded)
    try:
        candidate = _check_password(password)
    except PasswordError:
        return False
    return hmac.compare_digest(_derive(candidate, stored.salt, stored.n, stored.r, stored.p), stored.key)


def new_secret() -> bytes:
    """A fresh per-install signing secret for session tokens."""
    return os.urandom(SECRET_BYTES)


def _mac(secret: bytes, password_hash: str, body: str) -> str:
    if len(secret) < 16:
        raise PasswordError("the session secret is too short (16 bytes at least)")
    key = hmac.digest(secret, password_hash.encode("utf-8"), "sha256")
    return _b64(hmac.digest(key, body.encode("ascii"), "sha256"))


def issue_session(secret: bytes, password_hash: str, *, now: float, seconds: int = SESSION_SECONDS) -> str:
    """A session token valid for `seconds` from `now`, tied to the current password hash."""
    if seconds <= 0:
        raise ValueError(f"a session must last a positive time, got {seconds}")
    body = f"v1.{int(now) + seconds}.{os.urandom(16).hex()}"
    return f"{body}.{_mac(secret, password_hash, body)}"


def verify_session(token: str | None, secret: bytes, password_hash: str, *, now: float) -> bool:
    """Whether `token` was issued here, for this password, and has not expired. Never raises on
    a bad token: anything a client sends is just not a session."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return False
    match = _TOKEN.fullmatch(token)
    if not match:
        return False
    body = token.rpartition(".")[0]
    if not hmac.compare_digest(_mac(secret, password_hash, body), match.group(3)):
        return False
    return now < int(match.group(1))


def session_cookie(token: str, *, seconds: int = SESSION_SECONDS, secure: bool = False) -> str:
    """The Set-Cookie value carrying `token`. `secure` when the page is served over https (behind a
    proxy): browsers then never send it in clear."""
    parts = [f"{COOKIE_NAME}={token}", "Path=/", f"Max-Age={seconds}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def cleared_cookie(*, secure: bool = False) -> str:
    """The Set-Cookie value that ends the session in the browser (logout)."""
    return session_cookie("", seconds=0, secure=secure)


def cookie_token(cookie_header: str | None) -> str | None:
    """Our session token from a request's Cookie header, or None. Parsed by hand: http.cookies
    drops the whole header on one malformed cookie from another app on the same host."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE_NAME and value:
            return value
    return None


def needs_password(host: str) -> bool:
    """Whether serving on `host` reaches beyond this machine, so a password is required.

    Only loopback addresses and "localhost" are exempt; "", "0.0.0.0" and "::" listen everywhere,
    and any other name may resolve to anything.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return False
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:
        return True
