"""The map page in a real browser (Debian's chromium through Playwright) against a real server.

One browser for the test process (conftest's `browser`); each test gets its own store and server,
and borrows a page kept between tests (conftest's `tabs`). Tiles point at a host that cannot exist
(`.invalid`) and are aborted by a route, so these tests also prove the page works offline.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browsers import CHROMIUM
from expect import click_at_rest, wait_until_js
from records import rid

from geolocator.config import load_config
from geolocator.core import Core
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from viewer import ViewerServer, create_app

sync_api = pytest.importorskip("playwright.sync_api")

TILE_HOST = "tiles.invalid"
XSS = "<img src=x onerror=window.__xss=1>"

def browser_marks(timeout: int) -> list[pytest.MarkDecorator]:
    """A module of browser tests: its tests' time limit, and skipped where chromium is not installed."""
    return [
        pytest.mark.timeout(timeout),
        pytest.mark.browser,
        pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
    ]


pytestmark = browser_marks(120)


def make_records(library: Path, corpus: Path) -> list[PhotoRecord]:
    """Real photos for the first few records, then synthetic ones of every status and source."""
    gps = sorted((corpus / "exif-samples" / "jpg" / "gps").glob("*.jpg"))[:3]
    records: list[PhotoRecord] = []
    for i, src in enumerate(gps):
        folder = library / "2008" / "10"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, folder / src.name)
        records.append(PhotoRecord(
            id=rid(i + 1), sha256=rid(i + 1) * 4, name=src.name, path=f"2008/10/{src.name}", status=Status.LOCATED,
            source=Source.EXIF, lat=43.46 + i * 0.01, lon=11.88 + i * 0.01, place="Arezzo, Tuscany, Italy",
            taken_at=f"2008-10-2{i}T16:29:49", camera="NIKON COOLPIX P6000",
        ))
    rng = random.Random(5)
    n = 100
    for i in range(40):  # located, spread over the world
        n += 1
        source = (Source.EXIF, Source.AI, Source.MANUAL)[i % 3]
        records.append(PhotoRecord(
            id=rid(n), sha256=rid(n) * 4, name=f"IMG_{n:04d}.jpg", path=f"2020/01/IMG_{n:04d}.jpg", status=Status.LOCATED,
            source=source, lat=rng.uniform(-50, 60), lon=rng.uniform(-170, 170), place="Somewhere",
            taken_at=f"20{10 + i % 10:02d}-0{1 + i % 9}-15T10:00:00",
            confidence=0.6 if source is Source.AI else None, radius_km=25.0 if source is Source.AI else None,
            model="qwen2.5vl" if source is Source.AI else None,
        ))
    # An AI answer and a file name carrying markup: must stay text.
    records.append(PhotoRecord(
        id=rid(900), sha256=rid(900) * 4, name=f"{XSS}.jpg", path="2021/05/x.jpg", status=Status.LOCATED,
        source=Source.AI, lat=48.8566, lon=2.3522, place=f"Paris {XSS}", taken_at="2021-05-01T12:00:00",
        confidence=0.8, radius_km=12.0, description=f"A street {XSS} in Paris", model="qwen2.5vl", camera=XSS,
    ))
    unlocated = library / "2019" / "07"
    unlocated.mkdir(parents=True, exist_ok=True)
    shutil.copy(gps[0], unlocated / "beach.jpg")
    records.append(PhotoRecord(
        id=rid(901), sha256=rid(901) * 4, name="beach.jpg", path="2019/07/beach.jpg", status=Status.UNLOCATED,
        taken_at="2019-07-14T09:00:00", error="the model saw only sand and sea",
    ))
    records.append(PhotoRecord(id=rid(902), sha256=rid(902) * 4, name="later.jpg", path="2019/07/later.jpg",
                               status=Status.PENDING, error="Ollama unreachable"))
    records.append(PhotoRecord(id=rid(903), sha256=rid(903) * 4, name="broken.jpg", path="broken.jpg",
                               status=Status.FAILED, error="not an image: truncated JPEG"))
    records.append(PhotoRecord(id=rid(904), sha256=rid(904) * 4, name="again.jpg", path="again.jpg",
                               status=Status.DUPLICATE, duplicate_of=rid(1)))
    return records


