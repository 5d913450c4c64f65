"""Offline place names: reverse and forward lookups against the GeoNames data, and the index file."""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geolocator import places
from geolocator.places_index import Candidate, Choice, Kind, Sources, choose, ensure_index, index_path, section_reach_km, town_reach_km

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


def test_label_holds_neighbourhood_city_region_country():
    name = places.name(41.4036, 2.1744)  # Sagrada Família, a section (PPLX) of Barcelona
    assert (name.neighbourhood, name.city, name.region, name.country_code) == ("Sagrada Família", "Barcelona", "Catalonia", "ES")
    assert name.label == "Sagrada Família, Barcelona, Catalonia, Spain"
    # No neighbourhood known: three parts, and a region named like its city is said once.
    rural = places.name(45.0, 5.0)
    assert rural.neighbourhood is None and len(rural.label.split(", ")) == 3
    assert places.name(35.6595, 139.7005).label.endswith("Tokyo, Japan")


def test_the_rule_a_big_city_beats_a_nearer_small_town_within_its_reach():
    paris = Candidate(0, Kind.TOWN, 4.0, town_reach_km(2_138_551), "FR", 1)
    neuilly = Candidate(1, Kind.TOWN, 0.3, town_reach_km(61_300), "FR", 1)
    far_neuilly = Candidate(1, Kind.TOWN, 3.4, town_reach_km(61_300), "FR", 1)
    assert choose([c for c in (paris, far_neuilly) if c.distance_km <= c.reach_km], nearest=1).city == 0
    assert choose([paris, neuilly], nearest=1).city == 1  # well inside Neuilly: Neuilly
    section = Candidate(2, Kind.SECTION, 0.5, section_reach_km(15_000), "FR", 1)
    other_region = Candidate(3, Kind.SECTION, 0.2, section_reach_km(15_000), "FR", 2)
    assert choose([paris, section, other_region], nearest=2) == Choice(0, 2)
    # Nobody claims the point: the nearest place, without a neighbourhood.
    assert choose([section], nearest=7) == Choice(7, None)


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
    # Springfield, Illinois rather than the larger Springfield, Missouri.
    springfield = g.find(country="USA", region="Illinois", city="Springfield")
    assert springfield.level == "city" and "Illinois" in springfield.label


def test_index_is_rebuilt_when_the_source_changes(tmp_path):
    installed = Sources.installed()
    cities = tmp_path / "geocode.gz"
    shutil.copy(installed.cities, cities)
    countries = tmp_path / "countries.csv"
    shutil.copy(installed.countries, countries)
    sources = Sources(cities, countries)
    cache = tmp_path / "cache"
    first = ensure_index(sources, cache)
    g = places.Gazetteer(sources, cache)
    assert g.path == first and len(g) > 150_000
    assert g.name(-60.0, -30.0).city != "Testville"  # the South Atlantic: nothing near
    # A new GeoNames release: one more town, in the middle of the ocean.
    with gzip.open(installed.cities) as fh:
        rows = json.loads(fh.read())
    rows.append({"country_code": "GS", "city": "Testville", "latitude": -60.0, "longitude": -30.0, "population": 5000, "state": "Test Region"})
    with gzip.open(cities, "wt", encoding="utf-8") as fh:
        json.dump(rows, fh)
    assert index_path(sources, cache) != first
    g2 = places.Gazetteer(sources, cache)
    assert g2.path != first and len(g2) == len(g) + 1
    assert g2.name(-60.0, -30.01).label == "Testville, Test Region, South Georgia and the South Sandwich Islands"
    assert sorted(p.name for p in cache.iterdir()) == [g2.path.name]  # the stale index is gone
    assert g.name(48.8584, 2.2945).city == "Paris"  # an index already open keeps working


def test_a_new_process_opens_the_built_index_without_rebuilding_it_or_numpy():
    """Opening costs a mapping, not a build (bench/locate_speed.py measures the time)."""
    built = places.gazetteer().path
    before = built.stat()
    code = (
        "import sys; from geolocator import places; label = places.describe(48.8584, 2.2945);"
        " print(places.gazetteer().path, label, 'numpy' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == str(built), "the new process opened another index"
    assert (built.stat().st_ino, built.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "the index was rebuilt"
    assert " ".join(out[1:-2]) == "Paris, Île-de-France, France"
    assert out[-2:] == ["False", "False"]
