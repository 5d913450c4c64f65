"""Password hashes, session tokens and cookies, and the config keys that hold them."""

from __future__ import annotations

import http.cookies
import re

import pytest

from geolocator import auth
from geolocator.auth import PasswordError
from geolocator.config import load_config
from geolocator.errors import ConfigError

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def stored() -> str:
    return auth.hash_password("correct horse battery staple")


def test_a_hash_names_its_parameters_and_verifies_only_its_password(stored):
    assert re.fullmatch(r"scrypt\$n=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}", stored)
    assert auth.verify_password("correct horse battery staple", stored)
    for wrong in ("correct horse battery stapl", "Correct horse battery staple", "", "x" * 5000):
        assert not auth.verify_password(wrong, stored)


def test_the_salt_is_random(stored):
    again = auth.hash_password("correct horse battery staple")
    assert again != stored
    assert again.split("$")[2] != stored.split("$")[2]
    assert auth.verify_password("correct horse battery staple", again)


def test_hashes_with_other_parameters_still_verify():
    # A hash made with cheaper parameters (as an older or smaller install might) carries them.
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    key = hashlib.scrypt(b"pw", salt=salt, n=1024, r=4, p=2, dklen=32)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    encoded = f"scrypt$n=1024,r=4,p=2${b64(salt)}${b64(key)}"
    assert auth.verify_password("pw", encoded)
    assert not auth.verify_password("pW", encoded)


@pytest.mark.parametrize(
    ("encoded", "why"),
    [
        ("hunter2", "not a geolocator password hash"),
        ("scrypt$n=1000,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "unusable scrypt parameters"),
        ("scrypt$n=16777216,r=16,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "unusable scrypt parameters"),
        ("scrypt$n=1024,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZ$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "damaged"),
    ],
)
def test_a_broken_stored_hash_is_an_error_not_a_wrong_password(encoded, why):
    with pytest.raises(PasswordError, match=why):
        auth.verify_password("anything", encoded)
    with pytest.raises(PasswordError, match=why):
        auth.check_password_hash(encoded)


def test_an_empty_or_huge_password_cannot_be_set():
    with pytest.raises(PasswordError, match="empty"):
        auth.hash_password("")
    with pytest.raises(PasswordError, match="longer than"):
        auth.hash_password("x" * (auth.MAX_PASSWORD_CHARS + 1))


def test_a_session_is_valid_until_it_expires_and_only_here(stored):
    secret = auth.new_secret()
    token = auth.issue_session(secret, stored, now=NOW, seconds=3600)
    assert auth.verify_session(token, secret, stored, now=NOW)
    assert auth.verify_session(token, secret, stored, now=NOW + 3599)
    assert not auth.verify_session(token, secret, stored, now=NOW + 3600)
    assert not auth.verify_session(token, auth.new_secret(), stored, now=NOW)  # another install
    assert auth.issue_session(secret, stored, now=NOW) != auth.issue_session(secret, stored, now=NOW)


def test_changing_the_password_ends_every_session(stored):
    secret = auth.new_secret()
    token = auth.issue_session(secret, stored, now=NOW)
    assert not auth.verify_session(token, secret, auth.hash_password("new password"), now=NOW)


def test_a_tampered_or_malformed_token_is_refused_without_raising(stored):
    secret = auth.new_secret()
    token = auth.issue_session(secret, stored, now=NOW, seconds=60)
    version, expiry, nonce, mac = token.split(".")
    longer = f"{version}.{int(expiry) + 10**6}.{nonce}.{mac}"
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (longer, flipped, "", None, "v1", token + ".", token * 10, "v1.9999999999.zz.zz", "\x00" * 50, "é" * 40):
        assert not auth.verify_session(bad, secret, stored, now=NOW)


def test_the_cookie_is_httponly_strict_and_parses(stored):
    token = auth.issue_session(auth.new_secret(), stored, now=NOW)
    header = auth.session_cookie(token, seconds=600)
    parsed = http.cookies.SimpleCookie()
    parsed.load(header)
    morsel = parsed[auth.COOKIE_NAME]
    assert morsel.value == token
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == "600"
    assert not morsel["secure"]
    assert "Secure" in auth.session_cookie(token, secure=True)
    assert "Max-Age=0" in auth.cleared_cookie()


def test_the_token_is_found_among_other_cookies():
    assert auth.cookie_token(f'theme=dark; broken"cookie; {auth.COOKIE_NAME}=v1.1.ab.cd; other=1') == "v1.1.ab.cd"
    assert auth.cookie_token("theme=dark") is None
    assert auth.cookie_token(None) is None
    assert auth.cookie_token(f"{auth.COOKIE_NAME}=") is None


@pytest.mark.parametrize(
    ("host", "needed"),
    [("127.0.0.1", False), ("127.1.2.3", False), ("::1", False), ("[::1]", False), ("localhost", False), ("LOCALHOST", False),
     ("0.0.0.0", True), ("::", True), ("", True), ("192.168.1.10", True), ("photos.example", True), ("localhost.example", True)],
)  # fmt: skip
def test_a_password_is_needed_beyond_loopback(host, needed):
    assert auth.needs_password(host) is needed


def test_config_keeps_a_valid_hash_and_refuses_a_broken_one(tmp_path, stored):
    path = tmp_path / "config.toml"
    path.write_text(f'[viewer]\npassword_hash = "{stored}"\nmax_upload_mb = 20\n')
    viewer = load_config(path).viewer
    assert (viewer.password_hash, viewer.max_upload_mb) == (stored, 20)
    assert load_config(None, cwd=tmp_path).viewer.password_hash == ""
    assert load_config(None, cwd=tmp_path).viewer.max_upload_mb == 500
    path.write_text('[viewer]\npassword_hash = "hunter2"\n')
    with pytest.raises(ConfigError, match=r"\[viewer\].*daemon.py password"):
        load_config(path)
    path.write_text("[viewer]\nmax_upload_mb = 0\n")
    with pytest.raises(ConfigError, match="max_upload_mb must be between 1"):
        load_config(path)
