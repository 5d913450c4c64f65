"""The track point nearest a spot on the map (pure): where a person says a photo was taken, the
point's time is when it was taken ("Fix this camera's clock" on the map page).

Distances are equirectangular from the spot (exact enough within the kilometre that counts), over
a track's compact columns at once with numpy: a million points take milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from geolocator.locate.tracks.model import E7, Track

METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180  # the mean Earth radius's
TIE_M = 25.0  # points this much farther than the nearest still count as "at the spot" (a track passing twice)


@dataclass(frozen=True)
class TrackPoint:
    name: str | None  # the track's
    lat: float
    lon: float
    utc: datetime  # aware
    distance_m: float  # from the spot


def nearest_point(tracks: Iterable[Track], lat: float, lon: float, *, near: datetime | None = None, tie_m: float = TIE_M) -> TrackPoint | None:
    """The point of `tracks` nearest (lat, lon), or None when they have none. A track that passes
    the spot more than once (out and back) comes within `tie_m` of the nearest point on each pass:
    each pass offers its nearest point, and the one nearest in time to `near` (aware), when given,
    is taken, else the nearest."""
    found: list[tuple[float, float, Track, int]] = []  # (distance, time, track, index): each pass's nearest
    for track in tracks:
        if not len(track):
            continue
        dy = (np.asarray(track.lat_e7, dtype=np.float64) / E7 - lat) * METRES_PER_DEGREE
        dlon = (np.asarray(track.lon_e7, dtype=np.float64) / E7 - lon + 180.0) % 360.0 - 180.0
        dx = dlon * METRES_PER_DEGREE * math.cos(math.radians(lat))
        distances = np.hypot(dx, dy)
        near_ones = np.flatnonzero(distances <= float(distances.min()) + tie_m)
        for run in np.split(near_ones, np.flatnonzero(np.diff(near_ones) > 1) + 1):  # consecutive points: one pass
            index = int(run[np.argmin(distances[run])])
            found.append((float(distances[index]), float(track.times[index]), track, index))
    if not found:
        return None
    nearest = min(distance for distance, _, _, _ in found)
    close = [entry for entry in found if entry[0] <= nearest + tie_m]
    if near is not None:
        moment = near.timestamp()
        distance, t, track, index = min(close, key=lambda entry: (abs(entry[1] - moment), entry[0]))
    else:
        distance, t, track, index = min(close, key=lambda entry: (entry[0], entry[1]))
    return TrackPoint(track.name, track.lat(index), track.lon(index), datetime.fromtimestamp(t, UTC), distance)
