"""Offline place names: reverse and forward lookups against the GeoNames data, and the index file."""

import functools
import gzip
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geolocator.locate import places
from geolocator.locate.places import kdtree, seas
from geolocator.locate.places.build import _read_seas
from geolocator.locate.places.cache import ensure_index, index_path
from geolocator.locate.places.index import Candidate, Choice, Kind, Member, Sources, belongs, choose, section_reach_km, town_reach_km

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("lat", "lon", "city", "country"),
    [
        # The four from the issue: a smaller place's centre is nearer than the city's.
        (48.8584, 2.2945, "Paris", "France"),  # Eiffel Tower (not Neuilly-sur-Seine)
        (51.5055, -0.0754, "London", "United Kingdom"),  # Tower Bridge (not Whitechapel)
        (-33.8568, 151.2153, "Sydney", "Australia"),  # Sydney Opera House (not The Rocks)
        (41.4036, 2.1744, "Barcelona", "Spain"),  # Sagrada Família
        # Other continents
        (40.6892, -74.0445, "New York City", "United States"),  # Statue of Liberty
        (41.8902, 12.4922, "Rome", "Italy"),  # Colosseum
        (52.5163, 13.3777, "Berlin", "Germany"),  # Brandenburg Gate
        (35.6595, 139.7005, "Tokyo", "Japan"),  # Shibuya crossing
        (27.1751, 78.0421, "Agra", "India"),  # Taj Mahal
        (-33.9628, 18.4098, "Cape Town", "South Africa"),  # Table Mountain's cableway
        (-22.9519, -43.2105, "Rio de Janeiro", "Brazil"),  # Christ the Redeemer
        (43.6426, -79.3871, "Toronto", "Canada"),  # CN Tower
        # Found by the independent check (bench/independent/places.py): a neighbourhood GeoNames
        # lists as a place, or a town across the water, was taken as the city.
        (37.8078, -122.4750, "San Francisco", "United States"),  # Golden Gate Bridge toll plaza (not Sausalito)
        (25.1972, 55.2744, "Dubai", "United Arab Emirates"),  # Burj Khalifa (not Business Bay)
        (40.7580, -73.9855, "New York City", "United States"),  # Times Square (not "Times Square")
        (40.7740, -73.9708, "New York City", "United States"),  # Bethesda Fountain, Central Park (not Manhattan)
        (38.6916, -9.2160, "Lisbon", "Portugal"),  # Belém Tower (not the parish of Ajuda)
    ],
)
def test_famous_places_name_the_city_they_are_in(lat, lon, city, country):
    name = places.name(lat, lon)
    assert name.city == city, name
    assert name.country == country
    label = places.describe(lat, lon)
    assert label == name.label
    assert f", {city}," in f", {label},"
    assert label.endswith(country)


def test_a_town_of_its_own_keeps_its_name_next_to_a_big_city():
    # The centres of Neuilly-sur-Seine and Versailles are within Paris' reach but are their own towns.
    assert places.name(48.8846, 2.2697).city == "Neuilly-sur-Seine"
    assert places.name(48.8049, 2.1204).city == "Versailles"


def test_a_neighbourhood_is_named_only_when_near_enough():
    times_square = places.name(40.7580, -73.9855)
    assert (times_square.neighbourhood, times_square.city) == ("Times Square", "New York City")
    assert times_square.label == "Times Square, New York City, New York, United States"
    burj = places.name(25.1972, 55.2744)
    assert (burj.neighbourhood, burj.city, burj.country_code) == ("Business Bay", "Dubai", "AE")
    # Bethesda Fountain: Hell's Kitchen's centre is 2 km away, across the park's edge.
    bethesda = places.name(40.7740, -73.9708)
    assert bethesda.city == "New York City" and bethesda.neighbourhood != "Hell's Kitchen"
    # The Statue of Liberty is 8 km from Brooklyn's centre, within the borough's reach: no neighbourhood.
    assert places.name(40.6892, -74.0445).label == "New York City, New York, United States"
    assert places.name(37.8078, -122.4750).label == "San Francisco, California, United States"
    # Numbered sections lose their city's name, other names stay whole.
    assert places.section_name("Paris 04 Hôtel-de-Ville", "Paris") == "Hôtel-de-Ville"
    assert places.section_name("Ballarat East", "Ballarat") == "Ballarat East"


