#!/usr/bin/env python3
"""The offline basemap: its size on disk, the page's first paint at world zoom, and panning at zoom 12.

    .venv/bin/python bench/basemap.py

An empty library served in-process (default config: no tiles), Debian's chromium (Playwright) with
every request to a host other than 127.0.0.1 aborted. Printed:

- size: viewer/static/basemap/ on disk, per level (files and MB);
- first paint at world zoom: from navigation start (a new browser context: empty cache) to the
  world outline drawn and to the first names drawn, median of RUNS;
- pan at zoom 12: over each town, the view moved by 60% of the map's width (into new cells) without
  animation, the time until its tiles and names are drawn (in the page's clock); then an animated pan of one second,
  the frames the browser painted during it (60 a second is smooth); and the longest task the page's
  main thread ran from the first pan to the end of the second (PerformanceObserver 'longtask': tasks
  over 50 ms; none means every task was shorter).

Targets (issue 18): first paint at world zoom <= 1 s, the basemap adding <= 150 MB to the install.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from browsers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from expect import wait_until_js  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from geolocator.config import load_config  # noqa: E402
from geolocator.core import Core  # noqa: E402
from geolocator.record.store import Store  # noqa: E402
from viewer import ViewerServer, create_app  # noqa: E402

BASEMAP = REPO / "viewer" / "static" / "basemap"
RUNS = 5
TOWNS = {"Bled": (46.3683, 14.1146), "Antigua Guatemala": (14.5611, -90.7344), "Nara": (34.6851, 135.8048), "Bergen": (60.3913, 5.3221)}


def size_report() -> str:
    lines = []
    total = 0
    for part in sorted(p for p in BASEMAP.iterdir() if p.is_dir()):
        files = [f for f in part.iterdir() if f.is_file()]
        size = sum(f.stat().st_size for f in files)
        total += size
        lines.append(f"  level {part.name}: {len(files)} cells, {size / 1e6:.1f} MB")
    total += sum(f.stat().st_size for f in BASEMAP.iterdir() if f.is_file())
    return f"size on disk: {total / 1e6:.1f} MB\n" + "\n".join(lines)


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1" else route.abort())
    return context, context.new_page()


def mark(page, name: str) -> float:
    return page.evaluate(f"performance.getEntriesByName('{name}')[0].startTime") / 1000


def first_paint(browser, url: str) -> tuple[float, float]:
    context, page = new_page(browser)
    try:
        page.goto(url)
        wait_until_js(page, "performance.getEntriesByName('geolocator:outline').length && performance.getEntriesByName('geolocator:labels').length")
        return mark(page, "geolocator:outline"), mark(page, "geolocator:labels")
    finally:
        context.close()


# In the page: a pan of 60% of the map's width without animation, timed until its tiles and names
# are drawn (the page's marks); then an animated pan of 1 s, its frames counted; the longest task
# over both. In the page's own clock: this process (server and Playwright) may wait for a core.
PANS = """() => new Promise((resolve) => {
  const tasks = [];
  const longtasks = new PerformanceObserver((list) => tasks.push(...list.getEntries().map((e) => e.duration)));
  longtasks.observe({ type: 'longtask' });
  const count = (name) => performance.getEntriesByName(name).length;
  const before = { tiles: count('geolocator:basemap'), labels: count('geolocator:labels') };
  const started = performance.now();
  const marks = new PerformanceObserver(() => {
    if (count('geolocator:basemap') === before.tiles || count('geolocator:labels') === before.labels) return;
    marks.disconnect();
    const drawn = Math.max(...['geolocator:basemap', 'geolocator:labels'].map((n) => performance.getEntriesByName(n).at(-1).startTime)) - started;
    let frames = 0;
    const end = performance.now() + 1000;
    const frame = (now) => {
      frames++;
      if (now < end) { requestAnimationFrame(frame); return; }
      tasks.push(...longtasks.takeRecords().map((e) => e.duration));
      longtasks.disconnect();
      resolve([drawn, frames, Math.max(0, ...tasks)]);
    };
    geolocator.map.panBy([-geolocator.map.getSize().x * 0.5, 0], { animate: true, duration: 1 });
    requestAnimationFrame(frame);
  });
  marks.observe({ type: 'mark' });
  geolocator.map.panBy([geolocator.map.getSize().x * 0.6, 0], { animate: false });
})"""


def pans(browser, url: str) -> list[tuple[str, float, int, float]]:
    context, page = new_page(browser)
    out = []
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=30000)
        for town, (lat, lon) in TOWNS.items():
            names = page.evaluate("performance.getEntriesByName('geolocator:labels').length")
            page.evaluate("([c]) => geolocator.map.setView(c, 12, { animate: false })", [[lat, lon]])
            wait_until_js(page, f"document.body.dataset.basemap === 'level-2' && performance.getEntriesByName('geolocator:labels').length > {names}", timeout=60)
            # One evaluate for both pans, so no polling from here runs on the page's main thread meanwhile.
            drawn, frames, longest = page.evaluate(PANS)
            out.append((town, drawn / 1000, frames, longest / 1000))
    finally:
        context.close()
    return out


def main() -> int:
    if not (BASEMAP / "index.json").exists():
        print("the basemap is not built: .venv/bin/python scripts/build_basemap.py", file=sys.stderr)
        return 1
    print(size_report())
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(None, cwd=Path(tmp)).replace("viewer", port=0)
        with Store(config.paths.database) as store:
            server = ViewerServer(create_app(Core.build(config, store)), "127.0.0.1", 0).start()
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                    first_paint(browser, server.url)  # the label index is made on the first request: not a page's cost
                    paints = [first_paint(browser, server.url) for _ in range(RUNS)]
                    outline = statistics.median(p[0] for p in paints)
                    names = statistics.median(p[1] for p in paints)
                    print(f"first paint at world zoom (median of {RUNS}, empty cache): outline {outline:.2f} s, names {names:.2f} s (target <= 1 s)")
                    for town, drawn, frames, longest in pans(browser, server.url):
                        task = f"longest main-thread task {longest * 1000:.0f} ms" if longest else "no main-thread task over 50 ms"
                        print(f"pan at zoom 12 over {town}: new tiles and names drawn in {drawn:.2f} s; animated 1 s pan: {frames} frames; {task}")
                    browser.close()
            finally:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
