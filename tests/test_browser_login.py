"""The login page in a real browser (Debian's chromium through Playwright) against a real server
with a password: a wrong password says so, guessing on says how long to wait (429, Retry-After),
the right one opens the map, and logging out ends the session on the server."""

from __future__ import annotations

import pytest
from expect import wait_until_js

from geolocator.auth import hash_password
from geolocator.auth.password_file import password_path, write_hash
from geolocator.config import build_config
from geolocator.core import Core
from geolocator.record.store import Store
from tests.test_browser import CHROMIUM
from viewer import ViewerServer, create_app
from viewer.throttle import FREE_FAILURES

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]

PASSWORD = "open sesame, please"


@pytest.fixture
def served(tmp_path):
    config = build_config({"viewer": {"host": "0.0.0.0", "port": 0, "tile_url": ""}}, tmp_path, None)
    write_hash(password_path(config), hash_password(PASSWORD))
    with Store(config.paths.database) as store:
        server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
        yield server.url
        server.stop()


def submit(page, password: str) -> str:
    page.fill("input[name=password]", password)
    page.evaluate("document.getElementById('login-message').textContent = ''")
    page.click("button[type=submit]")
    return str(wait_until_js(page, "document.getElementById('login-message').textContent.replace('Checking…', '')"))


def test_the_login_page_says_what_happened_and_opens_the_map(tabs, served):
    with tabs() as page:
        page.goto(served)
        assert page.url.endswith("/login")
        assert submit(page, "not it at all") == "Wrong password."
        messages: list[str] = []
        while not any("Retry after" in m for m in messages) and len(messages) < FREE_FAILURES + 5:
            messages.append(submit(page, "not it at all"))  # 3 typos, then a wait of 1 s, 2 s...
        assert messages[-1].startswith("too many wrong passwords") and "Retry after" in messages[-1], messages
        page.fill("input[name=password]", PASSWORD)
        wait_until_js(page, """(async () => {
            const r = await fetch('/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                              body: JSON.stringify({password: document.querySelector('input[name=password]').value})});
            return r.status === 200;
        })()""", timeout=60)  # once the wait is over
        page.goto(served)
        assert not page.url.endswith("/login")
        token = page.get_attribute("meta[name=geolocator-token]", "content")
        ended = page.evaluate("""async (token) => {
            await fetch('/logout', {method: 'POST', headers: {'X-Geolocator-Token': token}});
            return (await fetch('/api/map')).status;
        }""", token)
        assert ended == 401