def test_label_holds_neighbourhood_city_region_country():
    name = places.name(41.4036, 2.1744)  # Sagrada Família, a section (PPLX) of Barcelona
    assert (name.neighbourhood, name.city, name.region, name.country_code) == ("Sagrada Família", "Barcelona", "Catalonia", "ES")
    assert name.label == "Sagrada Família, Barcelona, Catalonia, Spain"
    # No neighbourhood known: three parts, and a region named like its city is said once.
    rural = places.name(45.0, 5.0)
    assert rural.neighbourhood is None and len(rural.label.split(", ")) == 3
    assert places.name(35.6595, 139.7005).label.endswith("Tokyo, Japan")


def test_the_rule_a_big_city_beats_a_nearer_small_town_within_its_reach():
    paris = Candidate(0, Kind.CAPITAL, 4.0, town_reach_km(2_138_551), 0)
    neuilly = Candidate(1, Kind.TOWN, 0.3, town_reach_km(61_300), 1)
    far_neuilly = Candidate(1, Kind.TOWN, 3.4, town_reach_km(61_300), 1)

    def never() -> Candidate:
        raise AssertionError("the nearest place is asked for only when no town claims the point")

    assert choose([paris, far_neuilly], never).city == 0
    assert choose([paris, neuilly], never).city == 1  # well inside Neuilly, a town of its own: Neuilly
    section = Candidate(2, Kind.SECTION, 0.5, section_reach_km(15_000), 0)
    elsewhere = Candidate(3, Kind.SECTION, 0.2, section_reach_km(15_000), 3)  # a section of no city here
    assert choose([paris, section, elsewhere], never) == Choice(0, 2)
    # Nobody claims the point: the nearest place, without a neighbourhood.
    nearest = Candidate(7, Kind.TOWN, 12.0, 0.5, 7)
    assert choose([section], lambda: nearest) == Choice(7, None)


def test_the_rule_a_neighbourhood_is_never_the_city():
    """Times Square and Business Bay are GeoNames places (PPL) whose centres are nearer than
    their city's: the place the point is in is a part of the city, and names the neighbourhood
    only when near enough."""
    nyc = Candidate(0, Kind.TOWN, 5.6, town_reach_km(8_804_190), 0)
    times_square = Candidate(1, Kind.TOWN, 0.2, town_reach_km(17_749), 0)
    hells_kitchen = Candidate(2, Kind.SECTION, 0.9, section_reach_km(45_884), 0)
    assert choose([nyc, times_square, hells_kitchen], lambda: nyc) == Choice(0, 1)
    # Nearer than its reach but further than a neighbourhood can be: no neighbourhood.
    brooklyn = Candidate(3, Kind.SEAT, 8.0, town_reach_km(2_736_074), 0)
    assert choose([nyc, brooklyn], lambda: nyc) == Choice(0, None)
    # Nothing claims the point (Belém Tower, on the river): the nearest place is a parish of Lisbon.
    ajuda = Candidate(4, Kind.TOWN, 1.19, town_reach_km(14_306), 5)
    assert choose([], lambda: ajuda) == Choice(5, None)


