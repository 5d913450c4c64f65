"""Which sea or ocean a point is in: Natural Earth's marine areas on a grid, in flat arrays.

The areas (`data/marine_areas.tsv.gz`, see scripts/vendor_marine_areas.py) are rings of
(lon, lat); a point is in an area when it is inside an odd number of its rings. Testing every
ring would cost thousands of edges a point, so the index holds a grid of `CELL_DEG` cells: for
each cell, the areas its reference point (near its centre) is in, and the edges that cross the
cell. A point's areas are its cell's, toggled by each edge crossed on the way from the reference
point to it (up or down to the point's latitude, then across to it): only the few edges of its
own cell are looked at, whatever the polygons. Cells that no edge crosses are wholly in their
areas (or wholly on land). Where areas overlap (the Great Barrier Reef in the Coral Sea) the
smallest wins: area ids are given in order of size.

Crossings follow the half-open rule of the even-odd ray test (an edge counts when exactly one
of its ends is above the ray's latitude), so the build's scanlines and the lookup agree exactly;
the reference point is offset from the cell's centre by a fraction no coordinate of the data has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CELL_DEG = 0.5
ROWS, COLS = round(180 / CELL_DEG), round(360 / CELL_DEG)
_OFFSET = 0.5 * CELL_DEG + 1.23456789e-6  # the reference point within its cell, off every 0.0001° step
POLE_LAT = 89.999

Ring = list[tuple[float, float]]  # (lon, lat) pairs, not closed


@dataclass(frozen=True)
class SeaGrid:
    """The grid as flat sequences (lists when built, memoryviews when read from the index)."""

    names: Sequence[str]  # by area id, smallest area first
    cell_state: Sequence[int]  # per cell (row * COLS + col): which entry of the state table holds the reference point's areas
    state_starts: Sequence[int]  # state k's areas: state_items[state_starts[k]:state_starts[k + 1]]
    state_items: Sequence[int]
    edge_starts: Sequence[int]  # per cell, its edges: edges[4 * i : 4 * i + 4], edge_areas[i] for i in edge_starts[cell]..[cell + 1]
    edges: Sequence[float]  # lon1, lat1, lon2, lat2
    edge_areas: Sequence[int]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    row = min(ROWS - 1, max(0, math.floor((lat + 90.0) / CELL_DEG)))
    col = min(COLS - 1, max(0, math.floor((lon + 180.0) / CELL_DEG)))
    return row, col


def sea_at(grid: SeaGrid, lat: float, lon: float) -> str | None:
    """The name of the marine area the point is in (the smallest, where they overlap), None on land."""
    lon = (lon + 180.0) % 360.0 - 180.0
    lat = max(-POLE_LAT, min(POLE_LAT, lat))  # the areas stop a hair short of the poles
    row, col = _cell(lat, lon)
    cell = row * COLS + col
    state = grid.cell_state[cell]
    areas = grid.state_items[grid.state_starts[state] : grid.state_starts[state + 1]]
    first, last = grid.edge_starts[cell], grid.edge_starts[cell + 1]
    if first == last:
        return grid.names[min(areas)] if areas else None
    inside = set(areas)
    ref_lon = -180.0 + col * CELL_DEG + _OFFSET
    ref_lat = -90.0 + row * CELL_DEG + _OFFSET
    lat_lo, lat_hi = min(ref_lat, lat), max(ref_lat, lat)
    lon_lo, lon_hi = min(ref_lon, lon), max(ref_lon, lon)
    edges = grid.edges
    for i in range(first, last):
        x1, y1, x2, y2 = edges[4 * i : 4 * i + 4]
        crossings = 0
        if (x1 > ref_lon) != (x2 > ref_lon):  # along the reference point's meridian
            y = y1 + (ref_lon - x1) * (y2 - y1) / (x2 - x1)
            crossings += lat_lo < y <= lat_hi
        if (y1 > lat) != (y2 > lat):  # along the point's parallel
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            crossings += lon_lo < x <= lon_hi
        if crossings == 1:
            inside ^= {grid.edge_areas[i]}
    return grid.names[min(inside)] if inside else None


# -- building ----------------------------------------------------------------------------------------
def _ring_area(ring: Ring) -> float:
    """Area in square degrees, scaled by the cosine of latitude (enough to rank areas by size)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        total += (x2 - x1) * (y1 + y2) / 2 * math.cos(math.radians((y1 + y2) / 2))
    return abs(total)


