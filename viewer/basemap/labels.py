"""The names the basemap draws: countries, regions and towns in a view, from our GeoNames gazetteer.

Made once from the gazetteer (its 155,000 places read as numpy columns) and kept as arrays: 16 bytes a place,
names looked up only for the few sent. A country's or region's label stands at the population-
weighted centre of its places. Which labels a view gets depends on its zoom: countries far out,
then regions, then towns down to the smallest; at most `limit`, the most populous first (the page
drops those that would overlap a bigger one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geolocator.locate.places import Gazetteer
from geolocator.locate.places.index import RECORD


@dataclass(frozen=True)
class Label:
    name: str
    lat: float
    lon: float
    kind: str  # "country", "region" or "town"
    population: int

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "lat": round(self.lat, 5), "lon": round(self.lon, 5), "kind": self.kind, "population": self.population}


AREA_WEIGHT = {"country": 3.0, "region": 1 / 3}


@dataclass(frozen=True)
class View:
    west: float
    south: float
    east: float
    north: float
    zoom: int


def town_floor(zoom: int) -> int | None:
    """The smallest population a town needs to be named at a zoom; None: no towns yet."""
    if zoom <= 3:
        return None
    return int(10 ** max(0.0, 6.5 - 0.5 * (zoom - 4)))  # 3.2M at zoom 4 ... 1,000 at zoom 11, all from 12


def within_longitudes(lon: npt.NDArray[np.float32], west: float, east: float) -> npt.NDArray[np.bool_]:
    """Longitudes inside [west, east], a range that may run past ±180 (a view across the antimeridian)."""
    if east - west >= 360:
        return np.ones(len(lon), dtype=bool)
    start = (west + 180) % 360 - 180
    span = east - west
    return ((lon - start) % 360) <= span


# The place index's RECORD ("=ddfIIII2sBx": lat, lon, reach, population, name, region and county
# offsets, country code, kind, a pad byte) as numpy columns: all places read at once, not one by one.
COLUMNS = np.dtype([
    ("lat", "=f8"), ("lon", "=f8"), ("reach", "=f4"), ("population", "=u4"), ("name", "=u4"), ("region", "=u4"),
    ("county", "=u4"), ("code", "S2"), ("kind", "u1"), ("pad", "V1"),
])
if COLUMNS.itemsize != RECORD.size:  # the index format changed: say so at import, not with wrong labels
    raise ImportError(f"viewer.basemap.labels reads {COLUMNS.itemsize}-byte places, the index has {RECORD.size}")


class LabelIndex:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        places = np.frombuffer(gazetteer.records(), dtype=COLUMNS, count=len(gazetteer))
        self.lat = places["lat"].astype(np.float32)
        self.lon = places["lon"].astype(np.float32)
        self.population = places["population"].astype(np.int64)
        codes, country_of = np.unique(places["code"], return_inverse=True)
        # Areas: each country, and each (country, region) pair; a region offset of "" is no region.
        area_keys, area_of = np.unique(country_of.astype(np.int64) << 32 | places["region"], return_inverse=True)
        weight = np.maximum(self.population, 1).astype(np.float64)
        self.areas = [
            *self._centres(country_of, places, weight, [(self._country_name(code), "country") for code in codes]),
            *self._centres(area_of, places, weight, [(gazetteer.text(int(key) & 0xFFFFFFFF), "region") for key in area_keys]),
        ]

    def _country_name(self, code: bytes) -> str:
        text = code.decode("ascii")
        return self.gazetteer.country_names.get(text, text)

    @staticmethod
    def _centres(
        group_of: npt.NDArray[np.intp], places: npt.NDArray[np.void], weight: npt.NDArray[np.float64], names: list[tuple[str, str]],
    ) -> list[Label]:
        """Each named group's label at the population-weighted centre of its places."""
        weights = np.bincount(group_of, weights=weight).astype(np.float64)
        lat = np.bincount(group_of, weights=places["lat"] * weight) / weights
        lon = np.bincount(group_of, weights=places["lon"] * weight) / weights
        return [Label(name, float(lat[g]), float(lon[g]), kind, int(weights[g])) for g, (name, kind) in enumerate(names) if name]

    def labels(self, view: View, limit: int) -> list[Label]:
        """The view's labels, most important first: a country counts as thrice its people, a
        region as a third of its people (named from zoom 5 to 8), a town as its people."""
        scored = [(AREA_WEIGHT[a.kind] * a.population, a) for a in self.areas if self._shows(view, a)]
        floor = town_floor(view.zoom)
        if floor is not None:
            mask = (self.lat >= view.south) & (self.lat <= view.north) & within_longitudes(self.lon, view.west, view.east)
            found = np.flatnonzero(mask & (self.population >= floor))
            if len(found) > limit:
                found = found[np.argpartition(-self.population[found], limit - 1)[:limit]]
            for i in found:
                place = self.gazetteer.place(int(i))
                scored.append((float(place.population), Label(place.city, place.lat, place.lon, "town", place.population)))
        scored.sort(key=lambda pair: -pair[0])
        return [label for _, label in scored[:limit]]

    def _shows(self, view: View, area: Label) -> bool:
        wanted = view.zoom <= 6 if area.kind == "country" else 5 <= view.zoom <= 8
        return wanted and self._inside(view, area.lat, area.lon)

    @staticmethod
    def _inside(view: View, lat: float, lon: float) -> bool:
        return view.south <= lat <= view.north and bool(within_longitudes(np.array([lon], dtype=np.float32), view.west, view.east)[0])


def parse_view(bbox: str, zoom: str) -> View:
    """`bbox` "west,south,east,north" in degrees and an integer zoom 0-22; ValueError otherwise."""
    parts = [float(p) for p in bbox.split(",")]
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise ValueError("bbox is west,south,east,north")
    west, south, east, north = parts
    z = int(zoom)
    if not (0 <= z <= 22 and -90 <= south <= north <= 90 and -540 <= west <= east <= 540):
        raise ValueError("bbox or zoom out of range")
    return View(west, south, east, north, z)
