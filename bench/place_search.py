#!/usr/bin/env python3
"""Searching for a place by name (`Gazetteer.search`, behind the map's search box and `/api/where`).

    .venv/bin/python bench/place_search.py [--repeats R]

Each figure is taken in a fresh process (`-c`), so the cold ones are cold: opening the index (the
same file and format as before region search: nothing is added to it at start-up), the first
search by a region's name, which makes the table of region names (`Gazetteer._region_countries`,
its Python memory measured by tracemalloc), and then the median time of R searches of each kind
(a town, a region alone, a region and its country, a name both a town and a region, a country).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

QUERIES = ("Lisbon", "Tuscany", "Queensland", "Tuscany, Italy", "Salzburg", "Ontario", "Peru", "United States", "Xqzzyvillex")

PROBE = """
import json, statistics, sys, time, tracemalloc
sys.path.insert(0, {repo!r})
from geolocator.locate.places import Gazetteer
t = time.perf_counter(); g = Gazetteer(); opened = time.perf_counter() - t
t = time.perf_counter(); g.search("Tuscany"); first = time.perf_counter() - t
again = Gazetteer()  # the table alone, pages now in memory, and what it keeps
t = time.perf_counter(); again._region_countries; table_time = time.perf_counter() - t
kept = Gazetteer()
tracemalloc.start()
kept._region_countries
table = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()
times = {{}}
for q in {queries!r}:
    runs = []
    for _ in range({repeats}):
        t = time.perf_counter(); g.search(q); runs.append(time.perf_counter() - t)
    times[q] = statistics.median(runs)
print(json.dumps({{"opened": opened, "first": first, "table_time": table_time, "table": table,
                  "regions": len(g._region_countries), "times": times}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    code = PROBE.format(repo=str(REPO), queries=QUERIES, repeats=args.repeats)
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout) for _ in range(3)]
    best = {key: min(run[key] for run in runs) for key in ("opened", "first", "table_time", "table")}
    print(f"opening the place index: {best['opened'] * 1000:.2f} ms (best of 3 fresh processes; unchanged: no start-up work added)")
    print(f"the first search in a process (its pages read, the table of region names made): {best['first'] * 1000:.1f} ms")
    print(f"the table of {runs[0]['regions']:,} region names alone: {best['table_time'] * 1000:.1f} ms, "
          f"{best['table'] / 1e6:.2f} MB kept")
    print(f"then, median of {args.repeats} (best of 3 processes):")
    for query in QUERIES:
        print(f"  {query!r:>18}: {min(run['times'][query] for run in runs) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
