"""Judging a `Parsed` answer against the gazetteer: validation, reconciliation, confidence and radius."""

from __future__ import annotations

import json

from geolocator.locate.ai.judge import CONFIDENCE_CAP, Asked, interpret
from geolocator.locate.ai.judge import judge as judge_parsed
from geolocator.locate.ai.parse import MAX_ANSWER_CHARS, Form, Parsed
from geolocator.record import AIEstimate


def judge(text: str) -> AIEstimate:
    return interpret(text, model="m", prompt_version="v")


def test_the_judge_takes_the_small_value_not_the_text() -> None:
    parsed = Parsed(Form.JSON, 40, country="Japan", city="Kyoto", lat=35.01, lon=135.77, confidence=0.6, clues="signs: kanji")
    estimate = judge_parsed(parsed, Asked("m", "v", "the text as given"))
    assert (estimate.lat, estimate.lon, estimate.confidence) == (35.01, 135.77, 0.6)
    assert estimate.raw_answer == "the text as given" and estimate.description == "Clues: signs: kanji"
    assert estimate.decisions[0] == "read the answer as json"


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


def test_an_absurd_answer_is_bounded_and_never_raises() -> None:
    for text in ("[" * 200_000, '{"a":' * 100_000, "x" * 1_000_000):
        result = interpret(text, model="m", prompt_version="p")
        assert result.lat is None and len(result.raw_answer) == MAX_ANSWER_CHARS
        assert "cut to" in result.decisions[0]


def test_clues_follow_the_description() -> None:
    estimate = judge(json.dumps({"clues": {"driving_side": "left", "vegetation": "palms"}, "country": "Fiji", "description": "A beach."}))
    assert estimate.description == "A beach. Clues: driving side: left; vegetation: palms"
