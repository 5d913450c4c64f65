"""The names the basemap draws: countries, regions and towns in a view, from our GeoNames gazetteer.

Made once from the gazetteer (1.5 s for its 155,000 places) and kept as arrays: 16 bytes a place,
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


class LabelIndex:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        count = len(gazetteer)
        self.lat = np.empty(count, dtype=np.float32)
        self.lon = np.empty(count, dtype=np.float32)
        self.population = np.empty(count, dtype=np.int64)
        sums: dict[tuple[str, str | None], list[float]] = {}  # (country, region or None) -> weight, Σlat·w, Σlon·w
        for i in range(count):
            place = gazetteer.place(i)
            self.lat[i], self.lon[i], self.population[i] = place.lat, place.lon, place.population
            weight = max(place.population, 1)
            for key in [(place.country, None)] + ([(place.country, place.region)] if place.region else []):
                acc = sums.setdefault(key, [0.0, 0.0, 0.0])
                acc[0] += weight
                acc[1] += place.lat * weight
                acc[2] += place.lon * weight
        self.areas = [
            Label(region or country, acc[1] / acc[0], acc[2] / acc[0], "region" if region else "country", int(acc[0]))
            for (country, region), acc in sums.items()
        ]

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
