"""The photo browser around the map, in a real browser (Debian's chromium through Playwright) against a
real server over a real store: the photos-in-view panel, the timeline, place search, selection, the
photo viewer (a real HEIC shown through the server's JPEG preview), the Duplicates tab, the phone layout.

Set GEOLOCATOR_SCREENSHOTS=docs to write the desktop and phone screenshots into docs/.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from browsers import PHONE
from expect import wait_until, wait_until_js
from records import rid

from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from tests.test_browser import CHROMIUM, MARKERS_DRAWN, Viewer

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]

PHONE_EN_GB = {**PHONE, "locale": "en-GB"}
DOCS = Path(__file__).resolve().parent.parent / "docs"
CITIES = {  # name: (lat, lon, place, how many)
    "lisbon": (38.7139, -9.1394, "Baixa, Lisbon, Lisbon, Portugal", 30),
    "paris": (48.8566, 2.3522, "Paris, Ile-de-France, France", 12),
    "tokyo": (35.6895, 139.6917, "Shinjuku, Tokyo, Tokyo, Japan", 9),
}


def make_records(library: Path, corpus: Path) -> list[PhotoRecord]:
    """Photos in three cities over eight years; real JPEGs and a real HEIC for the first Lisbon ones."""
    real = sorted((corpus / "exif-samples" / "jpg" / "gps").glob("*.jpg"))[:4]
    library.mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus / "exif-samples" / "heic" / "IMG_5195.HEIC", library / "IMG_5195.HEIC")
    for src in real:
        shutil.copy(src, library / src.name)
    records = []
    n = 0
    for city, (lat, lon, place, count) in CITIES.items():
        for i in range(count):
            n += 1
            day = date(2015 + n % 8, 1 + (n * 5) % 12, 1 + n % 27)
            name, path = f"{city}_{n:03d}.jpg", f"{city}_{n:03d}.jpg"
            if city == "lisbon" and i == 0:
                name = path = "IMG_5195.HEIC"
            elif city == "lisbon" and i <= len(real):
                name = path = real[i - 1].name
            records.append(PhotoRecord(
                id=rid(n), sha256=rid(n) * 4, name=name, path=path, status=Status.LOCATED,
                source=(Source.EXIF, Source.AI, Source.MANUAL)[n % 3], lat=lat + (i % 6) * 0.004, lon=lon + (i // 6) * 0.004,
                place=place, taken_at=f"{day.isoformat()}T1{n % 10}:00:00",
            ))
    shutil.copy(real[0], library / "copy.jpg")
    records.append(PhotoRecord(id=rid(900), sha256=rid(900) * 4, name="copy of the first.jpg", path="copy.jpg",
                               status=Status.DUPLICATE, duplicate_of=records[1].id))
    records.append(PhotoRecord(id=rid(901), sha256=rid(901) * 4, name="sand.jpg", path="sand.jpg",
                               status=Status.UNLOCATED, error="the model saw only sand"))
    return records


@pytest.fixture
def viewer(tmp_path, corpus):
    v = Viewer(tmp_path)
    v.records = make_records(v.config.paths.library, corpus)
    v.config.paths.duplicates.mkdir(parents=True, exist_ok=True)
    shutil.move(v.config.paths.library / "copy.jpg", v.config.paths.duplicates / "copy.jpg")
    store = Store(v.config.paths.database)
    store.put_many(v.records)
    store.close()
    v.start()
    yield v
    v.stop()



@pytest.fixture
def page(tabs):
    with tabs(locale="de-DE") as page:
        yield page
        assert not page.errors, page.errors


def open_map(page, viewer) -> None:
    page.goto(viewer.url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)


def panel_ids(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('#list .vrow')].sort((a, b) => "
                         "new DOMMatrix(getComputedStyle(a).transform).f - new DOMMatrix(getComputedStyle(b).transform).f)"
                         ".map(r => r.dataset.id)")


def panel_total(page) -> int:
    return int(page.get_attribute("#list", "data-total"))


def markers_on_map(page) -> int:
    return page.evaluate(MARKERS_DRAWN)


def in_bounds(records, bounds) -> list[PhotoRecord]:
    return [r for r in records if r.status is Status.LOCATED
            and bounds["south"] <= r.lat <= bounds["north"] and bounds["west"] <= r.lon <= bounds["east"]]


def bounds(page) -> dict:
    return page.evaluate("(b => ({south: b.getSouth(), north: b.getNorth(), west: b.getWest(), east: b.getEast()}))"
                         "(geolocator.map.getBounds())")


def newest_first(records) -> list[str]:
    """The panel's order: the newest day first, then by name."""
    by_name = sorted(records, key=lambda r: r.name)
    return [r.id for r in sorted(by_name, key=lambda r: r.taken_at[:10], reverse=True)]