class Viewer:
    """A store plus a running server over it, restartable on the same folder."""

    def __init__(self, root: Path) -> None:
        self.config = load_config(None, cwd=root).replace("viewer", tile_url=f"http://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png")
        self.store: Store | None = None
        self.server: ViewerServer | None = None

    def start(self) -> Viewer:
        self.store = Store(self.config.paths.database)
        self.server = ViewerServer(create_app(Core.build(self.config, self.store)), "127.0.0.1", 0).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        if self.store:
            self.store.close()
        self.server = self.store = None

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def viewer(tmp_path, corpus):
    v = Viewer(tmp_path)
    v.config.paths.library.mkdir(parents=True)
    store = Store(v.config.paths.database)
    store.put_many(make_records(v.config.paths.library, corpus))
    store.close()
    v.start()
    yield v
    v.stop()


@pytest.fixture
def desktop(tabs):
    """A 1280x800 page gathering its script errors in `page.errors`: modules that need nothing more take it as their `page`."""
    with tabs() as page:
        yield page


@pytest.fixture
def page(tabs, viewer):
    """`desktop`, also listing the URLs it asked for (`page.requests`) and counting console errors as script errors."""
    with tabs() as page:
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" and "tiles.invalid" not in m.text
                and "ERR_FAILED" not in m.text else None)
        yield page


