"""Offline place names: reverse and forward lookups against the GeoNames data."""

import pytest

from geolocator import places


@pytest.mark.parametrize(
    ("lat", "lon", "city", "country"),
    [
        (48.8566, 2.3522, "Paris", "France"),
        (-33.8688, 151.2093, None, "Australia"),  # southern and eastern hemisphere
        (-22.9068, -43.1729, "Rio de Janeiro", "Brazil"),  # southern and western
        (40.7128, -74.0060, None, "United States"),  # northern and western
    ],
)
def test_describe_names_city_region_country(lat, lon, city, country):
    label = places.describe(lat, lon)
    parts = label.split(", ")
    assert len(parts) == 3, label
    assert parts[-1] == country
    if city:
        assert parts[0] == city


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
