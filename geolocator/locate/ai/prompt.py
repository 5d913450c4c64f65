"""What we ask the vision model, and the JSON schema its answer is constrained to.

The schema's order is the reasoning's order: Ollama turns it into a grammar that generates
properties in this order. First `clues`, what the photo shows clue by clue (script and language on
signs, driving side, road markings, vegetation, architecture, terrain): reasoning from clues
before answering raised accuracy by up to 25% in GeoCoT (arXiv 2502.13759). Then the place
names, so the model commits to "France, Île-de-France, Paris, Eiffel Tower" before it writes
numbers, and the numbers follow from the name. Models name places far better than they recall
coordinates; `judge` geocodes the names and treats the coordinates as a refinement that must
agree with them.

Bump PROMPT_VERSION whenever the text or the schema changes: it is stored with every estimate.
"""

from __future__ import annotations

from typing import Any

PROMPT_VERSION = "clues-first-1"

CLUES = {
    "signs": "Script and language of any signs, plates or text, and what they say; null if none.",
    "driving_side": "Which side vehicles drive on, if it shows (left or right); null if it does not.",
    "road_markings": "Road markings, bollards, kerbs or poles worth noting; null if none.",
    "vegetation": "Plants and trees, and the climate they suggest; null if none.",
    "architecture": "Building styles and materials; null if none.",
    "terrain": "Landforms, water, soil and sky; null if none.",
}
FIELDS = ("clues", "country", "region", "city", "landmark", "latitude", "longitude", "confidence", "description")


def _nullable(kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], "description": description, **extra}


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "clues": {
            "type": "object",
            "description": "What you see, clue by clue, before naming any place.",
            "properties": {name: _nullable("string", text) for name, text in CLUES.items()},
            "required": list(CLUES),
            "additionalProperties": False,
        },
        "country": _nullable("string", "Country name in English, or null if you cannot tell."),
        "region": _nullable("string", "State, province or region, or null."),
        "city": _nullable("string", "City, town or village, or null."),
        "landmark": _nullable("string", "A specific recognisable landmark or site, or null."),
        "latitude": _nullable("number", "Decimal degrees, -90..90, north positive.", minimum=-90, maximum=90),
        "longitude": _nullable("number", "Decimal degrees, -180..180, east positive.", minimum=-180, maximum=180),
        "confidence": {"type": "number", "minimum": 0, "maximum": 1, "description": "How sure you are of the most specific place named, 0..1."},
        "description": {"type": "string", "description": "One short sentence: what the photo shows."},
    },
    "required": list(FIELDS),
    "additionalProperties": False,
}

PROMPT = """\
Where was this photo taken? Work it out from what you can see.

First write down the clues, one by one, before naming any place: the script and language of \
signs, plates and other text (and what they say); which side vehicles drive on; road markings, \
bollards and poles; vegetation and the climate it suggests; architecture and building \
materials; terrain, water and sky. Use null for a clue the photo does not show.

Then name the place, from the broadest to the most specific: country, then region (state or \
province), then city or town, then a landmark if you recognise one. Stop at the level you are \
sure of and use null for the rest: do not guess a city when you only know the country. Only \
then give the latitude and longitude, in decimal degrees (latitude -90 to 90, north positive; \
longitude -180 to 180, east positive), of the most specific place you named; use null for both \
if you named no place.

confidence is a number from 0 to 1: how sure you are of the most specific place you named.
description is one short sentence: what the photo shows.

Answer with one JSON object and nothing else, no markdown, exactly these keys:
{"clues": {"signs": string or null, "driving_side": string or null, "road_markings": string or null, \
"vegetation": string or null, "architecture": string or null, "terrain": string or null}, \
"country": string or null, "region": string or null, "city": string or null, \
"landmark": string or null, "latitude": number or null, "longitude": number or null, \
"confidence": number, "description": string}"""
