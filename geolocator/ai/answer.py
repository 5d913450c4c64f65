"""Turn the vision model's text into an `AIEstimate` that cannot overstate what it knows.

Pure functions (the only data they read is the offline gazetteer). Two steps:

1. `parse_answer(text)` reads what the model said, whatever its form: the schema's JSON; JSON in
   a ```json fence or embedded in prose (models that ignore `format`); as a last resort prose
   ("Country: France", "lat 48.85, lon 2.35", "48.8584° N, 2.2945° E"). Placeholders
   ("unknown", "n/a", "", (0, 0)) become None. Nothing is judged yet.

2. `interpret(text, model=..., prompt_version=...)` judges it. Coordinates out of range are
   dropped or, when they are plainly swapped, swapped back. The named place is geocoded with
   the gazetteer and is the authority: the model's point is kept only when it lies in the named
   area, otherwise the gazetteer's point is used. Confidence and radius come from the level that
   was resolved (landmark, city, region, country); the model's own confidence can lower ours,
   never raise it. Every such decision is recorded, in order, in `AIEstimate.decisions`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from geolocator.places import Gazetteer, Match, gazetteer, haversine_km
from geolocator.record import AIEstimate

# Level -> highest confidence an answer resolved to that level can get.
CONFIDENCE_CAP = {"landmark": 0.8, "city": 0.7, "region": 0.45, "country": 0.25, "coordinates": 0.15}
LANDMARK_RADIUS_KM = 3.0  # a named landmark whose point falls inside the named city
COORDINATES_ONLY_RADIUS_KM = 250.0  # bare coordinates with no place name to check them against
CONFLICT_PENALTY = 0.6  # confidence factor when the model's point contradicted its own place name
MAX_DESCRIPTION = 300
MAX_ANSWER_CHARS = 16_000  # far above what NUM_PREDICT tokens allow; stored and served with the record

_PLACEHOLDERS = {
    "", "unknown", "n a", "na", "none", "null", "nil", "not sure", "unsure", "uncertain", "unclear",
    "not visible", "not applicable", "not known", "undetermined", "indeterminate", "cannot determine",
    "can t determine", "cannot be determined", "no", "various", "any", "unspecified", "not specified",
}
_HEDGES = re.compile(r"^(?:probably|possibly|likely|perhaps|maybe|most likely|presumably|somewhere in|near|around)\s+", re.I)

# -- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """The model's answer as read, before any judgement. `form` says how it was read."""

    form: str  # "json", "fenced json", "embedded json", "prose" or "nothing"
    country: str | None = None
    region: str | None = None
    city: str | None = None
    landmark: str | None = None
    lat: float | None = None
    lon: float | None = None
    confidence: float | None = None
    description: str | None = None


_ALIASES = {
    "country": "country", "country_name": "country", "nation": "country",
    "region": "region", "state": "region", "province": "region", "state_province": "region", "admin1": "region",
    "city": "city", "town": "city", "village": "city", "locality": "city", "municipality": "city",
    "landmark": "landmark", "site": "landmark", "poi": "landmark", "point_of_interest": "landmark",
    "latitude": "lat", "lat": "lat",
    "longitude": "lon", "lon": "lon", "lng": "lon", "long": "lon",
    "confidence": "confidence", "certainty": "confidence", "probability": "confidence", "confidence_score": "confidence",
    "description": "description", "reasoning": "description", "explanation": "description", "clues": "description",
}
_PAIR_KEYS = {"coordinates", "coords", "gps", "location", "latlon", "lat_lon", "latlng", "position", "point"}


def parse_answer(text: str) -> Parsed:
    """Read the model's text in the first form that yields anything."""
    for form, obj in _json_candidates(text):
        fields = _fields_from_mapping(obj)
        if any(v is not None for v in fields.values()):
            return Parsed(form=form, **fields)
    fields = _fields_from_prose(text)
    if any(v is not None for k, v in fields.items() if k != "description"):
        return Parsed(form="prose", **fields)
    return Parsed(form="nothing")


def _json_candidates(text: str):
    stripped = text.strip()
    obj = _loads(stripped)
    if obj is not None:
        yield "json", obj
    for fence in re.finditer(r"```[a-zA-Z]*\s*(.*?)```", text, re.S):
        obj = _loads(fence.group(1).strip())
        if obj is not None:
            yield "fenced json", obj
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
                yield "embedded json", obj
                break


def _loads(text: str) -> dict | None:
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


