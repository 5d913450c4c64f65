"""Search and the details the photo browser shows beside the map rows.

- `GET /api/places?q=Lisbon`  the offline gazetteer's answer for a place name (a town, a region, a
  country; "Tuscany, Italy": `Gazetteer.search`) and the ids of the located photos whose place names
  it: {"query", "match", "ids"}; a region's match has the box that frames it ("bounds": [[south,
  west], [north, east]]), a town's or a country's null (its radius then)
- `GET /api/brief?ids=a,b,...`  for the rows a list is drawing (at most MAX_BRIEF): each photo's
  place, capture time, whether its file is there and has a thumbnail (a failed file has none: the page
  shows a placeholder) and, for a duplicate or a copy, the name of the photo it repeats
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import bottle

from geolocator.locate.places import Match, normalize, search
from geolocator.record import PhotoRecord, Source, Status
from viewer.context import ID_RE, Context
from viewer.respond import send_json
from viewer.routes import route

MAX_QUERY = 100
MAX_BRIEF = 200  # a list draws a few dozen rows at a time


@dataclass(frozen=True)
class PlaceQuery:
    text: str  # as typed, trimmed
    keys: frozenset[str]  # its comma-separated parts, normalised: what place names are compared by


def parse_query(raw: str) -> PlaceQuery:
    text = raw.strip()
    if not text or len(text) > MAX_QUERY:
        raise bottle.HTTPError(400, f"q must be 1 to {MAX_QUERY} characters")
    return PlaceQuery(text, frozenset(key for part in text.split(",") if (key := normalize(part))))


def place_names(query: PlaceQuery, place: str | None) -> bool:
    """Whether each part of the query ("Lisbon"; "Tuscany, Italy") is one of the parts of a record's
    place ("Baixa, Lisbon, Lisbon, Portugal")."""
    return bool(place and query.keys) and query.keys <= {normalize(part) for part in (place or "").split(",")}


def matching_ids(query: PlaceQuery, records: list[PhotoRecord]) -> list[str]:
    return [r.id for r in records if r.status is Status.LOCATED and place_names(query, r.place)]


def match_json(match: Match) -> dict[str, Any]:
    return {
        "lat": match.lat, "lon": match.lon, "level": match.level, "label": match.label, "radius_km": match.radius_km,
        "bounds": None if match.bounds is None else [list(match.bounds[:2]), list(match.bounds[2:])],  # [[south, west], [north, east]]
    }


def brief(record: PhotoRecord, original: PhotoRecord | None, has_file: bool, copied: PhotoRecord | None = None) -> dict[str, Any]:
    return {
        "has_file": has_file,
        "thumb": has_thumbnail(record, has_file),  # the page asks for a thumbnail only then
        "place": record.place,
        "taken_at": record.taken_at,
        "duplicate_of": record.duplicate_of,
        "duplicate_name": original.name if original else None,
        "copy_of": record.copy_of if copied else None,  # the photo it was placed as a copy of
        "copy_name": copied.name if copied else None,
    }


def has_thumbnail(record: PhotoRecord, has_file: bool) -> bool:
    """Whether a thumbnail is worth asking for: not of a file that failed (not an image, cut short,
    a sidecar alone): the page shows a placeholder instead of asking for a 404."""
    return has_file and record.status is not Status.FAILED


def parse_ids(raw: str) -> list[str]:
    ids = [i for i in raw.split(",") if i]
    if len(ids) > MAX_BRIEF:
        raise bottle.HTTPError(400, f"at most {MAX_BRIEF} ids")
    if not all(ID_RE.match(i) for i in ids):
        raise bottle.HTTPError(400, "ids are 16 hex digits, comma-separated")
    return ids


def install(app: bottle.Bottle, ctx: Context) -> None:
    store = ctx.store

    @route(app, "GET", "/api/places")
    def api_places() -> bytes:
        query = parse_query(bottle.request.query.get("q", ""))
        match = search(query.text)
        return send_json({
            "query": query.text,
            "match": None if match is None else match_json(match),
            "ids": matching_ids(query, store.all()),
        })

    @route(app, "GET", "/api/brief")
    def api_brief() -> bytes:
        out = {}
        for rid in parse_ids(bottle.request.query.get("ids", "")):
            record = store.get(rid)
            if record is not None:
                original = store.get(record.duplicate_of) if record.duplicate_of else None
                copied = store.get(record.copy_of) if record.copy_of and record.source is Source.COPY else None
                out[rid] = brief(record, original, ctx.file_of(record) is not None, copied)
        return send_json(out)