def test_the_part_of_rule():
    def member(kind: Kind, population: int, name: str, county: str) -> Member:
        return Member(kind, population, name, county)

    nyc = member(Kind.TOWN, 8_804_190, "New York City", "")
    home = frozenset({"New York County", "Kings County"})
    assert belongs(member(Kind.TOWN, 17_749, "Times Square", "New York County"), nyc, 4.9, home)
    assert belongs(member(Kind.SEAT, 1_487_536, "Manhattan", "New York County"), nyc, 7.9, home)  # a borough: its county is the city's
    assert not belongs(member(Kind.TOWN, 17_749, "Times Square", "New York County"), nyc, 30.0, home)  # beyond the reach
    assert not belongs(member(Kind.TOWN, 14_104, "Weehawken", "Hudson County"), nyc, 4.0, home)  # another county
    paris = member(Kind.CAPITAL, 2_138_551, "Paris", "")
    assert not belongs(member(Kind.TOWN, 61_300, "Neuilly-sur-Seine", "Hauts-de-Seine"), paris, 7.5, frozenset({"Paris"}))
    assert belongs(member(Kind.TOWN, 17_708, "Salpêtrière", "Paris"), paris, 1.9, frozenset({"Paris"}))
    # A county holds many towns: only its sections are parts of its city.
    la = member(Kind.SEAT, 3_820_914, "Los Angeles", "Los Angeles County")
    assert not belongs(member(Kind.TOWN, 34_869, "Beverly Hills", "Los Angeles County"), la, 12.0, frozenset())
    assert belongs(member(Kind.SECTION, 34_000, "Hollywood", "Los Angeles County"), la, 8.0, frozenset())
    # In the municipality named after the city, twice as far as its reach.
    lisbon = member(Kind.CAPITAL, 517_802, "Lisbon", "")
    assert town_reach_km(517_802) < 6.5 < 2 * town_reach_km(517_802)
    assert belongs(member(Kind.TOWN, 14_306, "Ajuda", "Lisbon"), lisbon, 6.5, frozenset({"Lisbon"}))
    # No admin2 in the city's core: the reach decides (Dubai's sectors).
    dubai = member(Kind.CAPITAL, 3_790_000, "Dubai", "")
    assert belongs(member(Kind.TOWN, 191_000, "Business Bay", "Sector 3"), dubai, 12.65, frozenset())
    # Never a part: a capital, a place half the city's size or more, a seat of a division the city does not span.
    assert not belongs(member(Kind.CAPITAL, 100_000, "Capital", ""), dubai, 5.0, frozenset())
    assert not belongs(member(Kind.TOWN, 2_000_000, "Twin", ""), dubai, 5.0, frozenset())
    assert not belongs(member(Kind.SEAT, 100_000, "Seat", "Elsewhere County"), nyc, 5.0, home)
    assert not belongs(member(Kind.SEAT, 100_000, "Seat", "Sector 3"), dubai, 5.0, frozenset())


def test_reach_grows_with_population():
    assert town_reach_km(1_000) < 0.5 < town_reach_km(100_000) < 5 < town_reach_km(2_000_000) < town_reach_km(9_000_000) <= 25
    assert section_reach_km(0) == 1.0 and section_reach_km(10**8) == 3.0


def test_nearest_is_right_across_the_antimeridian():
    # Just east of 180°: the nearest town is in Chukotka (Russia), west of the line, not in
    # a place whose longitude is numerically close.
    place = places.gazetteer().nearest(65.0, 179.99)
    assert place.country_code == "RU"
    assert places.haversine_km(65.0, 179.99, place.lat, place.lon) < 300
    # Fiji straddles the line: a point at -179.9 must find a Fijian place.
    assert places.gazetteer().nearest(-16.8, -179.9).country_code == "FJ"


def test_find_prefers_the_most_specific_level():
    g = places.gazetteer()
    paris = g.find(country="France", city="Paris")
    assert paris.level == "city" and paris.country_code == "FR"
    assert places.haversine_km(paris.lat, paris.lon, 48.8566, 2.3522) < 5
    region = g.find(country="USA", region="California")
    assert region.level == "region" and region.country_code == "US"
    assert 100 < region.radius_km < 1500
    country = g.find(country="Japan")
    assert country.level == "country" and country.country_code == "JP"
    assert country.radius_km > region.radius_km / 2


def test_find_uses_the_named_country_to_pick_among_homonyms():
    g = places.gazetteer()
    assert g.find(country="Canada", city="London").country_code == "CA"
    assert g.find(country="United Kingdom", city="London").country_code == "GB"
    # A city the country does not have falls back to the country level.
    assert g.find(country="Japan", city="Springfield").level == "country"


def test_find_unknown_names_resolve_to_nothing():
    g = places.gazetteer()
    assert g.find(country="Narnia") is None
    assert g.find() is None


def test_country_names_are_matched_loosely():
    g = places.gazetteer()
    for name in ("United States", "USA", "u.s.a.", "United States of America"):
        assert g.country_code(name) == "US", name
    assert g.country_code("ivory coast") == "CI"
    assert g.country_code("") is None


