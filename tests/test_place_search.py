"""Gazetteer.search: a place name as a person types it -> the place they most likely mean (a city, a
region alone or with its country, a country), an area with the box a map should frame."""

from __future__ import annotations

import pytest

from geolocator.locate.places import Place, city_wins, extent, gazetteer


def inside(bounds: tuple[float, float, float, float] | None, lat: float, lon: float) -> bool:
    assert bounds is not None
    south, west, north, east = bounds
    return south <= lat <= north and (west <= lon <= east or west <= lon + 360 <= east)


# name typed, the label's start, towns its box must hold, and its size in degrees of latitude
REGIONS = [
    ("Tuscany", "Tuscany, Italy", [(43.77, 11.25), (43.72, 10.40), (43.32, 11.33), (43.46, 11.88), (42.76, 11.11)], (1, 4)),
    ("Bavaria", "Bavaria, Germany", [(48.14, 11.58), (49.45, 11.08), (49.79, 9.95), (48.57, 13.43)], (1.5, 5)),
    ("California", "California, United States", [(34.05, -118.24), (37.77, -122.42), (38.58, -121.49), (32.72, -117.16)], (4, 12)),
    ("Queensland", "Queensland, Australia", [(-27.47, 153.03), (-19.26, 146.82), (-16.92, 145.77)], (6, 20)),
    ("Ontario", "Ontario, Canada", [(43.65, -79.38), (45.42, -75.70), (48.38, -89.25)], (4, 12)),
    ("Provence-Alpes-Côte d'Azur", "Provence-Alpes-Côte d'Azur, France", [(43.30, 5.37), (43.70, 7.27), (43.95, 4.81)], (0.8, 3)),
    ("Western Cape", "Western Cape, South Africa", [(-33.92, 18.42), (-33.96, 22.46)], (1.5, 6)),
    ("Hokkaido", "Hokkaido, Japan", [(43.06, 141.35), (41.77, 140.73), (43.77, 142.36)], (2, 6)),
    ("Amazonas", "Amazonas, Brazil", [(-3.10, -60.03)], (3, 15)),  # also regions of Colombia, Peru, Venezuela: the most populous
]


@pytest.mark.parametrize("name, label, towns, size", REGIONS, ids=[r[0] for r in REGIONS])
def test_a_region_alone_is_the_region_framed_by_its_towns(name, label, towns, size):
    match = gazetteer().search(name)
    assert match is not None and match.level == "region" and match.label == label
    assert match.region == label.split(",")[0] and match.city is None
    assert all(inside(match.bounds, lat, lon) for lat, lon in towns), match.bounds
    assert match.bounds is not None and size[0] <= match.bounds[2] - match.bounds[0] <= size[1]
    assert inside(match.bounds, match.lat, match.lon)  # its point, its most populous town, is in it


@pytest.mark.parametrize("typed", ["tuscany", "TUSCANY", "  Tuscany ", "Tuscany, Italy", "tuscany , ITALY", "Tuscany Region"])
def test_case_spaces_a_country_after_it_and_administrative_words_make_no_difference(typed):
    assert gazetteer().search(typed) == gazetteer().search("Tuscany")


@pytest.mark.parametrize("typed, label", [
    ("provence alpes cote d'azur", "Provence-Alpes-Côte d'Azur, France"),
    ("PROVENCE-ALPES-COTE D AZUR", "Provence-Alpes-Côte d'Azur, France"),
    ("ile-de-france", "Île-de-France, France"),
    ("Baden-Württemberg", "Baden-Wurttemberg, Germany"),  # GeoNames spells it without the accent
])
def test_accents_and_punctuation_make_no_difference(typed, label):
    match = gazetteer().search(typed)
    assert match is not None and match.level == "region" and match.label == label


@pytest.mark.parametrize("typed, level, label", [
    # A city named like the region it lies in is the city: its capital or main city.
    ("Salzburg", "city", "Salzburg, Salzburg, Austria"),
    ("Kyoto", "city", "Kyoto, Kyoto, Japan"),
    ("São Paulo", "city", "São Paulo, São Paulo, Brazil"),
    ("sao paulo", "city", "São Paulo, São Paulo, Brazil"),
    ("Quebec", "city", "Québec, Quebec, Canada"),
    ("Berlin", "city", "Berlin, State of Berlin, Germany"),
    ("Bremen", "city", "Bremen, City state Bremen, Germany"),
    # Else the more populous: the region, unless a city elsewhere outnumbers it.
    ("Ontario", "region", "Ontario, Canada"),  # not Ontario, California
    ("California", "region", "California, United States"),  # not California, Maryland
    ("Victoria", "region", "Victoria, Australia"),  # not Victoria, Hong Kong, nor Victoria, British Columbia
    ("Washington", "region", "Washington, United States"),
    ("New York", "region", "New York, United States"),  # GeoNames' city is "New York City"
    ("Santiago", "city", "Santiago, Santiago Metropolitan, Chile"),  # not Santiago Province, Dominican Republic
    # A name followed by a region is a city; by a country, that country's.
    ("Washington, D.C.", "city", "Washington, District of Columbia, United States"),
    ("Ontario, California", "city", "Ontario, California, United States"),
    ("Salzburg, Austria", "city", "Salzburg, Salzburg, Austria"),
    ("Georgia, USA", "region", "Georgia, United States"),
    ("Springfield, Illinois, USA", "city", "Springfield, Illinois, United States"),
    # A country's name is the country, not a town named after it.
    ("Peru", "country", "Peru"),
    ("Mexico", "country", "Mexico"),
    ("Georgia", "country", "Georgia"),
    ("Luxembourg", "country", "Luxembourg"),
])
def test_a_name_several_places_share_means_the_one_people_expect(typed, level, label):
    match = gazetteer().search(typed)
    assert match is not None and (match.level, match.label) == (level, label)
    assert (match.bounds is None) == (level != "region")  # a region has a box; a town or a country its radius


