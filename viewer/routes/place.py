"""Placing photos by hand, and going back.

- `GET /api/where?q=TEXT`                 what one field typed in the page means: pasted coordinates in
  any form `geolocator.locations.coords` reads, else a place name from the offline gazetteer ("Rome",
  "Rome, Italy", "Paris, Texas", "Tuscany": `Gazetteer.search`): {"lat", "lon", "label", "kind",
  "radius_km"}; 400 saying why not
- `POST /api/locations`                   {"ids": [...], "lat", "lon"}: a manual fix for one or many
  photos at once; answers {"records": [...], "rows": [...], "counts": {...}} (the stored records, their
  map rows, the header's counts now); so do the three below
- `POST /api/images/<id>/revert`          the location before the current one (`geolocator.locations.history`)
- `POST /api/images/<id>/ask-ai`          forget the location and ask the vision model again
- `POST /api/images/<id>/retry`           a photo waiting for Ollama is due now

Every change is made by the process's `Locations` (geolocator.locations), the owner of every
change of location: it applies the ranking, keeps each change in the photo's history (so each can
be reverted), brings the photo's XMP sidecar in step, and places again the photos taken around it
(one a withdrawn fix had placed "nearby" does not keep that point). Each answer carries the changed
records and the map rows of every record those changes touched, which the page merges as they
are. "Retry now" and "Ask the AI again" wake the AI worker, so the photo is asked about at once.
A GPS track file is not a photo: it is never placed, reverted or asked about (409 saying so).
"""

from __future__ import annotations

import json
import math
from typing import Any

import bottle

from geolocator.locate import places
from geolocator.locations.ai_queue import apply_resume
from geolocator.locations.changes import HistoryError, Refused
from geolocator.locations.coords import CoordinateError, NotCoordinates, parse_coordinates
from geolocator.record import PhotoRecord
from viewer.context import ID_RE, Context
from viewer.respond import send_json
from viewer.routes import route
from viewer.rows import counts, map_row, public_record

MAX_IDS = 10_000  # "all shown" of a large library, in one request
MAX_FIX_BODY = 32 + MAX_IDS * 20  # {"ids": ["<16 hex>", ...], "lat": ..., "lon": ...}
MAX_QUERY = 4096


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def parse_fix(raw: bytes) -> tuple[list[str], float, float]:
    """(ids, lat, lon) from a fix's JSON body, or HTTPError 400 saying what is wrong."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise bottle.HTTPError(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise bottle.HTTPError(400, 'body must be {"ids": [...], "lat": ..., "lon": ...}')
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS or not all(isinstance(i, str) and ID_RE.match(i) for i in ids):
        raise bottle.HTTPError(400, f"ids must be a list of 1 to {MAX_IDS} photo ids")
    lat, lon = _finite(body.get("lat")), _finite(body.get("lon"))
    if lat is None or lon is None:
        raise bottle.HTTPError(400, "lat and lon must be numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bottle.HTTPError(400, "lat must be within -90..90 and lon within -180..180")
    return list(dict.fromkeys(ids)), lat, lon


def place_of(text: str) -> dict[str, Any]:
    """What the page's one field means: coordinates, else a place name. HTTPError 400 if neither."""
    if len(text) > MAX_QUERY:
        raise bottle.HTTPError(400, f"at most {MAX_QUERY} characters")
    try:
        point = parse_coordinates(text)
    except NotCoordinates:
        pass
    except CoordinateError as exc:
        raise bottle.HTTPError(400, str(exc)) from None
    else:
        return {"lat": point.lat, "lon": point.lon, "label": None, "kind": "coordinates", "radius_km": None}
    match = places.search(text)
    if match is None:
        raise bottle.HTTPError(400, f"no place called {text.strip()[:100]!r} is known, and it is not coordinates")
    return {"lat": match.lat, "lon": match.lon, "label": match.label, "kind": match.level, "radius_km": match.radius_km}


def answer(ctx: Context, records: list[PhotoRecord], since: int) -> bytes:
    """The records changed by hand, the map rows of every record changed since `since` (they, and
    the photos taken around them that their change placed again), and the counts now (the page's
    header shows them at once, not at its next poll)."""
    around, _ = ctx.store.changed_since(since)
    return send_json({
        "records": [public_record(r, ctx.names) for r in records], "rows": [map_row(r, ctx.names) for r in around],
        "counts": counts(ctx.store.all()),
    })  # fmt: skip


def refused(exc: Refused | HistoryError) -> bottle.HTTPError:
    return bottle.HTTPError(404 if str(exc) == "no such photo" else 409, str(exc))


def place_many(ctx: Context, raw: bytes) -> bytes:
    """`POST /api/locations`: the photos of the body placed by hand."""
    ids, lat, lon = parse_fix(raw)
    missing = [i for i in ids if ctx.store.get(i) is None]
    if missing:
        raise bottle.HTTPError(404, f"no such photo: {missing[0]}")
    since = ctx.store.seq
    try:
        stored = ctx.locations.fix(ids, lat, lon)
    except Refused as exc:
        raise refused(exc) from None
    if not stored:
        raise bottle.HTTPError(409, "none of these photos can be placed (failed or duplicate files)")
    return answer(ctx, stored, since)


def revert_one(ctx: Context, rid: str) -> bytes:
    """`POST /api/images/<id>/revert`: the photo's location before the current one."""
    ctx.record_or_404(rid)
    since = ctx.store.seq
    try:
        stored = ctx.locations.revert(rid)
    except (Refused, HistoryError) as exc:
        raise refused(exc) from None
    return answer(ctx, [stored], since)


def ask_ai_again(ctx: Context, rid: str) -> bytes:
    """`POST /api/images/<id>/ask-ai`: the photo's location forgotten, the AI asked again."""
    ctx.record_or_404(rid)
    since = ctx.store.seq
    try:
        stored = ctx.locations.ask_again(rid)
    except Refused as exc:
        raise refused(exc) from None
    ctx.wake_ai()
    return answer(ctx, [stored], since)


def retry_now(ctx: Context, rid: str) -> bytes:
    """`POST /api/images/<id>/retry`: a photo waiting for Ollama is due now."""
    record = ctx.record_or_404(rid)
    try:
        ctx.locations.refuse_tracks([rid])
    except Refused as exc:
        raise refused(exc) from None
    since = ctx.store.seq
    stored = ctx.store.update(record.id, apply_resume)
    if stored is None or stored is record or stored == record:
        raise bottle.HTTPError(409, "this photo is not waiting for Ollama")
    ctx.wake_ai()
    return answer(ctx, [stored], since)


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "GET", "/api/where")
    def where() -> bytes:
        return send_json(place_of(bottle.request.query.getunicode("q", "") or ""))

    @route(app, "POST", "/api/locations", max_body=MAX_FIX_BODY)
    def fix_locations() -> bytes:
        return place_many(ctx, bottle.request.environ["wsgi.input"].read(MAX_FIX_BODY))

    @route(app, "POST", "/api/images/<rid>/revert")
    def revert_location(rid: str) -> bytes:
        return revert_one(ctx, rid)

    @route(app, "POST", "/api/images/<rid>/ask-ai")
    def ask_ai(rid: str) -> bytes:
        return ask_ai_again(ctx, rid)

    @route(app, "POST", "/api/images/<rid>/retry")
    def retry(rid: str) -> bytes:
        return retry_now(ctx, rid)