def panel_in_view(page, records) -> list[PhotoRecord]:
    """The photos in the map's view, once the panel lists exactly them, newest first (its rows drawn
    are a run of that order). The panel follows the map once the view is drawn, a moment after the
    move: until then it lists the last view's photos (as many, maybe), and a drag may glide on after
    the mouse is up."""
    def listed() -> tuple[list[PhotoRecord]] | None:
        expected = in_bounds(records, bounds(page))
        order, drawn = newest_first(expected), panel_ids(page)
        run = order[order.index(drawn[0]):][:len(drawn)] if drawn and drawn[0] in order else []
        return (expected,) if panel_total(page) == len(expected) and drawn == run and bool(drawn) == bool(order) else None
    return wait_until(listed, timeout=20, message="the panel listing the photos in view")[0]


def test_the_panel_shows_exactly_the_photos_in_view_after_a_pan(page, viewer):
    open_map(page, viewer)
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{sum(c[3] for c in CITIES.values())}'")
    page.evaluate("void geolocator.map.setView([48.8566 + 0.008, 2.3522 + 0.004], 14, {animate: false})")
    page.mouse.move(800, 400)
    page.mouse.down()
    page.mouse.move(820, 420, steps=5)  # a real drag of the map: the panel follows
    page.mouse.up()
    expected = panel_in_view(page, viewer.records)
    assert 0 < len(expected) < CITIES["paris"][3] + 1
    assert panel_ids(page) == newest_first(expected)  # exactly these, newest first, all drawn
    assert page.text_content('#tabs [data-tab="photos"] .n') == str(len(expected))
    # Pan to Tokyo: the panel now holds Tokyo's photos only.
    page.evaluate("void geolocator.map.panTo([35.6895 + 0.004, 139.6917 + 0.002], {animate: false})")
    expected = panel_in_view(page, viewer.records)
    assert expected and all(r.place.endswith("Japan") for r in expected)
    assert panel_ids(page) == newest_first(expected)
    # Rows show the place and the date in the user's locale; clicking one selects it on the map.
    row = page.locator("#list .vrow").first
    wait_until_js(page, "document.querySelector('#list .vrow .vrow-place').textContent !== ''")
    assert row.locator(".vrow-place").text_content() == CITIES["tokyo"][2]
    first = next(r for r in viewer.records if r.id == panel_ids(page)[0])
    shown = page.evaluate("iso => new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeZone: 'UTC'})"
                          ".format(new Date(iso + 'T00:00:00Z'))", first.taken_at[:10])
    assert shown in row.locator(".vrow-detail").text_content() and first.taken_at[:10] not in row.text_content()
    row.locator(".vrow-name").click()
    page.wait_for_selector(f".leaflet-popup .popup[data-id='{first.id}']")


def test_the_panel_loads_thumbnails_lazily(page, viewer):
    open_map(page, viewer)
    page.evaluate("void geolocator.map.setView([38.7139 + 0.01, -9.1394 + 0.006], 14, {animate: false})")
    page.fill('#filters input[name="q"]', "IMG_5195")
    wait_until_js(page, "document.querySelector('#list').dataset.total === '1'")
    wait_until_js(page, "(i => i && i.complete && i.naturalWidth > 0)(document.querySelector('#list .vrow-thumb img'))")
    # Only drawn rows ask for thumbnails: a handful of requests, not one per photo.
    asked = page.evaluate("performance.getEntriesByType('resource').filter(e => e.name.includes('/thumb/')).length")
    assert 1 <= asked < 20