def open_map(page, viewer) -> None:
    page.goto(viewer.url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
    wait_until_js(page, "!document.querySelector('.leaflet-cluster-anim')")  # clusters settled


def located(store: Store) -> int:
    return store.counts()["located"]


# The photos the map draws, in clusters or alone (read at once: a redraw may come between two reads).
MARKERS_DRAWN = ("[...document.querySelectorAll('.marker-cluster span')].reduce((n, s) => n + Number(s.textContent), 0)"
                 " + document.querySelectorAll('.leaflet-marker-pane .photo-marker').length")


def click_row(page, name: str) -> None:
    # The list shows the photos in view, and selecting one zooms to it: look at the whole world first.
    page.evaluate("void geolocator.map.setView([20, 0], 1, { animate: false })")
    page.fill('#filters input[name="q"]', name)  # the list is virtual: find the row first
    # Wait for the filter to apply (debounced): every row shown matches, and ours is there.
    wait_until_js(page, f"(names => names.length > 0 && names.every(n => n.includes({json.dumps(name)})))"
               "([...document.querySelectorAll('#list .vrow-name')].map(n => n.textContent))")
    page.locator("#list .vrow", has_text=name).first.click()
    page.wait_for_selector(".leaflet-popup .popup-name")


def test_page_talks_only_to_us_and_the_tile_host(page, viewer):
    open_map(page, viewer)
    page.wait_for_selector("body[data-outline=ready]", state="attached")
    ours = urlsplit(viewer.url).netloc
    hosts = {urlsplit(u).netloc for u in page.requests if not u.startswith("data:")}
    assert hosts <= {ours, TILE_HOST}, hosts
    assert ours in hosts and TILE_HOST in hosts
    assert not page.errors, page.errors  # includes CSP violations, which chromium logs as errors


def test_clusters_and_markers_match_the_database(page, viewer):
    open_map(page, viewer)
    counts = viewer.store.counts()
    for key in ("located", "unlocated", "pending", "failed", "duplicate"):
        assert page.text_content(f'#counts [data-count="{key}"]') == str(counts[key])
    ai = sum(1 for r in viewer.store.all() if r.source is Source.AI and r.status is Status.LOCATED)
    assert page.text_content('#counts [data-count="located_ai"]') == str(ai)
    # The photos drawn alone need their rows, made after the first clusters: drawn a worker's answer later, maybe after data-ready.
    wait_until_js(page, f"{MARKERS_DRAWN} === {located(viewer.store)}")
    assert page.locator(".marker-cluster").count() > 0
    assert page.get_attribute("#list", "data-total") == str(located(viewer.store))
    # Virtualised: a handful of row nodes whatever the number of photos.
    assert page.locator("#list .vrow").count() < 40

    # Filters: AI only, then a date range.
    page.uncheck('#filters input[value="exif"]')
    page.uncheck('#filters input[value="manual"]')
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{ai}'")
    page.check('#filters input[value="exif"]')
    page.check('#filters input[value="manual"]')
    page.fill('#filters input[name="from"]', "2008-01-01")
    page.fill('#filters input[name="to"]', "2008-12-31")
    page.dispatch_event('#filters input[name="to"]', "change")
    wait_until_js(page, "document.querySelector('#list').dataset.total === '3'")


def test_popup_shows_the_photo(page, viewer):
    open_map(page, viewer)
    record = viewer.store.get(rid(1))
    click_row(page, record.name)
    popup = page.locator(".leaflet-popup")
    assert popup.locator(".popup-name").text_content() == record.name
    assert popup.locator('dd[data-field="place"]').text_content() == record.place
    # The capture time as the user's locale writes it (its wall clock, whatever the browser's zone), not ISO.
    shown = page.evaluate("iso => new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC'})"
                          ".format(new Date(iso + 'Z'))", record.taken_at)
    assert popup.locator('dd[data-field="taken"]').text_content() == shown != record.taken_at
    assert popup.locator('dd[data-field="coordinates"]').text_content() == f"{record.lat:.5f}, {record.lon:.5f}"
    assert popup.locator('dd[data-field="source"]').text_content() == "EXIF"
    wait_until_js(page, "document.querySelector('.leaflet-popup img.thumb')?.naturalWidth > 0")
    assert popup.locator("a.full").get_attribute("href") == f"/image/{record.id}"

    ai = next(r for r in viewer.store.all() if r.source is Source.AI and r.id != rid(900))
    click_row(page, ai.name)
    assert page.locator('.leaflet-popup dd[data-field="model"]').text_content() == "qwen2.5vl"
    assert page.locator('.leaflet-popup dd[data-field="confidence"]').text_content() == "60 %"
    # The uncertainty circle of the selected AI point is drawn.
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive, .leaflet-overlay-pane path").count() >= 1


def test_markup_in_names_and_model_answers_stays_text(page, viewer):
    open_map(page, viewer)
    record = viewer.store.get(rid(900))
    row = page.locator("#list .vrow", has_text=XSS)
    assert row.count() == 1
    row.click()
    page.wait_for_selector(".leaflet-popup .popup-name")
    assert page.locator(".leaflet-popup .popup-name").text_content() == record.name
    assert page.locator('.leaflet-popup dd[data-field="description"]').text_content() == record.description
    assert page.locator('.leaflet-popup dd[data-field="camera"]').text_content() == XSS
    assert page.locator(".leaflet-popup img:not(.thumb)").count() == 0  # no element was made from the text
    # Once every image on the page has loaded or failed, any onerror made from the text would have run.
    wait_until_js(page, "[...document.images].every(i => i.complete)")
    assert page.evaluate("window.__xss") is None
    assert not page.errors, page.errors  # nor was one refused by the CSP


def test_manual_fix_is_saved_and_survives_a_restart(page, viewer):
    open_map(page, viewer)
    page.click('#tabs [data-tab="unlocated"]')
    click_row(page, "beach.jpg")
    click_at_rest(page, ".leaflet-popup button.place")  # placing by hand: tests/test_browser_place.py
    page.fill(".place-bar input[name=where]", "43.7696, 11.2558")
    page.click(".place-find button")
    page.wait_for_selector(".place-message:has-text('Drag the pin')")
    page.click(".place-save")
    page.wait_for_selector("#notice:has-text('Saved')")
    saved = viewer.store.get(rid(901))
    assert (saved.status, saved.source, saved.lat, saved.lon) == (Status.LOCATED, Source.MANUAL, 43.7696, 11.2558)
    assert saved.place and "Florence" in saved.place

    viewer.stop()
    viewer.start()
    assert viewer.store.get(rid(901)).source is Source.MANUAL
    open_map(page, viewer)
    assert page.text_content('#counts [data-count="located_manual"]') == str(
        sum(1 for r in viewer.store.all() if r.source is Source.MANUAL))
    click_row(page, "beach.jpg")
    assert page.locator('.leaflet-popup dd[data-field="source"]').text_content() == "manual"
    assert page.locator('.leaflet-popup dd[data-field="coordinates"]').text_content() == "43.76960, 11.25580"
    assert page.evaluate(f"geolocator.state.markers.get('{rid(901)}').getLatLng().lat") == pytest.approx(43.7696)


def test_dragging_a_marker_corrects_it(page, viewer):
    open_map(page, viewer)
    click_row(page, "IMG_0101.jpg")
    original = viewer.store.get(rid(101))
    click_at_rest(page, ".leaflet-popup button.place")  # a draggable pin on the photo's point, saved only by Save
    wait_until_js(page, "document.querySelectorAll('.leaflet-popup').length === 0")  # the popup has faded out
    marker = page.locator(".leaflet-marker-pane .place-pin.leaflet-marker-draggable")
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Where the pin should land: its point moved by the drag, and how far one pixel is there.
    lat, lon, lat_px, lon_px = page.evaluate(
        """([id, dx, dy]) => {
            const m = geolocator.map, p = m.latLngToContainerPoint(geolocator.state.markers.get(id).getLatLng());
            const q = m.containerPointToLatLng([p.x + dx, p.y + dy]).wrap(), r = m.containerPointToLatLng([p.x + dx + 1, p.y + dy + 1]);
            return [q.lat, q.lng, Math.abs(r.lat - q.lat), Math.abs(r.lng - q.lng)];
        }""", [rid(101), 40, 30])
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 30, steps=8)
    page.mouse.up()
    assert viewer.store.get(rid(101)).source is original.source  # dropped, not yet saved
    page.click(".place-save")
    page.wait_for_selector("#notice:has-text('Saved')")
    saved = viewer.store.get(rid(101))
    assert saved.source is Source.MANUAL
    assert saved.lon > original.lon and saved.lat < original.lat  # dragged right and down
    assert saved.lat == pytest.approx(lat, abs=2 * lat_px) and saved.lon == pytest.approx(lon, abs=2 * lon_px)
    # The page shows the stored point: the marker, and the popup it reopens.
    page.wait_for_selector(f'.leaflet-popup .popup[data-id="{rid(101)}"]')
    wait_until_js(page, "document.querySelectorAll('.leaflet-popup').length === 1")  # the closed one has faded out
    shown = [float(v) for v in page.locator('.leaflet-popup dd[data-field="coordinates"]').text_content().split(",")]
    assert shown == pytest.approx([saved.lat, saved.lon], abs=1e-5)  # 5 decimals, rounded by JS
    at = page.evaluate(f"(p => [p.lat, p.lng])(geolocator.state.markers.get('{rid(101)}').getLatLng())")
    assert at == pytest.approx([saved.lat, saved.lon])


