"""The nearest place to any point on Earth: a k-d tree over unit vectors, in flat arrays.

Why this and not growing boxes of latitude and longitude: on unit vectors the straight-line
(chord) distance orders places exactly as the great circle does, so one Euclidean tree is right
at the poles and across the antimeridian with no special case, and the search costs a few dozen
node visits whether the nearest town is 1 km away or 3,000 (the open ocean, Antarctica). Measured
on 155k GeoNames places, pure Python: ~40 µs a point spread over the globe, against ~6 ms for
the boxes of 10, 40, 160, 640 km scanned linearly that it replaces. A per-cell table of
candidates (a Voronoi quadtree) answered in ~5 µs but took 30 s and 10 MB to build; a grid
searched ring by ring visits thousands of empty cells at sea.

Layout (built by `build_tree`, read in place from the memory-mapped index): the places are
stored in tree order, `xyz` holds their unit vectors (3 doubles each), and `boxes` the bounding
box of each node (6 doubles: min x, y, z, max x, y, z), nodes numbered as in a heap (children of
k: 2k+1, 2k+2). Node k covers a contiguous range of places, split at its middle ((lo+hi) // 2)
along the axis where its box is widest, down to leaves of at most `LEAF` places. Nothing else is
stored: ranges follow from the numbering.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

LEAF = 8
EARTH_RADIUS_KM = 6371.0088


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    la, lo = math.radians(lat), math.radians(lon)
    return math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)


def chord_to_km(chord: float) -> float:
    """Great-circle distance of two unit vectors `chord` apart."""
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, chord / 2))


def build_tree(vectors: Sequence[tuple[float, float, float]]) -> tuple[list[int], list[float]]:
    """The tree order of the places (position -> index into `vectors`) and the node boxes, flat.

    Pure Python (~1 s for 155k places), so that building the index never needs numpy: each node
    is split along the widest axis of a sample of its places, and the boxes are made bottom up."""
    order = list(range(len(vectors)))
    axes = [[v[a] for v in vectors] for a in range(3)]
    ranges: dict[int, tuple[int, int]] = {}
    pending = [(0, 0, len(order))]
    while pending:
        node, lo, hi = pending.pop()
        ranges[node] = (lo, hi)
        if hi - lo <= LEAF:
            continue
        sample = order[lo:hi:max(1, (hi - lo) // 64)]
        widest = max(axes, key=lambda axis: max(map(axis.__getitem__, sample)) - min(map(axis.__getitem__, sample)))
        order[lo:hi] = sorted(order[lo:hi], key=widest.__getitem__)
        mid = (lo + hi) // 2
        pending += [(2 * node + 1, lo, mid), (2 * node + 2, mid, hi)]
    flat = [0.0] * (6 * (max(ranges) + 1))
    for node in sorted(ranges, reverse=True):  # children before their parent
        lo, hi = ranges[node]
        if hi - lo <= LEAF:
            members = order[lo:hi]
            box = [min(map(axis.__getitem__, members)) for axis in axes] + [max(map(axis.__getitem__, members)) for axis in axes]
        else:
            left, right = flat[12 * node + 6 : 12 * node + 12], flat[12 * node + 12 : 12 * node + 18]
            box = [min(left[a], right[a]) for a in range(3)] + [max(left[a], right[a]) for a in range(3, 6)]
        flat[6 * node : 6 * node + 6] = box
    return order, flat


def nearest(xyz: Sequence[float], boxes: Sequence[float], count: int, lat: float, lon: float, within_km: float = math.inf) -> tuple[int, float]:
    """The position (in tree order) of the place nearest (lat, lon), and its distance in km;
    (-1, inf) when none is within `within_km`.

    Depth first, the nearer child first; a node is skipped when its box is no nearer than the
    best place found so far (or than `within_km`), which bounds the search to the nodes around
    the answer: a search that finds nothing near is the cheapest."""
    qx, qy, qz = unit_vector(lat, lon)
    best, best_d = -1, 9.0  # squared chords are at most 4
    if within_km < math.pi * EARTH_RADIUS_KM:
        best_d = (2 * math.sin(within_km / (2 * EARTH_RADIUS_KM))) ** 2 * (1 + 1e-12)
    stack = [(0, 0, count, 0.0)]  # node, its range of places, the squared distance to its box
    pop, push = stack.pop, stack.append
    while stack:
        node, lo, hi, bound = pop()
        if bound >= best_d:
            continue
        while hi - lo > LEAF:  # down to a leaf, the far child left for later
            mid = (lo + hi) // 2
            left = 2 * node + 1
            x0, y0, z0, x1, y1, z1 = boxes[6 * left : 6 * left + 6]
            dx = x0 - qx if qx < x0 else (qx - x1 if qx > x1 else 0.0)
            dy = y0 - qy if qy < y0 else (qy - y1 if qy > y1 else 0.0)
            dz = z0 - qz if qz < z0 else (qz - z1 if qz > z1 else 0.0)
            to_left = dx * dx + dy * dy + dz * dz
            x0, y0, z0, x1, y1, z1 = boxes[6 * left + 6 : 6 * left + 12]
            dx = x0 - qx if qx < x0 else (qx - x1 if qx > x1 else 0.0)
            dy = y0 - qy if qy < y0 else (qy - y1 if qy > y1 else 0.0)
            dz = z0 - qz if qz < z0 else (qz - z1 if qz > z1 else 0.0)
            to_right = dx * dx + dy * dy + dz * dz
            if to_left <= to_right:
                if to_right < best_d:
                    push((left + 1, mid, hi, to_right))
                if to_left >= best_d:
                    break
                node, hi = left, mid
            else:
                if to_left < best_d:
                    push((left, lo, mid, to_left))
                if to_right >= best_d:
                    break
                node, lo = left + 1, mid
        else:
            at = lo
            for x, y, z in zip(xyz[3 * lo : 3 * hi : 3], xyz[3 * lo + 1 : 3 * hi : 3], xyz[3 * lo + 2 : 3 * hi : 3], strict=True):
                d = (x - qx) * (x - qx) + (y - qy) * (y - qy) + (z - qz) * (z - qz)
                if d < best_d:
                    best, best_d = at, d
                at += 1
    return (best, chord_to_km(math.sqrt(best_d))) if best >= 0 else (-1, math.inf)
