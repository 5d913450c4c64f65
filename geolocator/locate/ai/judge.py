"""Judge what the model said (`parse.Parsed`) against the offline gazetteer: an `AIEstimate` that
cannot overstate what it knows. Pure: the only data read is the gazetteer.

Coordinates out of range are dropped or, when they are plainly swapped, swapped back. The named
place is geocoded and is the authority: the model's point is kept only when it lies in the named
area, otherwise the gazetteer's point is used. Confidence and radius come from the level that was
resolved (landmark, city, region, country); the model's own confidence can lower ours, never
raise it. Every such decision is recorded, in order, in `AIEstimate.decisions`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from geolocator.locate.ai.parse import MAX_ANSWER_CHARS, Form, Parsed, parse
from geolocator.locate.places import Gazetteer, Match, gazetteer, haversine_km
from geolocator.record import AIEstimate, Location, Source

# Level -> highest confidence an answer resolved to that level can get.
CONFIDENCE_CAP = {"landmark": 0.8, "city": 0.7, "region": 0.45, "country": 0.25, "coordinates": 0.15}
LANDMARK_RADIUS_KM = 3.0  # a named landmark whose point falls inside the named city
COORDINATES_ONLY_RADIUS_KM = 250.0  # bare coordinates with no place name to check them against
CONFLICT_PENALTY = 0.6  # confidence factor when the model's point contradicted its own place name

Point = tuple[float, float]


@dataclass(frozen=True)
class Asked:
    """Who was asked, and the answer's text as given: stored with the estimate."""

    model: str
    prompt_version: str
    text: str


@dataclass(frozen=True)
class Placement:
    """Where the judged answer puts the photo."""

    point: Point
    level: str  # a CONFIDENCE_CAP key
    radius_km: float
    place: str
    names: Location  # the place's fields (city None above city level, region, country code)
    conflict: bool = False  # the model's point contradicted its own place name


def interpret(text: str, *, model: str, prompt_version: str, places: Gazetteer | None = None) -> AIEstimate:
    """The estimate the model's `text` supports: `judge(parse(text), ...)`."""
    return judge(parse(text), Asked(model, prompt_version, text), places)


def judge(parsed: Parsed, asked: Asked, places: Gazetteer | None = None) -> AIEstimate:
    """The estimate `parsed` supports, with the reasons for each decision."""
    decisions: list[str] = []
    if parsed.length > MAX_ANSWER_CHARS:  # not a sane answer (num_predict bounds a real one)
        decisions.append(f"answer cut to its first {MAX_ANSWER_CHARS} of {parsed.length} characters")
    if parsed.form is Form.NOTHING:
        decisions.append("empty answer" if not asked.text.strip() else "no place name or coordinates found in the answer")
        placement = None
    else:
        decisions.append(f"read the answer as {parsed.form.value}")
        placement = _place(places or gazetteer(), parsed, decisions)
    return _estimate(parsed, asked, placement, decisions)


def _place(g: Gazetteer, parsed: Parsed, decisions: list[str]) -> Placement | None:
    point = _valid_point(parsed.lat, parsed.lon, decisions)
    match = _geocode(g, parsed, decisions)
    named_code = g.country_code(parsed.country) or (match.country_code if match else None)
    if point and named_code:
        point = _unswap_by_country(g, point, named_code, match, decisions)

    if match is None:
        if point is None:
            decisions.append("nothing resolvable: no location")
            return None
        decisions.append(f"no place name to check ({point[0]:.4f}, {point[1]:.4f}) against: kept it with a {COORDINATES_ONLY_RADIUS_KM:.0f} km radius")
        near = g.name(*point)
        return Placement(point, "coordinates", COORDINATES_ONLY_RADIUS_KM, g.nearest(*point).label, Location(city=near.city, region=near.region, country_code=near.country_code))

    names = Location(city=match.city, region=match.region, country_code=match.country_code)
    named = Placement((match.lat, match.lon), match.level, match.radius_km, match.label, names)
    if point is None:
        decisions.append(f"using the gazetteer point of {match.label}")
        return named

    distance = haversine_km(point[0], point[1], match.lat, match.lon)
    here = g.nearest(*point)
    where = f"({point[0]:.4f}, {point[1]:.4f})"
    if distance <= match.radius_km:
        decisions.append(f"model's point {where} is {distance:.0f} km from {match.label}, within its {match.radius_km:.0f} km: kept it")
        if match.level == "city" and parsed.landmark:
            return Placement(point, "landmark", min(LANDMARK_RADIUS_KM, match.radius_km), f"{parsed.landmark}, {match.label}", names)
        return Placement(point, match.level, match.radius_km, match.label, names)
    if here.country_code != match.country_code:
        country = g.country_names.get(match.country_code, match.country_code)
        decisions.append(f"model's point {where} is in {here.country}, not in {country}: using the gazetteer point of {match.label}")
        return dataclasses.replace(named, conflict=True)
    if match.level == "country":
        decisions.append(f"model's point {where} is in {match.label}, the most specific place named: kept it, with the country's {match.radius_km:.0f} km radius")
        return Placement(point, "country", match.radius_km, match.label, names)
    decisions.append(f"model's point {where} is {distance:.0f} km from {match.label}, beyond its {match.radius_km:.0f} km: using the gazetteer point")
    return dataclasses.replace(named, conflict=True)


