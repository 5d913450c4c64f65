"""Reading the model's text into a `Parsed` value, whatever its form; nothing judged yet."""

from __future__ import annotations

import json

import pytest

from geolocator.locate.ai.parse import MAX_ANSWER_CHARS, MAX_DESCRIPTION, Form, parse


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
    parsed = parse(text)
    assert (parsed.lat, parsed.lon) == (lat, lon)


@pytest.mark.parametrize("value", ["unknown", "Unknown", "N/A", "n/a", "", "  ", "none", "null", "Not sure", "unknown (maybe Spain)", None, 42])
def test_placeholders_are_absent(value) -> None:
    assert parse(json.dumps({"country": value, "city": "Lyon"})).country is None


def test_hedges_are_stripped_from_names() -> None:
    parsed = parse('{"country": "Probably Spain", "city": "Seville (likely)"}')
    assert (parsed.country, parsed.city) == ("Spain", "Seville")


@pytest.mark.parametrize("value, expected", [(0.7, 0.7), (70, 0.7), ("70%", 0.7), ("high", 0.8), ("low", 0.2), (-1, None), ("sure", None), (True, None)])
def test_model_confidence_forms(value, expected) -> None:
    assert parse(json.dumps({"country": "Spain", "confidence": value})).confidence == expected


@pytest.mark.parametrize(
    "text, form",
    [('{"country": "Chile"}', Form.JSON), ('```json\n{"country": "Chile"}\n```', Form.FENCED), ('I think {"country": "Chile"}.', Form.EMBEDDED),
     ("Country: Chile", Form.PROSE), ("no idea", Form.NOTHING), ("", Form.NOTHING)],
)
def test_the_form_read_is_recorded(text: str, form: Form) -> None:
    parsed = parse(text)
    assert parsed.form is form and parsed.length == len(text)


def test_clues_first_are_read_as_clues_not_as_place_names() -> None:
    answer = {
        "clues": {"signs": "Cyrillic script, Russian words", "driving_side": "right", "road_markings": None, "vegetation": "birch forest",
                  "architecture": "Soviet-era apartment blocks", "terrain": "flat"},
        "country": "Russia", "region": None, "city": "Moscow", "landmark": None, "latitude": 55.75, "longitude": 37.62,
        "confidence": 0.6, "description": "A wide avenue with apartment blocks.",
    }
    parsed = parse(json.dumps(answer))
    assert parsed.clues == ("signs: Cyrillic script, Russian words; driving side: right; vegetation: birch forest; "
                            "architecture: Soviet-era apartment blocks; terrain: flat")
    assert (parsed.country, parsed.region, parsed.city, parsed.lat, parsed.lon) == ("Russia", None, "Moscow", 55.75, 37.62)
    assert parsed.description == "A wide avenue with apartment blocks."
    assert parse(json.dumps({"clues": ["left-hand traffic", "eucalyptus"], "country": "Australia"})).clues == "left-hand traffic; eucalyptus"
    assert parse(json.dumps({"clues": "x " * 400, "country": "Chile"})).clues.endswith("…")  # type: ignore[union-attr]
    assert len(parse(json.dumps({"clues": "x " * 400, "country": "Chile"})).clues or "") <= MAX_DESCRIPTION


def test_only_the_first_max_answer_chars_are_read() -> None:
    text = "x" * MAX_ANSWER_CHARS + '{"country": "Chile"}'
    parsed = parse(text)
    assert parsed.form is Form.NOTHING and parsed.length == len(text)
