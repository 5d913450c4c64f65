"""Placing photos by hand, and going back.

- `GET /api/where?q=TEXT`                 what one field typed in the page means: pasted coordinates in
  any form `geolocator.locations.coords` reads, else a place name from the offline gazetteer ("Rome",
  "Rome, Italy", "Paris, Texas"): {"lat", "lon", "label", "kind", "radius_km"}; 400 saying why not
- `POST /api/locations`                   {"ids": [...], "lat", "lon"}: a manual fix for one or many
  photos at once; answers {"records": [...], "rows": [...]} (the stored records and their map rows)
- `POST /api/images/<id>/revert`          the location before the current one (`geolocator.locations.history`)
- `POST /api/images/<id>/ask-ai`          forget the location and ask the vision model again
- `POST /api/images/<id>/retry`           a photo waiting for Ollama is due now

Every change goes through `history.track`, so each one can be reverted; all answer the changed
records with their map rows, which the page merges as they are. With `[library] sidecars` the
photo's XMP sidecar follows every change (`geolocator.locations.sidecar.Sidecars`): a location
placed here is written to it, and a revert to the file's own location or to none withdraws it.
"Retry now" and "Ask the AI again" wake the AI worker, so the photo is asked about at once.
A GPS track file is not a photo: it is never placed, reverted or asked about (409 saying so).

A fix, a revert or "Ask the AI again" acts like a newly filed photo (`Placer.by_hand`, the
service's own Placer): the photo's capture time in UTC is worked out again, then the photos taken
around it are placed again by the same rules and ranking as at ingest. One a withdrawn fix had
placed "nearby" does not keep that point: it is placed by its other neighbours, else goes back to
its AI estimate or to having no location (pending for the AI). Their rows come with the answer.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import bottle

from geolocator.locate import places
from geolocator.locate.tracks.model import TrackError
from geolocator.locations.ai_queue import apply_resume
from geolocator.locations.coords import CoordinateError, NotCoordinates, parse_coordinates
from geolocator.locations.history import HistoryError, revert, track
from geolocator.record import PhotoRecord, Source, Status
from geolocator.record.store import utc_now
from viewer.context import ID_RE, Context
from viewer.respond import send_json
from viewer.routes import route
from viewer.rows import map_row, public_record

log = logging.getLogger(__name__)

BY = "page"  # `by` of the history entries written from the map page
MAX_IDS = 10_000  # "all shown" of a large library, in one request
MAX_FIX_BODY = 32 + MAX_IDS * 20  # {"ids": ["<16 hex>", ...], "lat": ..., "lon": ...}
MAX_QUERY = 4096
PLACEABLE = frozenset({Status.LOCATED, Status.UNLOCATED, Status.PENDING})


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


def _named(lat: float, lon: float) -> places.PlaceName | None:
    try:
        return places.name(lat, lon)
    except OSError:  # the place index is unavailable: the point is what matters
        log.exception("no place name for %s, %s", lat, lon)
        return None


def manual_fix(current: PhotoRecord, lat: float, lon: float, named: places.PlaceName | None, at: str) -> PhotoRecord | None:
    """The record placed by hand at (lat, lon), its history extended; None for a file we do not place."""
    if current.status not in PLACEABLE:
        return None
    fixed = dataclasses.replace(
        current, status=Status.LOCATED, source=Source.MANUAL, lat=lat, lon=lon, altitude=None,
        place=named.label if named else None, city=named.city if named else None,
        region=named.region if named else None, country_code=named.country_code if named else None,
        confidence=None, radius_km=None, error=None, retry_at=None,
    )
    return track(current, fixed, at=at, by=BY)


def ask_again(current: PhotoRecord, at: str) -> PhotoRecord:
    """The record pending again for the AI, without a location (the one it had is in its history)."""
    if current.status not in PLACEABLE:
        raise bottle.HTTPError(409, f"a {current.status.value} photo is not placed")
    if current.source is Source.EXIF:
        raise bottle.HTTPError(409, "the file itself says where it was taken")
    if current.moving_from:
        raise bottle.HTTPError(409, "the photo is being moved: try again in a moment")
    pending = dataclasses.replace(
        current, status=Status.PENDING, attempts=0, source=None, lat=None, lon=None, altitude=None, place=None, city=None,
        region=None, country_code=None, confidence=None, radius_km=None, error=None, retry_at=None,
    )
    return track(current, pending, at=at, by=BY)


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
    parts = [part.strip() for part in text.split(",") if part.strip()]
    match = _find(parts)
    if match is None:
        raise bottle.HTTPError(400, f"no place called {text.strip()[:100]!r} is known, and it is not coordinates")
    return {"lat": match.lat, "lon": match.lon, "label": match.label, "kind": match.level, "radius_km": match.radius_km}


def _find(parts: list[str]) -> places.Match | None:
    try:
        gazetteer = places.gazetteer()
    except OSError:
        log.exception("the place index is not available")
        return None
    match parts:
        case [one]:
            return gazetteer.find(city=one) or gazetteer.find(country=one)
        case [city, other]:  # "Rome, Italy" or "Paris, Texas"
            if gazetteer.country_code(other):
                return gazetteer.find(country=other, city=city)
            return gazetteer.find(region=other, city=city)
        case [city, region, country, *_]:
            return gazetteer.find(country=country, region=region, city=city)
    return None


def refuse_tracks(records: Iterable[PhotoRecord | None]) -> None:
    """HTTPError 409 when one of `records` is a GPS track file, which has no location of its own."""
    track = next((r for r in records if r is not None and r.status is Status.TRACK), None)
    if track is not None:
        raise bottle.HTTPError(409, f"{track.name} is a GPS track, not a photo: it has no location to place or fix")


@dataclass(frozen=True)
class Changed:
    records: list[PhotoRecord]  # the photos changed by hand, as stored with their capture time
    around: list[PhotoRecord]  # the photos taken around them, placed again


def follow(ctx: Context, stored: Sequence[PhotoRecord]) -> Changed:
    """After photos were changed by hand: their time, then their neighbours placed again
    (`Placer.by_hand`), and the sidecars of all of them in step. The photos are stored already:
    a failure here is logged, never lost work."""
    unplaced = Status.PENDING if ctx.config.ollama.enabled else Status.UNLOCATED
    try:
        timed, around = ctx.placer().by_hand(stored, unplaced=unplaced)
    except (OSError, TrackError, ValueError) as exc:
        log.error("placing the photos around %d photo(s) changed by hand failed: %s", len(stored), exc)
        timed, around = list(stored), []
    ctx.sidecars.sync([*timed, *around])
    if around:
        log.info("%d photo(s) placed again around %d changed by hand", len(around), len(timed))
    if any(record.status is Status.PENDING for record in around):
        ctx.wake_ai()
    return Changed(timed, around)


def fix(ctx: Context, ids: list[str], lat: float, lon: float) -> Changed:
    """Place the photos `ids` by hand at (lat, lon): stored with their history, sidecars written,
    their neighbours placed again (none for ids unknown, failed or duplicate). HTTPError 409 when
    one of them is a track."""
    refuse_tracks(ctx.store.get(i) for i in ids)
    named, at = _named(lat, lon), utc_now()
    stored = ctx.store.update_many(ids, lambda current: manual_fix(current, lat, lon, named, at))
    if stored:
        log.info("manual location for %d photo(s): %.6f, %.6f", len(stored), lat, lon)
    return follow(ctx, stored)


def store_fix(ctx: Context, ids: list[str], lat: float, lon: float) -> list[PhotoRecord]:
    """`fix`, answering the records changed."""
    return fix(ctx, ids, lat, lon).records


def answer(ctx: Context, changed: Changed) -> bytes:
    """The changed records, and the map rows of them and of the photos placed again around them."""
    rows = [map_row(r, ctx.names) for r in (*changed.records, *changed.around)]
    return send_json({"records": [public_record(r, ctx.names) for r in changed.records], "rows": rows})


CHANGED_MEANWHILE = "the photo changed meanwhile: reload and try again"


def change_one(ctx: Context, rid: str, change: Callable[[PhotoRecord], PhotoRecord | None], refusal: str) -> PhotoRecord:
    """The photo `rid` changed by `change` and stored: 404 for no such photo, 409 for a track,
    409 `refusal` when `change` did not apply (it answered None)."""
    record = ctx.record_or_404(rid)
    refuse_tracks([record])
    changed: list[PhotoRecord] = []

    def apply(current: PhotoRecord | None) -> PhotoRecord | None:
        new = None if current is None else change(current)
        changed.extend([new] if new is not None else [])
        return new

    stored = ctx.store.update(record.id, apply)
    if not changed or stored is None:  # `update` answers the record unchanged when nothing applied
        raise bottle.HTTPError(409, refusal)
    return stored


def place_many(ctx: Context, raw: bytes) -> bytes:
    """`POST /api/locations`: the photos of the body placed by hand."""
    ids, lat, lon = parse_fix(raw)
    missing = [i for i in ids if ctx.store.get(i) is None]
    if missing:
        raise bottle.HTTPError(404, f"no such photo: {missing[0]}")
    changed = fix(ctx, ids, lat, lon)
    if not changed.records:
        raise bottle.HTTPError(409, "none of these photos can be placed (failed or duplicate files)")
    return answer(ctx, changed)


def revert_one(ctx: Context, rid: str) -> bytes:
    """`POST /api/images/<id>/revert`: the photo's location before the current one."""
    at = utc_now()
    try:
        stored = change_one(ctx, rid, lambda current: revert(current, at=at, by=BY), CHANGED_MEANWHILE)
    except HistoryError as exc:
        raise bottle.HTTPError(409, str(exc)) from None
    log.info("%s (%s): location reverted to %s", stored.id, stored.name, stored.source.value if stored.source else "none")
    return answer(ctx, follow(ctx, [stored]))


def ask_ai_again(ctx: Context, rid: str) -> bytes:
    """`POST /api/images/<id>/ask-ai`: the photo's location forgotten, the AI asked again."""
    if not ctx.config.ollama.enabled:
        raise bottle.HTTPError(409, "the AI is turned off ([ollama] enabled = false)")
    at = utc_now()
    stored = change_one(ctx, rid, lambda current: ask_again(current, at), CHANGED_MEANWHILE)
    log.info("%s (%s): asking the AI again", stored.id, stored.name)
    changed = follow(ctx, [stored])  # its location is gone: the photos it placed are judged again
    ctx.wake_ai()
    return answer(ctx, changed)


def retry_now(ctx: Context, rid: str) -> bytes:
    """`POST /api/images/<id>/retry`: a photo waiting for Ollama is due now."""
    stored = change_one(ctx, rid, apply_resume, "this photo is not waiting for Ollama")
    ctx.sidecars.sync([stored])
    ctx.wake_ai()
    return answer(ctx, Changed([stored], []))


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
