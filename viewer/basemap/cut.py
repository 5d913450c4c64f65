"""Cutting shapes into the basemap's cells: pure functions on (n, 2) arrays of lon, lat.

A polygon ring is clipped to a cell with Sutherland-Hodgman (vectorised over the ring's edges: a
coastline ring has up to 140,000 points). The cut leaves edges along the cell's border; the page
fills the ring and strokes only the edges that are not on the border, so cells join seamlessly.
A line keeps the segments that touch the cell, split into runs: it may reach one segment into the
next cell, where the same segment is drawn again. No library here does both on plain arrays
(shapely would be a 20 MB dependency for two functions).

Coordinates are then snapped to the level's grid and written as integers, the first point whole
and the rest as differences: a point costs a few characters of JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float


def _clip_edge(ring: Points, axis: int, limit: float, keep_above: bool) -> Points:
    """One Sutherland-Hodgman pass: the ring's part on one side of the line `coordinate[axis] = limit`."""
    if len(ring) == 0:
        return ring
    here = ring
    after = np.roll(ring, -1, axis=0)  # the edge i runs from here[i] to after[i] (the ring is closed)
    inside_here = here[:, axis] >= limit if keep_above else here[:, axis] <= limit
    inside_after = after[:, axis] >= limit if keep_above else after[:, axis] <= limit
    crossing = inside_here != inside_after
    # Each edge gives: its crossing point (if it crosses), then its end point (if that is inside).
    counts = crossing.astype(np.int64) + inside_after
    ends = np.cumsum(counts)
    starts = ends - counts
    out = np.empty((int(ends[-1]) if len(ends) else 0, 2))
    if crossing.any():
        a, b = here[crossing], after[crossing]
        t = (limit - a[:, axis]) / (b[:, axis] - a[:, axis])
        points = a + (b - a) * t[:, None]
        points[:, axis] = limit  # exactly on the border: the page recognises the cut edges by it
        out[starts[crossing]] = points
    out[starts[inside_after] + crossing[inside_after]] = after[inside_after]
    return out


def clip_ring(ring: Points, box: Box) -> Points:
    """The part of a closed ring inside the box (a ring, possibly with edges along the border)."""
    for axis, limit, keep_above in ((0, box.west, True), (0, box.east, False), (1, box.south, True), (1, box.north, False)):
        ring = _clip_edge(ring, axis, limit, keep_above)
    return ring


def clip_line(line: Points, box: Box) -> list[Points]:
    """The runs of a line's segments that touch the box, each with both its end points."""
    if len(line) < 2:
        return []
    a, b = line[:-1], line[1:]
    touches = (
        (np.maximum(a[:, 0], b[:, 0]) >= box.west) & (np.minimum(a[:, 0], b[:, 0]) <= box.east)
        & (np.maximum(a[:, 1], b[:, 1]) >= box.south) & (np.minimum(a[:, 1], b[:, 1]) <= box.north)
    )
    if not touches.any():
        return []
    flags = np.concatenate(([False], touches, [False]))
    starts = np.flatnonzero(flags[1:] & ~flags[:-1])  # first segment of each run
    ends = np.flatnonzero(flags[:-1] & ~flags[1:])  # one past its last segment
    return [line[s : e + 1] for s, e in zip(starts, ends, strict=True)]


def encode(points: Points, scale: float, closed: bool) -> list[int]:
    """Snap to a grid of 1/scale degree, drop repeated points, write as [x, y, dx, dy, ...].
    Empty when too little is left to draw (a ring under 3 points, a line under 2)."""
    grid = np.round(points * scale).astype(np.int64)
    if len(grid) > 1:
        keep = np.ones(len(grid), dtype=bool)
        keep[1:] = (grid[1:] != grid[:-1]).any(axis=1)
        grid = grid[keep]
    if closed and len(grid) > 1 and (grid[0] == grid[-1]).all():
        grid = grid[:-1]
    if len(grid) < (3 if closed else 2):
        return []
    deltas = grid.copy()
    deltas[1:] -= grid[:-1]
    return [int(v) for v in deltas.ravel().tolist()]