def test_works_with_tiles_blocked(page, viewer):
    open_map(page, viewer)
    page.wait_for_selector("body[data-outline=ready]", state="attached")
    page.wait_for_selector("body[data-tiles=failed]", state="attached")
    assert page.locator(".leaflet-outline-pane path").count() >= 1
    assert "Map tiles cannot be loaded" in (page.locator("#notice").text_content() or "")  # said (shown for 6 s)
    assert page.locator(".marker-cluster").count() >= 1
    click_row(page, "DSCN0010.jpg")
    assert page.locator(".leaflet-popup .popup-name").text_content() == "DSCN0010.jpg"
    # The failed tab lists the reason.
    page.fill('#filters input[name="q"]', "")
    page.click('#tabs [data-tab="failed"]')
    assert "truncated JPEG" in page.locator("#list .vrow").first.text_content()


def test_new_photos_appear_without_a_reload(page, viewer):
    open_map(page, viewer)
    total = located(viewer.store)
    viewer.store.put(PhotoRecord(id=rid(950), sha256=rid(950) * 4, name="fresh.jpg", path="fresh.jpg",
                                 status=Status.LOCATED, source=Source.EXIF, lat=35.68, lon=139.69))
    wait_until_js(page, f"document.querySelector('#counts [data-count=located]').textContent === '{total + 1}'")
    wait_until_js(page, f"document.querySelector('#list').dataset.total === '{total + 1}'")
    assert page.evaluate(f"geolocator.state.onMap.has('{rid(950)}')")  # on the map, not only counted
    click_row(page, "fresh.jpg")
    assert page.locator('.leaflet-popup dd[data-field="coordinates"]').text_content() == "35.68000, 139.69000"


def test_a_large_library_draws_the_real_clusters_at_once(page, viewer):
    rng = random.Random(3)
    viewer.store.put_many(
        PhotoRecord(id=rid(10_000 + i), sha256=rid(10_000 + i) * 4, name=f"bulk_{i:05d}.jpg", path=None,
                    status=Status.LOCATED, source=Source.EXIF, lat=rng.uniform(-60, 70), lon=rng.uniform(-180, 180))
        for i in range(3000))
    open_map(page, viewer)
    # No painted stand-in: the first clusters drawn are the clickable ones.
    assert page.evaluate("performance.getEntriesByName('geolocator:drawn').length") >= 1
    assert page.locator(".marker-cluster.overview").count() == 0
    wait_until_js(page, f"{MARKERS_DRAWN} === {located(viewer.store)}")  # the photos drawn alone: a worker's answer after their rows
    assert page.locator("#list .vrow").count() < 40
