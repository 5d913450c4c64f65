"""Render docs/screenshot-library.png, screenshot-ai.png and screenshot-phone-library.png: the
sample corpus run through the real `scan`, shown in chromium: the whole library, a photo the
model placed, and the library on a phone.

Photos with GPS are placed from their own metadata. No vision model can run here, so the photos
without GPS are answered by the test suite's fake Ollama server (tests/fake_ollama.py) with a
few scripted places: the page is real, those AI answers are not. Tiles cannot load offline, so
the built-in map shows.

    .venv/bin/python scripts/screenshot.py [FOLDER]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from browsers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from corpus import CORPUS as CORPUS_ROOT  # noqa: E402
from expect import wait_until_js  # noqa: E402
from fake_ollama import FakeOllama  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from geolocator.commands import scan  # noqa: E402
from geolocator.config import load_config  # noqa: E402
from geolocator.core import Core  # noqa: E402
from geolocator.record.store import Store  # noqa: E402
from viewer import ViewerServer, create_app  # noqa: E402

CORPUS = CORPUS_ROOT / "exif-samples"
SAMPLES = ["jpg/gps", "heic", "heic/mobile", "jpg/mobile", "jpg/Canon_40D.jpg", "jpg/Nikon_D70.jpg", "jpg/Pentax_K10D.jpg", "jpg/corrupted.jpg", "jpg/tests/35-empty.jpg"]
AI_ANSWERS = [
    {
        "country": "Japan", "region": "Kyoto", "city": "Kyoto", "landmark": "Fushimi Inari-taisha",
        "latitude": 34.9671, "longitude": 135.7727, "confidence": 0.8, "description": "Rows of vermilion torii gates on a wooded hillside.",
    },
    {"country": "Peru", "region": "Cusco", "city": None, "landmark": None, "latitude": None, "longitude": None, "confidence": 0.5, "description": "Andean terraces and stone walls at altitude."},
    {"country": "Iceland", "region": None, "city": None, "landmark": None, "latitude": None, "longitude": None, "confidence": 0.4, "description": "Black sand beach with basalt columns."},
    {"country": None, "region": None, "city": None, "landmark": None, "latitude": None, "longitude": None, "confidence": 0.0, "description": "A plain grey test chart: no clue to a place."},
]


def gather(inbox: Path) -> None:
    for sample in SAMPLES:
        source = CORPUS / sample
        for photo in sorted(source.iterdir()) if source.is_dir() else [source]:
            if photo.is_file() and photo.suffix.lower() in (".jpg", ".heic", ".heif"):
                shutil.copy2(photo, inbox / photo.name)


def open_library(browser: Any, url: str, centre: list[float], zoom: int, **page_options: Any) -> Any:
    """A new page showing the library around `centre`, its thumbnails loaded (tiles refused: offline)."""
    page = browser.new_page(**page_options)
    page.route("http://tiles.invalid/**", lambda route: route.abort())
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
    page.evaluate("([centre, zoom]) => geolocator.map.setView(centre, zoom, { animate: false })", [centre, zoom])
    wait_until_js(page, "[...document.images].every((i) => i.complete)")  # thumbnails in
    return page


def main(folder: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp, FakeOllama() as fake:
        root = Path(tmp)
        (root / "config.toml").write_text(f'[ollama]\nhost = "{fake.url}"\n[viewer]\nport = 0\ntile_url = "http://tiles.invalid/{{z}}/{{x}}/{{y}}.png"\n')
        config = load_config(root / "config.toml")
        config.paths.inbox.mkdir()
        gather(config.paths.inbox)
        fake.answer(*(json.dumps(a) for a in AI_ANSWERS))
        scan.main(config.replace("watch", settle_seconds=0.0))
        with Store(config.paths.database) as store:
            server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                    page = open_library(browser, server.url, [30, 10], 2, viewport={"width": 1280, "height": 760})
                    page.screenshot(path=str(folder / "screenshot-library.png"))
                    name = Path(SAMPLES[4]).name
                    # The list shows the photos in view: look at the whole world, then find the row by name.
                    page.evaluate("void geolocator.map.setView([20, 0], 1, { animate: false })")
                    page.fill('#filters input[name="q"]', name)
                    page.locator("#list .vrow", has_text=name).first.click()
                    page.wait_for_selector(".leaflet-popup", timeout=5000)
                    wait_until_js(page, "!document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim')")  # the fly-to ended
                    # The whole uncertainty circle in view, the popup still open.
                    page.evaluate("geolocator.map.fitBounds(geolocator.state.uncertainty.getBounds(), { animate: false, paddingTopLeft: [0, 300] })")
                    wait_until_js(page, "[...document.images].every((i) => i.complete)")  # thumbnails in
                    page.screenshot(path=str(folder / "screenshot-ai.png"))
                    phone = open_library(browser, server.url, [35, 10], 1, viewport={"width": 390, "height": 844},
                                         device_scale_factor=2, is_mobile=True, has_touch=True)
                    phone.screenshot(path=str(folder / "screenshot-phone-library.png"))
                    browser.close()
            finally:
                server.stop()
    print(f"wrote screenshot-library.png, screenshot-ai.png and screenshot-phone-library.png in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"))