def _crossing_lon(x1: float, y1: float, x2: float, y2: float, lat: float) -> float:
    return x1 + (lat - y1) * (x2 - x1) / (y2 - y1)


def build_grid(areas: Sequence[tuple[str, list[Ring]]]) -> SeaGrid:
    """The grid of the named areas (name, rings)."""
    ranked = sorted(areas, key=lambda area: sum(map(_ring_area, area[1])))
    edges: list[tuple[float, float, float, float, int]] = []
    for area_id, (_, rings) in enumerate(ranked):
        for ring in rings:
            edges += ((x1, y1, x2, y2, area_id) for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))

    # Reference points: per row, a scanline at their latitude gives each area's crossings east of each.
    by_row: list[list[int]] = [[] for _ in range(ROWS)]
    for k, (_, y1, _, y2, _) in enumerate(edges):
        for row in range(max(0, math.floor((min(y1, y2) + 90.0 - _OFFSET) / CELL_DEG)), min(ROWS - 1, math.floor((max(y1, y2) + 90.0 - _OFFSET) / CELL_DEG)) + 1):
            by_row[row].append(k)
    states: dict[tuple[int, ...], int] = {(): 0}
    cell_state = [0] * (ROWS * COLS)
    for row in range(ROWS):
        lat = -90.0 + row * CELL_DEG + _OFFSET
        crossings: dict[int, list[float]] = {}
        for k in by_row[row]:
            x1, y1, x2, y2, area_id = edges[k]
            if (y1 > lat) != (y2 > lat):
                crossings.setdefault(area_id, []).append(_crossing_lon(x1, y1, x2, y2, lat))
        if not crossings:
            continue
        # A closed ring crosses a parallel an even number of times: a point is inside an area
        # when its longitude lies between its 1st and 2nd crossing, 3rd and 4th, and so on.
        inside: list[list[int]] = [[] for _ in range(COLS)]
        for area_id in sorted(crossings):
            xs = sorted(crossings[area_id])
            for west, east in zip(xs[::2], xs[1::2], strict=True):
                first = max(0, math.ceil((west + 180.0 - _OFFSET) / CELL_DEG))
                last = min(COLS - 1, math.ceil((east + 180.0 - _OFFSET) / CELL_DEG) - 1)
                for col in range(first, last + 1):
                    inside[col].append(area_id)
        for col, members in enumerate(inside):
            cell_state[row * COLS + col] = states.setdefault(tuple(members), len(states))

    # The edges crossing each cell: per row band, the span of longitudes the edge covers in it.
    per_cell: dict[int, list[int]] = {}
    for k, (x1, y1, x2, y2, _) in enumerate(edges):
        for row in range(_cell(min(y1, y2), 0)[0], _cell(max(y1, y2), 0)[0] + 1):
            band_lo, band_hi = -90.0 + row * CELL_DEG, -90.0 + (row + 1) * CELL_DEG
            if y1 == y2:
                xa, xb = x1, x2
            else:
                xa, xb = (x1 + (min(max(y, min(y1, y2)), max(y1, y2)) - y1) * (x2 - x1) / (y2 - y1) for y in (band_lo, band_hi))
            for col in range(_cell(0, min(xa, xb))[1], _cell(0, max(xa, xb))[1] + 1):
                per_cell.setdefault(row * COLS + col, []).append(k)
    edge_starts, flat, edge_areas = [0], list[float](), list[int]()
    for cell in range(ROWS * COLS):
        for k in per_cell.get(cell, ()):
            x1, y1, x2, y2, area_id = edges[k]
            flat += (x1, y1, x2, y2)
            edge_areas.append(area_id)
        edge_starts.append(len(edge_areas))
    state_starts, state_items = [0], list[int]()
    for state in sorted(states, key=states.__getitem__):
        state_items += state
        state_starts.append(len(state_items))
    return SeaGrid([name for name, _ in ranked], cell_state, state_starts, state_items, edge_starts, flat, edge_areas)
