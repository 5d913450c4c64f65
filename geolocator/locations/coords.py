"""Coordinates as people paste them into one field. Pure: text in, a point or a clear error out.

Accepted: decimal pairs (`41.8902, 12.4922`, `41.8902 12.4922`, `41.8902; 12.4922`), degrees,
minutes and seconds with any of the marks people copy (`41°53'24.7"N 12°29'32.0"E`, ′ ″ ’ ” º,
spaces), hemisphere letters before or after (`41.89N 12.49E`, `S 33.86 E 151.21`, either order),
`geo:` URIs (RFC 5870, with `;u=`, `;crs=wgs84`, Android's `?z=` and `geo:0,0?q=lat,lon`), and map
links: Google Maps (`@lat,lon`, the place pin `!3dlat!4dlon`, `?q=`/`?query=`/`?ll=`),
OpenStreetMap (`?mlat=&mlon=`, `#map=z/lat/lon`), Apple Maps (`?ll=`, `?q=`), Bing (`?cp=lat~lon`).

Written by hand: no kept library parses this mix, and the forms are few and regular.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from geolocator.errors import GeolocatorError

MAX_CHARS = 4096  # a Google Maps link with its data= part is long, but not this long
_EXAMPLES = "for example 41.8902, 12.4922 or 41°53'24.7\"N 12°29'32.0\"E or a map link"


class CoordinateError(GeolocatorError):
    """Text meant as coordinates that cannot be used; the message says why."""


class NotCoordinates(CoordinateError):
    """Text that is not coordinates at all (no digits, words): try it as a place name."""


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


# Marks people copy from maps, Wikipedia and word processors, to their plain forms.
_MARKS = str.maketrans({
    "′": "'", "’": "'", "‘": "'", "´": "'", "`": "'", "ʹ": "'",
    "″": '"', "”": '"', "“": '"', "ʺ": '"',
    "º": "°", "˚": "°", "−": "-", "–": "-",
})  # fmt: skip
_ONLY_COORDINATE_CHARS = re.compile(r"[0-9NSEW°'\".,;+\- ]+")
_NUMBER = r"[+-]?\d+(?:\.\d+)?"


def _component(p: str) -> str:
    """One latitude or longitude: optional hemisphere letter, degrees, optional minutes and seconds."""
    # Minutes need a ° or a space before them: digits running into digits would be read
    # every possible way, and a long run of them would take quadratic time.
    return (
        rf"(?:(?P<{p}pre>[NSEW]) ?)?"
        rf"(?P<{p}deg>[+-]?\d+(?:\.\d+)?)"
        rf"(?:(?: ?° ?| )(?P<{p}min>\d+(?:\.\d+)?) ?'(?: ?(?P<{p}sec>\d+(?:\.\d+)?) ?\")?| ?°)?"
        rf"(?({p}pre)|(?: ?(?P<{p}post>[NSEW]))?)"  # a letter before or after, not both
    )


# Two components; a comma, semicolon or space between them, or nothing after a letter or mark.
_PAIR = re.compile(_component("a") + r"(?:(?<=[NSEW\"'°]) ?| ?[,;] ?| )" + _component("b"))
_GOOGLE_PIN = re.compile(rf"!3d({_NUMBER})!4d({_NUMBER})")
_AT = re.compile(rf"@({_NUMBER}),({_NUMBER})")
_OSM_MAP = re.compile(rf"(?:^|[&#])map=\d+(?:\.\d+)?/({_NUMBER})/({_NUMBER})")
_QUERY_KEYS = ("q", "query", "ll", "sll", "daddr", "destination", "center", "cp")


def parse_coordinates(text: str) -> Point:
    """The point `text` gives. Raises NotCoordinates when it is not meant as coordinates (a
    place name), CoordinateError when it is but cannot be used (out of range, malformed)."""
    stripped = text.strip()
    if not stripped:
        raise NotCoordinates("nothing to read: type a place name or paste coordinates")
    if len(stripped) > MAX_CHARS:
        raise CoordinateError(f"too long to be coordinates ({len(stripped)} characters)")
    lowered = stripped.lower()
    if lowered.startswith("geo:"):
        return _geo_uri(stripped)
    if re.match(r"(https?://|www\.|maps\.|(www\.)?(google|openstreetmap|bing)\.[a-z.]+/)", lowered):
        return _map_link(stripped if "://" in stripped else "https://" + stripped)
    return _plain(stripped)


def _shown(text: str) -> str:
    """`text` quoted for a message, cut short when long."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _point(lat: float, lon: float) -> Point:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise CoordinateError(f"latitude {lat:g} is out of range: it must be between -90 and 90")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise CoordinateError(f"longitude {lon:g} is out of range: it must be between -180 and 180")
    return Point(lat + 0.0, lon + 0.0)  # + 0.0 turns -0.0 into 0.0


