"""Read the vision model's answer text into a small typed value, `Parsed`, judging nothing.

`parse(text)` reads what the model said, whatever its form: the schema's JSON; JSON in a
```json fence or embedded in prose (models that ignore `format`); as a last resort prose
("Country: France", "lat 48.85, lon 2.35", "48.8584° N, 2.2945° E"). Placeholders ("unknown",
"n/a", "") become None; hedges ("Probably Spain") are dropped from names. Only the first
MAX_ANSWER_CHARS are read. Whether the answer is believed is `judge`'s business.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_DESCRIPTION = 300
MAX_ANSWER_CHARS = 16_000  # far above what NUM_PREDICT tokens allow; stored and served with the record


class Form(enum.Enum):
    """How the answer was read."""

    JSON = "json"
    FENCED = "fenced json"
    EMBEDDED = "embedded json"
    PROSE = "prose"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Parsed:
    """The model's answer as read, before any judgement."""

    form: Form
    length: int  # of the text as given; only the first MAX_ANSWER_CHARS were read
    country: str | None = None
    region: str | None = None
    city: str | None = None
    landmark: str | None = None
    lat: float | None = None
    lon: float | None = None
    confidence: float | None = None
    description: str | None = None
    clues: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The place names given, broadest first."""
        return tuple(n for n in (self.country, self.region, self.city, self.landmark) if n)


def parse(text: str) -> Parsed:
    """Read the model's text in the first form that yields anything."""
    length, text = len(text), text[:MAX_ANSWER_CHARS]
    for form, obj in _json_candidates(text):
        fields = _fields_from_mapping(obj)
        if any(v is not None for v in fields.values()):
            return Parsed(form, length, **fields)
    fields = _fields_from_prose(text)
    if any(v is not None for k, v in fields.items() if k not in ("description", "clues")):
        return Parsed(Form.PROSE, length, **fields)
    return Parsed(Form.NOTHING, length)


_PLACEHOLDERS = {
    "", "unknown", "n a", "na", "none", "null", "nil", "not sure", "unsure", "uncertain", "unclear",
    "not visible", "not applicable", "not known", "undetermined", "indeterminate", "cannot determine",
    "can t determine", "cannot be determined", "no", "various", "any", "unspecified", "not specified",
}
_HEDGES = re.compile(r"^(?:probably|possibly|likely|perhaps|maybe|most likely|presumably|somewhere in|near|around)\s+", re.I)

_ALIASES = {
    "country": "country", "country_name": "country", "nation": "country",
    "region": "region", "state": "region", "province": "region", "state_province": "region", "admin1": "region",
    "city": "city", "town": "city", "village": "city", "locality": "city", "municipality": "city",
    "landmark": "landmark", "site": "landmark", "poi": "landmark", "point_of_interest": "landmark",
    "latitude": "lat", "lat": "lat",
    "longitude": "lon", "lon": "lon", "lng": "lon", "long": "lon",
    "confidence": "confidence", "certainty": "confidence", "probability": "confidence", "confidence_score": "confidence",
    "description": "description", "reasoning": "description", "explanation": "description",
    "clues": "clues", "evidence": "clues",
}
_PAIR_KEYS = {"coordinates", "coords", "gps", "location", "latlon", "lat_lon", "latlng", "position", "point"}


def _json_candidates(text: str) -> Iterator[tuple[Form, dict[str, Any]]]:
    stripped = text.strip()
    obj = _loads(stripped)
    if obj is not None:
        yield Form.JSON, obj
    for fence in re.finditer(r"```[a-zA-Z]*\s*(.*?)```", text, re.S):
        obj = _loads(fence.group(1).strip())
        if obj is not None:
            yield Form.FENCED, obj
    decoder = json.JSONDecoder()
    for tries, start in enumerate(m.start() for m in re.finditer(r"\{", text)):
        if tries >= 20:
            break
        for candidate in (text, _without_trailing_commas(text)):
            try:
                obj, _ = decoder.raw_decode(candidate, start)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                continue
            if isinstance(obj, dict):
                yield Form.EMBEDDED, obj
                break


def _loads(text: str) -> dict[str, Any] | None:
    for candidate in (text, _without_trailing_commas(text)):
        try:
            obj = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            obj = obj[0]
        return obj if isinstance(obj, dict) else None
    return None


def _without_trailing_commas(text: str) -> str:
    return re.sub(r",\s*([}\]])", r"\1", text)


