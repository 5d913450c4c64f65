"""The JSON API.

- `GET /api/map[?since=SEQ&instance=I]`  compact rows for the page (`rows.MAP_COLUMNS`), newest
  first (`rows.newest_first`); with `since`, only the rows changed after that store seq
- `GET /api/map.bin`                      every map row at once, as columns (`rows.map_payload`):
  what the page loads first; a 1M-photo library is a few tens of MB before gzip. Made at the
  first request (ahead, at start-up, for a library of `PREPARE_FROM` photos or more), then kept:
  once made it is sent at once even when photos came since (its header's seq says which it
  holds), while the next is made in the background
- `GET /api/images[?fields=a,b][&status=s]`  every record (its public fields)
- `GET /api/images/<id>`                  one record, plus its thumbnail (None for a failed file) and image URLs
  and the names of the photos it is a copy or a duplicate of
- `GET /api/images.geojson`               FeatureCollection of the located photos
- `POST /api/images/<id>/location`        manual fix: JSON {"lat", "lon"}; answers the record and its map row
  (as `POST /api/locations` of routes.place, which the page uses: history kept, sidecar written)
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from typing import Any

import bottle

from geolocator.locations.changes import Refused
from geolocator.record import Source, Status
from viewer.context import Context
from viewer.respond import send_json
from viewer.routes import route
from viewer.routes.place import refused
from viewer.rows import (
    MAP_COLUMNS,
    PUBLIC_FIELDS,
    SeqCache,
    counts,
    feature,
    map_columns,
    map_payload,
    map_row,
    map_rows,
    newest_first,
    public_record,
    to_json,
)

MAX_FIX_BODY = 4096  # a manual fix is a few dozen bytes of JSON
# A library this big takes seconds to make its map payload (a million photos: ~5 s on two cores),
# so it is made when the app is (at start-up) and a visit finds it ready. A smaller one is made at
# the first request, in under a second, without the memory that making it ahead leaves behind
# while the service starts (~30 MB at 100k photos, bench/service_rss.py).
PREPARE_FROM = 250_000


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def parse_point(raw: bytes) -> tuple[float, float]:
    """(lat, lon) from a fix's JSON body, or HTTPError 400 saying what is wrong."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise bottle.HTTPError(400, "body must be JSON") from None
    lat, lon = (_finite(body.get("lat")), _finite(body.get("lon"))) if isinstance(body, dict) else (None, None)
    if lat is None or lon is None:
        raise bottle.HTTPError(400, "lat and lon must be numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bottle.HTTPError(400, "lat must be within -90..90 and lon within -180..180")
    return lat, lon


@dataclass(frozen=True)
class Bodies:
    """The app's cached response bodies, each made once per store seq (`rows.SeqCache`)."""

    map_rows: SeqCache
    payload: SeqCache
    geojson: SeqCache


def make_bodies(ctx: Context) -> Bodies:
    return Bodies(
        map_rows=SeqCache(lambda records, seq: to_json({
            "instance": ctx.instance, "seq": seq, "full": True, "counts": counts(records),
            "columns": MAP_COLUMNS, "rows": map_rows(newest_first(records), ctx.names),
        })),
        payload=SeqCache(lambda records, seq: map_payload(
            map_columns(records, ctx.names),  # in the store's order: map_payload sorts them
            {"instance": ctx.instance, "seq": seq, "full": True, "counts": counts(records)},
        ), stale=True),  # the page asks /api/map?since=seq next: a payload a few photos behind is no loss
        geojson=SeqCache(lambda records, seq: to_json({
            "type": "FeatureCollection",
            "features": [feature(r) for r in records if r.status is Status.LOCATED and r.lat is not None and r.lon is not None],
        })),
    )


def send_cached(ctx: Context, cache: SeqCache, content_type: str = "application/json") -> bytes:
    """The cached body, gzipped as kept, or unzipped for a client that does not accept gzip."""
    gz = cache.get(ctx.store)
    if "gzip" not in bottle.request.get_header("Accept-Encoding", ""):
        return send_json(raw=gzip.decompress(gz), content_type=content_type)
    send_json(raw=b"", content_type=content_type)  # its headers
    bottle.response.set_header("Content-Encoding", "gzip")
    return gz


def map_rows_since(ctx: Context, bodies: Bodies, since: str | None) -> bytes:
    """Every map row, or with `since` only those changed after that seq of this instance's store."""
    if since is None:
        return send_cached(ctx, bodies.map_rows)
    try:
        since_seq = int(since)
    except ValueError:
        raise bottle.HTTPError(400, "since must be an integer") from None
    store = ctx.store
    if bottle.request.query.get("instance") not in (None, ctx.instance) or since_seq > store.seq:
        return send_cached(ctx, bodies.map_rows)  # the store was reopened: the page's seq means nothing here
    changed, seq = store.changed_since(since_seq)
    return send_json({
        "instance": ctx.instance, "seq": seq, "full": False, "counts": counts(store.all()) if changed else None,
        "columns": MAP_COLUMNS, "rows": [map_row(r, ctx.names) for r in changed],
    })


def list_images(ctx: Context, fields_query: str, status: str | None) -> bytes:
    fields = [f for f in fields_query.split(",") if f] or list(PUBLIC_FIELDS)
    unknown = [f for f in fields if f not in PUBLIC_FIELDS]
    if unknown:
        raise bottle.HTTPError(400, f"unknown fields: {', '.join(unknown)}")
    if status is not None and status not in {s.value for s in Status}:
        raise bottle.HTTPError(400, "unknown status")
    out = []
    for r in ctx.store.all():
        if status is None or r.status.value == status:
            d = public_record(r, ctx.names)
            out.append({f: d[f] for f in fields})
    return send_json(out)


def one_image(ctx: Context, rid: str) -> bytes:
    record = ctx.record_or_404(rid)
    data: dict[str, Any] = public_record(record, ctx.names)
    data["thumb_url"] = None if record.status is Status.FAILED else f"/thumb/{record.id}"  # a failed file: a placeholder
    data["image_url"] = f"/image/{record.id}"
    data["has_file"] = ctx.file_of(record) is not None
    copied = ctx.store.get(record.copy_of) if record.copy_of and record.source is Source.COPY else None
    repeated = ctx.store.get(record.duplicate_of) if record.duplicate_of else None
    data["copy_of_name"] = copied.name if copied is not None else None  # the popup's "copy of NAME"
    data["duplicate_of_name"] = repeated.name if repeated is not None else None
    return send_json(data)


def fix_location(ctx: Context, rid: str, body: bytes) -> bytes:
    record = ctx.record_or_404(rid)
    if record.status in (Status.FAILED, Status.DUPLICATE):
        raise bottle.HTTPError(409, f"a {record.status.value} photo cannot be placed")
    lat, lon = parse_point(body)
    try:
        stored = ctx.locations.fix([record.id], lat, lon)  # with its history and sidecar, as the page's fixes
    except Refused as exc:
        raise refused(exc) from None
    if not stored:
        raise bottle.HTTPError(409, "the photo changed meanwhile: reload and try again")
    return send_json({"record": public_record(stored[0], ctx.names), "row": map_row(stored[0], ctx.names)})


def install(app: bottle.Bottle, ctx: Context) -> None:
    bodies = make_bodies(ctx)
    if len(ctx.store) >= PREPARE_FROM:
        bodies.payload.prime(ctx.store)

    @route(app, "GET", "/api/map")
    def api_map() -> bytes:
        return map_rows_since(ctx, bodies, bottle.request.query.get("since"))

    @route(app, "GET", "/api/map.bin")
    def api_map_payload() -> bytes:
        return send_cached(ctx, bodies.payload, "application/octet-stream")

    @route(app, "GET", "/api/images")
    def api_images() -> bytes:
        return list_images(ctx, bottle.request.query.get("fields", ""), bottle.request.query.get("status"))

    @route(app, "GET", "/api/images.geojson")
    def api_geojson() -> bytes:
        return send_cached(ctx, bodies.geojson, "application/geo+json")

    @route(app, "GET", "/api/images/<rid>")
    def api_image(rid: str) -> bytes:
        return one_image(ctx, rid)

    @route(app, "POST", "/api/images/<rid>/location", max_body=MAX_FIX_BODY)
    def api_fix_location(rid: str) -> bytes:
        return fix_location(ctx, rid, bottle.request.body.read(MAX_FIX_BODY))