def _plain(text: str) -> Point:
    norm = " ".join(text.translate(_MARKS).replace("''", '"').upper().split())
    if norm[:1] + norm[-1:] in ("()", "[]"):
        norm = norm[1:-1].strip()
    if not (_ONLY_COORDINATE_CHARS.fullmatch(norm) and any(c.isdigit() for c in norm)):
        raise NotCoordinates(f"{_shown(text)} is not coordinates")
    match = _PAIR.fullmatch(norm)
    if not match:
        raise CoordinateError(f"cannot read {_shown(text)} as coordinates: give a latitude and a longitude, {_EXAMPLES}")
    first, first_axis = _degrees(match, "a")
    second, second_axis = _degrees(match, "b")
    if first_axis and first_axis == second_axis:
        raise CoordinateError(f"{_shown(text)} gives two {'latitudes' if first_axis == 'lat' else 'longitudes'}: one needs N or S, the other E or W")
    if first_axis == "lon" or second_axis == "lat":
        first, second = second, first
    return _point(first, second)


def _degrees(match: re.Match[str], p: str) -> tuple[float, str | None]:
    """The signed value of one component, and its axis when a hemisphere letter names it."""
    deg, minutes, seconds = (match.group(p + g) for g in ("deg", "min", "sec"))
    letter = match.group(p + "pre") or match.group(p + "post")
    shown = _shown(match.group(0))
    negative = deg.startswith("-")
    if letter and deg[0] in "+-":
        raise CoordinateError(f"{shown}: a value has both a sign and a hemisphere letter ({deg}, {letter})")
    value = abs(float(deg))
    if minutes is not None:
        if "." in deg:
            raise CoordinateError(f"{shown}: degrees with a decimal part cannot also have minutes")
        if seconds is not None and "." in minutes:
            raise CoordinateError(f"{shown}: minutes with a decimal part cannot also have seconds")
        if float(minutes) >= 60 or (seconds is not None and float(seconds) >= 60):
            raise CoordinateError(f"{shown}: minutes and seconds must be below 60")
        value += float(minutes) / 60 + (float(seconds) / 3600 if seconds else 0.0)
    if negative or letter in ("S", "W"):
        value = -value
    return value, {"N": "lat", "S": "lat", "E": "lon", "W": "lon"}.get(letter or "")


def _number(text: str) -> float:
    if not re.fullmatch(_NUMBER, text.strip()):
        raise CoordinateError(f"{_shown(text)} is not a number")
    return float(text)


def _geo_uri(text: str) -> Point:
    body, _, query = text[4:].partition("?")
    coordinates, *params = body.split(";")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "crs" and value.strip().lower() != "wgs84":
            raise CoordinateError(f"{_shown(text)} uses the coordinate system {_shown(value)}: only WGS-84 (GPS) coordinates are understood")
    parts = unquote_plus(coordinates).split(",")
    if len(parts) not in (2, 3):
        raise CoordinateError(f"{_shown(text)} is not a geo: URI of the form geo:latitude,longitude")
    lat, lon = _number(parts[0]), _number(parts[1])
    if lat == 0 and lon == 0:  # Android: geo:0,0?q=lat,lon(label) carries the point in q
        for key, value in parse_qsl(query):
            if key == "q":
                try:
                    return _query_value(value)
                except NotCoordinates:
                    raise CoordinateError(f"{_shown(text)} is a search for {_shown(value)}, not a point: search for the place by name instead") from None
    return _point(lat, lon)


def _query_value(value: str) -> Point:
    """A point from a link's query value: `41.89,12.49`, `loc:41.89,12.49`, `41.89,12.49(label)`."""
    value = re.sub(r"\(.*\)\s*$", "", value.strip())
    value = value.removeprefix("loc:").replace("~", ",")
    return _plain(value)


def _map_link(url: str) -> Point:
    parts = urlsplit(url)
    pin = _GOOGLE_PIN.search(url)
    if pin:  # a Google place: the pin, not the view's centre after @
        return _point(float(pin.group(1)), float(pin.group(2)))
    query = dict(parse_qsl(parts.query))
    if "mlat" in query and "mlon" in query:  # OpenStreetMap's marker
        return _point(_number(query["mlat"]), _number(query["mlon"]))
    for key in _QUERY_KEYS:
        if key in query:
            try:
                return _query_value(query[key])
            except NotCoordinates:
                continue  # ?q=Colosseum: a search, not a point
    for segment in parts.path.split("/"):
        if segment and not segment.startswith("@"):
            try:  # /maps/place/41.8902,12.4922 and /maps/search/41.8902,+12.4922
                return _plain(unquote_plus(segment))
            except CoordinateError:
                continue
    for pattern, where in ((_AT, parts.path), (_OSM_MAP, parts.fragment), (_OSM_MAP, parts.query)):
        found = pattern.search(where)
        if found:
            return _point(float(found.group(1)), float(found.group(2)))
    raise CoordinateError(
        f"no coordinates in the link {parts.netloc}{parts.path[:60]}: open it in a browser (short links like maps.app.goo.gl must be followed first) and paste the address it shows"
    )
