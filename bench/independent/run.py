"""Run the independent checks and print a table: `python bench/independent/run.py [AREA ...]`.

Areas: places (issue 10), tracks (issue 13), faults (issues 8 and 12), http (issue 12),
service (issue 8: `check`, and the watching service killed with SIGKILL), sidecars (issue 16
items 1, 2, 6), formats (issue 20 item 5), hostile (issue 16 items 7-9), login (issue 16 items
10-13, 16), far (issue 19), structure (issue 17). Exit status 1 when any check fails; the last
lines count passes and failures per area. See README.md beside this file for what each checks and why.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import far_places
import faults
import hostile_tracks
import http_check
import login
import places
import service
import sidecars
import structure
import track_formats
import tracks
from common import Result

AREAS: dict[str, Callable[[], list[Result]]] = {
    "places": places.check,
    "tracks": tracks.check,
    "faults": faults.check,
    "http": http_check.check,
    "service": service.check,
    "sidecars": sidecars.check,
    "formats": track_formats.check,
    "hostile": hostile_tracks.check,
    "login": login.check,
    "far": far_places.check,
    "structure": structure.check,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(AREAS)
    unknown = [a for a in chosen if a not in AREAS]
    if unknown:
        print(f"unknown area(s) {unknown}; choose from {list(AREAS)}", file=sys.stderr)
        return 2
    results: list[Result] = []
    by_area: dict[str, list[Result]] = {}
    for area in chosen:
        started = time.monotonic()
        got = AREAS[area]()
        results += got
        by_area[area] = got
        print(f"[{area}: {len(got)} checks in {time.monotonic() - started:.0f} s]", file=sys.stderr, flush=True)
    width = max(len(r.area) for r in results)
    for r in results:
        print(f"{'PASS' if r.ok else 'FAIL'}  {r.area:<{width}}  {r.name}")
        if r.detail and (not r.ok or "-v" in sys.argv):
            print(f"{'':>6}{'':<{width}}  -> {r.detail}")
    failed = sum(not r.ok for r in results)
    print()
    for area, got in by_area.items():
        print(f"{area:<10} {sum(r.ok for r in got):>4} passed {sum(not r.ok for r in got):>3} failed")
    print(f"\n{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main([a for a in sys.argv[1:] if a != "-v"]))