def test_the_timeline_brush_filters_the_map_and_the_panel(page, viewer):
    open_map(page, viewer)
    total = sum(c[3] for c in CITIES.values())
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
    label = page.text_content("#time-range")
    assert "2015" in label and "2022" in label and not any(ch.isdigit() for ch in label.replace("2015", "").replace("2022", ""))
    box = page.locator("#timeline").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.30, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=6)
    page.mouse.up()
    start = page.input_value('#filters input[name="from"]')
    end = page.input_value('#filters input[name="to"]')
    assert start and end and start < end and start.endswith("-01")
    expected = [r for r in viewer.records if r.status is Status.LOCATED and start <= r.taken_at[:10] <= end]
    assert 0 < len(expected) < total
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{len(expected)}'")
    # The list follows at once, the map once its worker has indexed the points in range.
    wait_until(lambda: markers_on_map(page) == len(expected), timeout=20, message="the map drawing the photos in range")
    # The range in the user's locale (de-DE here), never ISO.
    months = page.evaluate("([a, b]) => [a, b].map(d => new Intl.DateTimeFormat(undefined, {year: 'numeric', month: 'short', "
                           "timeZone: 'UTC'}).format(new Date(d + 'T00:00:00Z')))", [start, end])
    label = page.text_content("#time-range")
    assert months[0] in label and months[1] in label and f"{len(expected)} photos" in label and start[:7] not in label
    page.click("#time-clear")
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
    assert page.input_value('#filters input[name="from"]') == ""


@pytest.mark.slow
def test_search_by_place_flies_there_filters_only_when_asked_and_by_file_name(page, viewer):
    open_map(page, viewer)
    total = sum(c[3] for c in CITIES.values())
    page.fill('#filters input[name="q"]', "Lisbon")
    page.press('#filters input[name="q"]', "Enter")
    page.wait_for_selector("#place-chip .place-name")
    assert "Lisbon" in page.text_content("#place-chip") and "Portugal" in page.text_content("#place-chip")
    wait_until_js(page, "(c => Math.abs(c.lat - 38.72) < 0.2 && Math.abs(c.lng + 9.14) < 0.2)(geolocator.map.getCenter())"
               " && geolocator.map.getZoom() >= 9")
    wait_until_js(page, "!document.querySelector('.leaflet-cluster-anim') && !geolocator.map._animatingZoom")
    # Flying hides nothing: the whole world shows every photo.
    page.evaluate("void geolocator.map.setZoom(2, {animate: false})")
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
    assert page.text_content("#shown").startswith(f"{total} ")
    # Filtering by the place is an explicit choice, and undone the same way.
    lisbon = CITIES["lisbon"][3]
    page.click("#place-chip .chip")
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{lisbon}'")
    # The list follows at once, the map once its worker has indexed the place's photos.
    wait_until(lambda: markers_on_map(page) == lisbon, timeout=20, message="the map drawing the place's photos")
    # A new search replaces the chip and its filter.
    page.fill('#filters input[name="q"]', "Paris")
    page.press('#filters input[name="q"]', "Enter")
    wait_until_js(page, "(document.body.dataset.place || '').startsWith('Paris')")
    assert "Lisbon" not in page.text_content("#place-chip")
    wait_until_js(page, "(c => Math.abs(c.lat - 48.86) < 0.3)(geolocator.map.getCenter()) && !geolocator.map._animatingZoom")
    page.evaluate("void geolocator.map.setZoom(2, {animate: false})")
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
    page.click("#place-chip .chip-x")
    page.wait_for_selector("#place-chip", state="hidden")
    # A region alone: the map frames the whole region, not a town in it, nor the world.
    page.evaluate("window.flown = []; geolocator.map.on('moveend', () => window.flown.push(geolocator.map.getBounds()))")
    page.fill('#filters input[name="q"]', "Tuscany")
    page.press('#filters input[name="q"]', "Enter")
    wait_until_js(page, "(document.body.dataset.place || '') === 'Tuscany, Italy'")
    towns = [[43.77, 11.25], [43.72, 10.40], [43.32, 11.33], [43.46, 11.88], [42.76, 11.11]]  # Florence, Pisa, Siena, Arezzo, Grosseto
    # (the flight's one moveend is at its end: a view that frames the towns and is no bigger than Italy is where it landed)
    wait_until_js(page, "(towns) => window.flown.some(b => towns.every(t => b.contains(t)) && b.getNorth() - b.getSouth() < 12)", towns)
    south, west, north, east = page.evaluate("(b => [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()])(geolocator.map.getBounds())")
    assert all(south <= lat <= north and west <= lon <= east for lat, lon in towns)
    assert 1.5 < north - south < 8 and 2 < east - west < 16, (south, west, north, east)  # Tuscany is ~2° by ~2.5°
    page.evaluate("void geolocator.map.setZoom(2, {animate: false})")
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
    # Not a place: the text filters by file name, and says so.
    page.fill('#filters input[name="q"]', "tokyo_04")
    page.press('#filters input[name="q"]', "Enter")
    page.wait_for_selector("#notice:has-text('No place called')")
    names = sorted(r.name for r in viewer.records if "tokyo_04" in r.name)
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{len(names)}'")
    assert sorted(page.locator("#list .vrow-name").all_text_contents()) == names