def _key(name: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def _fields_from_mapping(obj: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    pairs: list[Any] = []

    def visit(mapping: dict[str, Any], depth: int) -> None:
        for raw_key, value in mapping.items():
            key = _key(raw_key)
            if _ALIASES.get(key) == "clues":
                flat.setdefault("clues", value)
            elif isinstance(value, dict) and depth < 2:
                visit(value, depth + 1)
            elif key in _ALIASES and _ALIASES[key] not in flat:
                flat[_ALIASES[key]] = value
            elif key in _PAIR_KEYS:
                pairs.append(value)

    visit(obj, 0)
    lat, lon = _coordinate(flat.get("lat")), _coordinate(flat.get("lon"))
    if lat is None and lon is None:
        for pair in pairs:
            lat, lon = _pair(pair)
            if lat is not None:
                break
    return _cleaned(flat, lat, lon)


def _pair(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return _coordinate(value[0]), _coordinate(value[1])
    if isinstance(value, str):
        found = _prose_coordinates(value)
        if found:
            return found
    return None, None


def _name(value: Any) -> str | None:
    """A place name, or None for the many ways of saying "I don't know"."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).strip(" .,;:*_`\"'")
    text = re.sub(r"\s*\((?:probably|possibly|likely|uncertain|unsure|approximate|approx\.?|estimated|guess)\)\s*$", "", text, flags=re.I)
    text = _HEDGES.sub("", text).strip()
    key = re.sub(r"[^a-z]+", " ", text.lower()).strip()
    if key in _PLACEHOLDERS or key.startswith(("unknown", "not ", "cannot ", "unable ", "no ")) or len(text) > 80:
        return None
    return text


_NUMBER = r"[-+−]?\d{1,3}(?:\.\d+)?"
_DMS = re.compile(
    r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(°|º|deg\b|degrees\b)?\s*"
    r"(?:(\d{1,2}(?:\.\d+)?)\s*['′’]\s*)?(?:(\d{1,2}(?:\.\d+)?)\s*(?:\"|″|”|'')\s*)?"
    r"([NSEW])(?![a-zA-Z])"
)


def _coordinate(value: Any) -> float | None:
    """A number, or a string like "48.85", "48.85° N", "2°17'40\"E"; None when it is neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace("−", "-")
    hemi = _DMS.search(text)
    if hemi:
        return _dms_value(hemi)
    match = re.fullmatch(r"\s*(" + _NUMBER + r")\s*°?\s*", text)
    return float(match.group(1).replace("+", "")) if match else None


def _dms_value(match: re.Match[str]) -> float | None:
    degrees, sign, minutes, seconds, hemisphere = match.groups()
    if not sign and "." not in degrees and minutes is None:
        return None  # "66 N" is as likely a road as a latitude
    value = float(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    return -value if hemisphere in "SW" else value


def _prose_coordinates(text: str) -> tuple[float, float] | None:
    lat = lon = None
    for match in _DMS.finditer(text):
        value = _dms_value(match)
        if value is None:
            continue
        if match.group(5) in "NS" and lat is None:
            lat = value
        elif match.group(5) in "EW" and lon is None:
            lon = value
    if lat is not None and lon is not None:
        return lat, lon
    text = text.replace("−", "-")
    labelled_lat = re.search(r"\blat(?:itude)?\b[^\w\-+]{0,3}(?:is|of|about|approx\.?|approximately|~|≈)?\s*(" + _NUMBER + ")", text, re.I)
    labelled_lon = re.search(r"\b(?:lon(?:g(?:itude)?)?|lng)\b[^\w\-+]{0,3}(?:is|of|about|approx\.?|approximately|~|≈)?\s*(" + _NUMBER + ")", text, re.I)
    if labelled_lat and labelled_lon:
        return float(labelled_lat.group(1).replace("+", "")), float(labelled_lon.group(1).replace("+", ""))
    bare = re.search(r"(?<![\d.])([-+]?\d{1,3}\.\d+)\s*,\s*([-+]?\d{1,3}\.\d+)(?![\d.])", text)
    if bare:
        return float(bare.group(1)), float(bare.group(2))
    return None


def _fields_from_prose(text: str) -> dict[str, Any]:
    labelled: dict[str, str] = {}
    for match in re.finditer(
        r"(?im)^[\s>*\-•#]*\**\s*(country|region|state|province|city|town|landmark|confidence|description)\s*\**\s*[:=]\s*\**\s*(.+?)\s*\**\s*$",
        text,
    ):
        labelled.setdefault(_ALIASES[match.group(1).lower()], match.group(2))
    lat, lon = _prose_coordinates(text) or (None, None)
    return _cleaned(labelled, lat, lon)


def _cleaned(found: dict[str, Any], lat: float | None, lon: float | None) -> dict[str, Any]:
    """The answer's fields with names, confidence and description cleaned of non-answers."""
    return {
        "country": _name(found.get("country")),
        "region": _name(found.get("region")),
        "city": _name(found.get("city")),
        "landmark": _name(found.get("landmark")),
        "lat": lat,
        "lon": lon,
        "confidence": _confidence(found.get("confidence")),
        "description": _description(found.get("description")),
        "clues": _clues(found.get("clues")),
    }


_WORD_CONFIDENCE = {"very high": 0.9, "high": 0.8, "medium": 0.5, "moderate": 0.5, "low": 0.2, "very low": 0.1}


def _confidence(value: Any) -> float | None:
    """0..1 from a number, a percentage ("80%", 80) or a word ("high")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower().rstrip(".")
        if text in _WORD_CONFIDENCE:
            return _WORD_CONFIDENCE[text]
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text)
        if not match:
            return None
        value = float(match.group(1)) / (100 if match.group(2) else 1)
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    if value > 1:
        value = value / 100 if value <= 100 else None
    return None if value is None else float(value)


def _description(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or _key(text) in {"unknown", "n_a", "none", "null"}:
        return None
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1].rstrip() + "…"


def _clues(value: Any) -> str | None:
    """The model's clues, one line: "signs: Cyrillic; driving side: right" from the schema's object."""
    if isinstance(value, dict):
        parts = [f"{_key(k).replace('_', ' ')}: {_description(v)}" for k, v in value.items() if _description(v)]
    elif isinstance(value, list):
        parts = [text for text in (_description(v) for v in value) if text]
    else:
        parts = [text] if (text := _description(value)) else []
    return _description("; ".join(parts)) if parts else None