def test_cities_keep_their_radius_and_areas_their_point_and_radius():
    lisbon = gazetteer().search("Lisbon")
    assert lisbon is not None and lisbon.level == "city" and 5 <= lisbon.radius_km <= 40
    bavaria = gazetteer().search("Bavaria")
    assert bavaria is not None and bavaria.city is None and abs(bavaria.lat - 48.14) < 0.1  # Munich
    assert 100 < bavaria.radius_km < 400


@pytest.mark.parametrize("typed", ["Xqzzyvillex", "Tuscany, Xqzzy", ",", " , , ", "Atlantis, Italy"])
def test_what_names_no_place_is_none_and_an_unknown_part_after_a_region_is_no_help(typed):
    match = gazetteer().search(typed)
    if typed.startswith("Tuscany"):  # a part naming nothing is read as a region the place may be in: not found, ignored
        assert match == gazetteer().search("Tuscany")
    else:
        assert match is None


def test_a_region_across_the_antimeridian_is_one_box_not_the_world():
    chukotka = gazetteer().search("Chukotka")
    assert chukotka is not None and chukotka.bounds is not None
    west, east = chukotka.bounds[1], chukotka.bounds[3]
    assert 160 < west < 180 < east < 200 and east - west < 40
    assert inside(chukotka.bounds, 64.73, 177.51)  # Anadyr


def test_a_region_s_far_islands_are_left_out_of_its_box():
    valparaiso = gazetteer().search("Valparaíso Region")  # "Valparaíso" alone is the city, its namesake
    assert valparaiso is not None and valparaiso.level == "region"
    assert inside(valparaiso.bounds, -33.05, -71.62) and inside(valparaiso.bounds, -33.59, -71.61)  # Valparaíso, San Antonio
    assert not inside(valparaiso.bounds, -27.15, -109.43)  # Hanga Roa, Easter Island: 3,700 km out to sea


def test_extent_leaves_out_far_islands_and_widens_a_box_of_one_town():
    # 99 towns in a 1° square and one island 1,400 km away: the island is left out.
    towns = [(40 + (i % 10) / 10, 10 + (i // 10) / 10) for i in range(99)] + [(30.0, 20.0)]
    south, west, north, east = extent(towns, 5)
    assert (south, west) == (40.0, 10.0) and north == pytest.approx(40.9) and east == pytest.approx(10.9)
    # One town: a box of 2 × 5 km about it.
    south, west, north, east = extent([(60.0, 10.0)], 5)
    assert north - south == pytest.approx(10 / 111.195) and east - west == pytest.approx(2 * (north - south), rel=1e-3)
    assert (south + north) / 2 == pytest.approx(60.0) and (west + east) / 2 == pytest.approx(10.0)
    # Across the antimeridian: east of 180, not round the world; west of it, the plain longitudes.
    assert extent([(-17.0, 178.0), (-16.0, -179.0)], 1)[1:4:2] == pytest.approx((178.0, 181.0))
    assert extent([(-17.0, -178.0), (-16.0, -175.0)], 1)[1:4:2] == pytest.approx((-178.0, -175.0))


def place(city: str, region: str | None, population: int) -> Place:
    return Place(city, region, "Somewhere", "XX", 0.0, 0.0, population)


def test_the_city_or_region_rule():
    assert city_wins(place("Salzburg", "Salzburg", 150_000), "Salzburg", 550_000)  # the region's namesake
    assert city_wins(place("Berlin", "State of Berlin", 3_400_000), "berlin", 3_500_000)  # administrative words aside
    assert not city_wins(place("Ontario", "California", 170_000), "Ontario", 13_000_000)
    assert city_wins(place("Santiago", "Santiago Metropolitan", 4_800_000), "Santiago", 1_000_000)  # more people
    assert not city_wins(place("Lonely", None, 10), "Lonely", 11)
