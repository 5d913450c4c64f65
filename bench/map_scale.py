#!/usr/bin/env python3
"""How the map page copes with 100k and 1M photos: the real service, the real page, headless chromium.

    .venv/bin/python bench/map_scale.py [N ...]        (default: 100000 1000000)

For each size N, a database of N synthetic records (90% located around a few hundred places, from
every source; the rest unlocated, pending, failed or duplicates) is written straight in the store's
snapshot format (`store.write_snapshot`) and kept under $TMPDIR/geolocator-map-scale between runs.
`daemon.py map --config FILE` serves it on a free port (tiles pointed at an address that is
refused: offline), and Debian's chromium (Playwright) opens the page:

- start: a new browser context (empty cache), the service's first page load, as soon as it is
  up: what it still does after start-up (a large library's map payload) is waited for;
- warm: the same page reloaded, WARM_RUNS times; the table shows the reload with the median
  time to the click's answer (the machine is shared: one reload can meet a busy moment), and all
  of them;
- cold: a new browser context again (empty cache), the first page load of a second service once
  it has been up and idle (its CPU quiet for a second): a user's first visit of the day.

For each: the time from navigation start until the first cluster is drawn, and until a click on the
biggest cluster well inside the map (clicked as soon as it was drawn: clusters are real from the
first paint) has been answered (the map zoomed in and redrawn); the bytes the page downloaded (as
sent: gzipped) and the /api/map.bin part of them; the page's JS heap once the page is ready
(main thread, after a garbage collection, CDP Runtime.getHeapUsage; the cluster workers live in
the renderer process, whose RSS is shown); and the service's RSS (VmRSS, and VmHWM: its peak).
Then a table.

Targets: a click answered <= 1 s warm at 100k, <= 3 s warm and cold at 1M (2 cores, headless chromium).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from browsers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from geolocator.record import PhotoRecord, Source, Status  # noqa: E402
from geolocator.record.store import write_snapshot  # noqa: E402

TARGETS = {100_000: 1.0, 1_000_000: 3.0}
TARGETED_LOADS = {100_000: ("warm",), 1_000_000: ("warm", "cold")}  # the loads each target is for
WARM_RUNS = 3
DATA_VERSION = 1  # of `synthetic`: a change makes new databases
CACHE = Path(tempfile.gettempdir()) / "geolocator-map-scale"
TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # the discard port: refused at once, as offline
# Installed before the page's own scripts: notes when the first cluster is drawn, and clicks the
# biggest cluster well inside the map (not under a control) as soon as one is drawn, as a user's
# click would reach it: a MouseEvent on its icon, in a task of its own (after the work under way).
WATCH = """
window.__bench = { clusters: null, click: null };
new MutationObserver((_, observer) => {
  const all = document.querySelectorAll('.marker-cluster');
  if (!all.length) return;
  window.__bench.clusters = window.__bench.clusters || performance.now();
  const box = document.getElementById('map').getBoundingClientRect();
  const inside = [...all].filter(n => {
    const r = n.getBoundingClientRect();
    return r.left > box.left + 40 && r.right < box.right - 40 && r.top > box.top + 40 && r.bottom < box.bottom - 40;
  }).sort((a, b) => Number(b.textContent) - Number(a.textContent));
  if (!inside.length) return;
  observer.disconnect();
  setTimeout(() => {
    const r = inside[0].getBoundingClientRect();
    window.__bench.click = { at: performance.now(), count: Number(inside[0].textContent), zoom: geolocator.map.getZoom() };
    inside[0].dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, view: window, button: 0,
                                                       clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 }));
  }, 0);
}).observe(document, { childList: true, subtree: true });
"""
# The first time the map was drawn, after the click, at a deeper zoom: the cluster split.
ANSWERED = """() => {
  const click = window.__bench.click;
  const after = click && performance.getEntriesByName('geolocator:drawn').find((m) => m.startTime > click.at && m.detail.zoom > click.zoom);
  return after ? after.startTime : null;
}"""


def synthetic(n: int) -> Iterator[dict[str, Any]]:
    """n stored records, made one at a time."""
    rng = random.Random(100_000)
    # Photos bunch up where people travel: a few hundred centres with spread, like a real library.
    centres = [(rng.uniform(-50, 65), rng.uniform(-170, 175)) for _ in range(300)]
    sources = (Source.EXIF, Source.EXIF, Source.EXIF, Source.AI, Source.MANUAL, Source.TRACK, Source.NEARBY)
    for i in range(n):
        # Ids are hashes in real life: random hex, so the payload is no smaller than a real one.
        rid = f"{rng.getrandbits(64):016x}"
        common: dict[str, Any] = dict(id=rid, sha256=rid * 4, name=f"IMG_{i:07d}.jpg", path=f"2020/01/IMG_{i:07d}.jpg",
                                      taken_at=f"{2005 + i % 20}-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00")
        if rng.random() < 0.9:
            lat0, lon0 = rng.choice(centres)
            source = rng.choice(sources)
            ai = source is Source.AI
            record = PhotoRecord(
                **common, status=Status.LOCATED, source=source,
                lat=max(-85.0, min(85.0, rng.gauss(lat0, 2))), lon=((rng.gauss(lon0, 3) + 180) % 360) - 180,
                place="Somewhere, Region, Country", radius_km=30.0 if ai else None,
                confidence=0.6 if ai else None, model="qwen2.5vl" if ai else None,
            )
        else:
            status = (Status.UNLOCATED, Status.PENDING, Status.FAILED, Status.DUPLICATE)[i % 4]
            record = PhotoRecord(**common, status=status, error=None if status is Status.DUPLICATE else "no answer")
        yield record.to_dict()


def database(n: int) -> Path:
    """The database of n synthetic records, written once and kept between runs."""
    path = CACHE / f"v{DATA_VERSION}-{n}" / "geolocator.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_snapshot(path, synthetic(n))
        print(f"  database of {n:,} records written in {time.perf_counter() - started:.1f} s ({path})", flush=True)
    return path


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Service:
    """`daemon.py map` over a database, on a free port."""

    def __init__(self, db: Path, root: Path) -> None:
        config = root / "geolocator.toml"
        config.write_text(f'[paths]\ndatabase = "{db}"\n[viewer]\nport = 0\ntile_url = "{TILES}"\n[ollama]\nenabled = false\n')
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, str(REPO / "daemon.py"), "map", "--config", str(config)],
                                        cwd=root, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("map: "):
            self.process.kill()
            raise RuntimeError(f"the map did not start: {line!r}")
        self.url = line.removeprefix("map: ").strip()
        self.start_s = time.perf_counter() - started

    def rss(self) -> tuple[float, float]:
        return rss_mb(self.process.pid)

    def wait_idle(self, quiet_s: float = 1.0, timeout_s: float = 300.0) -> float:
        """Wait until the service has used under 2 % of a CPU for `quiet_s` (what it does after
        start-up is done); the seconds waited."""
        started = time.perf_counter()
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_s() -> float:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

        before = cpu_s()
        while time.perf_counter() - started < timeout_s:
            time.sleep(quiet_s)  # a measuring interval, not a wait for something to happen
            now = cpu_s()
            if now - before < 0.02 * quiet_s:
                return time.perf_counter() - started
            before = now
        raise RuntimeError(f"the service was still busy after {timeout_s:.0f} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()


def renderer_rss_mb(browser: Any) -> float:
    """VmRSS of the renderer processes (the page and its workers)."""
    session = browser.new_browser_cdp_session()
    info = session.send("SystemInfo.getProcessInfo")
    session.detach()
    total = 0.0
    for process in info["processInfo"]:
        if process["type"] == "renderer":
            try:
                total += rss_mb(process["id"])[0]
            except OSError:
                continue
    return total


def measure(browser: Any, page: Any, navigate: Any, service: Service) -> dict[str, Any]:
    """Navigate (a goto or a reload) and measure as the module's docstring says."""
    navigate()
    page.wait_for_function(ANSWERED, polling=50, timeout=120_000)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=120_000)
    marks = page.evaluate("""() => {
      const b = window.__bench;
      const out = { clusters: Math.round(b.clusters), click: Math.round(b.click.at), answered: Math.round(answered()),
                    clicked: b.click.count };
      const got = performance.getEntriesByType('resource').find((r) => r.name.endsWith('/api/map.bin'));
      if (got) Object.assign(out, { 'map.bin_asked': Math.round(got.requestStart), 'map.bin_first_byte': Math.round(got.responseStart),
                                    'map.bin_last_byte': Math.round(got.responseEnd) });
      for (const m of performance.getEntriesByType('mark')) {
        const name = m.name.split(':')[1] + (m.detail && m.detail.worker ? '.' + m.detail.worker : '');
        if (name !== 'drawn' && !(name in out)) out[name] = Math.round(m.startTime);
        if (m.detail && m.detail.ms !== undefined && !(name + '_ms' in out)) out[name + '_ms'] = m.detail.ms;
      }
      return out;
    }""".replace("answered()", f"({ANSWERED})()"))
    session = page.context.new_cdp_session(page)
    session.send("HeapProfiler.collectGarbage")  # what the page holds, not what it has yet to collect
    heap = session.send("Runtime.getHeapUsage")
    session.detach()
    # Bytes as sent (gzipped where they were), by the page's Resource Timing entries (and the worker's script).
    sizes = page.evaluate("""() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
      .map((e) => [e.name, e.encodedBodySize])""")
    own = [(u, s) for u, s in sizes if u.startswith(service.url)]
    return {
        "marks": marks,
        "bytes": sum(s for _, s in own), "payload": sum(s for u, s in own if "/api/map.bin" in u),
        "heap": heap["usedSize"] / 1e6, "renderer": renderer_rss_mb(browser), "service": service.rss(),
    }


