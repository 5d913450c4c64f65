"""The password: required beyond loopback or behind a proxy (the service refuses to start and says
how), set by `daemon.py password` into its own 0600 file, asked by a login page, carried in an
HttpOnly SameSite=Strict cookie (Secure over HTTPS from a trusted proxy), required by every route
but the login page and the static files; sessions that a logout, a new password or nothing but
their expiry end (a restart keeps them); guessing slowed per address, checks bounded, and the page
answering under a flood of logins. Real servers, real processes, real connections."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from configs import write_config
from expect import wait_until
from processes import free_port, run_daemon, stop, wait_ready
from records import record, rid
from test_auth import scrypt_hash

from geolocator.auth import hash_password, verify_password
from geolocator.auth.password_file import password_path, read_hash, write_hash
from geolocator.config import build_config, load_config
from geolocator.core import Core
from geolocator.errors import ConfigError
from geolocator.record.store import Store
from viewer import ViewerServer, create_app
from viewer.throttle import FREE_FAILURES

pytestmark = pytest.mark.timeout(120)
PASSWORD = "correct horse battery staple"


def request(port: int, method: str, path: str, body: bytes | None = None, *, source: str | None = None, **headers: str):
    """One request on its own connection, from `source` (another loopback address) if given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **headers})
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def log_in(port: int, password: str = PASSWORD, *, origin: str | None = None, source: str | None = None, **headers: str):
    headers = {"Content-Type": "application/json", **headers}
    if origin:
        headers["Origin"] = origin
    return request(port, "POST", "/login", json.dumps({"password": password}).encode(), source=source, **headers)


def session_of(response: http.client.HTTPResponse) -> str:
    return response.getheader("Set-Cookie").split(";", 1)[0]


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture(scope="module")
def quick_hash() -> str:
    """The password's hash with scrypt's work cut 128-fold (n=2^10, p=1): for the tests of
    sessions, cookies and waits, which check it dozens of times and are not about its cost
    (the flood test and test_auth.py keep the real one)."""
    return scrypt_hash(PASSWORD, 2**10)


class Served:
    """The map page bound to every interface with a password, over a real store; `restart()`
    stops it and serves the same config again (a service restart)."""

    def __init__(self, config_path: Path) -> None:
        self.config = load_config(config_path)
        self.store = Store(self.config.paths.database)
        self.store.put(record(1, name="a.jpg", path="a.jpg"))  # located from its EXIF at (1.0, 2.0)
        self.server: ViewerServer | None = None
        self.start()

    def start(self) -> None:
        app = create_app(Core.build(self.config, self.store))
        self.token = app.config["geolocator.token"]
        self.server = ViewerServer(app, "0.0.0.0", 0).start()
        self.port = int(self.server.url.rsplit(":", 1)[1].strip("/"))

    def restart(self) -> None:
        if self.server:
            self.server.stop()
        self.start()

    def close(self) -> None:
        if self.server:
            self.server.stop()
        self.store.close()


@pytest.fixture
def served(tmp_path, quick_hash):
    config_path = write_config(tmp_path / "config.toml", viewer={"enabled": True, "host": "0.0.0.0", "port": 0, "tile_url": ""})
    write_hash(password_path(load_config(config_path)), quick_hash)
    page = Served(config_path)
    yield page
    page.close()


def test_a_bind_beyond_loopback_or_a_proxy_without_a_password_is_refused(tmp_path):
    for viewer in ({"host": "0.0.0.0"}, {"host": "::"}, {"host": "192.168.1.20"}, {"host": "photos.example"},
                   {"host": "127.0.0.1", "trusted_proxies": ["127.0.0.1"]}):  # reached through a proxy
        config = build_config({"viewer": viewer}, tmp_path, None)
        with Store(config.paths.database) as store, pytest.raises(ConfigError, match=r"daemon\.py password"):
            create_app(Core.build(config, store))
    for host in ("127.0.0.1", "localhost", "::1"):  # this machine only: no password needed
        config = build_config({"viewer": {"host": host}}, tmp_path, None)
        with Store(config.paths.database) as store:
            create_app(Core.build(config, store))


