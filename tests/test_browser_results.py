"""Uploads and "Where was this taken?" answers side by side, in a real browser (Debian's chromium through
Playwright) against the whole service: an answer asked right after an upload is not replaced by the
upload's popup (nor the upload's result by the answer), several answers stay together, and each
result stays until its × dismisses it; on a desktop and on a 390 px phone, where the panel sits
above the sheet."""

from __future__ import annotations

import pytest
from browsers import DESKTOP, PHONE
from photos import CORPUS_JPG, GPS_JPEGS

from geolocator.config import build_config
from geolocator.service import Service
from tests.test_browser import CHROMIUM
from tests.test_browser_ai_state import TILES, open_map
from tests.test_browser_place import drop_files

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.timeout(150),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]



@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_an_answer_asked_right_after_an_upload_stays_beside_it_until_dismissed(tabs, tmp_path, device):
    config = build_config({"watch": {"settle_seconds": 0.3}, "ollama": {"enabled": False}, "viewer": {"port": 0, "tile_url": TILES}},
                          tmp_path, None)
    service = Service(config).start()
    try:
        with tabs(**(PHONE if device == "phone" else DESKTOP)) as page:
            press = page.click if device == "desktop" else page.tap
            open_map(page, service.map_url)
            drop_files(page, [("upload.jpg", (CORPUS_JPG / GPS_JPEGS[0]).read_bytes())])
            for n in (1, 2):  # right after the upload, two answers
                asked = tmp_path / f"asked{n}.jpg"
                asked.write_bytes((CORPUS_JPG / GPS_JPEGS[n]).read_bytes())
                page.set_input_files("#locate-input", str(asked))
            page.wait_for_selector(".locate-result:has-text('asked1.jpg')[data-state=located]")
            page.wait_for_selector(".locate-result:has-text('asked2.jpg')[data-state=located]")
            # The upload is filed and its popup opens: the answers stay, with their markers.
            page.wait_for_selector(".leaflet-popup .popup[data-status=located]", timeout=30000)
            assert page.text_content(".leaflet-popup .popup-name") == "upload.jpg"
            assert page.locator("#uploads .upload:has-text('upload.jpg')").get_attribute("data-state") == "done"
            assert page.locator(".locate-result").count() == 2 and page.locator(".photo-marker.temporary").count() == 2
            assert page.text_content(".locate-result:has-text('asked1.jpg') dd[data-field=source]") == "EXIF"  # not "exif"
            assert "nothing was kept" in page.text_content(".locate-result:has-text('asked1.jpg')")
            if device == "phone":  # above the sheet, on screen
                panel, sheet = page.locator("#uploads").bounding_box(), page.locator("#side").bounding_box()
                assert panel["y"] >= 0 and panel["y"] + panel["height"] <= sheet["y"] and panel["x"] + panel["width"] <= 390
            # "Show on map" brings an answer back into view, its card still there.
            press(".locate-result:has-text('asked2.jpg') .locate-show")
            assert page.locator(".locate-result").count() == 2
            # Each goes when its × is pressed, and only then: the answer with its marker.
            press(".locate-result:has-text('asked1.jpg') .result-close")
            assert page.locator(".locate-result").count() == 1 and page.locator(".photo-marker.temporary").count() == 1
            assert page.locator("#uploads .upload:has-text('upload.jpg')").count() == 1
            press("#uploads .upload:has-text('upload.jpg') .result-close")
            press(".locate-result:has-text('asked2.jpg') .result-close")
            assert page.locator(".photo-marker.temporary").count() == 0 and page.locator("#uploads").is_hidden()
            assert len(service.store.all()) == 1  # the answers kept nothing
            assert not page.errors, page.errors
    finally:
        service.stop()
