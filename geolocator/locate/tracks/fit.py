"""Garmin FIT activity files (watches, bike computers, Strava and Garmin Connect exports).

Read with fitdecode, a streaming reader of the FIT protocol: frame by frame, so memory follows
the points kept. Every `record` message with a position and a time is a point: `position_lat`
and `position_long` in semicircles (2^31 of them make 180 degrees), `timestamp` (fitdecode turns
it into UTC), `enhanced_altitude` or `altitude` in metres. CRCs are checked: a file that fails
them is cut or damaged and refused.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import IO, Any

from geolocator.locate.tracks.model import E7, NotATrack, PointBudget, Track, TrackBuilder, TrackError

FIT_SIGNATURE = b".FIT"  # at bytes 8 to 11, after a header size of 12 or 14 at byte 0
_SEMICIRCLES = 2**31


def is_fit(head: bytes) -> bool:
    return len(head) >= 12 and head[0] in (12, 14) and head[8:12] == FIT_SIGNATURE


def read_fit(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    import fitdecode  # type: ignore[import-untyped]

    out = TrackBuilder(budget, None)
    try:
        with fitdecode.FitReader(fh, check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.IGNORE) as fit:
            for frame in fit:
                if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "record":
                    _record(out, frame)
    except fitdecode.FitError as exc:
        raise TrackError(f"malformed FIT: {' '.join(str(exc).split())[:200]}") from None
    except (ValueError, KeyError, IndexError, struct.error, OverflowError, AssertionError) as exc:  # fitdecode on crafted bytes
        raise TrackError(f"malformed FIT: {type(exc).__name__} {' '.join(str(exc).split())[:160]}") from None
    track = out.build()
    if track is None:
        raise NotATrack("FIT without a single record with a position and a time (not an activity recorded outdoors)")
    return (track,)


def _record(out: TrackBuilder, frame: Any) -> None:
    lat, lon, when = (frame.get_value(name, fallback=None) for name in ("position_lat", "position_long", "timestamp"))
    if not isinstance(lat, int) or not isinstance(lon, int) or not isinstance(when, datetime):
        return
    altitude = frame.get_value("enhanced_altitude", fallback=None)
    if not isinstance(altitude, (int, float)):
        altitude = frame.get_value("altitude", fallback=None)
    out.add_e7(when.timestamp(), round(lat * 180 * E7 / _SEMICIRCLES), round(lon * 180 * E7 / _SEMICIRCLES), altitude if isinstance(altitude, (int, float)) else None)