def _valid_point(lat: float | None, lon: float | None, decisions: list[str]) -> Point | None:
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
    if not parsed.names:
        return None
    match = g.find(parsed.country, parsed.region, parsed.city)
    if parsed.landmark and (match is None or match.level != "city"):
        as_town = g.find(parsed.country, parsed.region, parsed.landmark)
        if as_town and as_town.level == "city":
            decisions.append(f"landmark '{parsed.landmark}' is also a place name: {as_town.label}")
            match = as_town
    if match is None:
        decisions.append(f"no place named {', '.join(repr(n) for n in parsed.names)} in the gazetteer")
        return None
    if parsed.city and match.level != "city":
        decisions.append(f"city '{parsed.city}' not found{' in ' + parsed.country if parsed.country else ''}: resolved to the {match.level}")
    elif parsed.region and match.level == "country":
        decisions.append(f"region '{parsed.region}' not found in {match.label}: resolved to the country")
    decisions.append(f"named place resolved to {match.label} ({match.level}, {match.radius_km:.0f} km radius)")
    return match


def _unswap_by_country(g: Gazetteer, point: Point, code: str, match: Match | None, decisions: list[str]) -> Point:
    """Swap back coordinates whose swapped reading, and only it, lands in the named country."""
    lat, lon = point

    def agrees(p: Point) -> bool:
        if match and haversine_km(p[0], p[1], match.lat, match.lon) <= match.radius_km:
            return True
        return g.nearest(*p).country_code == code

    if agrees(point) or abs(lon) > 90 or not agrees((lon, lat)):
        return point
    country = g.country_names.get(code, code)
    decisions.append(f"({lat:g}, {lon:g}) is in {g.nearest(lat, lon).country} but ({lon:g}, {lat:g}) is in {country}: read them as swapped")
    return lon, lat


def _estimate(parsed: Parsed, asked: Asked, placement: Placement | None, decisions: list[str]) -> AIEstimate:
    description = _with_clues(parsed)
    raw = asked.text[:MAX_ANSWER_CHARS]
    if placement is None:
        return AIEstimate(confidence=0.0, description=description, model=asked.model, prompt_version=asked.prompt_version, raw_answer=raw, decisions=tuple(decisions))
    level = placement.level
    cap = confidence = CONFIDENCE_CAP[level]
    if parsed.confidence is not None and parsed.confidence < cap:
        confidence = parsed.confidence
        decisions.append(f"model's own confidence {parsed.confidence:.2f} is below the {level} cap {cap:.2f}: used it")
    if placement.conflict:
        confidence *= CONFLICT_PENALTY
        decisions.append(f"its coordinates contradicted its place name: confidence x{CONFLICT_PENALTY}")
    decisions.append(f"confidence {confidence:.2f}, radius {placement.radius_km:.0f} km ({level} level)")
    return AIEstimate(
        source=Source.AI,
        lat=round(placement.point[0], 5),
        lon=round(placement.point[1], 5),
        confidence=round(confidence, 2),
        radius_km=round(placement.radius_km, 1),
        place=placement.place,
        city=placement.names.city,
        region=placement.names.region,
        country_code=placement.names.country_code,
        description=description,
        model=asked.model,
        prompt_version=asked.prompt_version,
        raw_answer=raw,
        decisions=tuple(decisions),
    )


def _with_clues(parsed: Parsed) -> str | None:
    """The model's description, followed by the clues it gave (each cut by `parse`)."""
    if parsed.clues is None:
        return parsed.description
    clues = f"Clues: {parsed.clues}"
    return f"{parsed.description} {clues}" if parsed.description else clues
