"""The basemap's main roads: scgraph-data's highway module read as text (never run), its edges
chained into lines, each edge drawn once, lines cut where they would cross the antimeridian, and
edges between far junctions set apart as rough."""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path

import numpy as np
import pytest

from viewer.basemap.roads import MODULE, chains, parse_geograph, road_lines


def module(graph: str, nodes: str) -> str:
    """A module written as scgraph-data writes its geographs."""
    return f"\nfrom scgraph.core import GeoGraph\ngraph={graph}\nnodes={nodes}\nworld_highways_geograph = GeoGraph(graph=graph, nodes=nodes)\n"


def drawn_edges(runs: list[list[int]]) -> list[tuple[int, ...]]:
    return sorted(tuple(sorted(pair)) for run in runs for pair in itertools.pairwise(run))


def test_nodes_come_as_lon_lat_and_each_edge_once():
    text = module("[{1: 1.233, 2: 0.852}, {0: 1.233}, {0: 0.852}]", "[[46.38, 14.149], [46.393, 14.135], [-45.03, 168.661]]")
    nodes, edges = parse_geograph(text)
    assert nodes.tolist() == [[14.149, 46.38], [14.135, 46.393], [168.661, -45.03]]
    assert edges.tolist() == [[0, 1], [0, 2]]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("print('hello')", "not a geograph"),
        (module("[{1: 1.0}, {0: 1.0}]", "[[1.0, 2.0]]"), "2 nodes in graph=, 1 in nodes="),
        (module("[{1: 1.0}, {0: 1.0}]", "[[1.0, 2.0], [91.0, 2.0]]"), "outside"),
        (module("[{5: 1.0}, {}]", "[[1.0, 2.0], [1.0, 3.0]]"), "does not exist"),
    ],
)
def test_a_module_that_is_not_a_geograph_is_refused_with_a_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_geograph(text)


def test_a_road_through_bends_and_a_junction_becomes_few_lines_with_every_edge_once():
    # 0-1-2-3-4 a road; 2-5 a branch at the junction 2; 6-7-8-6 a ring of bends
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [2, 5], [6, 7], [7, 8], [6, 8]])
    runs = list(chains(edges, 9))
    assert drawn_edges(runs) == sorted(map(tuple, edges.tolist()))
    assert len(runs) == 3  # the road with its branch walked on as far as it goes, the rest, the ring
    ring = next(r for r in runs if set(r) == {6, 7, 8})
    assert ring[0] == ring[-1]  # closed


def test_a_line_across_the_antimeridian_is_cut_there(tmp_path: Path):
    wheel = tmp_path / "scgraph_data-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(MODULE, module("[{1: 1.0}, {0: 1.0, 2: 1.0}, {1: 1.0, 3: 1.0}, {2: 1.0}]",
                                  "[[-17.0, 179.9], [-17.0, 179.96], [-17.0, -179.98], [-17.0, -179.92]]"))
    with zipfile.ZipFile(wheel) as z:
        lines = list(road_lines(z))
    assert [(kind, line[:, 0].tolist()) for kind, line in lines] == [("roads", [179.9, 179.96]), ("roads", [-179.98, -179.92])]


def test_an_edge_between_far_junctions_is_a_rough_road(tmp_path: Path):
    wheel = tmp_path / "scgraph_data-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:  # 0-1: 1.1 km; 1-2: 33 km
        z.writestr(MODULE, module("[{1: 1.2}, {0: 1.2, 2: 36.0}, {1: 36.0}]", "[[46.0, 14.0], [46.01, 14.0], [46.31, 14.0]]"))
    with zipfile.ZipFile(wheel) as z:
        assert [(kind, line[:, 1].tolist()) for kind, line in road_lines(z)] == [("roads", [46.0, 46.01]), ("roads_rough", [46.01, 46.31])]