def test_regions_are_found_without_their_administrative_suffix():
    g = places.gazetteer()
    cuzco = g.find(country="Peru", region="Cuzco")
    assert cuzco.level == "region" and "Cuzco" in cuzco.label
    assert g.find(country="Peru", region="Cuzco Department") == cuzco
    assert g.find(country="Japan", region="Kyoto Prefecture").level == "region"
    # A region the model names by its main town's spelling is that town's region, not the whole country.
    assert g.find(country="Peru", region="Cusco") == cuzco
    assert g.find(country="Peru", region="Atlantis") == g.find(country="Peru")
    # Springfield, Illinois rather than the larger Springfield, Missouri.
    springfield = g.find(country="USA", region="Illinois", city="Springfield")
    assert springfield.level == "city" and "Illinois" in springfield.label


def _checkout(folder: Path, cities_rows: list[dict[str, object]] | None = None) -> Sources:
    """A copy of the installed sources in `folder`, as another checkout of the same data has them
    (other paths, other modification times); `cities_rows` replaces the GeoNames rows."""
    installed = Sources.installed()
    folder.mkdir()
    paths = {}
    for name in ("cities", "countries", "features", "seas"):
        source = getattr(installed, name)
        paths[name] = folder / source.name
        shutil.copyfile(source, paths[name])
    if cities_rows is not None:
        with gzip.open(paths["cities"], "wt", encoding="utf-8") as fh:
            json.dump(cities_rows, fh)
    return Sources(**paths)