def test_selecting_scrolls_its_row_into_view_and_the_notice_never_covers_the_popup(page, viewer):
    open_map(page, viewer)
    total = sum(c[3] for c in CITIES.values())
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
    oldest = newest_first([r for r in viewer.records if r.status is Status.LOCATED])[-1]
    page.evaluate(f"geolocator.select({json.dumps(oldest)}, true)")
    page.wait_for_selector(f".leaflet-popup .popup[data-id='{oldest}']", timeout=15000)
    # (within a pixel: the list's height can be fractional, its scroll offset is not)
    wait_until_js(page, f"(r => !!r && (b => r.getBoundingClientRect().top >= b.top - 1 && r.getBoundingClientRect().bottom <= b.bottom + 1)"
               f"(document.querySelector('#list').getBoundingClientRect()))(document.querySelector('#list .vrow[data-id=\"{oldest}\"]'))")
    assert page.locator(f"#list .vrow[data-id='{oldest}']").get_attribute("aria-selected") == "true"
    # Move the popup to the top of the map, where the notice shows, then raise a notice.
    page.evaluate("(p => geolocator.map.panBy([0, p.getBoundingClientRect().top - 4], {animate: false}))"
                  "(document.querySelector('.leaflet-popup'))")
    name = next(r.name for r in viewer.records if r.id == oldest)
    page.fill('#filters input[name="q"]', name)
    page.press('#filters input[name="q"]', "Enter")
    page.wait_for_selector("#notice:has-text('No place called')")
    page.wait_for_selector(".leaflet-popup")
    overlap = ("((a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)"
               "(document.querySelector('#notice').getBoundingClientRect(), document.querySelector('.leaflet-popup').getBoundingClientRect())")
    wait_until_js(page, "!" + overlap)
    page.wait_for_timeout(300)  # and it stays clear
    assert not page.evaluate(overlap)


