"""The AI's state in the page's header, in a real browser (Debian's chromium through Playwright) against
the whole service and a fake Ollama (tests/fake_ollama.py): down since when, its model missing,
with the fix to apply and "Retry all now", on a desktop and on a 390 px phone; the photos waiting
say why; Ollama's messages show their commands as code, never with literal backticks.

Set GEOLOCATOR_SCREENSHOTS=docs to write docs/screenshot-ai-down.png and its phone version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browsers import DESKTOP, PHONE
from expect import wait_until
from photos import write_jpeg

from geolocator.config import build_config
from geolocator.locations.ai_queue import Backoff
from geolocator.record import Source, Status
from geolocator.service import Service
from tests.test_browser import CHROMIUM
from tests.test_browser_browse import save_screenshot

sync_api = pytest.importorskip("playwright.sync_api")

TILES = "http://tiles.invalid/{z}/{x}/{y}.png"

pytestmark = [
    pytest.mark.timeout(150),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]


@pytest.fixture
def service(tmp_path, fake_ollama) -> Iterator[Service]:
    """The service with Ollama down and three photos without GPS filed, waiting for it. Its backoff is
    ten minutes: only "Retry all now" (or a probe, 30 s on) asks again."""
    fake_ollama.down()
    config = build_config({"watch": {"settle_seconds": 0.3}, "ollama": {"host": fake_ollama.url, "timeout": 5.0},
                           "viewer": {"port": 0, "tile_url": TILES}}, tmp_path, None)
    svc = Service(config, backoff=Backoff(base=600, cap=600)).start()
    for n in range(3):
        write_jpeg(config.paths.inbox / f"nogps{n}.jpg", n)
    wait_until(lambda: len(svc.store.with_status(Status.PENDING)) == 3 and any(r.retry_at for r in svc.store.all()), 30,
               "three photos filed, one asked and waiting for Ollama")
    yield svc
    svc.stop()


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)


def count(page, name: str) -> int:
    return int(page.text_content(f'#counts [data-count="{name}"]').replace(",", ""))


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_ollama_down_is_said_in_the_header_with_the_fix_and_retry_all_now_places_the_photos(tabs, service, fake_ollama, device, tmp_path):
    with tabs(**(PHONE if device == "phone" else DESKTOP)) as page:
        open_map(page, service.map_url)
        page.wait_for_selector("#ai[data-state=down]")
        title, server, fix = (page.text_content(f"#ai .{part}") for part in ("ai-title", "ai-server", "ai-fix"))
        assert title == "The AI cannot answer: 3 photos wait"
        assert server.startswith(f"Ollama at {fake_ollama.url}: down since "), server
        assert "start Ollama: systemctl start ollama" in fix and "or set [ollama] enabled = false" in fix
        retry = page.locator("#ai .ai-retry")
        assert retry.is_visible() and retry.text_content() == "Retry all now"
        save_screenshot(page, f"screenshot-ai-down{'-phone' if device == 'phone' else ''}.png")
        if device == "phone":  # at the top of the sheet as it opens (peek), on screen
            box, sheet = page.locator("#ai").bounding_box(), page.locator("#side").bounding_box()
            assert sheet["y"] <= box["y"] and box["y"] + box["height"] <= 844 and box["x"] >= 0 and box["x"] + box["width"] <= 390
            button = retry.bounding_box()
            assert button["y"] + button["height"] <= 844
        # Each waiting photo says why, in the list and in its popup; a command is code, never `backticks`.
        page.click('#tabs [data-tab="unlocated"]') if device == "desktop" else page.tap('#tabs [data-tab="unlocated"]')
        page.wait_for_selector("#list .vrow code")
        assert "systemctl start ollama" in page.locator("#list .vrow code").all_text_contents()
        assert "`" not in page.text_content("#list") and "`" not in page.text_content("#ai")
        if device == "desktop":
            asked = next(r for r in service.store.all() if r.retry_at)
            unasked = next(r for r in service.store.all() if not r.retry_at)
            page.locator("#list .vrow", has_text=asked.name).click()
            page.wait_for_selector('.leaflet-popup dd[data-field="waiting"] code')
            assert "`" not in page.text_content(".leaflet-popup")
            page.locator("#list .vrow", has_text=unasked.name).click()
            popup = f'.leaflet-popup:has(.popup-name:text-is("{unasked.name}"))'  # the last popup may still be fading out
            page.wait_for_selector(popup)
            assert page.text_content(f'{popup} dd[data-field="waiting"]').startswith("for the AI, which cannot answer now")
        # Ollama back: "Retry all now" asks at once (the service alone would wait ten minutes).
        fake_ollama.up()
        page.click("#ai .ai-retry") if device == "desktop" else page.tap("#ai .ai-retry")
        page.wait_for_selector("#notice:has-text('Asking the AI again')")
        wait_until(lambda: service.store.counts()["located"] == 3, 30, "the three photos placed by the AI")
        assert all(r.source is Source.AI for r in service.store.all())
        page.wait_for_selector("#ai", state="hidden", timeout=20000)  # all is well: nothing to say
        wait_until(lambda: count(page, "pending") == 0 and count(page, "located") == 3, 20, "the header's counts")
        assert not page.errors, page.errors


def test_a_missing_model_says_to_pull_it(tabs, tmp_path, fake_ollama):
    fake_ollama.remove("qwen2.5vl")
    config = build_config({"watch": {"settle_seconds": 0.3}, "ollama": {"host": fake_ollama.url, "timeout": 5.0},
                           "viewer": {"port": 0, "tile_url": TILES}}, tmp_path, None)
    service = Service(config, backoff=Backoff(base=600, cap=600)).start()
    try:
        with tabs(**DESKTOP) as page:
            write_jpeg(config.paths.inbox / "nogps.jpg", 1)
            open_map(page, service.map_url)
            page.wait_for_selector('#ai[data-state="model missing"]', timeout=30000)
            assert "the model qwen2.5vl is missing" in page.text_content("#ai .ai-server")
            fix = page.text_content("#ai .ai-fix")
            assert "ollama pull qwen2.5vl" in fix and "or set [ollama] enabled = false" in fix
            fake_ollama.install("qwen2.5vl")
            page.click("#ai .ai-retry")
            wait_until(lambda: service.store.counts()["located"] == 1, 30, "placed once the model is there")
            page.wait_for_selector("#ai", state="hidden", timeout=20000)
            assert not page.errors, page.errors
    finally:
        service.stop()


def test_nothing_is_said_while_the_ai_is_off(tabs, tmp_path):
    config = build_config({"ollama": {"enabled": False}, "viewer": {"port": 0, "tile_url": TILES}}, tmp_path, None)
    service = Service(config).start()
    try:
        with tabs(**DESKTOP) as page:
            write_jpeg(Path(config.paths.inbox) / "nogps.jpg", 1)
            wait_until(lambda: service.store.counts()["unlocated"] == 1, 20, "filed as unlocated")
            open_map(page, service.map_url)
            assert page.locator("#ai").is_hidden()
            assert not page.errors, page.errors
    finally:
        service.stop()
