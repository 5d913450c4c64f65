"""The password: required beyond loopback (the service refuses to start and says how), set by
`daemon.py password`, asked by a login page, carried in an HttpOnly SameSite=Strict cookie, and
required by every route but the login page and the static files. Real servers, real processes."""

from __future__ import annotations

import http.client
import json
import tomllib
from pathlib import Path

import pytest
from processes import run_daemon
from records import record, rid

from geolocator.auth import hash_password, verify_password
from geolocator.config import build_config, load_config
from geolocator.core import Core
from geolocator.errors import ConfigError
from geolocator.record.store import Store
from viewer import ViewerServer, create_app

pytestmark = pytest.mark.timeout(90)
PASSWORD = "correct horse battery staple"


def request(port: int, method: str, path: str, body: bytes | None = None, **headers: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **headers})
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def served(tmp_path, password_hash):
    config = build_config({"viewer": {"host": "0.0.0.0", "port": 0, "tile_url": "", "password_hash": password_hash}}, tmp_path, None)
    store = Store(config.paths.database)
    store.put(record(1, name="a.jpg", path="a.jpg"))  # located from its EXIF at (1.0, 2.0)
    app = create_app(Core.build(config, store))
    server = ViewerServer(app, "0.0.0.0", 0).start()
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    yield port, app.config["geolocator.token"], store
    server.stop()
    store.close()


def log_in(port: int, password: str = PASSWORD, origin: str | None = None):
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    return request(port, "POST", "/login", json.dumps({"password": password}).encode(), **headers)


def test_a_non_loopback_bind_without_a_password_is_refused(tmp_path):
    for host in ("0.0.0.0", "::", "192.168.1.20", "photos.example"):
        config = build_config({"viewer": {"host": host}}, tmp_path, None)
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
    assert "Traceback" not in run.stderr


def test_everything_but_the_login_page_and_static_files_needs_the_session(served):
    port, token, _ = served
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


def test_logging_in_sets_a_strict_httponly_cookie_that_opens_the_page(served, password_hash):
    port, token, store = served
    status, _, body = log_in(port, "wrong")
    assert status == 403 and b"wrong password" in body
    assert log_in(port, origin="http://evil.example")[0] == 403  # a cross-origin login
    status, response, _ = log_in(port, origin=f"http://127.0.0.1:{port}")
    assert status == 200
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    session = cookie.split(";", 1)[0]
    status, _, page = request(port, "GET", "/", Cookie=session)
    assert status == 200 and token.encode() in page
    assert request(port, "GET", "/api/map", Cookie=session)[0] == 200
    # a write still needs the page's token, with the session
    fix = json.dumps({"ids": [rid(1)], "lat": 3.0, "lon": 4.0}).encode()
    assert request(port, "POST", "/api/locations", fix, Cookie=session, **{"Content-Type": "application/json"})[0] == 403
    assert request(port, "POST", "/api/locations", fix, Cookie=session, **{"X-Geolocator-Token": token, "Content-Type": "application/json"})[0] == 200
    assert store.get(rid(1)).lat == 3.0
    # a tampered or foreign session is no session
    assert request(port, "GET", "/api/map", Cookie=session[:-2] + "AA")[0] == 401
    assert request(port, "GET", "/api/map", Cookie="geolocator_session=v1.9999999999.00000000000000000000000000000000." + "A" * 43)[0] == 401
    # logging out clears the cookie
    status, response, _ = request(port, "POST", "/logout", b"", Cookie=session, **{"X-Geolocator-Token": token})
    assert status == 200 and "Max-Age=0" in response.getheader("Set-Cookie")


def run_password(args: list[str], typed: str, cwd: Path):
    return run_daemon("password", *args, stdin=typed, cwd=cwd, timeout=60)


def test_the_password_command_writes_the_hash_into_the_config(tmp_path):
    config = tmp_path / "config.toml"
    original = '# my settings\n[watch]\nsettle_seconds = 1.5\n\n[viewer]\nhost = "0.0.0.0"  # the LAN\nport = 8765\n# password_hash = ""\n'
    config.write_text(original)
    config.chmod(0o600)
    run = run_password(["--config", str(config)], "s3cret pass\ns3cret pass\n", tmp_path)
    assert run.returncode == 0, run.stderr
    text = config.read_text()
    stored = tomllib.loads(text)["viewer"]["password_hash"]
    assert verify_password("s3cret pass", stored) and not verify_password("other", stored)
    assert "s3cret" not in text and "# password_hash" not in text
    assert text.replace(f'password_hash = "{stored}"', '# password_hash = ""') == original  # nothing else changed
    assert config.stat().st_mode & 0o777 == 0o600
    assert load_config(config).viewer.password_hash == stored
    # set again: replaced, not added
    assert run_password(["--config", str(config)], "new one\nnew one\n", tmp_path).returncode == 0
    assert config.read_text().count("password_hash") == 1
    # a file without a [viewer] table gets one
    bare = tmp_path / "bare.toml"
    bare.write_text("[watch]\nsettle_seconds = 1.0\n")
    assert run_password(["--config", str(bare)], "pw\npw\n", tmp_path).returncode == 0
    assert verify_password("pw", tomllib.loads(bare.read_text())["viewer"]["password_hash"])


def test_the_password_command_refuses_a_mismatch_and_can_print(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[viewer]\nport = 8765\n")
    run = run_password(["--config", str(config)], "one\ntwo\n", tmp_path)
    assert run.returncode == 1 and "differ" in run.stderr
    assert config.read_text() == "[viewer]\nport = 8765\n"
    assert run_password(["--config", str(config)], "\n\n", tmp_path).returncode == 1  # empty
    printed = run_password(["--print", "--config", str(config)], "pw\npw\n", tmp_path)
    assert printed.returncode == 0 and config.read_text() == "[viewer]\nport = 8765\n"
    line = printed.stdout.strip().splitlines()[-1]
    assert verify_password("pw", tomllib.loads(line)["password_hash"])
