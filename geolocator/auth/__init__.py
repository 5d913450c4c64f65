"""Passwords and sessions for a map page served beyond this machine.

Pure apart from `os.urandom`/`secrets`: no files, no clock.

- A password is kept as one string, `scrypt$n=65536,r=8,p=2$<salt>$<key>` (base64url, no padding):
  the parameters travel with the hash, so a hash made with older ones still verifies (`check`
  names it as one to set again: `is_weaker`).
- A session is a random token carried in an HttpOnly, SameSite=Strict cookie (`session_cookie`);
  the server keeps only its digest (`session_digest`), with the password's `generation`, so a new
  password ends every session (see viewer/sessions.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass

from geolocator.errors import GeolocatorError

COOKIE_NAME = "geolocator_session"
SESSION_SECONDS = 7 * 24 * 3600  # a login lasts a week
# At least 10 characters. Online guessing is slowed by the login's backoff (viewer/throttle.py); what
# a short password cannot survive is its hash stolen (a backup, a copied disk) and guessed offline,
# where only scrypt's cost stands in the way: ~0.6 s and 64 MiB a guess here, on the order of a
# thousand guesses a second on a GPU. 8 random lowercase letters (2e11) fall to a hundred GPUs in
# weeks; 10 (1.4e14) would take them decades. NIST SP 800-63B asks 8 at least (15 for a password as
# the only factor); a hash set before this rule, of any length, still verifies.
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # scrypt reads it all: a megabyte "password" is refused, not hashed
_SALT_BYTES = 16
_KEY_BYTES = 32
# n, r, p. OWASP's scrypt settings are N=2^17, r=8, p=1 (128 MiB a check) or any of its listed
# equivalents; we take N=2^16, r=8, p=2: the same work (~0.6 s on this project's machine, OpenSSL
# runs the p lanes one after the other) in half the memory, 64 MiB, because the service keeps to
# ~200 MB and a check's memory comes on top (one check at a time: viewer/throttle.py).
_DEFAULT = (2**16, 8, 2)
# A tampered file must not make one login cost gigabytes or minutes: scrypt needs 128*n*r bytes,
# and time in proportion to n*r*p (OWASP's equivalents go up to p=10 at N=2^13).
_MAX_MEMORY, _MAX_R, _MAX_P, _MAX_WORK = 256 << 20, 16, 16, 4 * _DEFAULT[0] * _DEFAULT[1] * _DEFAULT[2]
_TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_HASH = re.compile(r"scrypt\$n=(\d{1,8}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{16,128})")


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


def _encode(password: str) -> bytes:
    if not password:
        raise PasswordError("the password is empty")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordError(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
    return password.encode("utf-8", "surrogatepass")


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL refuses above its default 32 MiB unless told; allow what the parameters need.
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=256 * n * r + (1 << 20))


def hash_password(password: str) -> str:
    """The string to keep in the password file for `password` (fresh random salt each time).
    A password shorter than MIN_PASSWORD_CHARS is refused (see there why)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordError(f"the password needs at least {MIN_PASSWORD_CHARS} characters (a few words make a good one)")
    n, r, p = _DEFAULT
    salt = os.urandom(_SALT_BYTES)
    key = _derive(_encode(password), salt, n, r, p)
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def _parse_hash(encoded: str) -> _Scrypt:
    match = _HASH.fullmatch(encoded)
    if not match:
        raise PasswordError("the password hash is not a geolocator password hash (set it with `daemon.py password`)")
    n, r, p = (int(g) for g in match.group(1, 2, 3))
    if n < 2 or n & (n - 1) or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P or 128 * n * r > _MAX_MEMORY or n * r * p > _MAX_WORK:
        raise PasswordError(f"the password hash has unusable scrypt parameters n={n}, r={r}, p={p}")
    try:
        salt, key = _unb64(match.group(4)), _unb64(match.group(5))
    except (binascii.Error, ValueError):
        raise PasswordError("the password hash is damaged (its salt or key is not base64)") from None
    return _Scrypt(n, r, p, salt, key)


def check_password_hash(encoded: str) -> None:
    """Raise PasswordError when `encoded` is not a usable hash."""
    _parse_hash(encoded)


def is_weaker(encoded: str) -> bool:
    """Whether `encoded` was made with cheaper scrypt parameters than `hash_password` uses now
    (less memory, or less work), so that setting the password again makes it harder to guess."""
    stored = _parse_hash(encoded)
    n, r, p = _DEFAULT
    return stored.n * stored.r < n * r or stored.n * stored.r * stored.p < n * r * p


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` is the one `encoded` was made from; the comparison is constant-time.

    A malformed `encoded` raises PasswordError (a broken file, not a wrong password); an
    empty or overlong `password` is simply wrong.
    """
    stored = _parse_hash(encoded)
    try:
        candidate = _encode(password)
    except PasswordError:
        return False
    return hmac.compare_digest(_derive(candidate, stored.salt, stored.n, stored.r, stored.p), stored.key)


def generation(encoded: str) -> str:
    """What sessions are opened under: it changes with the password hash (each hash has its own
    salt, so setting even the same password again changes it and ends every session)."""
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:32]


def new_session_token() -> str:
    """A fresh session token for a cookie: 256 random bits."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def session_digest(token: str | None) -> str | None:
    """What the server keeps of a session token (its SHA-256: a copy of the sessions file lets
    nobody in), or None when `token` cannot be one of ours. Never raises on what a client sends."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    return hashlib.sha256(token.encode("ascii")).hexdigest()


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