def test_the_viewer_shows_a_heic_and_steps_through_the_panel(page, viewer):
    open_map(page, viewer)
    page.evaluate("void geolocator.map.setView([38.7139 + 0.01, -9.1394 + 0.006], 14, {animate: false})")
    order = newest_first(panel_in_view(page, viewer.records))  # the whole panel, drawn or not: the viewer steps through it
    heic = rid(1)  # the first Lisbon photo
    page.evaluate(f"geolocator.select('{heic}', false)")  # scrolls its row into view
    wait_until_js(page, f"!!document.querySelector('#list .vrow[data-id=\"{heic}\"] .vrow-thumb img')")
    page.click(f"#list .vrow[data-id='{heic}'] .vrow-thumb")
    page.wait_for_selector("#photoviewer:not([hidden])")
    wait_until_js(page, f"document.querySelector('#photoviewer').dataset.loaded === '{heic}'", timeout=30)
    size = page.evaluate("(i => [i.naturalWidth, i.naturalHeight, i.currentSrc])(document.querySelector('#photoviewer img.pv-media'))")
    assert size[0] > 0 and size[1] > 0 and size[2].endswith(f"/preview/{heic}")
    at = order.index(heic)
    assert page.text_content(".pv-position") == f"{at + 1} / {len(order)}"
    page.keyboard.press("ArrowRight")
    wait_until_js(page, f"document.querySelector('#photoviewer').dataset.id === '{order[at + 1]}'")
    page.click(".pv-prev")
    wait_until_js(page, f"document.querySelector('#photoviewer').dataset.loaded === '{heic}'")
    page.keyboard.press("Escape")
    page.wait_for_selector("#photoviewer", state="hidden")


def test_the_duplicates_tab_names_the_photo_each_one_repeats(page, viewer):
    open_map(page, viewer)
    page.click('#tabs [data-tab="duplicates"]')
    wait_until_js(page, "document.querySelector('#list').dataset.total === '1'")
    original = next(r for r in viewer.records if r.id == rid(2))
    wait_until_js(page, "document.querySelector('#list .vrow-place').textContent !== ''")
    assert page.text_content("#list .vrow .vrow-name") == "copy of the first.jpg"
    assert page.text_content("#list .vrow .vrow-place") == f"duplicate of {original.name}"
    wait_until_js(page, "(i => i && i.naturalWidth > 0)(document.querySelector('#list .vrow-thumb img'))")


def test_a_failed_file_shows_a_placeholder_and_no_thumbnail_is_asked_for(page, viewer):
    failed = viewer.config.paths.failed
    failed.mkdir(parents=True, exist_ok=True)
    (failed / "notes.jpg").write_bytes(b"shopping list, not a photo")
    viewer.store.put(PhotoRecord(id=rid(950), sha256=rid(950) * 4, name="notes.jpg", path="notes.jpg", status=Status.FAILED,
                                 error="not a supported image or video (starts with 73 68 6f 70)"))
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    open_map(page, viewer)
    page.click('#tabs [data-tab="failed"]')
    wait_until_js(page, "document.querySelector('#list').dataset.total === '1'")
    wait_until_js(page, "document.querySelector('#list .vrow-place') && document.querySelector('#list .vrow').dataset.filled === 'true'")
    thumb = page.locator("#list .vrow .vrow-thumb")
    assert "none" in thumb.get_attribute("class") and thumb.locator("img").count() == 0  # the placeholder
    page.locator("#list .vrow", has_text="notes.jpg").click()
    page.wait_for_selector(".leaflet-popup .popup[data-status=failed] .thumb.none")
    assert page.locator(".leaflet-popup img").count() == 0
    assert page.locator(".leaflet-popup a.full").count() == 1  # the file itself can still be opened
    page.locator(".leaflet-popup .thumb.none").click()  # the photo viewer: no preview asked for either
    page.wait_for_selector("#photoviewer .pv-cannot")
    assert [u for u in missing if "/thumb/" in u or "/preview/" in u] == []


def save_screenshot(page, name: str) -> None:
    """The page as docs/`name` when GEOLOCATOR_SCREENSHOTS=docs (a picture nobody looks at is not taken)."""
    if os.environ.get("GEOLOCATOR_SCREENSHOTS") == "docs":
        page.screenshot(path=str(DOCS / name))


def test_desktop_layout(page, viewer, tmp_path):
    open_map(page, viewer)
    page.evaluate("void geolocator.map.setView([38.7139 + 0.01, -9.1394 + 0.006], 15, {animate: false})")
    wait_until_js(page, "[...document.querySelectorAll('#list .vrow-thumb img')].some(i => i.naturalWidth > 0)")
    save_screenshot(page, "screenshot.png")


