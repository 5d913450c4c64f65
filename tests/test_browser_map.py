"""The map's clusters at scale, in a real browser (Debian's chromium through Playwright) against a real
server: supercluster in a Web Worker over the binary map payload (/api/map.bin).

A 100k-photo library is built once for the module; the small cases get their own store.
"""

from __future__ import annotations

import gzip
import http.client
import json
import random
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from expect import wait_until_js
from records import rid

from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import Store
from tests import test_browser as shared
from tests.test_browser import CHROMIUM, Viewer
from viewer.rows import MAP_COLUMNS

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
]

BIG = 100_000


def library(n: int, seed: int = 11) -> list[PhotoRecord]:
    """n photos, bunched around a few hundred places; one in ten unlocated, pending, failed or a duplicate."""
    rng = random.Random(seed)
    centres = [(rng.uniform(-50, 65), rng.uniform(-170, 175)) for _ in range(300)]
    sources = (Source.EXIF, Source.AI, Source.MANUAL, Source.TRACK, Source.NEARBY)
    records = []
    for i in range(n):
        common = dict(id=rid(i + 1), sha256=rid(i + 1) * 4, name=f"IMG_{i:06d}.jpg", path=None,
                      taken_at=f"{2005 + i % 20}-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00")
        if i % 10:
            lat0, lon0 = rng.choice(centres)
            records.append(PhotoRecord(**common, status=Status.LOCATED, source=sources[i % 5],
                                       lat=max(-85.0, min(85.0, rng.gauss(lat0, 2))), lon=((rng.gauss(lon0, 3) + 180) % 360) - 180,
                                       radius_km=20.0 if sources[i % 5] is Source.AI else None))
        else:
            status = (Status.UNLOCATED, Status.PENDING, Status.FAILED, Status.DUPLICATE)[(i // 10) % 4]
            records.append(PhotoRecord(**common, status=status, error=None if status is Status.DUPLICATE else "no answer"))
    return records


def serve(root: Path, records: list[PhotoRecord]) -> Viewer:
    v = Viewer(root)
    store = Store(v.config.paths.database)
    store.put_many(records)
    store.close()
    return v.start()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    v = serve(tmp_path_factory.mktemp("big"), library(BIG))
    yield v
    v.stop()


@pytest.fixture
def small(tmp_path):
    v = serve(tmp_path, library(200, seed=3))
    yield v
    v.stop()


page = shared.desktop  # a 1280x800 page gathering its script errors (a fixture)


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60000)


DRAWN = """() => {
  const clusters = [...document.querySelectorAll('.marker-cluster span')].map(s => Number(s.textContent));
  const photos = geolocator.photoLayer.getLayers().length;
  return { clusters, photos, total: clusters.reduce((a, b) => a + b, 0) + photos };
}"""


def draws(page) -> int:
    return page.evaluate("performance.getEntriesByName('geolocator:drawn').length")


def test_the_payload_is_the_rows_as_columns_gzipped_and_cached(small):
    parts = urlsplit(small.url)

    def get(path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response, body

    response, zipped = get("/api/map.bin", **{"Accept-Encoding": "gzip"})
    assert response.status == 200 and response.getheader("Content-Encoding") == "gzip"
    raw = gzip.decompress(zipped)
    assert get("/api/map.bin")[1] == raw  # the same body unzipped for a client that doesn't accept gzip
    assert raw[:4] == b"GLM1"
    (length,) = struct.unpack("<I", raw[4:8])
    header = json.loads(raw[8:8 + length])
    base = (8 + length + 7) // 8 * 8
    columns = []
    for c in header["columns"]:
        data = raw[base + c["offset"]: base + c["offset"] + c["bytes"]]
        match c["kind"]:
            case "text" | "opt_text":
                values = data.decode().split("\0")
                columns.append([None if c["kind"] == "opt_text" and v == "" else v for v in values])
            case "enum":
                columns.append([None if b == 255 else c["values"][b] for b in data])
            case "fixed":
                ints = struct.unpack(f"<{header['n']}i", data)
                columns.append([None if i == -(2**31) else i / c["scale"] for i in ints])
    assert [c["name"] for c in header["columns"]] == list(MAP_COLUMNS)
    rows = [list(r) for r in zip(*columns, strict=True)]
    full = json.loads(get("/api/map")[1])
    assert header["seq"] == full["seq"] and header["counts"] == full["counts"] and header["n"] == 200
    assert sorted(rows) == sorted(full["rows"])  # every value exactly as the JSON rows have it
    small.store.put(PhotoRecord(id=rid(5000), sha256=rid(5000) * 4, name="new.jpg", path=None, status=Status.LOCATED,
                                source=Source.EXIF, lat=1.5, lon=2.5))

    def head() -> dict:
        body = gzip.decompress(get("/api/map.bin", **{"Accept-Encoding": "gzip"})[1])
        return json.loads(body[8:8 + struct.unpack("<I", body[4:8])[0]])

    # The store changed: the payload made before is sent at once (its seq says it is behind, the page
    # asks /api/map?since=seq next), and the new one follows, made in the background.
    first = head()
    assert (first["n"], first["seq"]) in ((200, header["seq"]), (201, small.store.seq))
    deadline = time.monotonic() + 20
    while (latest := head())["n"] != 201:
        assert time.monotonic() < deadline, "the payload was never made again"
        time.sleep(0.05)  # polling a real server for a background job, with a deadline
    assert latest["seq"] == small.store.seq and latest["counts"]["located"] == header["counts"]["located"] + 1


BIG_LIBRARY = pytest.mark.xdist_group("map-100k")  # the tests over `big` run in one process: it is built once


@pytest.mark.slow
@BIG_LIBRARY
def test_cluster_counts_equal_the_database_at_100k(page, big):
    open_map(page, big.url)
    page.evaluate("void geolocator.map.setView([20, 0], 1, { animate: false })")  # the whole world in view
    wait_until_js(page, f"(({DRAWN})()).total === {big.store.counts()['located']}", timeout=30)
    drawn = page.evaluate(DRAWN)
    assert drawn["total"] == big.store.counts()["located"]  # unlocated, failed and duplicates are not drawn
    assert len(drawn["clusters"]) < 500  # only what is on screen: a few hundred markers, not 90k
    assert not page.errors, page.errors


@pytest.mark.slow
@BIG_LIBRARY
def test_a_click_on_a_cluster_at_100k_zooms_in_and_shows_its_children(page, big):
    open_map(page, big.url)
    zoom = page.evaluate("geolocator.map.getZoom()")
    # The biggest cluster well inside the map (not under the side panel's edge or a control).
    target = page.evaluate("""() => {
      const box = document.getElementById('map').getBoundingClientRect();
      const inside = [...document.querySelectorAll('.marker-cluster')].filter(n => {
        const r = n.getBoundingClientRect();
        return r.left > box.left + 60 && r.right < box.right - 60 && r.top > box.top + 60 && r.bottom < box.bottom - 60;
      });
      inside.sort((a, b) => Number(b.textContent) - Number(a.textContent));
      const n = inside[0], r = n.getBoundingClientRect();
      const at = geolocator.map.containerPointToLatLng([r.left + r.width / 2 - box.left, r.top + r.height / 2 - box.top]);
      return { count: Number(n.textContent), x: r.left + r.width / 2, y: r.top + r.height / 2, lat: at.lat, lng: at.lng };
    }""")
    assert target["count"] > 100
    before = draws(page)
    page.mouse.click(target["x"], target["y"])
    # The view at the new zoom drawn: a draw asked for before the click (the full index built meanwhile) may end after it.
    wait_until_js(page, f"(z => z > {zoom} && (m => m.length > {before} && m[m.length - 1].detail.zoom === z)"
                        "(performance.getEntriesByName('geolocator:drawn')))(geolocator.map.getZoom())", timeout=20)
    # Zoomed in on the cluster: it is the middle of the map now.
    offset = page.evaluate("""([lat, lng]) => { const p = geolocator.map.latLngToContainerPoint([lat, lng]), c = geolocator.map.getSize();
      return Math.hypot(p.x - c.x / 2, p.y - c.y / 2); }""", [target["lat"], target["lng"]])
    assert offset < 3
    # Every photo it held is still drawn around it (in its children, or alone): none lost in the split.
    assert page.evaluate(DRAWN)["total"] >= target["count"]
    # Its children are drawn where it was: at least two markers near the point clicked, which together hold
    # no more photos than it did (other photos may lie near it too, but the cluster split).
    near = page.evaluate("""([x, y]) => [...document.querySelectorAll('.marker-cluster, .leaflet-marker-pane .photo-marker')]
      .filter(n => { const r = n.getBoundingClientRect(); return Math.hypot(r.left + r.width / 2 - x, r.top + r.height / 2 - y) < 250; })
      .map(n => n.classList.contains('marker-cluster') ? Number(n.textContent) : 1)""", [target["x"], target["y"]])
    assert len(near) >= 2
    assert max(near) < target["count"]
    assert not page.errors, page.errors


def test_a_new_photo_appears_as_a_marker_without_a_reload(page, small):
    open_map(page, small.url)
    page.evaluate("void geolocator.map.setView([-33.9, 18.4], 14, { animate: false })")  # Cape Town: no photo of ours
    wait_until_js(page, "geolocator.photoLayer.getLayers().length === 0 && !document.querySelector('.marker-cluster')")
    small.store.put(PhotoRecord(id=rid(7000), sha256=rid(7000) * 4, name="table-mountain.jpg", path=None,
                                status=Status.LOCATED, source=Source.TRACK, lat=-33.9, lon=18.4))
    wait_until_js(page, f"geolocator.photoLayer.getLayers().some(m => m.photoId === '{rid(7000)}')", timeout=20)
    marker = page.locator(".leaflet-marker-pane .photo-marker")
    assert marker.count() == 1 and "track" in marker.get_attribute("class")  # a track's own shape
    # Drawn where the photo is: the middle of the map.
    box, centre = marker.bounding_box(), page.locator("#map").bounding_box()
    assert abs(box["x"] + box["width"] / 2 - (centre["x"] + centre["width"] / 2)) < 2
    assert abs(box["y"] + box["height"] / 2 - (centre["y"] + centre["height"] / 2)) < 2
    # Moved by another writer: the marker follows.
    small.store.put(PhotoRecord(id=rid(7000), sha256=rid(7000) * 4, name="table-mountain.jpg", path=None,
                                status=Status.LOCATED, source=Source.NEARBY, lat=-33.905, lon=18.4))
    wait_until_js(page, f"geolocator.state.markers.get('{rid(7000)}').getLatLng().lat === -33.905", timeout=20)
    wait_until_js(page, "document.querySelector('.leaflet-marker-pane .photo-marker.nearby') !== null")
    assert not page.errors, page.errors


def test_selecting_a_photo_inside_a_cluster_zooms_until_it_is_drawn_alone(page, small):
    small.store.put_many([
        PhotoRecord(id=rid(8000 + i), sha256=rid(8000 + i) * 4, name=f"twin_{i}.jpg", path=None, status=Status.LOCATED,
                    source=Source.EXIF, lat=52.3700 + i * 0.0005, lon=4.8900) for i in range(2)
    ])
    open_map(page, small.url)
    page.evaluate("void geolocator.map.setView([52.37, 4.89], 5, { animate: false })")
    wait_until_js(page, "document.querySelector('.marker-cluster') !== null")
    assert not page.evaluate(f"geolocator.photoLayer.getLayers().some(m => m.photoId === '{rid(8000)}')")
    page.evaluate(f"geolocator.select('{rid(8000)}', true)")
    page.wait_for_selector(f'.leaflet-popup .popup[data-id="{rid(8000)}"]', timeout=20000)
    assert page.evaluate("geolocator.map.getZoom()") >= 12  # far enough in for 55 m apart to split
    # Drawn alone, both twins: no cluster holds them any more.
    assert page.evaluate(f"['{rid(8000)}', '{rid(8001)}'].every(id => geolocator.photoLayer.getLayers().some(m => m.photoId === id))")
    assert not page.errors, page.errors


def test_the_panel_keeps_javascripts_order_for_rows_sent_in_order_and_rows_that_came_later(page, small):
    # The server sends the rows newest first and the panel trusts that order; names compare as
    # JavaScript compares them (UTF-16 code units): "\U0001F600" (D83D DE00) before "\uFF21".
    def photo(n: int, name: str, day: str) -> PhotoRecord:
        return PhotoRecord(id=rid(9000 + n), sha256=rid(9000 + n) * 4, name=name, path=None, status=Status.LOCATED,
                           source=Source.EXIF, lat=-54.80 + n * 0.001, lon=-68.30, taken_at=f"{day}T10:00:00")

    small.store.put_many([photo(0, "\uff21.jpg", "2030-05-01"), photo(1, "\U0001f600.jpg", "2030-05-01"),
                          photo(2, "b.jpg", "2030-04-01"), photo(3, "a.jpg", "2030-06-01")])
    open_map(page, small.url)
    page.evaluate("void geolocator.map.setView([-54.8, -68.3], 12, { animate: false })")  # Ushuaia: only these
    listed = "[...document.querySelectorAll('#list .vrow')].sort((a, b) => new DOMMatrix(getComputedStyle(a).transform).f" \
             " - new DOMMatrix(getComputedStyle(b).transform).f).map(r => r.querySelector('.vrow-name').textContent)"
    wait_until_js(page, f"{listed}.length === 4")
    assert page.evaluate(listed) == ["a.jpg", "\U0001f600.jpg", "\uff21.jpg", "b.jpg"]
    # Rows that come after the page loaded take their place among them.
    small.store.put_many([photo(4, "c.jpg", "2030-05-01"), photo(5, "d.jpg", "2031-01-01")])
    wait_until_js(page, f"{listed}.length === 6", timeout=20)
    assert page.evaluate(listed) == ["d.jpg", "a.jpg", "c.jpg", "\U0001f600.jpg", "\uff21.jpg", "b.jpg"]
    assert not page.errors, page.errors