def _fields_from_mapping(obj: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    pairs: list[Any] = []

    def visit(mapping: dict, depth: int) -> None:
        for raw_key, value in mapping.items():
            key = _key(raw_key)
            if isinstance(value, dict) and depth < 2:
                visit(value, depth + 1)
            elif key in _ALIASES and _ALIASES[key] not in flat:
                flat[_ALIASES[key]] = value
            elif key in _PAIR_KEYS:
                pairs.append(value)

    visit(obj, 0)
    lat, lon = _coordinate(flat.get("lat"), "lat"), _coordinate(flat.get("lon"), "lon")
    if lat is None and lon is None:
        for pair in pairs:
            lat, lon = _pair(pair)
            if lat is not None:
                break
    return _cleaned(flat, lat, lon)


def _pair(value: Any) -> tuple[float | None, float | None]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return _coordinate(value[0], "lat"), _coordinate(value[1], "lon")
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


def _coordinate(value: Any, axis: str) -> float | None:
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


def _dms_value(match: re.Match) -> float | None:
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


# -- judging ---------------------------------------------------------------------------------

def interpret(text: str, *, model: str, prompt_version: str, places: Gazetteer | None = None) -> AIEstimate:
    """The estimate the model's `text` supports, with the reasons for each decision."""
    g = places or gazetteer()
    decisions: list[str] = []
    if len(text) > MAX_ANSWER_CHARS:  # not a sane answer (num_predict bounds a real one): keep it bounded
        decisions.append(f"answer cut to its first {MAX_ANSWER_CHARS} of {len(text)} characters")
        text = text[:MAX_ANSWER_CHARS]
    parsed = parse_answer(text)
    if parsed.form == "nothing":
        decisions.append("empty answer" if not text.strip() else "no place name or coordinates found in the answer")
        return _unlocated(parsed, text, model, prompt_version, decisions)
    decisions.append(f"read the answer as {parsed.form}")

    point = _valid_point(parsed.lat, parsed.lon, decisions)
    match = _geocode(g, parsed, decisions)
    named_code = g.country_code(parsed.country) or (match.country_code if match else None)
    if point and named_code:
        point = _unswap_by_country(g, point, named_code, match, decisions)

    if match is None:
        if point is None:
            decisions.append("nothing resolvable: no location")
            return _unlocated(parsed, text, model, prompt_version, decisions)
        decisions.append(f"no place name to check ({point[0]:.4f}, {point[1]:.4f}) against: kept it with a {COORDINATES_ONLY_RADIUS_KM:.0f} km radius")
        return _estimate(parsed, text, model, prompt_version, decisions, point, "coordinates", COORDINATES_ONLY_RADIUS_KM, g.nearest(*point).label, conflict=False)

    if point is None:
        decisions.append(f"using the gazetteer point of {match.label}")
        return _estimate(parsed, text, model, prompt_version, decisions, (match.lat, match.lon), match.level, match.radius_km, match.label, conflict=False)

    distance = haversine_km(point[0], point[1], match.lat, match.lon)
    here = g.nearest(*point)
    where = f"({point[0]:.4f}, {point[1]:.4f})"
    if distance <= match.radius_km:
        level, radius = match.level, match.radius_km
        if level == "city" and parsed.landmark:
            level, radius = "landmark", min(LANDMARK_RADIUS_KM, match.radius_km)
        decisions.append(f"model's point {where} is {distance:.0f} km from {match.label}, within its {match.radius_km:.0f} km: kept it")
        label = f"{parsed.landmark}, {match.label}" if level == "landmark" else match.label
        return _estimate(parsed, text, model, prompt_version, decisions, point, level, radius, label, conflict=False)
    if here.country_code != match.country_code:
        decisions.append(f"model's point {where} is in {here.country}, not in {g.country_names.get(match.country_code, match.country_code)}: using the gazetteer point of {match.label}")
        return _estimate(parsed, text, model, prompt_version, decisions, (match.lat, match.lon), match.level, match.radius_km, match.label, conflict=True)
    if match.level == "country":
        decisions.append(f"model's point {where} is in {match.label}, the most specific place named: kept it, with the country's {match.radius_km:.0f} km radius")
        return _estimate(parsed, text, model, prompt_version, decisions, point, "country", match.radius_km, match.label, conflict=False)
    decisions.append(f"model's point {where} is {distance:.0f} km from {match.label}, beyond its {match.radius_km:.0f} km: using the gazetteer point")
    return _estimate(parsed, text, model, prompt_version, decisions, (match.lat, match.lon), match.level, match.radius_km, match.label, conflict=True)


def _valid_point(lat: float | None, lon: float | None, decisions: list[str]) -> tuple[float, float] | None:
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        decisions.append("only one coordinate given: ignored")
        return None
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:
        decisions.append("coordinates (0, 0) are a placeholder, not a place: ignored")
        return None
    if abs(lat) > 90:
        if abs(lat) <= 180 and abs(lon) <= 90:
            decisions.append(f"latitude {lat:g} is out of range and longitude {lon:g} would fit: read them as swapped")
            return lon, lat
        decisions.append(f"latitude {lat:g} is out of range: coordinates ignored")
        return None
    if abs(lon) > 180:
        decisions.append(f"longitude {lon:g} is out of range: coordinates ignored")
        return None
    return lat, lon


def _geocode(g: Gazetteer, parsed: Parsed, decisions: list[str]) -> Match | None:
    if parsed.country and g.country_code(parsed.country) is None:
        decisions.append(f"country '{parsed.country}' is not one the gazetteer knows")
    named = [n for n in (parsed.country, parsed.region, parsed.city, parsed.landmark) if n]
    if not named:
        return None
    match = g.find(parsed.country, parsed.region, parsed.city)
    if parsed.landmark and (match is None or match.level != "city"):
        as_town = g.find(parsed.country, parsed.region, parsed.landmark)
        if as_town and as_town.level == "city":
            decisions.append(f"landmark '{parsed.landmark}' is also a place name: {as_town.label}")
            match = as_town
    if match is None:
        decisions.append(f"no place named {', '.join(repr(n) for n in named)} in the gazetteer")
        return None
    if parsed.city and match.level != "city":
        decisions.append(f"city '{parsed.city}' not found{' in ' + parsed.country if parsed.country else ''}: resolved to the {match.level}")
    elif parsed.region and match.level == "country":
        decisions.append(f"region '{parsed.region}' not found in {match.label}: resolved to the country")
    decisions.append(f"named place resolved to {match.label} ({match.level}, {match.radius_km:.0f} km radius)")
    return match


def _unswap_by_country(g: Gazetteer, point: tuple[float, float], code: str, match: Match | None, decisions: list[str]) -> tuple[float, float]:
    """Swap back coordinates whose swapped reading, and only it, lands in the named country."""
    lat, lon = point

    def agrees(p: tuple[float, float]) -> bool:
        if match and haversine_km(p[0], p[1], match.lat, match.lon) <= match.radius_km:
            return True
        return g.nearest(*p).country_code == code

    if agrees(point) or abs(lon) > 90 or not agrees((lon, lat)):
        return point
    country = g.country_names.get(code, code)
    decisions.append(f"({lat:g}, {lon:g}) is in {g.nearest(lat, lon).country} but ({lon:g}, {lat:g}) is in {country}: read them as swapped")
    return lon, lat


def _estimate(
    parsed: Parsed,
    raw: str,
    model: str,
    prompt_version: str,
    decisions: list[str],
    point: tuple[float, float],
    level: str,
    radius_km: float,
    place: str,
    conflict: bool,
) -> AIEstimate:
    cap = CONFIDENCE_CAP[level]
    confidence = cap
    if parsed.confidence is not None and parsed.confidence < cap:
        confidence = parsed.confidence
        decisions.append(f"model's own confidence {parsed.confidence:.2f} is below the {level} cap {cap:.2f}: used it")
    if conflict:
        confidence *= CONFLICT_PENALTY
        decisions.append(f"its coordinates contradicted its place name: confidence x{CONFLICT_PENALTY}")
    decisions.append(f"confidence {confidence:.2f}, radius {radius_km:.0f} km ({level} level)")
    return AIEstimate(
        lat=round(point[0], 5),
        lon=round(point[1], 5),
        confidence=round(confidence, 2),
        radius_km=round(radius_km, 1),
        description=parsed.description,
        place=place,
        model=model,
        prompt_version=prompt_version,
        raw_answer=raw,
        decisions=tuple(decisions),
    )


def _unlocated(parsed: Parsed, raw: str, model: str, prompt_version: str, decisions: list[str]) -> AIEstimate:
    return AIEstimate(
        lat=None,
        lon=None,
        confidence=0.0,
        radius_km=None,
        description=parsed.description,
        place=None,
        model=model,
        prompt_version=prompt_version,
        raw_answer=raw,
        decisions=tuple(decisions),
    )
