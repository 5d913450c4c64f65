"""Fixing a camera's clock: "this photo was taken here, or at this time".

- `POST /api/clock`  {"id": photo id, and either "lat", "lon" (its true spot, on a track: snapped
  to the nearest track point, whose time is the true time; "track": the track's id, to look on
  that one alone) or "utc" (the true time, ISO 8601 with its UTC offset or Z); "scope": "day"
  (the photo's day, the default) or "range" with "from" and "to" (ISO dates); "apply": false}
  answers what it would change, without changing anything: {"plan": {"message", "photos",
  "moved", "first_time", "shift_min_s", "shift_max_s", "clock", ...}, "sync": {"how", "point"}}.
  With "apply": true the sync point is kept on the photo and applied to the camera's photos of
  those days (`Locations.sync_clock`): the answer adds "records" (the photo) and "rows" (the map
  rows of every photo that changed).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any

import bottle

from geolocator.locate.tracks.model import Track, TrackError
from geolocator.locate.tracks.nearest import TrackPoint, nearest_point
from geolocator.locations.changes import Refused
from geolocator.locations.nearby import wall_clock
from geolocator.record import PhotoRecord, Status
from viewer.context import ID_RE, Context
from viewer.respond import send_json
from viewer.routes import route
from viewer.routes.place import refused
from viewer.rows import hide_folders, map_row, public_record

MAX_CLOCK_BODY = 1024
MAX_SNAP_M = 1000.0  # a spot farther than this from every track point is not on a track
MAX_RANGE_DAYS = 3660


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise bottle.HTTPError(400, "body must be JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not ID_RE.match(body["id"]):
        raise bottle.HTTPError(400, 'body must be {"id": photo id, "lat", "lon" or "utc", "scope", "apply"}')
    return body


def parse_time(text: object) -> datetime:
    """The true time typed: ISO 8601 with its UTC offset ("2024-06-01 12:31:12 +02:00", "...Z")."""
    if not isinstance(text, str) or len(text) > 64:
        raise bottle.HTTPError(400, "utc must be a time such as 2024-06-01 12:31:12 +02:00")
    cleaned = re.sub(r"\s+(?=[+-]\d{2}:?\d{2}$|Z$)", "", text.strip())
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise bottle.HTTPError(400, f"not a time such as 2024-06-01 12:31:12 +02:00: {text[:64]!r}") from None
    if moment.utcoffset() is None:
        raise bottle.HTTPError(400, "give the time with its UTC offset (+02:00) or Z: a time alone could be any zone's")
    return moment


def parse_scope(body: dict[str, Any]) -> tuple[date | None, date | None]:
    """(first, last) day of the camera's photos to correct; (None, None): the photo's own day."""
    scope = body.get("scope", "day")
    if scope == "day":
        return None, None
    if scope != "range":
        raise bottle.HTTPError(400, 'scope must be "day" or "range"')
    try:
        first, last = date.fromisoformat(str(body.get("from"))), date.fromisoformat(str(body.get("to")))
    except ValueError:
        raise bottle.HTTPError(400, 'a "range" needs "from" and "to" dates (2024-06-01)') from None
    if not 0 <= (last - first).days <= MAX_RANGE_DAYS:
        raise bottle.HTTPError(400, f'"to" must be on or after "from", at most {MAX_RANGE_DAYS} days later')
    return first, last


def _tracks(ctx: Context, track_id: object) -> list[Track]:
    """The track the spot was clicked on, or every known track."""
    store = ctx.core.tracks
    if track_id is None:
        return [t for record in ctx.store.with_status(Status.TRACK) for t in store.of(record.id)]
    record = ctx.store.get(track_id) if isinstance(track_id, str) and ID_RE.match(track_id) else None
    if record is None or record.status is not Status.TRACK:
        raise bottle.HTTPError(404, "no such track")
    if not store.of(record.id):
        try:
            store.load_one(record)
        except (OSError, TrackError, ValueError) as exc:
            raise bottle.HTTPError(404, f"the track cannot be read: {hide_folders(str(exc), ctx.names)}") from None
    return list(store.of(record.id))


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def snapped(ctx: Context, photo: PhotoRecord, body: dict[str, Any]) -> TrackPoint:
    """The track point nearest the spot in `body`: its time is the photo's true time."""
    lat, lon = _number(body.get("lat")), _number(body.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bottle.HTTPError(400, "lat and lon must be numbers within -90..90 and -180..180")
    # A track passing the spot twice: the pass nearest the time the photo has (or its wall clock read as UTC).
    local = wall_clock(photo.taken_at)
    guess = datetime.fromisoformat(photo.taken_utc) if photo.taken_utc else local.replace(tzinfo=UTC) if local else None
    point = nearest_point(_tracks(ctx, body.get("track")), lat, lon, near=guess)
    if point is None or point.distance_m > MAX_SNAP_M:
        raise bottle.HTTPError(400, f"no track point within {MAX_SNAP_M / 1000:g} km of that spot: click on a track line")
    return point


def sync_clock(ctx: Context, raw: bytes) -> bytes:
    body = _body(raw)
    photo = ctx.record_or_404(body["id"])
    first, last = parse_scope(body)
    point: TrackPoint | None = None
    if "utc" in body:
        true_time = parse_time(body["utc"])
        how = f"the time typed, {true_time.isoformat()}"
    else:
        point = snapped(ctx, photo, body)
        true_time = point.utc
        how = f"the point of track {point.name or 'without a name'} at {point.utc:%Y-%m-%d %H:%M:%S}Z, {point.distance_m:.0f} m from the spot clicked"
    apply = body.get("apply") is True
    since = ctx.store.seq
    try:
        plan = ctx.locations.sync_clock(photo.id, true_time, first, last, how, apply=apply)
    except Refused as exc:
        raise refused(exc) from None
    sync: dict[str, Any] = {"how": how, "point": None}
    if point is not None:
        sync["point"] = {"lat": point.lat, "lon": point.lon, "utc": point.utc.isoformat(), "distance_m": round(point.distance_m, 1), "track": point.name}
    head = {"plan": plan.summary(), "sync": sync}
    if not apply:
        return send_json(head)
    stored = ctx.store.get(photo.id)
    changed, _ = ctx.store.changed_since(since)
    records = [public_record(stored, ctx.names)] if stored is not None else []
    return send_json({**head, "records": records, "rows": [map_row(r, ctx.names) for r in changed]})


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "POST", "/api/clock", max_body=MAX_CLOCK_BODY)
    def clock() -> bytes:
        return sync_clock(ctx, bottle.request.environ["wsgi.input"].read(MAX_CLOCK_BODY))