def test_the_service_refuses_to_start_and_says_how(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[ollama]\nenabled = false\n[viewer]\nhost = "0.0.0.0"\nport = 0\n')
    run = run_daemon("--config", str(config), cwd=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "needs a password" in run.stderr and f"daemon.py password --config {config}" in run.stderr
    assert str(tmp_path / "geolocator.password") in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # refused before any folder or database was made
    alone = run_daemon("map", "--config", str(config), cwd=tmp_path, timeout=60)  # the map alone refuses alike
    assert alone.returncode == 2 and "needs a password" in alone.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    checked = run_daemon("check", "--config", str(config), cwd=tmp_path, timeout=60)  # and check says what run refuses
    assert checked.returncode == 1 and "FAIL password: none set, and the map is served beyond this machine" in checked.stdout


def test_everything_but_the_login_page_and_static_files_needs_the_session(served):
    port, token = served.port, served.token
    status, response, _ = request(port, "GET", "/", Accept="text/html")
    assert status == 303 and response.getheader("Location") == "/login"
    for path in ("/", "/api/map", "/api/images", "/thumb/0000000000000001", "/image/0000000000000001", "/api/where?q=Rome"):
        status, _, body = request(port, "GET", path)
        assert status == 401 and b"log in" in body, path
    status, _, body = request(port, "POST", "/api/locations", b"{}", **{"X-Geolocator-Token": token, "Content-Type": "application/json"})
    assert status == 401
    status, _, body = request(port, "POST", "/api/upload", b"x", **{"X-Geolocator-Token": token, "Content-Type": "multipart/form-data; boundary=x"})
    assert status == 401
    status, response, page = request(port, "GET", "/login")
    assert status == 200 and b'type="password"' in page and token.encode() not in page
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert request(port, "GET", "/static/js/login.js")[0] == 200
    assert request(port, "GET", "/static/app.css")[0] == 200


def test_logging_in_sets_a_strict_httponly_cookie_that_opens_the_page(served):
    port, token, store = served.port, served.token, served.store
    status, _, body = log_in(port, "wrong")
    assert status == 403 and b"wrong password" in body
    assert log_in(port, origin="http://evil.example")[0] == 403  # a cross-origin login
    assert log_in(port, origin=f"https://127.0.0.1:{port}")[0] == 403  # not over HTTPS, whatever it says
    status, response, _ = log_in(port, origin=f"http://127.0.0.1:{port}")
    assert status == 200
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    session = session_of(response)
    status, _, page = request(port, "GET", "/", Cookie=session)
    assert status == 200 and token.encode() in page
    assert request(port, "GET", "/api/map", Cookie=session)[0] == 200
    # a write still needs the page's token, with the session
    fix = json.dumps({"ids": [rid(1)], "lat": 3.0, "lon": 4.0}).encode()
    assert request(port, "POST", "/api/locations", fix, Cookie=session, **{"Content-Type": "application/json"})[0] == 403
    assert request(port, "POST", "/api/locations", fix, Cookie=session, **{"X-Geolocator-Token": token, "Content-Type": "application/json"})[0] == 200
    assert store.get(rid(1)).lat == 3.0
    # a tampered, foreign or old-style session is no session
    tampered = session[:-2] + ("AA" if not session.endswith("AA") else "BB")  # never the token itself (it ends in AA once in ~1,000)
    assert request(port, "GET", "/api/map", Cookie=tampered)[0] == 401
    assert request(port, "GET", "/api/map", Cookie="geolocator_session=v1.9999999999.00000000000000000000000000000000." + "A" * 43)[0] == 401


def test_logging_out_ends_the_session_on_the_server(served):
    port, token = served.port, served.token
    session = session_of(log_in(port)[1])
    other = session_of(log_in(port)[1])  # the same person on another device
    status, response, _ = request(port, "POST", "/logout", b"", Cookie=session, **{"X-Geolocator-Token": token})
    assert status == 200 and "Max-Age=0" in response.getheader("Set-Cookie")
    # Someone who kept the cookie (a shared computer, a copied cookie jar) gets nothing with it.
    assert request(port, "GET", "/api/map", Cookie=session)[0] == 401
    upload = {"X-Geolocator-Token": token, "Content-Type": "multipart/form-data; boundary=x"}
    assert request(port, "POST", "/api/upload", b"x", Cookie=session, **upload)[0] == 401
    assert request(port, "GET", "/api/map", Cookie=other)[0] == 200  # the other device stays logged in


def test_a_restart_keeps_the_sessions_in_a_0600_file(served):
    session = session_of(log_in(served.port)[1])
    sessions = served.config.paths.database.with_name("geolocator.sessions")
    assert sessions.stat().st_mode & 0o777 == 0o600 and session.split("=", 1)[1] not in sessions.read_text()
    served.restart()
    assert request(served.port, "GET", "/api/map", Cookie=session)[0] == 200


def run_password(args: list[str], typed: str, cwd: Path):
    return run_daemon("password", *args, stdin=typed, cwd=cwd, timeout=60)


def test_a_new_password_ends_every_session_in_the_running_service(served, tmp_path):
    port = served.port
    session = session_of(log_in(port)[1])
    assert request(port, "GET", "/api/map", Cookie=session)[0] == 200
    run = run_password(["--config", str(served.config.source)], "a brand new one\na brand new one\n", tmp_path)
    assert run.returncode == 0, run.stderr
    assert request(port, "GET", "/api/map", Cookie=session)[0] == 401  # no restart needed
    assert log_in(port)[0] == 403
    status, response, _ = log_in(port, "a brand new one")
    assert status == 200
    assert request(port, "GET", "/api/map", Cookie=session_of(response))[0] == 200


@pytest.mark.slow
def test_the_password_command_writes_the_hash_into_its_own_0600_file(tmp_path):
    config = tmp_path / "config.toml"
    original = '# my settings\n[watch]\nsettle_seconds = 1.5\n\n[viewer]\nhost = "0.0.0.0"  # the LAN\nport = 8765\n'
    config.write_text(original)
    config.chmod(0o644)
    run = run_password(["--config", str(config)], "s3cret passphrase\ns3cret passphrase\n", tmp_path)
    assert run.returncode == 0, run.stderr
    assert config.read_text() == original  # the config is left alone
    file = tmp_path / "geolocator.password"  # beside the database
    assert str(file) in run.stdout and file.stat().st_mode & 0o777 == 0o600
    stored = read_hash(file)
    assert stored and verify_password("s3cret passphrase", stored) and not verify_password("other", stored)
    assert "s3cret" not in file.read_text()
    # set again: replaced
    assert run_password(["--config", str(config)], "another passphrase\nanother passphrase\n", tmp_path).returncode == 0
    assert verify_password("another passphrase", read_hash(file) or "")
    # without a config file: beside the default database, in the current folder
    bare = tmp_path / "bare"
    bare.mkdir()
    assert run_password([], "one more passphrase\none more passphrase\n", bare).returncode == 0
    assert verify_password("one more passphrase", read_hash(bare / "geolocator.password") or "")


def test_the_password_command_refuses_a_short_password_or_a_mismatch_and_can_print(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[viewer]\nport = 8765\n")
    file = tmp_path / "geolocator.password"
    run = run_password(["--config", str(config)], "one passphrase\ntwo passphrase\n", tmp_path)
    assert run.returncode == 1 and "differ" in run.stderr
    run = run_password(["--config", str(config)], "short\nshort\n", tmp_path)
    assert run.returncode == 1 and "at least 10 characters" in run.stderr
    assert run_password(["--config", str(config)], "\n\n", tmp_path).returncode == 1  # empty
    assert not file.exists()
    printed = run_password(["--print", "--config", str(config)], "long enough now\nlong enough now\n", tmp_path)
    assert printed.returncode == 0 and not file.exists()
    assert verify_password("long enough now", printed.stdout.strip().splitlines()[-1])


def old_hash(password: str) -> str:
    """A hash as geolocator wrote it into the config before: N=2^15, r=8, p=1, any length."""
    return scrypt_hash(password, 2**15)


def test_a_hash_left_in_the_config_still_opens_the_page_until_the_file_is_written(tmp_path, caplog):
    legacy = old_hash("pw")  # set before passwords needed 10 characters
    config_path = write_config(tmp_path / "config.toml", viewer={"enabled": True, "host": "0.0.0.0", "port": 0, "tile_url": "", "password_hash": legacy})
    page = Served(config_path)
    try:
        assert "where others may read it" in caplog.text
        status, response, _ = log_in(page.port, "pw")
        assert status == 200
        session = session_of(response)
        assert run_password(["--config", str(config_path)], "the new passphrase\nthe new passphrase\n", tmp_path).returncode == 0
        assert request(page.port, "GET", "/api/map", Cookie=session)[0] == 401  # the file wins at once
        assert log_in(page.port, "pw")[0] == 403 and log_in(page.port, "the new passphrase")[0] == 200
    finally:
        page.close()


def password_line(config: Path) -> str:
    run = run_daemon("check", "--config", str(config), cwd=config.parent, timeout=60)
    return next(line for line in run.stdout.splitlines() if line.split()[1] == "password:")


def test_check_flags_a_password_kept_badly(tmp_path, password_hash):
    config = write_config(tmp_path / "config.toml", viewer={"enabled": True, "host": "0.0.0.0", "password_hash": old_hash("pw")})
    line = password_line(config)
    assert line.startswith("FAIL") and "where others may read it" in line and "daemon.py password --config" in line
    file = tmp_path / "geolocator.password"
    write_hash(file, password_hash)
    line = password_line(config)
    assert line.startswith("FAIL") and "delete that line" in line
    config = write_config(tmp_path / "config.toml", viewer={"enabled": True, "host": "0.0.0.0"})
    assert password_line(config) == f"ok   password: {file} (mode 0600)"
    file.chmod(0o644)
    line = password_line(config)
    assert line.startswith("FAIL") and "chmod 600" in line
    file.unlink()
    write_hash(file, old_hash("an old passphrase"))
    line = password_line(config)
    assert line.startswith("FAIL") and "weaker scrypt parameters" in line
    file.write_text("hunter2\n")
    assert "set the password again" in password_line(config)
    file.unlink()
    assert "none set, and the map is served beyond this machine" in password_line(config)


# -- guessing (issue 16 item 11) ------------------------------------------------------------------

def test_wrong_passwords_make_the_next_attempt_wait_even_with_the_right_one(served):
    port = served.port
    refused = None
    for _ in range(FREE_FAILURES + 6):  # typos, then waits of 1, 2, 4... s
        status, response, body = log_in(port, "not the password")
        if status == 429:
            refused = response
            if int(response.getheader("Retry-After")) >= 2:
                break
        else:
            assert status == 403, body
    assert refused is not None and b"too many wrong passwords" in body
    status, response, _ = log_in(port)  # the right password, too soon: refused without a look
    assert status == 429 and int(response.getheader("Retry-After")) >= 1
    assert log_in(port, source="127.0.0.2")[0] == 200  # another address is not held back
    # once the wait is over, the right password opens the page and clears the count
    wait_until(lambda: log_in(port)[0] == 200, 60, "the wait over")
    assert [log_in(port, "not the password")[0] for _ in range(FREE_FAILURES)] == [403] * FREE_FAILURES


def vm_kb(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_flood_of_wrong_logins_keeps_the_page_answering_and_checks_one_at_a_time(tmp_path, daemon, password_hash):
    """100 connections from 100 addresses send wrong passwords at once, again and again, to the
    real service (a process); meanwhile a logged-in user's page requests. Before: the checks ran
    8 at a time (8 x 64 MiB) and the user waited 8.8 s."""
    port = free_port()
    config = write_config(tmp_path / "config.toml", viewer={"enabled": True, "host": "127.0.0.1", "port": port, "tile_url": ""})
    write_hash(tmp_path / "geolocator.password", password_hash)
    proc = daemon("--config", str(config))
    wait_ready(proc)
    log_lines: list[str] = []
    drain = threading.Thread(target=lambda: log_lines.extend(proc.stderr), name="daemon-log")  # type: ignore[arg-type]
    drain.start()
    try:
        status, response, _ = log_in(port)
        assert status == 200
        session = session_of(response)
        baseline_kb = vm_kb(proc.pid, "VmHWM")  # after one password check: its 64 MiB counted
        flooding = threading.Event()
        flooding.set()

        def guesser(n: int) -> list[int]:
            answers = []
            for _ in range(8):
                answers.append(log_in(port, f"guess {n}", source=f"127.0.0.{n + 2}")[0])
            return answers

        def user() -> list[float]:
            took = []
            while flooding.is_set() or len(took) < 20:
                started = time.monotonic()
                for path in ("/api/map", "/api/images", "/"):
                    assert request(port, "GET", path, Cookie=session)[0] == 200, path
                took.append((time.monotonic() - started) / 3)
            return took

        with ThreadPoolExecutor(101) as pool:
            watching = pool.submit(user)
            answers = [a for f in [pool.submit(guesser, n) for n in range(100)] for a in f.result()]
            flooding.clear()
            took = sorted(watching.result())
        grown_mb = (vm_kb(proc.pid, "VmHWM") - baseline_kb) / 1024
    finally:
        stop(proc)
        drain.join()
    assert len(answers) == 800 and set(answers) <= {403, 429, 503}, sorted(set(answers))
    assert answers.count(403) >= 1  # some were checked, each one at a time ...
    assert grown_mb < 48, f"peak memory grew {grown_mb:.0f} MB: more than one 64 MiB check at once"
    p99 = took[int(len(took) * 0.99) - 1]
    assert p99 <= 1.0, f"the logged-in user's requests: p99 {p99:.2f} s"  # ... and the page kept answering


# -- behind a reverse proxy (TLS ends there) --------------------------------------------------------

@pytest.fixture
def proxied(tmp_path, quick_hash):
    """The page on 127.0.0.1 with 127.0.0.1 as its trusted proxy; 127.0.0.2 plays a client
    reaching the port directly."""
    config_path = write_config(tmp_path / "config.toml", viewer={"enabled": True, "host": "127.0.0.1", "port": 0, "tile_url": "", "trusted_proxies": ["127.0.0.1"]})
    write_hash(password_path(load_config(config_path)), quick_hash)
    page = Served(config_path)
    yield page
    page.close()


def via_proxy(client: str = "203.0.113.5") -> dict[str, str]:
    """What Caddy or nginx (as the README sets them up) add to a request that came over HTTPS."""
    return {"Host": "photos.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": f"198.51.100.1, {client}"}


def test_over_https_through_a_trusted_proxy_the_cookie_is_secure(proxied):
    port, token = proxied.port, proxied.token
    status, response, _ = log_in(port, origin="https://photos.example.org", **via_proxy())
    assert status == 200 and "Secure" in response.getheader("Set-Cookie")
    session = session_of(response)
    fix = json.dumps({"ids": [rid(1)], "lat": 5.0, "lon": 6.0}).encode()
    headers = via_proxy() | {"Cookie": session, "X-Geolocator-Token": token, "Content-Type": "application/json", "Origin": "https://photos.example.org"}
    assert request(port, "POST", "/api/locations", fix, **headers)[0] == 200
    assert request(port, "POST", "/api/locations", fix, **headers | {"Origin": "https://evil.example"})[0] == 403
    status, response, _ = request(port, "POST", "/logout", b"", **headers)
    assert status == 200 and "Secure" in response.getheader("Set-Cookie")


def test_the_forwarded_headers_of_anyone_else_are_ignored(proxied):
    port = proxied.port
    status, response, _ = log_in(port, source="127.0.0.2", **via_proxy() | {"Host": f"127.0.0.1:{port}"})
    assert status == 200 and "Secure" not in response.getheader("Set-Cookie")  # it did not come over HTTPS
    assert log_in(port, source="127.0.0.2", **via_proxy())[0] == 421  # nor is its Host the proxy's to choose


def test_behind_the_proxy_each_client_address_has_its_own_wait(proxied):
    port = proxied.port
    answers = [log_in(port, "not it", **via_proxy("203.0.113.5"))[0] for _ in range(FREE_FAILURES + 2)]
    assert answers[:FREE_FAILURES + 1] == [403] * (FREE_FAILURES + 1) and answers[-1] == 429
    assert log_in(port, **via_proxy("203.0.113.6"))[0] == 200  # another client through the same proxy
    status, _, _ = log_in(port, "not it", source="127.0.0.2", **via_proxy("203.0.113.5") | {"Host": f"127.0.0.1:{port}"})
    assert status == 403  # a direct client cannot borrow (or spoil) a forwarded address


def test_a_damaged_password_file_refuses_every_login_until_it_is_fixed(served, quick_hash):
    session = session_of(log_in(served.port)[1])
    file = password_path(served.config)
    file.write_text("hunter2\n")
    assert request(served.port, "GET", "/api/map", Cookie=session)[0] == 401
    status, _, body = log_in(served.port)
    assert status == 503 and b"damaged" in body
    write_hash(file, quick_hash)
    assert log_in(served.port)[0] == 200
