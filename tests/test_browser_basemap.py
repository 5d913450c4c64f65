"""The offline basemap in a real browser (Debian's chromium through Playwright), with every request
to a host other than 127.0.0.1 aborted: at zoom 12 over towns on five continents the town's and its
neighbours' names are drawn over land and water, and main roads along a known highway; with
`tile_url = ""` (the default) no request leaves the page's origin; with a tile server, its tiles
alone carry the page's origin as Referer.

Needs the basemap built (`make`, or `.venv/bin/python scripts/build_basemap.py`).
Set GEOLOCATOR_SCREENSHOTS=docs to write the README's basemap pictures into docs/.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browsers import DESKTOP, PHONE
from expect import wait_until_js

from geolocator.config import load_config
from geolocator.core import Core
from geolocator.record.store import Store
from tests.test_browser import CHROMIUM
from viewer import ViewerServer, create_app

BASEMAP = Path(__file__).resolve().parent.parent / "viewer" / "static" / "basemap" / "index.json"
DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (scripts/install-system-deps.sh)"),
    pytest.mark.skipif(not BASEMAP.exists(), reason="the basemap is not built (scripts/build_basemap.py)"),
]

TOWNS = {  # slug: (town, lat, lon, neighbours: at least one is named too, a picture for the README or None)
    "bled": ("Bled", 46.3683, 14.1146, {"Radovljica", "Lesce", "Jesenice", "Zasip"}, "desktop"),
    "antigua": ("Antigua Guatemala", 14.5611, -90.7344, {"Ciudad Vieja", "Jocotenango", "Santa María de Jesús", "Pastores"}, None),
    "jinja": ("Jinja", 0.4244, 33.2042, {"Njeru", "Bugembe"}, "phone"),
    "nara": ("Nara-shi", 34.6851, 135.8048, {"Yamatokōriyama", "Kizugawa", "Sugai", "Hōryūji"}, None),
    "queenstown": ("Queenstown", -45.0312, 168.6626, {"Arthurs Point", "Frankton"}, "desktop"),
}
LAND = (243, 240, 232)  # basemap-worker.js LAND
WATER = (207, 226, 239)  # basemap-worker.js WATER
ROAD = (208, 138, 60)  # basemap-worker.js roads
# Nara's east-west national road (route 369) between two of the road graph's junctions: lat, lon.
NARA_ROAD = ((34.684, 135.800), (34.684, 135.829))


def start_viewer(root: Path, **viewer: object) -> tuple[Store, ViewerServer]:
    config = load_config(None, cwd=root).replace("viewer", port=0, **viewer)
    store = Store(config.paths.database)
    return store, ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()


@pytest.fixture
def offline(tmp_path):
    """A viewer on the default config (no tiles), its server, and the requests a page makes."""
    store, server = start_viewer(tmp_path)
    yield server
    server.stop()
    store.close()


def offline_page(browser, options: dict) -> tuple:
    """A page whose every request to another host than 127.0.0.1 is aborted; `page.requests` lists all."""
    context = browser.new_context(**options)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))

    def only_loopback(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.requests = requests
    return context, page


LABELS_DRAWN = "performance.getEntriesByName('geolocator:labels')"  # one mark each time the labels of a view are drawn


def show(page, lat: float, lon: float, zoom: int) -> None:
    """The view at (lat, lon, zoom), once its cells and its own labels are drawn (a view's labels
    are marked only if no later view was asked for meanwhile: the marks after this one's setView)."""
    drawn_before = page.evaluate(f"{LABELS_DRAWN}.length")
    page.evaluate("([c, z]) => void geolocator.map.setView(c, z, { animate: false })", [[lat, lon], zoom])
    wait_until_js(page, "(d => d.basemap === 'level-2' && Number(d.basemapCells) > 0)(document.body.dataset)", timeout=30)
    wait_until_js(page, f"{LABELS_DRAWN}.slice({drawn_before}).some(m => m.detail.zoom === {zoom})", timeout=30)


# The basemap's tiles composed into one canvas the size of the map, in CSS pixels.
COMPOSE = """() => {
  const map = document.getElementById('map').getBoundingClientRect();
  const out = document.createElement('canvas');
  out.width = Math.round(map.width); out.height = Math.round(map.height);
  const ctx = out.getContext('2d');
  for (const tile of document.querySelectorAll('.leaflet-basemap-pane canvas')) {
    const r = tile.getBoundingClientRect();
    ctx.drawImage(tile, r.left - map.left, r.top - map.top, r.width, r.height);
  }
  return ctx;
}"""


# [lat, lon] -> the point in #map where the view it opens with (data-view) shows it, as Leaflet places it.
PROJECT = """(([la, lo]) => {
  const map = document.getElementById('map');
  const [lat, lon, zoom] = map.dataset.view.split(',').map(Number);
  const world = 256 * 2 ** zoom;
  const y = (v) => { const s = Math.sin(v * Math.PI / 180); return world * (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)); };
  const x = (v) => world * (v + 180) / 360;
  return [x(lo) - Math.round(x(lon) - map.clientWidth / 2), y(la) - Math.round(y(lat) - map.clientHeight / 2)];
})"""


def colours(page) -> dict[str, float]:
    """Shares of the map's pixels in the basemap's land and water colours."""
    return page.evaluate(
        f"""([land, water]) => {{
          const ctx = ({COMPOSE})();
          const d = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data;
          let l = 0, w = 0;
          for (let i = 0; i < d.length; i += 4) {{
            if (d[i] === land[0] && d[i + 1] === land[1] && d[i + 2] === land[2]) l++;
            else if (d[i] === water[0] && d[i + 1] === water[1] && d[i + 2] === water[2]) w++;
          }}
          return {{ land: l / (d.length / 4), water: w / (d.length / 4) }};
        }}""",
        [LAND, WATER],
    )


def road_pixels_along(page, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> list[bool]:
    """For points along a straight stretch of road: is a pixel within 2 px of it in the road's colour?"""
    return page.evaluate(
        f"""([a, b, steps, road]) => {{
          const ctx = ({COMPOSE})();
          const found = [];
          for (let k = 0; k <= steps; k++) {{
            const at = geolocator.map.latLngToContainerPoint([a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps]);
            const d = ctx.getImageData(Math.round(at.x) - 2, Math.round(at.y) - 2, 5, 5).data;
            let hit = false;
            for (let i = 0; i < d.length; i += 4) {{
              if (Math.abs(d[i] - road[0]) + Math.abs(d[i + 1] - road[1]) + Math.abs(d[i + 2] - road[2]) < 12) hit = true;
            }}
            found.push(hit);
          }}
          return found;
        }}""",
        [list(start), list(end), steps, list(ROAD)],
    )


def save_screenshot(page, name: str) -> None:
    """The page as docs/`name` when GEOLOCATOR_SCREENSHOTS=docs (a picture nobody looks at is not taken)."""
    if os.environ.get("GEOLOCATOR_SCREENSHOTS") == "docs":
        # Leaflet fades new tiles in: the picture once they all are opaque.
        wait_until_js(page, "[...document.querySelectorAll('.leaflet-basemap-pane .leaflet-tile')].every(t => t.style.opacity === '1')")
        page.screenshot(path=str(DOCS / name))


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_at_zoom_12_towns_on_five_continents_and_their_neighbours_are_named_offline(browser, offline, tmp_path, device):
    context, page = offline_page(browser, DESKTOP if device == "desktop" else PHONE)
    try:
        page.goto(offline.url)
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
        for slug, (town, lat, lon, neighbours, picture) in TOWNS.items():
            show(page, lat, lon, 12)
            names = set(page.locator(".place-label span").all_text_contents())
            assert town in names, (slug, names)
            assert names & neighbours, (slug, names)
            shares = colours(page)
            assert shares["land"] > 0.2, (slug, shares)  # drawn, not blank
            if slug == "nara":
                along = road_pixels_along(page, *NARA_ROAD)
                assert all(along), along
            if slug == "queenstown":
                assert shares["water"] > 0.05, shares  # Lake Wakatipu
            if picture == device:
                save_screenshot(page, f"screenshot-basemap-{slug}{'-phone' if device == 'phone' else ''}.png")
        origin = offline.url.rstrip("/")
        assert page.requests and all(url.startswith(origin + "/") for url in page.requests), page.requests
        assert not page.errors, page.errors
    finally:
        context.close()


def test_the_world_outline_shows_before_leaflet_and_the_page_scripts_have_run(browser, offline):
    context, page = offline_page(browser, DESKTOP)
    held = []
    context.route("**/static/vendor/leaflet/leaflet.js", lambda route: held.append(route))  # answered later, by hand
    try:
        page.goto(offline.url, wait_until="commit")
        wait_until_js(page, "!!document.getElementById('outline-sketch')")
        # The middle of the Congo and of the Atlantic, where the view the page opens with shows them.
        congo, atlantic = page.evaluate(
            """() => [[-3, 23], [0, -30]].map((point) => {
              const c = document.getElementById('outline-sketch');
              const at = geolocatorLatLngPoint(point);
              return [...c.getContext('2d').getImageData(at[0] * devicePixelRatio, at[1] * devicePixelRatio, 1, 1).data];
            })""".replace("geolocatorLatLngPoint", PROJECT)
        )
        assert (tuple(congo[:3]), atlantic[3]) == (LAND, 0)  # land drawn; the sea left to #map's colour
        assert page.evaluate("typeof L") == "undefined"  # Leaflet is not even loaded
        held[0].continue_()
        page.wait_for_selector("body[data-outline=ready]", state="attached", timeout=20000)
        wait_until_js(page, "!document.getElementById('outline-sketch')")  # Leaflet's outline took over
        assert page.locator(".leaflet-outline-pane path").count() > 100
        assert not page.errors, page.errors
    finally:
        context.close()


def test_without_a_tile_url_no_request_leaves_the_origin_and_none_carries_a_referer(browser, offline):
    context, page = offline_page(browser, DESKTOP)
    referers: list[str] = []
    page.on("request", lambda request: referers.extend(v for k, v in request.headers.items() if k.lower() == "referer"))
    try:
        page.goto(offline.url)
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
        assert page.evaluate("document.querySelector('meta[name=geolocator-tiles]').content") == ""
        assert page.locator(".leaflet-tile-pane img").count() == 0
        for zoom in (2, 6):  # the world outline, the coarse cells
            page.evaluate("z => void geolocator.map.setView([55.95, -3.19], z, { animate: false })", zoom)
            wait_until_js(page, f"performance.getEntriesByName('geolocator:labels').some(m => m.detail.zoom === {zoom})", timeout=30)
        show(page, 55.95, -3.19, 12)  # the fine cells
        page.fill('#filters input[name="q"]', "Lisbon")
        page.press('#filters input[name="q"]', "Enter")
        wait_until_js(page, "(document.body.dataset.place || '').startsWith('Lisbon')")
        wait_until_js(page, "!geolocator.map._animatingZoom && document.body.dataset.basemap !== 'loading'", timeout=30)
        origin = offline.url.rstrip("/")
        assert len(page.requests) > 10
        assert all(url.startswith(origin + "/") for url in page.requests), [u for u in page.requests if not u.startswith(origin)]
        assert referers == []  # Referrer-Policy: no-referrer, and no tiles to make an exception for
        assert not page.errors, page.errors
    finally:
        context.close()


def test_tiles_alone_carry_the_page_origin_as_referer(browser, tmp_path):
    store, server = start_viewer(tmp_path, tile_url="http://tiles.test/{z}/{x}/{y}.png")
    context = browser.new_context(**DESKTOP)
    tile_referers: list[str | None] = []
    page_referers: list[str] = []

    def tiles(route):
        tile_referers.append(route.request.headers.get("referer"))
        route.abort()  # the basemap shows where tiles fail

    context.route("http://tiles.test/**", tiles)
    context.on("request", lambda r: page_referers.extend(
        v for k, v in r.headers.items() if k.lower() == "referer" and "tiles.test" not in r.url))
    page = context.new_page()
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20000)
        show(page, 46.3683, 14.1146, 12)
        wait_until_js(page, "document.body.dataset.tiles === 'failed'")
        assert tile_referers and all(r == server.url for r in tile_referers), tile_referers  # the origin, no path
        assert page_referers == []  # everything else: no Referer
        assert "Bled" in page.locator(".place-label span").all_text_contents()  # under the failed tiles
    finally:
        context.close()
        server.stop()
        store.close()
