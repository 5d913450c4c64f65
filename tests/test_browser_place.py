"""Uploading and placing in a real browser (Debian's chromium through Playwright) against real
servers: a drag-and-drop upload followed until its popup opens at the photo's place (the whole
service: watcher, workers, store), placing by hand with Save and Cancel (a click or a double-click
saves nothing), each pasted coordinate form, revert, and placing several photos together; track
and nearby markers styled apart from the others and shown or hidden by the Source filter, and each
one's uncertainty circle (as an AI estimate's, in its own colour and dashes) when selected."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsers import DESKTOP, PHONE
from expect import MAP_AT_REST, click_at_rest, wait_until_js
from photos import CORPUS_JPG, GPS_JPEGS, jpeg_bytes
from records import rid

from geolocator.config import build_config
from geolocator.core import Core
from geolocator.locations.ai_queue import due
from geolocator.record import WAITING_FOR_AI, PhotoRecord, Source, Status
from geolocator.record.store import Store, utc_now
from geolocator.service import Service
from tests import test_browser as shared
from viewer import ViewerServer, create_app

sync_api = pytest.importorskip("playwright.sync_api")

TILES = "http://tiles.invalid/{z}/{x}/{y}.png"
ROME = (41.8902, 12.4922)
FORMS = ["41.8902, 12.4922", "41°53'24.7\"N 12°29'32.0\"E", "geo:41.8902,12.4922",
         "https://www.google.com/maps/@41.8902,12.4922,17z", "https://www.openstreetmap.org/#map=17/41.8902/12.4922"]

pytestmark = shared.browser_marks(150)




page = shared.desktop  # a 1280x800 page gathering its script errors (a fixture)


def records(library: Path) -> list[PhotoRecord]:
    folder = library / "2024" / "05"
    folder.mkdir(parents=True)
    out = []
    for n in range(1, 5):
        (folder / f"u{n}.jpg").write_bytes(jpeg_bytes(n))
        out.append(PhotoRecord(id=rid(n), sha256=rid(n) * 4, name=f"u{n}.jpg", path=f"2024/05/u{n}.jpg", status=Status.UNLOCATED,
                               error="the AI could not tell where this was taken", taken_at=f"2024-05-0{n}T10:00:00"))
    (folder / "est.jpg").write_bytes(jpeg_bytes(10))
    out.append(PhotoRecord(id=rid(10), sha256=rid(10) * 4, name="est.jpg", path="2024/05/est.jpg", status=Status.LOCATED,
                           source=Source.AI, lat=48.8566, lon=2.3522, confidence=0.6, radius_km=25.0, model="qwen2.5vl",
                           description="A café terrace by the Seine", place="Paris, Île-de-France, France", taken_at="2024-05-10T10:00:00"))
    return out


@pytest.fixture
def viewer(tmp_path):
    config = build_config({"ollama": {"enabled": False}, "viewer": {"tile_url": TILES}}, tmp_path, None)
    store = Store(config.paths.database)
    store.put_many(records(config.paths.library))
    server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
    yield server.url, store
    server.stop()
    store.close()


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)


def open_unlocated(page, name: str) -> None:
    page.click('#tabs [data-tab="unlocated"]')
    page.locator("#list .vrow", has_text=name).first.click()
    page.wait_for_selector(".leaflet-popup .popup-name")


def zoom(page) -> int:
    return page.evaluate("geolocator.map.getZoom()")


def pin(page) -> tuple[float, float]:
    bar = page.locator(".place-bar")
    return float(bar.get_attribute("data-lat")), float(bar.get_attribute("data-lon"))


# -- uploads ---------------------------------------------------------------------------------------

def drop_files(page, files: list[tuple[str, bytes]]) -> None:
    """Drop files on the page as a person drags them from the desktop: dragover, then drop."""
    page.evaluate("""(files) => {
        const data = new DataTransfer();
        for (const [name, b64] of files) {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            data.items.add(new File([bytes], name, { type: 'image/jpeg' }));
        }
        const target = document.getElementById('map');
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }""", [[name, base64.b64encode(data).decode()] for name, data in files])


@contextlib.contextmanager
def service_on_the_map(page, tmp_path: Path, ollama: dict) -> Iterator[Service]:
    """The service over tmp_path (its AI as `ollama` says), its map open in `page`; stopped after."""
    config = build_config({"watch": {"settle_seconds": 0.3}, "ollama": ollama, "viewer": {"port": 0, "tile_url": TILES}}, tmp_path, None)
    service = Service(config).start()
    try:
        open_map(page, service.map_url)
        yield service
    finally:
        service.stop()


def test_a_dropped_photo_is_filed_and_shown_with_its_popup_at_its_place(page, tmp_path):
    with service_on_the_map(page, tmp_path, {"host": "http://127.0.0.1:9", "timeout": 2.0}) as service:
        photo = (CORPUS_JPG / GPS_JPEGS[0]).read_bytes()
        drop_files(page, [("DSCN0010.jpg", photo)])
        item = page.locator("#uploads .upload", has_text="DSCN0010.jpg")
        item.wait_for()
        page.wait_for_selector(".leaflet-popup .popup[data-status=located]", timeout=30000)
        record = next(r for r in service.store.all() if r.name == "DSCN0010.jpg")
        assert page.locator(".leaflet-popup .popup").get_attribute("data-id") == record.id
        shown = [float(v) for v in page.locator('.leaflet-popup dd[data-field="coordinates"]').text_content().split(",")]
        assert shown == pytest.approx([record.lat, record.lon], abs=1e-5)
        centre = page.evaluate("(c => [c.lat, c.lng])(geolocator.map.getCenter())")
        assert centre == pytest.approx([record.lat, record.lon], abs=0.05)  # flown to it
        assert item.get_attribute("data-state") == "done" and float(item.locator("progress").get_attribute("value") or 1) == 1
        assert (tmp_path / "library" / record.path).read_bytes() == photo

        # A photo without GPS while Ollama is down: filed, shown as waiting for the AI (not failed).
        drop_files(page, [("no-gps.jpg", jpeg_bytes(77))])
        page.wait_for_selector(".leaflet-popup .popup[data-status=pending]", timeout=30000)
        page.wait_for_selector('.leaflet-popup dd[data-field="waiting"]:has-text("Ollama")', timeout=30000)
        assert page.locator(".leaflet-popup button.retry").count() == 1
        assert page.locator("#uploads .upload", has_text="no-gps.jpg").get_attribute("data-state") == "waiting"
        assert not page.errors, page.errors


def test_an_open_popup_says_when_its_photo_starts_waiting_for_ollama(page, tmp_path, fake_ollama):
    # First seen while the AI is asking (pending, no reason to wait), then Ollama is too busy to answer.
    fake_ollama.hold()
    with service_on_the_map(page, tmp_path, {"host": fake_ollama.url, "timeout": 30.0}) as service:
        drop_files(page, [("no-gps.jpg", jpeg_bytes(78))])
        assert fake_ollama.wait_in_flight(1, timeout=30)
        photo = next(r.id for r in service.store.all() if r.name == "no-gps.jpg")
        popup = f'.leaflet-popup .popup[data-id="{photo}"]'
        page.wait_for_selector(f"{popup}[data-status=pending]", timeout=30000)
        assert page.locator(f"{popup} button.retry").count() == 0
        fake_ollama.fail(503)
        fake_ollama.release()
        # Its popup redrawn (the first one may still be fading out beside it).
        page.wait_for_selector(f'{popup} dd[data-field="waiting"]:has-text("Ollama")', timeout=30000)
        assert page.locator(f"{popup} button.retry").count() == 1
        assert not page.errors, page.errors


def test_a_dropped_photo_placed_by_the_ai_shows_the_estimate(page, tmp_path, fake_ollama):
    # Sure of the region only: an estimate tens of km wide.
    fake_ollama.answer('{"country": "Japan", "region": "Kyoto", "city": null, "landmark": null, "latitude": 34.9671, '
                       '"longitude": 135.7727, "confidence": 0.8, "description": "Vermilion torii gates on a hillside."}')
    with service_on_the_map(page, tmp_path, {"host": fake_ollama.url, "timeout": 10.0}) as service:
        drop_files(page, [("kyoto.jpg", jpeg_bytes(55))])
        page.wait_for_selector('.leaflet-popup .popup[data-status=located] dd[data-field="description"]', timeout=40000)
        assert page.text_content('.leaflet-popup dd[data-field="description"]') == "Vermilion torii gates on a hillside."
        assert page.text_content('.leaflet-popup dd[data-field="source"]') == "AI estimate"
        assert "%" in page.text_content('.leaflet-popup dd[data-field="confidence"]')
        record = next(r for r in service.store.all() if r.name == "kyoto.jpg")
        radius = wait_until_js(page, "() => geolocator.state.uncertainty && geolocator.state.uncertainty.getRadius()")
        assert radius == pytest.approx(record.radius_km * 1000) and record.radius_km > 20  # the estimate's circle
        assert abs(record.lat - 34.97) < 0.5 and abs(record.lon - 135.77) < 0.5
        # Flown to from the world view: no closer than the whole circle fits.
        assert page.evaluate("() => geolocator.map.getZoom() <= geolocator.map.getBoundsZoom(geolocator.state.uncertainty.getBounds())")


def test_where_was_this_taken_keeps_nothing_until_added(page, viewer, tmp_path):
    url, store = viewer
    open_map(page, url)
    before = len(store.all())
    photo = tmp_path / "DSCN0012.jpg"
    photo.write_bytes((CORPUS_JPG / GPS_JPEGS[1]).read_bytes())
    page.set_input_files("#locate-input", str(photo))
    page.wait_for_selector("#uploads .locate-result[data-state=located]")
    assert "nothing was kept" in page.text_content("#uploads .locate-result")
    assert page.text_content('#uploads .locate-result dd[data-field="source"]') == "EXIF"  # as the popups say it, not "exif"
    taken = page.text_content('#uploads .locate-result dd[data-field="taken"]')  # the locale's, not ISO
    assert taken == page.evaluate("() => new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC'})"
                                  ".format(new Date(Date.UTC(2008, 9, 22, 16, 29, 49)))")
    assert page.locator(".photo-marker.temporary").count() == 1
    inbox = tmp_path / "inbox"
    assert len(store.all()) == before and not (inbox.exists() and any(inbox.iterdir()))
    page.click("#uploads .locate-add")  # the viewer alone: the photo waits in the inbox
    page.wait_for_selector("#uploads .upload[data-state=filing]")
    assert [p.name for p in inbox.iterdir()] == ["DSCN0012.jpg"] and page.locator(".photo-marker.temporary").count() == 0
    assert page.locator("#uploads .locate-result").count() == 0  # the answer became the upload


# -- placing by hand -------------------------------------------------------------------------------

def test_nothing_is_saved_by_a_click_a_double_click_or_cancel(page, viewer):
    url, store = viewer
    open_map(page, url)
    page.evaluate("void geolocator.map.setView([20, 0], 2, {animate: false})")
    open_unlocated(page, "u1.jpg")
    click_at_rest(page, ".leaflet-popup button.place")
    page.wait_for_selector(".place-bar")
    assert "Zoom in first" in page.text_content(".place-message")
    box = page.locator("#map").bounding_box()
    x, y = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6
    before_pin = pin(page)
    page.mouse.click(x, y)  # a click moves the pin, saves nothing
    wait_until_js(page, "([lat]) => Number(document.querySelector('.place-bar').dataset.lat) !== lat", [before_pin[0]])
    page.click(".place-save")  # at world zoom a pin put by hand is refused
    page.wait_for_selector(".place-message:has-text('Zoom in first')")
    before = zoom(page)
    page.mouse.dblclick(x, y)  # Leaflet's zoom gesture: zooms, saves nothing
    wait_until_js(page, "(z) => geolocator.map.getZoom() > z && !geolocator.map._animatingZoom", before)  # the zoom animation over
    page.click(".place-cancel")
    page.wait_for_selector(".place-bar", state="detached")
    assert page.locator(".place-pin").count() == 0
    u1 = store.get(rid(1))
    assert u1.status is Status.UNLOCATED and u1.lat is None and not u1.history

    # Zoomed in, a dragged pin is saved where it was dropped, and only on Save.
    # (the popup left open above closed first: its button must not be the one found)
    page.evaluate("void geolocator.map.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached")
    page.evaluate("void geolocator.map.setView([43.7696, 11.2558], 12, {animate: false})")
    page.locator("#list .vrow", has_text="u1.jpg").first.click()  # an unlocated photo's popup opens at the map's centre
    click_at_rest(page, ".leaflet-popup button.place")
    marker = page.locator(".place-pin")
    mb = marker.bounding_box()
    page.mouse.move(mb["x"] + mb["width"] / 2, mb["y"] + mb["height"] / 2)
    page.mouse.down()
    page.mouse.move(mb["x"] + 60, mb["y"] + 40, steps=8)
    page.mouse.up()
    lat, lon = pin(page)
    assert store.get(rid(1)).lat is None  # dropped, not saved
    page.click(".place-save")
    page.wait_for_selector("#notice:has-text('Saved')")
    saved = store.get(rid(1))
    assert saved.source is Source.MANUAL and saved.lat == pytest.approx(lat, abs=1e-9) and saved.lon == pytest.approx(lon, abs=1e-9)
    assert abs(saved.lat - 43.7696) < 0.1 and abs(saved.lon - 11.2558) < 0.1
    assert not page.errors, page.errors


@pytest.mark.parametrize("text", FORMS)
def test_each_pasted_coordinate_form_places_the_pin(page, viewer, text):
    url, store = viewer
    open_map(page, url)
    open_unlocated(page, "u2.jpg")
    click_at_rest(page, ".leaflet-popup button.place")
    page.fill(".place-bar input[name=where]", text)
    page.click(".place-find button")
    wait_until_js(page, "() => Math.abs(Number(document.querySelector('.place-bar').dataset.lat) - 41.8902) < 1e-4")
    assert pin(page) == pytest.approx(ROME, abs=1e-4)
    assert store.get(rid(2)).lat is None  # found, not saved
    page.click(".place-save")
    page.wait_for_selector("#notice:has-text('Saved')")
    saved = store.get(rid(2))
    assert (saved.lat, saved.lon) == pytest.approx(ROME, abs=1e-4) and "Rome" in saved.place


def test_a_place_name_and_nonsense(page, viewer):
    url, store = viewer
    open_map(page, url)
    open_unlocated(page, "u3.jpg")
    click_at_rest(page, ".leaflet-popup button.place")
    page.fill(".place-bar input[name=where]", "91, 12")
    page.click(".place-find button")
    page.wait_for_selector(".place-message:has-text('90')")
    page.fill(".place-bar input[name=where]", "Florence, Italy")
    page.click(".place-find button")
    page.wait_for_selector(".place-message:has-text('Florence')")
    assert pin(page) == pytest.approx((43.77, 11.25), abs=0.05)
    page.click(".place-save")
    page.wait_for_selector("#notice:has-text('Saved')")
    assert "Florence" in store.get(rid(3)).place


def test_revert_restores_the_estimate(page, viewer):
    url, store = viewer
    open_map(page, url)
    page.evaluate(f"geolocator.select('{rid(10)}', true)")
    page.wait_for_selector('.leaflet-popup dd[data-field="description"]')
    assert page.locator(".leaflet-popup button.revert").count() == 0  # nothing to go back to yet
    click_at_rest(page, ".leaflet-popup button.place")
    page.fill(".place-bar input[name=where]", "41.8902, 12.4922")
    page.click(".place-find button")
    page.wait_for_selector(".place-message:has-text('Drag the pin')")
    page.click(".place-save")
    page.wait_for_selector(f'.leaflet-popup .popup[data-id="{rid(10)}"] button.revert')
    assert store.get(rid(10)).source is Source.MANUAL
    click_at_rest(page, ".leaflet-popup button.revert")
    page.wait_for_selector("#notice:has-text('Reverted')")
    back = store.get(rid(10))
    assert (back.source, back.lat, back.lon, back.confidence, back.radius_km) == (Source.AI, 48.8566, 2.3522, 0.6, 25.0)
    page.wait_for_selector('.leaflet-popup dd[data-field="confidence"]:has-text("60")')
    wait_until_js(page, "() => geolocator.state.uncertainty !== null")  # the estimate's circle is back


PENDING = rid(20)


@pytest.fixture
def pending_viewer(tmp_path):
    """A photo waiting for the AI (on, but no worker here: the photo stays in the AI's queue)."""
    config = build_config({"ollama": {"host": "http://127.0.0.1:9"}, "viewer": {"tile_url": TILES}}, tmp_path, None)
    folder = config.paths.library / "2024" / "05"
    folder.mkdir(parents=True)
    (folder / "waiting.jpg").write_bytes(jpeg_bytes(20))
    store = Store(config.paths.database)
    store.put(PhotoRecord(id=PENDING, sha256=PENDING * 4, name="waiting.jpg", path="2024/05/waiting.jpg", status=Status.PENDING,
                          error=WAITING_FOR_AI, taken_at="2024-05-20T10:00:00"))
    server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
    yield server.url, store
    server.stop()
    store.close()


def in_the_ais_queue(store: Store) -> bool:
    return [r.id for r in due(store.with_status(Status.PENDING), utc_now())] == [PENDING]


def header_count(page, name: str) -> int:
    return int(page.text_content(f'#counts [data-count="{name}"]'))


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_pending_photo_placed_by_hand_and_reverted_waits_for_the_ai_again(tabs, pending_viewer, device):
    url, store = pending_viewer
    with tabs(**(PHONE if device == "phone" else DESKTOP)) as page:
        tap = page.click if device == "desktop" else page.tap

        def press(selector: str) -> None:  # once the map is at rest: a popup's autopan moves what is in it
            page.wait_for_selector(selector)
            wait_until_js(page, MAP_AT_REST)
            tap(selector)

        open_map(page, url)
        assert in_the_ais_queue(store)
        assert (header_count(page, "pending"), header_count(page, "located")) == (1, 0)
        if device == "phone":
            press("#sheet-handle")  # the sheet half open: the list shows
            wait_until_js(page, "document.body.dataset.sheet === 'half'")
        press('#tabs [data-tab="unlocated"]')
        press("#list .vrow:has-text('waiting.jpg')")
        page.wait_for_selector('.leaflet-popup .popup[data-status=pending] dd[data-field="waiting"]:text-is("for the AI")')
        press(".leaflet-popup button.place")
        page.fill(".place-bar input[name=where]", "41.8902, 12.4922")
        press(".place-find button")
        page.wait_for_selector(".place-message:has-text('Drag the pin')")
        press(".place-save")
        # The header's counts change with the answer, not at the next poll (every 4 s).
        page.wait_for_selector("#notice:has-text('Saved')")
        assert (header_count(page, "pending"), header_count(page, "located")) == (0, 1)
        assert store.get(PENDING).source is Source.MANUAL and not in_the_ais_queue(store)
        page.wait_for_selector(f'.leaflet-popup .popup[data-id="{PENDING}"] button.revert')
        press(".leaflet-popup button.revert")
        page.wait_for_selector("#notice:has-text('Reverted: waiting.jpg is waiting for the AI again.')")
        assert (header_count(page, "pending"), header_count(page, "located")) == (1, 0)
        back = store.get(PENDING)
        assert (back.status, back.source, back.lat, back.error, back.attempts, back.retry_at) == (Status.PENDING, None, None, WAITING_FOR_AI, 0, None)
        assert in_the_ais_queue(store)  # asked as soon as a worker looks
        popup = f'.leaflet-popup:has(.popup[data-id="{PENDING}"][data-status=pending])'
        page.wait_for_selector(popup)
        assert page.text_content(f'{popup} dd[data-field="waiting"]') == "for the AI"
        assert "unlocated" not in page.text_content(popup)
        wait_until_js(page, "[...document.querySelectorAll('#list .vrow')].some(r => r.textContent.includes('waiting.jpg')"
                            " && r.textContent.includes('pending: waiting for the AI'))")


def test_several_photos_are_placed_together(page, viewer):
    url, store = viewer
    open_map(page, url)
    page.click('#tabs [data-tab="unlocated"]')
    rows = page.locator("#list .vrow")
    wait_until_js(page, "() => document.querySelectorAll('#list .vrow').length === 4")
    page.locator("#list .vrow", has_text="u4.jpg").click(modifiers=["Control"])
    page.locator("#list .vrow", has_text="u2.jpg").click(modifiers=["Shift"])  # u4..u2 in the list's order
    page.locator("#list .vrow", has_text="u1.jpg").click(modifiers=["Control"])
    page.wait_for_selector("#picked .picked-count:has-text('4 photos picked')")
    assert rows.locator(".picked").count() == 0 and page.locator("#list .vrow.picked").count() == 4
    assert page.locator(".leaflet-popup").count() == 0  # picking is not selecting
    page.click("#picked .picked-place")
    page.fill(".place-bar input[name=where]", "geo:41.8902,12.4922")
    page.click(".place-find button")
    page.wait_for_selector(".place-message:has-text('Drag the pin')")
    page.click(".place-save")
    page.wait_for_selector("#notice:has-text('4 photos')")
    for n in range(1, 5):
        placed = store.get(rid(n))
        assert placed.source is Source.MANUAL and (placed.lat, placed.lon) == pytest.approx(ROME, abs=1e-4)
    assert page.locator("#picked").is_hidden()
    assert not page.errors, page.errors


# -- sources on the map --------------------------------------------------------------------------

# One photo per source, far enough apart to be drawn alone at zoom 5.
PLACES = {Source.EXIF: (38.72, -9.14), Source.AI: (48.86, 2.35), Source.MANUAL: (41.89, 12.49), Source.TRACK: (52.52, 13.40), Source.NEARBY: (40.42, -3.70)}


@pytest.fixture
def sources_viewer(tmp_path):
    config = build_config({"ollama": {"enabled": False}, "viewer": {"tile_url": TILES}}, tmp_path, None)
    folder = config.paths.library / "2024" / "05"
    folder.mkdir(parents=True)
    records = []
    for n, (source, (lat, lon)) in enumerate(PLACES.items(), start=1):
        name = f"{source.value}.jpg"
        (folder / name).write_bytes(jpeg_bytes(n))
        records.append(PhotoRecord(id=rid(n), sha256=rid(n) * 4, name=name, path=f"2024/05/{name}", status=Status.LOCATED, source=source,
                                   lat=lat, lon=lon, radius_km=None if source in (Source.EXIF, Source.MANUAL) else 0.4, taken_at=f"2024-05-0{n}T10:00:00"))
    store = Store(config.paths.database)
    store.put_many(records)
    server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
    yield server.url
    server.stop()
    store.close()


MARKERS = """() => {
    const out = {};
    for (const el of document.querySelectorAll('.leaflet-marker-pane .photo-marker')) {
        const source = [...el.classList].find((c) => ['exif', 'ai', 'manual', 'track', 'nearby'].includes(c));
        const own = getComputedStyle(el), before = getComputedStyle(el, '::before');
        out[source] = { background: own.backgroundColor, border: own.borderTopColor, borderWidth: own.borderTopWidth,
                        radius: own.borderTopLeftRadius, before: before.content !== 'none' ? before.backgroundColor : null,
                        clip: before.clipPath };
    }
    return out;
}"""


def shown(page) -> set[str]:
    return set(page.evaluate(MARKERS))


def test_track_and_nearby_markers_are_styled_apart_and_filtered(page, sources_viewer):
    open_map(page, sources_viewer)
    page.evaluate("void geolocator.map.setView([46, 4], 5, { animate: false })")
    wait_until_js(page, "document.querySelectorAll('.leaflet-marker-pane .photo-marker').length === 5")
    styles = page.evaluate(MARKERS)
    assert set(styles) == {"exif", "ai", "manual", "track", "nearby"}
    # Track: a purple triangle (the ::before shape); nearby: a white disc in a thick teal ring.
    assert styles["track"]["before"] == "rgb(112, 72, 232)" and "polygon" in styles["track"]["clip"]
    assert styles["nearby"]["border"] == "rgb(12, 133, 153)" and styles["nearby"]["background"] == "rgb(255, 255, 255)"
    assert styles["nearby"]["radius"] == "50%" and float(styles["nearby"]["borderWidth"].rstrip("px")) >= 3
    # ...and apart from the others: no two sources look the same.
    looks = {source: (s["background"], s["border"], s["before"], s["clip"]) for source, s in styles.items()}
    assert len(set(looks.values())) == 5, looks
    assert styles["exif"]["background"] not in (styles["track"]["before"], styles["nearby"]["border"])
    assert styles["ai"]["before"] not in (styles["track"]["before"], styles["nearby"]["border"])

    for source in ("track", "nearby"):
        page.uncheck(f'#filters input[name=source][value="{source}"]')
        wait_until_js(page, f"!document.querySelector('.leaflet-marker-pane .photo-marker.{source}')")
        assert shown(page) == {"exif", "ai", "manual", "track", "nearby"} - {source}
        wait_until_js(page, f"!document.querySelector('#list .vrow .photo-marker.{source}')")  # gone from the list too
        page.check(f'#filters input[name=source][value="{source}"]')
        wait_until_js(page, f"!!document.querySelector('.leaflet-marker-pane .photo-marker.{source}')")
    assert shown(page) == {"exif", "ai", "manual", "track", "nearby"}
    assert page.errors == []


CIRCLE = """() => {
    const c = geolocator.state.uncertainty;
    return c && { radius: c.getRadius(), color: c.options.color, dash: c.options.dashArray, at: [c.getLatLng().lat, c.getLatLng().lng] };
}"""


def test_track_and_nearby_points_show_their_uncertainty_circle_when_selected(page, sources_viewer):
    open_map(page, sources_viewer)
    page.evaluate("void geolocator.map.setView([46, 4], 5, { animate: false })")
    wait_until_js(page, "document.querySelectorAll('.leaflet-marker-pane .photo-marker').length === 5")
    circles = {}
    for source in ("exif", "manual", "ai", "track", "nearby"):
        page.evaluate("void geolocator.map.closePopup()")
        wait_until_js(page, "geolocator.state.uncertainty === null")
        # back to the view with all five apart: the last popup's autopan moved the map
        page.evaluate("void geolocator.map.setView([46, 4], 5, { animate: false })")
        wait_until_js(page, "document.querySelectorAll('.leaflet-marker-pane .photo-marker').length === 5")
        click_at_rest(page, f".leaflet-marker-pane .photo-marker.{source}")
        page.wait_for_selector(f'.leaflet-popup .popup-name:text-is("{source}.jpg")')
        if source in ("exif", "manual"):  # a location from the file or a manual fix has no circle
            assert page.evaluate(CIRCLE) is None
            assert page.locator('.leaflet-popup dd[data-field="uncertainty"]').count() == 0
            continue
        circles[source] = wait_until_js(page, CIRCLE)
        assert circles[source]["radius"] == pytest.approx(400)  # the record's 0.4 km
        assert circles[source]["at"] == pytest.approx(list(PLACES[Source(source)]))
        assert page.text_content('.leaflet-popup dd[data-field="uncertainty"]') == "± 0.4 km"
        page.wait_for_selector(f".leaflet-overlay-pane path.uncertainty.{source}")  # drawn on the map
    # In the marker's colour, apart from the others: track purple, nearby teal, AI orange.
    assert circles["track"]["color"] == "#7048e8" and circles["nearby"]["color"] == "#0c8599"
    assert len({(c["color"], c["dash"]) for c in circles.values()}) == 3
    page.evaluate("void geolocator.map.closePopup()")
    wait_until_js(page, "geolocator.state.uncertainty === null")  # it goes with the popup
    assert page.locator(".leaflet-overlay-pane path.uncertainty").count() == 0
    assert page.errors == []
