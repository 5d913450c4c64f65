"""The pure judgement of the model's text: parsing, validation and reconciliation with the gazetteer."""

from __future__ import annotations

import json

import pytest

from geolocator.ai.answer import CONFIDENCE_CAP, interpret, parse_answer


def judge(text: str):
    return interpret(text, model="m", prompt_version="v")


@pytest.mark.parametrize(
    "text, lat, lon",
    [
        ('{"latitude": 48.85, "longitude": 2.35}', 48.85, 2.35),
        ('{"lat": "48.85", "lng": "2.35"}', 48.85, 2.35),
        ('{"location": {"lat": 48.85, "lon": 2.35}}', 48.85, 2.35),
        ('{"coordinates": [48.85, 2.35]}', 48.85, 2.35),
        ('{"latitude": "33.87° S", "longitude": "151.21° E"}', -33.87, 151.21),
        ('{"latitude": 48.85, "longitude": 2.35,}', 48.85, 2.35),
        ("Sure.\n```\n{\"latitude\": 48.85, \"longitude\": 2.35}\n```", 48.85, 2.35),
        ('My guess: {"latitude": 48.85, "longitude": 2.35} (approximate)', 48.85, 2.35),
        ("lat 48.85, lon 2.35", 48.85, 2.35),
        ("Latitude: -22.95, Longitude: -43.21", -22.95, -43.21),
        ("48.8584° N, 2.2945° E", 48.8584, 2.2945),
        ("40°41'21\"N 74°2'40\"W", pytest.approx(40.68917, abs=1e-4), pytest.approx(-74.04444, abs=1e-4)),
        ("The point is (35.68, 139.69).", 35.68, 139.69),
    ],
)
def test_coordinates_are_read_in_every_form(text: str, lat: float, lon: float) -> None:
    parsed = parse_answer(text)
    assert (parsed.lat, parsed.lon) == (lat, lon)


@pytest.mark.parametrize("value", ["unknown", "Unknown", "N/A", "n/a", "", "  ", "none", "null", "Not sure", "unknown (maybe Spain)", None, 42])
def test_placeholders_are_absent(value) -> None:
    assert parse_answer(json.dumps({"country": value, "city": "Lyon"})).country is None


def test_hedges_are_stripped_from_names() -> None:
    parsed = parse_answer('{"country": "Probably Spain", "city": "Seville (likely)"}')
    assert (parsed.country, parsed.city) == ("Spain", "Seville")


@pytest.mark.parametrize("value, expected", [(0.7, 0.7), (70, 0.7), ("70%", 0.7), ("high", 0.8), ("low", 0.2), (-1, None), ("sure", None), (True, None)])
def test_model_confidence_forms(value, expected) -> None:
    assert parse_answer(json.dumps({"country": "Spain", "confidence": value})).confidence == expected


def test_the_model_confidence_lowers_ours_but_never_raises_it() -> None:
    high = judge('{"country": "France", "city": "Lyon", "confidence": 1.0}')
    low = judge('{"country": "France", "city": "Lyon", "confidence": 0.3}')
    silent = judge('{"country": "France", "city": "Lyon"}')
    assert high.confidence == silent.confidence == CONFIDENCE_CAP["city"]
    assert low.confidence == 0.3


def test_levels_order_confidence_and_radius() -> None:
    city = judge('{"country": "Germany", "city": "Munich"}')
    region = judge('{"country": "Germany", "region": "Bavaria"}')
    country = judge('{"country": "Germany"}')
    assert city.confidence > region.confidence > country.confidence
    assert city.radius_km < region.radius_km < country.radius_km
    assert (city.place, region.place, country.place) == ("Munich, Bavaria, Germany", "Bavaria, Germany", "Germany")


def test_a_point_in_the_country_but_far_from_the_named_city_gives_way() -> None:
    estimate = judge('{"country": "France", "city": "Paris", "latitude": 43.30, "longitude": 5.37}')  # Marseille
    assert estimate.place == "Paris, Île-de-France, France"
    assert abs(estimate.lat - 48.85) < 0.1 and any("beyond its" in d for d in estimate.decisions)


def test_a_point_anywhere_in_a_country_named_alone_is_kept_with_the_country_radius() -> None:
    estimate = judge('{"country": "France", "latitude": 43.30, "longitude": 5.37}')
    assert (estimate.lat, estimate.lon) == (43.3, 5.37)
    assert estimate.place == "France" and estimate.radius_km > 300 and estimate.confidence == CONFIDENCE_CAP["country"]


def test_bare_coordinates_get_a_wide_radius_and_the_lowest_confidence() -> None:
    estimate = judge('{"latitude": 35.68, "longitude": 139.69, "confidence": 0.99}')
    assert estimate.has_location and estimate.radius_km == 250 and estimate.confidence == CONFIDENCE_CAP["coordinates"]


def test_one_coordinate_alone_is_ignored() -> None:
    estimate = judge('{"latitude": 35.68, "longitude": null}')
    assert not estimate.has_location and "only one coordinate given: ignored" in estimate.decisions


def test_an_unknown_country_with_no_coordinates_is_no_location() -> None:
    estimate = judge('{"country": "Atlantis"}')
    assert not estimate.has_location and any("Atlantis" in d for d in estimate.decisions)


def test_a_landmark_that_is_a_town_name_resolves() -> None:
    estimate = judge('{"country": "Peru", "landmark": "Cusco"}')
    assert estimate.place.startswith("Cusco") and estimate.radius_km < 50


def test_a_wrong_landmark_point_never_gets_the_landmark_radius() -> None:
    estimate = judge('{"country": "France", "city": "Paris", "landmark": "Eiffel Tower", "latitude": 45.76, "longitude": 4.83}')
    assert estimate.radius_km > 3 and estimate.confidence < CONFIDENCE_CAP["city"]


def test_raw_answer_and_provenance_are_kept_verbatim() -> None:
    text = ' {"country": "Chile"} \n'
    estimate = interpret(text, model="qwen2.5vl:7b", prompt_version="p1")
    assert estimate.raw_answer == text and estimate.model == "qwen2.5vl:7b" and estimate.prompt_version == "p1"


def test_a_long_description_is_cut() -> None:
    estimate = judge(json.dumps({"country": "Chile", "description": "word " * 200}))
    assert len(estimate.description) <= 300 and estimate.description.endswith("…")


def test_an_absurd_answer_is_bounded_and_never_raises():
    from geolocator.ai.answer import MAX_ANSWER_CHARS

    for text in ("[" * 200_000, '{"a":' * 100_000, "x" * 1_000_000):
        result = interpret(text, model="m", prompt_version="p")
        assert result.lat is None and len(result.raw_answer) == MAX_ANSWER_CHARS
        assert "cut to" in result.decisions[0]