def test_phone_layout_map_full_width_and_a_sheet_to_pull_up(tabs, viewer, tmp_path):
    with tabs(**PHONE_EN_GB) as page:
        open_map(page, viewer)
        map_box = page.locator("#map").bounding_box()
        assert map_box["width"] == 390 and map_box["height"] == 844
        sheet = page.locator("#side").bounding_box()
        assert sheet["width"] == 390 and sheet["y"] + sheet["height"] == 844 and sheet["height"] < 844 * 0.3
        assert page.locator('#filters input[name="q"]').is_visible()
        # The notice (tiles cannot load here) covers none of the map's buttons: "Add photos", zoom.
        page.wait_for_selector("#notice:has-text('Map tiles cannot be loaded')", state="attached")
        page.evaluate("() => { document.getElementById('notice').hidden = false; }")  # shown however long this takes (it hides after 6 s)
        wait_until_js(page, "(n => [...document.querySelectorAll('.leaflet-top .leaflet-control')].every(c => (a => "
                            "a.bottom <= n.top || n.bottom <= a.top || a.right <= n.left || n.right <= a.left)(c.getBoundingClientRect())))"
                            "(document.querySelector('#notice').getBoundingClientRect())", timeout=20)
        notice = page.locator("#notice").bounding_box()
        for control in (page.locator(".upload-control"), page.locator(".leaflet-control-zoom")):
            box = control.bounding_box()
            assert box["width"] > 0 and notice["width"] > 0
            assert (notice["y"] >= box["y"] + box["height"] or box["y"] >= notice["y"] + notice["height"]
                    or notice["x"] >= box["x"] + box["width"] or box["x"] >= notice["x"] + notice["width"]), (notice, box)
        assert notice["y"] + notice["height"] <= 844 * 0.5 and notice["x"] >= 0 and notice["x"] + notice["width"] <= 390  # on screen
        handle = page.locator("#sheet-handle").bounding_box()
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, 100, steps=8)
        page.mouse.up()
        wait_until_js(page, "document.body.dataset.sheet === 'full'")
        sheet = page.locator("#side").bounding_box()
        assert sheet["height"] > 844 * 0.8 and sheet["y"] + sheet["height"] == 844
        assert page.locator("#timeline").is_visible() and page.locator("#list .vrow").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") == 390  # nothing sticks out sideways
        save_screenshot(page, "screenshot-phone-sheet.png")
        page.mouse.move(x, 120)
        page.mouse.down()
        page.mouse.move(x, 700, steps=8)
        page.mouse.up()
        wait_until_js(page, "document.body.dataset.sheet === 'peek'")
        page.evaluate("void geolocator.map.setView([38.7139 + 0.01, -9.1394 + 0.006], 15, {animate: false})")
        save_screenshot(page, "screenshot-phone.png")
        assert not page.errors, page.errors


def test_search_on_a_phone_flies_there_and_the_chip_fits_the_screen(tabs, viewer, tmp_path):
    with tabs(**PHONE_EN_GB) as page:
        open_map(page, viewer)
        total = sum(c[3] for c in CITIES.values())
        page.fill('#filters input[name="q"]', "Tokyo")
        page.press('#filters input[name="q"]', "Enter")
        page.wait_for_selector("#place-chip .place-name")
        wait_until_js(page, "(c => Math.abs(c.lat - 35.69) < 0.3 && Math.abs(c.lng - 139.69) < 0.3)(geolocator.map.getCenter())"
                            " && geolocator.map.getZoom() >= 9 && !geolocator.map._animatingZoom")
        for part in ("#place-chip .place-name", "#place-chip .chip", "#place-chip .chip-x"):
            box = page.locator(part).bounding_box()
            assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= 390, (part, box)
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        page.evaluate("void geolocator.map.setView([40, 65], 1, {animate: false})")  # nothing hidden by the search
        wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total}'")
        page.tap("#place-chip .chip")
        tokyo = CITIES["tokyo"][3]
        wait_until_js(page, f"document.querySelector('#list').dataset.total === '{tokyo}'")
        assert not page.errors, page.errors
