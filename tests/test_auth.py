"""Password hashes, session tokens and cookies, and the config keys that hold them."""

from __future__ import annotations

import http.cookies
import re
from pathlib import Path

import pytest

from geolocator import auth
from geolocator.auth import PasswordError
from geolocator.config import load_config
from geolocator.errors import ConfigError


@pytest.fixture(scope="module")
def stored() -> str:
    return auth.hash_password("correct horse battery staple")


def test_a_hash_names_its_parameters_and_verifies_only_its_password(stored):
    # OWASP's N=2^17, r=8, p=1 in its listed equivalent of half the memory: N=2^16, r=8, p=2 (64 MiB).
    assert re.fullmatch(r"scrypt\$n=65536,r=8,p=2\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}", stored)
    assert auth.verify_password("correct horse battery staple", stored)
    for wrong in ("correct horse battery stapl", "Correct horse battery staple", "", "x" * 5000):
        assert not auth.verify_password(wrong, stored)
    assert not auth.is_weaker(stored)


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


def test_a_short_empty_or_huge_password_cannot_be_set():
    for short in ("", "x", "123456789"):
        with pytest.raises(PasswordError, match="at least 10 characters"):
            auth.hash_password(short)
    with pytest.raises(PasswordError, match="longer than"):
        auth.hash_password("x" * (auth.MAX_PASSWORD_CHARS + 1))
    assert auth.verify_password("0123456789", auth.hash_password("0123456789"))


def scrypt_hash(password: str, n: int, r: int = 8, p: int = 1) -> str:
    """A hash in the form geolocator keeps, with the scrypt parameters given (an older geolocator
    wrote N=2^15, r=8, p=1), made by hashlib itself."""
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 * n * r + (1 << 20))
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return f"scrypt$n={n},r={r},p={p}${b64(salt)}${b64(key)}"


def test_an_older_hash_of_a_short_password_still_verifies_and_is_named_weaker():
    old = scrypt_hash("pw", 2**15, 8, 1)
    assert auth.verify_password("pw", old) and not auth.verify_password("pW", old)
    assert auth.is_weaker(old)
    assert auth.is_weaker(scrypt_hash("pw", 2**14, 8, 5))  # less memory, if more work
    assert not auth.is_weaker(scrypt_hash("pw", 2**17, 8, 1))  # OWASP's first choice: as strong


def test_a_session_token_is_random_and_only_its_digest_is_kept():
    tokens = {auth.new_session_token() for _ in range(100)}
    assert len(tokens) == 100 and all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)
    token = tokens.pop()
    digest = auth.session_digest(token)
    assert digest is not None and re.fullmatch(r"[0-9a-f]{64}", digest) and token not in digest
    for bad in ("", None, "v1.9999999999.00000000000000000000000000000000." + "A" * 43, token + "A", token[:-1], "é" * 43, "\x00" * 43):
        assert auth.session_digest(bad) is None


def test_each_password_hash_is_its_own_generation(stored):
    again = auth.hash_password("correct horse battery staple")  # the same password set again
    assert auth.generation(stored) == auth.generation(stored)
    assert auth.generation(again) != auth.generation(stored)


def test_the_cookie_is_httponly_strict_and_parses():
    token = auth.new_session_token()
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


def test_the_password_file_is_beside_the_database_unless_set(tmp_path):
    from geolocator.auth.password_file import password_path

    assert password_path(load_config(None, cwd=tmp_path)) == tmp_path / "geolocator.password"
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text('[paths]\ndatabase = "/srv/photos/db.json"\n')
    assert password_path(load_config(path)) == Path("/srv/photos/db.password")
    path.write_text('[paths]\ndatabase = "/srv/photos/db.json"\n[viewer]\npassword_file = "secret/pw"\n')
    assert password_path(load_config(path)) == tmp_path / "conf" / "secret" / "pw"


def test_trusted_proxies_are_addresses_or_networks(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[viewer]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8", "::1"]\n')
    assert load_config(path).viewer.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert load_config(None, cwd=tmp_path).viewer.trusted_proxies == ()
    for bad in ('["proxy.example"]', '["10.0.0.0/33"]', '"127.0.0.1"'):
        path.write_text(f"[viewer]\ntrusted_proxies = {bad}\n")
        with pytest.raises(ConfigError, match=r"\[viewer\] trusted_proxies"):
            load_config(path)


def test_the_password_file_is_written_whole_with_mode_0600(tmp_path, stored):
    import os

    from geolocator.auth.password_file import read_hash, write_hash

    path = tmp_path / "geolocator.password"
    assert read_hash(path) is None
    old_umask = os.umask(0)  # even with a umask that lets everyone read
    try:
        write_hash(path, stored)
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == stored + "\n" and read_hash(path) == stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["geolocator.password"]  # no temporary file left
    with pytest.raises(PasswordError):
        write_hash(path, "hunter2")
    assert read_hash(path) == stored  # unchanged
    for damaged in (b"hunter2\n", b"\xff\xfe", stored.encode() * 100):
        path.write_bytes(damaged)
        with pytest.raises(ConfigError, match=r"geolocator\.password: .*daemon\.py password"):
            read_hash(path)


def test_written_by_root_the_file_belongs_to_its_folders_owner(tmp_path, stored):
    import os

    from geolocator.auth.password_file import write_hash

    if os.geteuid() != 0:
        pytest.skip("giving a file away needs root")
    folder = tmp_path / "var-lib-geolocator"
    folder.mkdir()
    os.chown(folder, 4321, 4322)  # the service's own user, as in systemd/geolocator.service
    write_hash(folder / "geolocator.password", stored)
    owner = (folder / "geolocator.password").stat()
    assert (owner.st_uid, owner.st_gid) == (4321, 4322)
