"""The page on a 390 px phone, in a real browser (Debian's chromium through Playwright, touch events):
the half-open sheet shows the photo list and a tap on a row selects it; a tap on the handle lands
on the handle, not on what the growing sheet brings under the finger; the counts sit at the top of
the sheet; nothing of the page shows through the photo viewer's caption; a place found by search
is shown above the sheet, not under it."""

from __future__ import annotations

import pytest
from expect import wait_until_js

from tests import test_browser_browse as browse
from tests.test_browser import CHROMIUM
from tests.test_browser_browse import PHONE_EN_GB, open_map

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]

viewer = browse.viewer  # photos in Lisbon, Paris and Tokyo over eight years (a fixture)
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone(tabs):
    with tabs(**PHONE_EN_GB) as page:
        yield page
        assert not page.errors, page.errors


def half_open(page) -> None:
    page.tap("#sheet-handle")
    wait_until_js(page, "document.body.dataset.sheet === 'half'")


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def test_the_half_open_sheet_shows_the_list_and_a_tap_on_a_row_selects_it(phone, viewer):
    open_map(phone, viewer)
    half_open(phone)
    assert phone.text_content('#tabs [aria-selected="true"]').startswith("In view")  # the tap landed on the handle, not on a tab
    sheet, rows = box(phone, "#side"), box(phone, "#list")
    assert sheet["height"] == pytest.approx(HEIGHT / 2, abs=2)
    assert rows["height"] >= 150 and rows["y"] + rows["height"] <= HEIGHT + 1  # several rows, on screen
    row = phone.locator("#list .vrow").first
    name = row.locator(".vrow-name").text_content()
    hit = box(phone, "#list .vrow")
    under = phone.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('.vrow')?.dataset.id",
                           [hit["x"] + hit["width"] * 0.6, hit["y"] + hit["height"] / 2])
    assert under == row.get_attribute("data-id")  # nothing covers it
    row.tap(position={"x": hit["width"] * 0.6, "y": hit["height"] / 2})
    phone.wait_for_selector(f'.leaflet-popup .popup-name:text-is("{name}")')
    # Tapped again from half, the handle opens the sheet fully; from full, back to peek: always on the handle.
    phone.tap("#sheet-handle")
    wait_until_js(phone, "document.body.dataset.sheet === 'full'")
    phone.tap("#sheet-handle")
    wait_until_js(phone, "document.body.dataset.sheet === 'peek'")
    assert phone.text_content('#tabs [aria-selected="true"]').startswith("In view")


def test_the_counts_sit_at_the_top_of_the_sheet(phone, viewer):
    open_map(phone, viewer)
    for state in ("peek", "half", "full"):
        sheet, counts, search = box(phone, "#side"), box(phone, "#counts"), box(phone, '#filters input[name="q"]')
        assert counts["y"] < search["y"] and counts["y"] - sheet["y"] <= 40, (state, sheet, counts)  # under the handle
        assert phone.locator('#counts [data-count="located"]').is_visible() and phone.locator('#counts [data-count="pending"]').is_visible()
        assert counts["x"] >= 0 and counts["x"] + counts["width"] <= WIDTH
        if state != "full":
            phone.tap("#sheet-handle")
            wait_until_js(phone, f"document.body.dataset.sheet === '{'half' if state == 'peek' else 'full'}'")
    assert phone.locator('#counts [data-count="located_exif"]').is_visible()  # the sources' counts once pulled up


def test_nothing_shows_through_the_viewers_caption(phone, viewer):
    open_map(phone, viewer)
    phone.tap("#sheet-handle")
    phone.tap("#sheet-handle")
    wait_until_js(phone, "document.body.dataset.sheet === 'full'")
    phone.evaluate("void geolocator.map.setView([38.7139 + 0.01, -9.1394 + 0.006], 15, {animate: false})")
    # a row whose brief came in with a picture (before that, a row's button is not yet known to show one)
    thumb = phone.locator("#list .vrow[data-filled] .vrow-thumb:has(img)").first
    thumb.wait_for()
    thumb.tap()
    phone.wait_for_selector("#photoviewer .pv-caption a")  # the caption is filled
    assert phone.evaluate("getComputedStyle(document.getElementById('photoviewer')).backgroundColor") == "rgb(12, 14, 18)"  # opaque
    caption = box(phone, "#photoviewer .pv-bar")
    for fx in (0.1, 0.5, 0.9):
        for fy in (0.2, 0.8):
            inside = phone.evaluate("([x, y]) => !!document.elementFromPoint(x, y).closest('#photoviewer')",
                                    [caption["x"] + caption["width"] * fx, caption["y"] + caption["height"] * fy])
            assert inside, (fx, fy)


def test_a_place_found_by_search_is_shown_above_the_sheet(phone, viewer):
    open_map(phone, viewer)
    half_open(phone)
    phone.evaluate("window.landedAt = 0; geolocator.map.on('moveend', () => { window.landedAt = geolocator.map.getZoom(); })")
    phone.fill('#filters input[name="q"]', "Tokyo")
    phone.press('#filters input[name="q"]', "Enter")
    phone.wait_for_selector("#place-chip .place-name")
    # Landed: the flight's one moveend is at its end (its zoom passes 9 on the way in, its centre still
    # moving); a moveend before it (the sheet's resize) is at the world's zoom.
    wait_until_js(phone, "window.landedAt >= 9")
    sheet = box(phone, "#side")
    tokyo = phone.evaluate("(p => [p.x, p.y])(geolocator.map.latLngToContainerPoint([35.6895, 139.6917]))")
    assert 0 < tokyo[1] < sheet["y"] - 20, (tokyo, sheet)  # in the part of the map that shows
    # The markers of the view landed on (drawn last, at its zoom), read at once: a redraw replaces them.
    wait_until_js(phone, "(m => m.length && m[m.length - 1].detail.zoom === geolocator.map.getZoom())(performance.getEntriesByName('geolocator:drawn'))"
                         " && document.querySelectorAll('.marker-cluster, .leaflet-marker-pane .photo-marker').length > 0")
    bottoms = phone.evaluate("[...document.querySelectorAll('.marker-cluster, .leaflet-marker-pane .photo-marker')].map(m => m.getBoundingClientRect().bottom)")
    assert bottoms and all(bottom <= sheet["y"] for bottom in bottoms), (bottoms, sheet)  # the photos there are not under the sheet's top edge
