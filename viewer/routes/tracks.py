"""GPS tracks for the map, drawn as lines.

- `GET /api/tracks`  the track files recorded: [{"id", "name", "start", "end", "summary"}], oldest first
- `GET /api/tracks/<id>.geojson`  a FeatureCollection with one LineString per part of the track
  (coordinates [lon, lat]), thinned to at most MAX_LINE_POINTS points a part for the page, with
  its name, start, end and point count in the properties.

Points come from the service's compact track cache (geolocator.locate.tracks.store), else from the file in
library/tracks/ (read with the same limits as at import).
"""

from __future__ import annotations

from typing import Any

import bottle
import numpy as np

from geolocator.locate.tracks.model import Track, TrackError
from geolocator.record import Status
from viewer.context import ID_RE, Context
from viewer.respond import send_json
from viewer.routes import route
from viewer.rows import hide_folders

MAX_LINE_POINTS = 5000


def line(track: Track, limit: int = MAX_LINE_POINTS) -> dict[str, Any]:
    """One part of a track as a GeoJSON feature; every n-th point past `limit`, the last one kept."""
    picks = np.unique(np.append(np.arange(0, len(track), max(1, -(-len(track) // limit))), len(track) - 1))
    coordinates = [[round(track.lon(i), 6), round(track.lat(i), 6)] for i in picks]
    if len(coordinates) == 1:
        coordinates.append(coordinates[0])  # a LineString needs two positions
    properties = {"name": track.name, "start": track.start.isoformat(), "end": track.end.isoformat(), "points": len(track)}
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coordinates}, "properties": properties}


def _end(ctx: Context, rid: str) -> str | None:
    """When the track's last point was recorded, if its points are loaded."""
    parts = ctx.core.tracks.of(rid)
    return max(track.end for track in parts).isoformat() if parts else None


def install(app: bottle.Bottle, ctx: Context) -> None:
    @route(app, "GET", "/api/tracks")
    def track_list() -> bytes:
        tracks = sorted((r for r in ctx.store.with_status(Status.TRACK) if r.path and not r.moving_from), key=lambda r: r.taken_utc or "")
        return send_json([{"id": r.id, "name": r.name, "start": r.taken_utc, "end": _end(ctx, r.id), "summary": r.description} for r in tracks])

    @route(app, "GET", "/api/tracks/<rid>.geojson")
    def track_lines(rid: str) -> bytes:
        record = ctx.store.get(rid) if ID_RE.match(rid) else None
        if record is None or record.status is not Status.TRACK:
            raise bottle.HTTPError(404, "no such track")
        tracks = ctx.core.tracks  # the process's own: loaded at start, added to as tracks are filed
        if not tracks.of(record.id):
            try:
                tracks.load_one(record)
            except (OSError, TrackError, ValueError) as exc:
                raise bottle.HTTPError(404, f"the track cannot be read: {hide_folders(str(exc), ctx.names)}") from None
        features = [line(track) for track in tracks.of(record.id)]
        return send_json({"type": "FeatureCollection", "features": features})