def new_page(browser: Any) -> Any:
    """A page in a new browser context: nothing cached."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(WATCH)
    return context.new_page()


def run(n: int, playwright: Any) -> list[tuple[str, dict[str, Any]]]:
    db = database(n)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            service = Service(db, Path(tmp))
            print(f"  service up in {service.start_s:.1f} s, RSS {service.rss()[0]:.0f} MB", flush=True)
            try:
                page = new_page(browser)
                start = measure(browser, page, lambda: page.goto(service.url, wait_until="commit"), service)
                reloads = [measure(browser, page, lambda: page.reload(wait_until="commit"), service) for _ in range(WARM_RUNS)]
                reloads.sort(key=lambda r: r["marks"]["answered"])
                warm = {**reloads[len(reloads) // 2], "all": [r["marks"]["answered"] / 1000 for r in reloads]}
                page.context.close()  # its renderer is not counted with the next page's
            finally:
                service.stop()
        with tempfile.TemporaryDirectory() as tmp:
            service = Service(db, Path(tmp))
            try:
                idle_s = service.wait_idle()
                print(f"  second service idle {idle_s:.1f} s after it was up, RSS {service.rss()[0]:.0f} MB", flush=True)
                page = new_page(browser)
                cold = measure(browser, page, lambda: page.goto(service.url, wait_until="commit"), service)
            finally:
                service.stop()
    finally:
        browser.close()
    print(f"  warm reloads: click answered at {', '.join(f'{t:.2f} s' for t in warm['all'])}", flush=True)
    loads = [("start", start), ("cold", cold), ("warm", warm)]
    for name, r in loads:
        print(f"  {name} timeline (ms since navigation): {r['marks']}", flush=True)
    return loads


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        for n in sizes:
            print(f"== {n:,} photos", flush=True)
            for name, r in run(n, p):
                rows.append((n, name, r))
    print()
    print(f"{'photos':>9} {'load':<5} {'clusters':>9} {'click answered':>15} {'target':>7} {'downloaded':>11} "
          f"{'map.bin':>9} {'JS heap':>8} {'renderer':>9} {'service RSS':>12} {'(peak)':>7}")
    verdicts = []
    for n, name, r in rows:
        answered = r["marks"]["answered"] / 1000
        target = TARGETS.get(n) if name in TARGETED_LOADS.get(n, ()) else None
        mark = "" if target is None else ("OK" if answered <= target else "OVER")
        print(f"{n:>9,} {name:<5} {r['marks']['clusters'] / 1000:>7.2f} s {answered:>13.2f} s "
              f"{(f'<= {target:.0f} s' if target else ''):>7} {r['bytes'] / 1e6:>8.2f} MB "
              f"{r['payload'] / 1e6:>6.2f} MB {r['heap']:>5.0f} MB {r['renderer']:>6.0f} MB {r['service'][0]:>9.0f} MB "
              f"{r['service'][1]:>4.0f} MB {mark}")
        if mark:
            verdicts.append(mark)
    print(f"(clicked: the biggest cluster inside the map; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the end)")
    return 0 if all(v == "OK" for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
