"""Main roads for the offline basemap, from the PyPI wheel `scgraph-data` (its world highway graph).

The wheel's `scgraph_data/world_highways.py` is a Python module of two literals: `graph=[{j: km,
...}, ...]` (node i's neighbours and the road's length to each) and `nodes=[[lat, lon], ...]` (to
0.001°). It is OpenStreetMap's main road network (© OpenStreetMap contributors, ODbL 1.0),
simplified to junctions and a few bends: each edge is drawn as a straight line, so a winding road
is approximate (for nine edges in ten the road is under 6% longer than the straight line). An edge
longer than ROUGH_KM (junctions far apart, where a straight line may stray kilometres from the
road: along a lake shore, over a pass) is a "rough" road, which the page draws dashed.

The module is read as text, never imported or evaluated (it would run the downloaded code, and
the literals take minutes and gigabytes through `ast`). Edges are then chained into long lines, so
a line's first point (written whole) is paid for once per line, not once per edge.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

MODULE = "scgraph_data/world_highways.py"
LICENCE = "scgraph_data-2.0.0.dist-info/LICENSE"
_NODE_MAP = re.compile(r"\{([^}]*)\}")  # one node's neighbours
_NEIGHBOUR = re.compile(r"(\d+)\s*:")

Edges = npt.NDArray[np.int64]  # (m, 2): node numbers, the smaller first
Nodes = npt.NDArray[np.float64]  # (n, 2): lon, lat
ROUGH_KM = 10.0
EARTH_KM = 6371.0


def parse_geograph(text: str) -> tuple[Nodes, Edges]:
    """The nodes (lon, lat) and undirected edges of the module's `graph=[...]` and `nodes=[...]`."""
    graph_at, nodes_at = text.find("graph="), text.find("nodes=")
    if graph_at < 0 or nodes_at < graph_at:
        raise ValueError("not a geograph module: no graph= then nodes=")
    maps = _NODE_MAP.findall(text, graph_at, nodes_at)
    nodes_text = text[text.index("[", nodes_at) : text.index("]]", nodes_at) + 2]
    numbers = np.array(nodes_text.replace("[", " ").replace("]", " ").split(","), dtype=np.float64)
    if len(numbers) != 2 * len(maps):
        raise ValueError(f"{len(maps)} nodes in graph=, {len(numbers) / 2:g} in nodes=")
    lat, lon = numbers[0::2], numbers[1::2]
    if not (np.all(np.abs(lat) <= 90) and np.all(np.abs(lon) <= 180)):
        raise ValueError("a node lies outside latitude ±90, longitude ±180")
    starts, ends = [], []
    for i, neighbours in enumerate(maps):
        for j in _NEIGHBOUR.findall(neighbours):
            if int(j) > i:
                starts.append(i)
                ends.append(int(j))
    edges = np.array([starts, ends], dtype=np.int64).T.reshape(-1, 2)
    if len(edges) and edges.max() >= len(maps):
        raise ValueError("an edge names a node that does not exist")
    return np.column_stack([lon, lat]), edges


def chains(edges: Edges, count: int) -> Iterator[list[int]]:
    """Each edge once, joined into as few runs of nodes as a greedy walk finds: a run goes on
    through a node by any edge not drawn yet (a road's junctions need not end a line)."""
    order = np.argsort(np.concatenate([edges[:, 0], edges[:, 1]]), kind="stable")
    other = np.concatenate([edges[:, 1], edges[:, 0]])[order]  # neighbours, grouped by node
    edge_of = np.concatenate([np.arange(len(edges))] * 2)[order]
    degree = np.bincount(edges.ravel(), minlength=count)
    first = np.concatenate([[0], np.cumsum(degree)])
    used = np.zeros(len(edges), dtype=bool)
    next_slot = first[:-1].copy()  # per node: its slots before this one are all used

    def unused_slot(node: int) -> int:
        slot = next_slot[node]
        while slot < first[node + 1] and used[edge_of[slot]]:
            slot += 1
        next_slot[node] = slot
        return int(slot) if slot < first[node + 1] else -1

    # From the odd nodes first: a walk then ends where one must (as in an Euler path).
    for node in np.concatenate([np.flatnonzero(degree % 2 == 1), np.flatnonzero(degree % 2 == 0)]):
        while (slot := unused_slot(int(node))) >= 0:
            run = [int(node)]
            while slot >= 0:
                used[edge_of[slot]] = True
                run.append(int(other[slot]))
                slot = unused_slot(run[-1])
            yield run


def chord_km(nodes: Nodes, edges: Edges) -> npt.NDArray[np.float64]:
    """Each edge's straight length (great circle), in km."""
    lon1, lat1 = np.radians(nodes[edges[:, 0]]).T
    lon2, lat2 = np.radians(nodes[edges[:, 1]]).T
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return np.asarray(2 * EARTH_KM * np.arcsin(np.sqrt(h)), dtype=np.float64)


def road_lines(wheel: zipfile.ZipFile) -> Iterator[tuple[str, npt.NDArray[np.float64]]]:
    """The main roads as ("roads" or "roads_rough", (k, 2) array of lon, lat); a line is cut where
    it would cross the antimeridian."""
    nodes, edges = parse_geograph(wheel.read(MODULE).decode("utf-8"))
    rough = chord_km(nodes, edges) > ROUGH_KM
    for kind, chosen in (("roads", edges[~rough]), ("roads_rough", edges[rough])):
        for run in chains(chosen, len(nodes)):
            points = nodes[run]
            jumps = np.flatnonzero(np.abs(np.diff(points[:, 0])) > 180) + 1
            for part in np.split(points, jumps) if len(jumps) else [points]:
                if len(part) > 1:
                    yield kind, part