def test_checkouts_share_one_index_keyed_by_content_and_none_is_deleted(tmp_path):
    """Two checkouts of the same data share one index (its name is a hash of the contents, not
    of paths or times), whichever comes first; new data builds a new index beside the old one,
    which stays for whoever uses it. (The build from scratch by a new process is the next test.)"""
    cache = tmp_path / "cache"
    (cache / "places").mkdir(parents=True)
    shared = places.gazetteer().path  # built by the set-up from these bytes: named as a build here names it
    shutil.copyfile(shared, cache / "places" / shared.name)
    first = _checkout(tmp_path / "one")
    built = ensure_index(first, cache)
    assert built.name == shared.name
    before = built.stat()
    g = places.Gazetteer(first, cache)
    assert g.path == built and len(g) > 150_000
    assert g.name(-60.0, -30.0).label == "South Atlantic Ocean"  # nothing near, and no Testville yet

    second = _checkout(tmp_path / "two")  # same bytes, other paths and times
    assert first.stat_key() != second.stat_key()
    assert ensure_index(second, cache) == built
    assert (built.stat().st_ino, built.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "the index was rebuilt"

    # Other GeoNames rows in a third checkout (Portugal's only, to build quickly) and one more
    # town, in the middle of the ocean.
    with gzip.open(first.cities) as fh:
        rows = [row for row in json.loads(fh.read()) if row["country_code"] == "PT"]
    rows.append({"country_code": "GS", "city": "Testville", "latitude": -60.0, "longitude": -30.0, "population": 5000, "state": "Test Region"})
    third = _checkout(tmp_path / "three", rows)
    g3 = places.Gazetteer(third, cache)
    assert g3.path != built and len(g3) == len(rows)
    assert g3.name(-60.0, -30.01).label == "Testville, Test Region, South Georgia and the South Sandwich Islands"
    assert sorted(p.name for p in (cache / "places").glob("*.idx")) == sorted([built.name, g3.path.name])  # the other index is still there
    assert g.name(48.8584, 2.2945).city == "Paris"  # and the index already open keeps working
    assert places.Gazetteer(second, cache).path == built


@pytest.mark.slow
def test_the_set_up_builds_the_index_without_numpy_and_a_new_process_only_opens_it(tmp_path):
    """`python -m geolocator.locate.places.cache` (the Makefile's set-up step) builds it, in pure
    Python; afterwards opening costs a mapping, not a build (bench/locate_speed.py measures the
    time). A cache of its own: other installs sharing ~/.cache/geolocator may add theirs meanwhile."""
    env = {**os.environ, "GEOLOCATOR_CACHE": str(tmp_path)}
    code = "import sys, runpy; runpy.run_module('geolocator.locate.places.cache', run_name='__main__'); print('numpy' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    built = index_path(Sources.installed(), tmp_path)
    before = built.stat()
    code = (
        "import sys; from geolocator.locate import places; label = places.describe(48.8584, 2.2945);"
        " print(places.gazetteer().path, label, 'numpy' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == str(built), "the new process opened another index"
    assert (built.stat().st_ino, built.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "the index was rebuilt"
    assert " ".join(out[1:-2]) == "Paris, Île-de-France, France"
    assert out[-2:] == ["False", "False"]


# -- away from towns ----------------------------------------------------------------------------
@functools.cache
def _every_place_in_radians() -> tuple[np.ndarray, np.ndarray]:
    g = places.gazetteer()
    points = np.array([g._index.record(i)[:2] for i in range(len(g))], dtype=np.float64)
    return np.radians(points[:, 0]), np.radians(points[:, 1])


def _nearest_by_brute_force(lat: float, lon: float) -> tuple[places.Place, float]:
    """Every place's distance (the haversine of `places.haversine_km`, on numpy arrays), the least."""
    lats, lons = _every_place_in_radians()
    p1 = math.radians(lat)
    a = np.sin((lats - p1) / 2) ** 2 + math.cos(p1) * np.cos(lats) * np.sin((lons - math.radians(lon)) / 2) ** 2
    best = places.gazetteer().place(int(np.argmin(a)))
    return best, places.haversine_km(lat, lon, best.lat, best.lon)


@pytest.mark.parametrize(
    ("lat", "lon", "sea"),
    [
        (-40.0, 160.0, "Tasman Sea"),
        (20.0, -40.0, "North Atlantic Ocean"),
        (30.0, -140.0, "North Pacific Ocean"),
        (-35.0, -20.0, "South Atlantic Ocean"),
        (-66.5, 140.0, "Southern Ocean"),  # off Antarctica's coast: the ocean, not "Antarctica"
        (90.0, 0.0, "Arctic Ocean"),  # the North Pole
        (89.5, -60.0, "Arctic Ocean"),
        (52.0, 179.99, "Bering Sea"),  # both sides of the antimeridian
        (52.0, -179.99, "Bering Sea"),
    ],
)
def test_a_point_far_out_at_sea_is_named_after_its_sea_and_no_town(lat, lon, sea):
    name = places.name(lat, lon)
    assert name.label == sea, name
    assert (name.city, name.region, name.country, name.country_code) == (None, None, None, None)


def test_off_the_coast_the_sea_says_where_from_the_nearest_town():
    # 7.5 km off Hansnes, Norway: in its territorial waters, the region and country are kept.
    near = places.name(69.9, 19.6)
    assert near.label == "Norwegian Sea, 8 km S of Hansnes, Troms, Norway"
    assert (near.city, near.region, near.country_code) == (None, "Troms", "NO")
    # 42 km off Shetland: the town is said, the record claims no country.
    offshore = places.name(60.0, -2.0)
    assert offshore.label == "North Atlantic Ocean, 42 km W of Sandwick, Scotland, United Kingdom"
    assert (offshore.city, offshore.region, offshore.country_code) == (None, None, None)
    # A harbour: the town.
    assert places.name(43.695, 7.285).city == "Nice"


@pytest.mark.parametrize(
    ("lat", "lon", "direction"),
    [
        (23.5, 5.0, "NW"),  # the Sahara, 96 km from Tamanrasset
        (20.0, 50.0, "N"),  # the Rub' al Khali, 289 km
        (67.0, -50.0, "E"),  # the Greenland ice sheet's edge, 160 km
        (64.0, -135.0, "E"),  # the Yukon, 216 km
        (-45.0, 170.0, "NE"),  # New Zealand's mountains, 57 km
        (78.0, 16.0, "S"),  # Svalbard, 26 km: just beyond a town's 25 km
    ],
)
def test_far_from_towns_the_label_says_how_far_and_which_way_from_the_nearest(lat, lon, direction):
    town, km = _nearest_by_brute_force(lat, lon)
    assert 25 < km < 300
    name = places.name(lat, lon)
    shown = round(km) if km < 99.5 else round(km, -1)
    assert name.label == f"{shown:.0f} km {direction} of {town.label}", name
    assert (name.city, name.region, name.country_code) == (None, town.region, town.country_code)


def test_antarctica_is_antarctica():
    for lat, lon in ((-80.58, 49.35), (-90.0, 0.0), (-75.0, 0.0), (-83.23, -168.28)):  # the interior, the pole, Queen Maud Land, the Ross Ice Shelf
        name = places.name(lat, lon)
        assert (name.label, name.city, name.country_code) == ("Antarctica", None, "AQ"), (lat, lon, name)


def test_across_the_antimeridian_the_nearest_town_is_found_on_the_other_side():
    # Off Vanua Levu, Fiji, east of 180°, and on Rabi Island just west of it: Labasa on both sides.
    east = places.name(-16.5, 179.99)
    assert east.label == "South Pacific Ocean, 67 km E of Labasa, Northern, Fiji"
    west = places.name(-16.5, -179.99)
    assert west.label == "69 km E of Labasa, Northern, Fiji" and west.country_code == "FJ"


def test_a_town_is_never_named_as_the_place_when_it_is_more_than_25_km_away():
    rng = random.Random(19)
    g = places.gazetteer()
    for _ in range(400):
        lat, lon = math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)
        name = places.name(lat, lon)
        nearest = g.nearest(lat, lon)
        distance = places.haversine_km(lat, lon, nearest.lat, nearest.lon)
        if name.city is not None:
            assert distance <= 25, (lat, lon, name)
        else:
            away = r"\d+ km (N|NE|E|SE|S|SW|W|NW) of .+"
            if name.sea:
                assert name.label == name.sea or re.fullmatch(re.escape(name.sea) + ", " + away, name.label), name.label
            else:
                assert name.label == "Antarctica" or re.fullmatch(away, name.label), name.label


def test_one_name_per_level():
    assert places.describe(-21.36, 55.77) == "Saint-Philippe, Réunion"  # not "Saint-Philippe, Réunion, Reunion"
    assert places.join_label("Tokyo", "Tokyo", "Japan") == "Tokyo, Japan"
    assert places.join_label("Mexico City", "Ciudad de Mexico", "MEXICO CITY", "Mexico") == "Mexico City, Ciudad de Mexico, Mexico"


# -- the structures -------------------------------------------------------------------------------
def test_the_tree_finds_the_nearest_place_anywhere():
    """Against a brute force over every place: random points, and the hard ones (poles, antimeridian)."""
    rng = random.Random(7)
    points = [(math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)) for _ in range(300)]
    points += [(90.0, 0.0), (-90.0, 0.0), (65.0, 179.999), (65.0, -179.999), (0.0, 180.0)]
    g = places.gazetteer()
    for lat, lon in points:
        found = g.nearest(lat, lon)
        _, km = _nearest_by_brute_force(lat, lon)
        assert places.haversine_km(lat, lon, found.lat, found.lon) == pytest.approx(km, abs=1e-6), (lat, lon)


def test_a_small_tree_is_searched_right():
    rng = random.Random(3)
    points = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(300)]
    vectors = [kdtree.unit_vector(lat, lon) for lat, lon in points]
    order, boxes = kdtree.build_tree(vectors)
    xyz = [c for i in order for c in vectors[i]]
    for _ in range(200):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        at, km = kdtree.nearest(xyz, boxes, len(points), lat, lon)
        assert km == pytest.approx(min(places.haversine_km(lat, lon, *p) for p in points), abs=1e-6)
        assert places.haversine_km(lat, lon, *points[order[at]]) == pytest.approx(km, abs=1e-6)


def _even_odd(lat: float, lon: float, rings: list[seas.Ring]) -> bool:
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def test_the_sea_grid_answers_as_the_polygons_do():
    """Points anywhere and points near coasts (where cells hold edges), against the even-odd test
    of every ring of every area, the smallest area first."""
    areas = _read_seas(Sources.installed().seas)
    by_size = sorted(areas, key=lambda area: sum(map(seas._ring_area, area[1])))
    grid = places.gazetteer()._index.seas
    rng = random.Random(11)
    points = [(math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)) for _ in range(60)]
    vertices = [point for _, rings in areas for ring in rings for point in ring]
    points += [(y + rng.uniform(-0.05, 0.05), x + rng.uniform(-0.05, 0.05)) for x, y in rng.sample(vertices, 60)]
    for lat, lon in points:
        lat = max(-89.0, min(89.0, lat))
        expected = next((name for name, rings in by_size if _even_odd(lat, lon, rings)), None)
        assert seas.sea_at(grid, lat, lon) == expected, (lat, lon)
