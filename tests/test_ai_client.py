"""AILocator against a real HTTP server speaking Ollama's API, through the real `ollama` client."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import pytest
from fake_ollama import FakeOllama
from PIL import Image
from processes import free_port

from geolocator.config import OllamaConfig
from geolocator.errors import AIUnavailable, ModelMissing, UnreadableImage
from geolocator.locate.ai import AILocator
from geolocator.locate.ai.prompt import PROMPT, PROMPT_VERSION, SCHEMA
from geolocator.locate.places import gazetteer


def config(url: str, model: str = "qwen2.5vl", timeout: float = 5.0, max_image_px: int = 1344) -> OllamaConfig:
    return OllamaConfig(enabled=True, host=url, model=model, timeout=timeout, max_image_px=max_image_px)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (800, 600), (90, 140, 200)).save(path, quality=90)
    return path


def answer_json(**fields) -> str:
    base = {"country": None, "region": None, "city": None, "landmark": None, "latitude": None, "longitude": None, "confidence": 0.5, "description": "A street."}
    return json.dumps({**base, **fields})


# -- the request ---------------------------------------------------------------------------------


def test_clean_schema_answer_and_the_request_it_took(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = AILocator(config(fake_ollama.url)).estimate(photo)

    assert (estimate.lat, estimate.lon) == (48.8584, 2.2945)
    assert estimate.place == "Eiffel Tower, Paris, Île-de-France, France"
    assert estimate.confidence == 0.8  # the landmark cap, below the model's own 0.9
    assert estimate.radius_km == 3.0
    assert estimate.description == (
        "The Eiffel Tower seen from the Champ de Mars. Clues: signs: French on a plaque; vegetation: plane trees; "
        "architecture: wrought-iron lattice tower; terrain: flat river plain"
    )
    assert estimate.model == "qwen2.5vl" and estimate.prompt_version == PROMPT_VERSION == "clues-first-1"
    assert json.loads(estimate.raw_answer)["city"] == "Paris"
    assert any("within its" in d for d in estimate.decisions)

    paths = [r.path for r in fake_ollama.requests]
    assert paths == ["/api/version", "/api/show", "/api/chat"]
    body = fake_ollama.chat_requests[0].body
    assert body["model"] == "qwen2.5vl" and body["stream"] is False
    assert body["format"] == SCHEMA
    # clues first, then the place from broadest to most specific, then the coordinates
    assert list(body["format"]["properties"]) == ["clues", "country", "region", "city", "landmark", "latitude", "longitude", "confidence", "description"]
    assert list(body["format"]["properties"]["clues"]["properties"]) == ["signs", "driving_side", "road_markings", "vegetation", "architecture", "terrain"]
    assert body["format"]["required"] == list(body["format"]["properties"])
    assert body["options"]["temperature"] == 0 and body["options"]["num_ctx"] >= 4096 and body["options"]["num_predict"] > 0
    assert body["think"] is False and body["keep_alive"] == "10m"
    message = body["messages"][0]
    assert message["role"] == "user" and message["content"] == PROMPT
    assert len(message["images"]) == 1 and base64.b64decode(message["images"][0])[:3] == b"\xff\xd8\xff"


def test_the_server_check_is_cached_while_requests_succeed(fake_ollama: FakeOllama, photo: Path) -> None:
    locator = AILocator(config(fake_ollama.url))
    locator.estimate(photo)
    locator.estimate(photo)
    assert [r.path for r in fake_ollama.requests] == ["/api/version", "/api/show", "/api/chat", "/api/chat"]


def test_check_describes_server_and_model(fake_ollama: FakeOllama) -> None:
    line = AILocator(config(fake_ollama.url)).check()
    assert "0.12.6" in line and fake_ollama.url in line and "qwen2.5vl" in line and "vision" in line


# -- answers -------------------------------------------------------------------------------------


def estimate_for(fake: FakeOllama, photo: Path, text: str):
    fake.answer(text)
    return AILocator(config(fake.url)).estimate(photo)


def test_fenced_json(fake_ollama: FakeOllama, photo: Path) -> None:
    text = 'Here is my answer:\n```json\n{"country": "Japan", "city": "Kyoto", "latitude": 35.01, "longitude": 135.77, "confidence": 0.6}\n```'
    estimate = estimate_for(fake_ollama, photo, text)
    assert (estimate.lat, estimate.lon) == (35.01, 135.77)
    assert estimate.place == "Kyoto, Kyoto, Japan" and estimate.confidence == 0.6
    assert estimate.decisions[0] == "read the answer as fenced json"


def test_prose_with_numbers(fake_ollama: FakeOllama, photo: Path) -> None:
    text = "This is the Eiffel Tower.\nCountry: France\nCity: Paris\nIt stands at 48.8584° N, 2.2945° E."
    estimate = estimate_for(fake_ollama, photo, text)
    assert (estimate.lat, estimate.lon) == (48.8584, 2.2945)
    assert estimate.place == "Paris, Île-de-France, France" and estimate.confidence == 0.7
    assert estimate.decisions[0] == "read the answer as prose"


def test_swapped_latitude_and_longitude(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = estimate_for(fake_ollama, photo, answer_json(country="France", city="Paris", latitude=2.3522, longitude=48.8566, confidence=0.8))
    assert (estimate.lat, estimate.lon) == (48.8566, 2.3522)
    assert any("read them as swapped" in d for d in estimate.decisions)


def test_out_of_range_latitude_that_fits_as_longitude_is_swapped(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = estimate_for(fake_ollama, photo, answer_json(country="Australia", city="Sydney", latitude=151.21, longitude=-33.87))
    assert (estimate.lat, estimate.lon) == (-33.87, 151.21)
    assert any("out of range" in d and "swapped" in d for d in estimate.decisions)


def test_out_of_range_values_are_dropped_for_the_named_place(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = estimate_for(fake_ollama, photo, answer_json(country="Italy", city="Rome", latitude=95.0, longitude=250.0, confidence=0.9))
    rome = gazetteer().find("Italy", None, "Rome")
    assert (estimate.lat, estimate.lon) == (round(rome.lat, 5), round(rome.lon, 5))
    assert any("out of range: coordinates ignored" in d for d in estimate.decisions)


def test_place_name_without_coordinates_uses_the_gazetteer(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = estimate_for(fake_ollama, photo, answer_json(country="France", region="Île-de-France", confidence=0.9))
    region = gazetteer().find("France", "Île-de-France", None)
    assert region.level == "region"
    assert (estimate.lat, estimate.lon) == (round(region.lat, 5), round(region.lon, 5))
    assert estimate.radius_km == round(region.radius_km, 1)
    assert estimate.confidence == 0.45  # the region cap: the model's 0.9 cannot raise it
    assert estimate.place == "Île-de-France, France"


def test_country_only_gets_the_country_radius_and_a_low_confidence(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = estimate_for(fake_ollama, photo, answer_json(country="Peru", confidence=0.95))
    assert estimate.has_location and estimate.place == "Peru"
    assert estimate.radius_km > 300 and estimate.confidence == 0.25


def test_coordinates_outside_the_named_country_give_way_to_the_gazetteer(fake_ollama: FakeOllama, photo: Path) -> None:
    estimate = estimate_for(fake_ollama, photo, answer_json(country="Italy", city="Rome", latitude=40.71, longitude=-74.0, confidence=0.9))
    rome = gazetteer().find("Italy", None, "Rome")
    assert (estimate.lat, estimate.lon) == (round(rome.lat, 5), round(rome.lon, 5))
    assert any("is in United States, not in Italy" in d for d in estimate.decisions)
    assert estimate.confidence < 0.7  # contradicting itself costs confidence


@pytest.mark.parametrize(
    "text",
    [
        answer_json(country="unknown", region="n/a", city="", landmark="none", latitude=0, longitude=0, confidence=0.1),
        answer_json(country="Unknown", latitude=0.0, longitude=0.0),
        "I cannot tell where this photo was taken.",
        "",
    ],
)
def test_unknown_or_null_island_is_no_location(fake_ollama: FakeOllama, photo: Path, text: str) -> None:
    estimate = estimate_for(fake_ollama, photo, text)
    assert not estimate.has_location and estimate.lat is None and estimate.lon is None
    assert estimate.radius_km is None and estimate.confidence == 0.0 and estimate.place is None
    assert estimate.raw_answer == text and estimate.decisions


# -- errors --------------------------------------------------------------------------------------


def test_model_not_installed_is_model_missing_naming_the_fix(fake_ollama: FakeOllama, photo: Path) -> None:
    locator = AILocator(config(fake_ollama.url, model="llava:13b"))
    with pytest.raises(ModelMissing, match=r"model 'llava:13b' is not installed on .*: run `ollama pull llava:13b`"):
        locator.estimate(photo)
    with pytest.raises(ModelMissing, match="ollama pull llava:13b"):
        locator.check()
    assert not fake_ollama.chat_requests


def test_model_removed_after_the_check_is_model_missing(fake_ollama: FakeOllama, photo: Path) -> None:
    locator = AILocator(config(fake_ollama.url))
    locator.check()
    fake_ollama.remove("qwen2.5vl")
    with pytest.raises(ModelMissing, match=r"ollama pull qwen2\.5vl"):
        locator.estimate(photo)


def test_model_without_vision_is_model_missing_naming_a_vision_model(photo: Path) -> None:
    with FakeOllama(models={"llama3.2": ["completion", "tools"]}) as fake:
        locator = AILocator(config(fake.url, model="llama3.2"))
        with pytest.raises(ModelMissing, match=r"cannot see images \(capabilities: completion, tools\).*`ollama pull qwen2.5vl`"):
            locator.estimate(photo)
        assert not fake.chat_requests


@pytest.mark.parametrize("status, words", [(503, "busy"), (500, "failed"), (502, "failed")])
def test_server_errors_are_try_later_never_no_location(fake_ollama: FakeOllama, photo: Path, status: int, words: str) -> None:
    locator = AILocator(config(fake_ollama.url))
    fake_ollama.fail(status, path="/api/chat")
    with pytest.raises(AIUnavailable, match=rf"{words} \(HTTP {status}.*try later") as caught:
        locator.estimate(photo)
    assert not isinstance(caught.value, ModelMissing)


def test_recovers_after_a_failure_and_checks_the_server_again(fake_ollama: FakeOllama, photo: Path) -> None:
    locator = AILocator(config(fake_ollama.url))
    fake_ollama.fail(503, times=1, path="/api/chat")
    with pytest.raises(AIUnavailable):
        locator.estimate(photo)
    assert locator.estimate(photo).has_location
    assert [r.path for r in fake_ollama.requests] == ["/api/version", "/api/show", "/api/chat", "/api/version", "/api/show", "/api/chat"]


def test_a_hang_past_the_timeout_is_try_later(fake_ollama: FakeOllama, photo: Path) -> None:
    locator = AILocator(config(fake_ollama.url, timeout=1.0))
    locator.check()
    fake_ollama.hang(600, path="/api/chat")  # released when the fake stops
    started = time.monotonic()
    with pytest.raises(AIUnavailable, match=r"did not answer within 1 s: try later"):
        locator.estimate(photo)
    assert time.monotonic() - started < 60


def test_a_server_that_is_down_is_try_later(photo: Path) -> None:
    locator = AILocator(config(f"http://127.0.0.1:{free_port()}"))  # a port nobody listens on
    with pytest.raises(AIUnavailable, match=r"cannot connect to Ollama at .*ollama serve") as caught:
        locator.estimate(photo)
    assert not isinstance(caught.value, ModelMissing)
    with pytest.raises(AIUnavailable, match="cannot connect"):
        locator.check()


def test_outage_then_recovery_on_the_same_port(fake_ollama: FakeOllama, photo: Path) -> None:
    locator = AILocator(config(fake_ollama.url))
    assert locator.estimate(photo).has_location
    fake_ollama.down()
    with pytest.raises(AIUnavailable, match="cannot connect"):
        locator.estimate(photo)
    fake_ollama.up()
    assert locator.estimate(photo).has_location


def test_http_400_retries_once_at_half_size_then_explains(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    Image.new("RGB", (3000, 2000), (10, 120, 30)).save(big)
    locator = AILocator(config(fake_ollama.url))
    fake_ollama.fail(400, times=1, error="image too large for context", path="/api/chat")
    assert locator.estimate(big).has_location
    sizes = [Image.open(io.BytesIO(r.images()[0])).size for r in fake_ollama.chat_requests]
    assert sizes == [(1344, 896), (672, 448)]

    fake_ollama.fail(400, error="image too large for context", path="/api/chat")
    with pytest.raises(AIUnavailable, match=r"rejected the request .*HTTP 400: image too large.*lower \[ollama\] max_image_px") as caught:
        locator.estimate(big)
    assert not isinstance(caught.value, ModelMissing)


def test_unreadable_file_is_reported_before_any_request(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a photo")
    with pytest.raises(UnreadableImage, match=r"junk\.jpg"):
        AILocator(config(fake_ollama.url)).estimate(junk)
    assert fake_ollama.requests == []


def test_not_an_ollama_server_is_try_later(photo: Path) -> None:
    with FakeOllama() as fake:
        fake.fail(200, error="not the API")  # every endpoint answers {"error": ...} with 200
        with pytest.raises(AIUnavailable):
            AILocator(config(fake.url)).check()
