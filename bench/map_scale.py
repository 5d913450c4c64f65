#!/usr/bin/env python3
"""How the map page copes with 100k photos.

Fills a temp store with N synthetic records (default 100,000: 90% located from EXIF/AI/manual,
the rest unlocated/pending/failed/duplicate), starts the viewer on 127.0.0.1:0 and loads the page
in headless chromium with tile requests aborted (offline). Measures, for a cold and a warm load:

- first clusters: time from navigation start to the first `.marker-cluster` element in the DOM
  (a MutationObserver installed before the page runs, reading performance.now());
- ready: the page's own "all markers added, list drawn" flag;
- bytes: sum of the encoded response bodies the page downloaded (gzip where it applies).

Target: first clusters <= 1.5 s at 100k. Usage: python bench/map_scale.py [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geolocator.config import load_config  # noqa: E402
from geolocator.record import PhotoRecord, Source, Status  # noqa: E402
from geolocator.store import Store  # noqa: E402
from viewer import ViewerServer, create_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
TARGET_S = 1.5
WATCH = """
window.__firstCluster = null;
new MutationObserver((_, observer) => {
  if (document.querySelector('.marker-cluster')) { window.__firstCluster = performance.now(); observer.disconnect(); }
}).observe(document, { childList: true, subtree: true });
"""


def synthetic(n: int) -> list[PhotoRecord]:
    rng = random.Random(100_000)
    # Photos bunch up where people travel: a few hundred centres with spread, like a real library.
    centres = [(rng.uniform(-50, 65), rng.uniform(-170, 175)) for _ in range(300)]
    records = []
    for i in range(n):
        rid = f"{i + 1:016x}"
        kind = rng.random()
        common = dict(id=rid, sha256=rid * 4, name=f"IMG_{i:06d}.jpg", path=f"2020/01/IMG_{i:06d}.jpg",
                      taken_at=f"{2005 + i % 20}-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00")
        if kind < 0.9:
            lat0, lon0 = rng.choice(centres)
            source = Source.EXIF if kind < 0.7 else Source.AI if kind < 0.85 else Source.MANUAL
            records.append(PhotoRecord(
                **common, status=Status.LOCATED, source=source,
                lat=max(-85.0, min(85.0, rng.gauss(lat0, 2))), lon=((rng.gauss(lon0, 3) + 180) % 360) - 180,
                place="Somewhere, Region, Country", radius_km=30.0 if source is Source.AI else None,
                confidence=0.6 if source is Source.AI else None, model="qwen2.5vl" if source is Source.AI else None,
            ))
        else:
            status = (Status.UNLOCATED, Status.PENDING, Status.FAILED, Status.DUPLICATE)[i % 4]
            records.append(PhotoRecord(**common, status=status, error=None if status is Status.DUPLICATE else "no answer"))
    return records


def load(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
    context.add_init_script(WATCH)
    page = context.new_page()
    sizes = []
    page.on("requestfinished", lambda r: sizes.append((r.url, r.sizes()["responseBodySize"])))
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(".marker-cluster", state="attached", timeout=60000)
    wall_clusters = time.perf_counter() - start
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60000)
    wall_ready = time.perf_counter() - start
    first = page.evaluate("window.__firstCluster")
    clusters = page.locator(".marker-cluster").count()
    marks = page.evaluate("Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name.split(':')[1], Math.round(m.startTime)]))")
    marks["clusters"] = round(first) if first is not None else None
    print("  timeline (ms since navigation):", marks)
    page.wait_for_timeout(300)
    own = [(u, s) for u, s in sizes if u.startswith(url)]
    result = {
        "first_clusters_s": (first / 1000) if first is not None else wall_clusters,
        "wall_first_clusters_s": wall_clusters,
        "wall_ready_s": wall_ready,
        "bytes": sum(s for _, s in own),
        "api_map_bytes": sum(s for u, s in own if "/api/map" in u),
        "requests": len(own),
        "clusters_in_view": clusters,
    }
    context.close()
    return result


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(None, cwd=Path(tmp)).replace("viewer", tile_url="http://tiles.invalid/{z}/{x}/{y}.png")
        store = Store(config.paths.database)
        t = time.perf_counter()
        store.put_many(synthetic(n))
        print(f"store: {n:,} records written in {time.perf_counter() - t:.1f} s")
        server = ViewerServer(create_app(store, config), "127.0.0.1", 0).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                cold = load(browser, server.url)
                warm = load(browser, server.url)
                browser.close()
        finally:
            server.stop()
            store.close()
    for name, r in (("cold", cold), ("warm", warm)):
        print(f"{name}: first clusters painted {r['first_clusters_s']:.2f} s after navigation "
              f"(wall {r['wall_first_clusters_s']:.2f} s); interactive clusters, list ready {r['wall_ready_s']:.2f} s, "
              f"{r['clusters_in_view']} clusters in view")
        print(f"{name}: downloaded {r['bytes'] / 1e6:.2f} MB in {r['requests']} requests "
              f"(/api/map {r['api_map_bytes'] / 1e6:.2f} MB gzipped)")
    verdict = "OK" if warm["first_clusters_s"] <= TARGET_S else "OVER"
    print(f"target: first clusters <= {TARGET_S} s at {n:,} photos: {verdict} "
          f"(cold {cold['first_clusters_s']:.2f} s includes building the payload once per store change)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
