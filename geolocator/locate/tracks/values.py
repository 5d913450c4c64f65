"""Pure readers for the small values track formats write: times and "lat, lon" texts."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from geolocator.locate.tracks.model import TrackError

# GPS receivers' horizontal error is about HDOP × 5 m (a typical user-equivalent range error).
HDOP_METRES = 5.0

# Google Takeout: "48.8583°, 2.2944°" (Timeline.json) and "geo:48.8583,2.2944" (iOS export).
_LATLNG = re.compile(r"^\s*(?:geo:)?\s*(-?\d+(?:\.\d+)?)°?\s*,\s*(-?\d+(?:\.\d+)?)°?\s*$")
_EPOCH_MS_ABOVE = 1e11  # 1e11 seconds is the year 5138; as milliseconds it is 1973


def iso_utc(text: object) -> float:
    """An ISO 8601 date/time as UTC epoch seconds. Track formats write UTC; a time without a
    zone is read as UTC, as GPX and KML specify."""
    if not isinstance(text, str):
        raise TrackError(f"expected a time, found {_show(text)}")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TrackError(f"not a time: {_show(text)}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def any_time_utc(value: object) -> float:
    """A time written as ISO 8601 text, or as epoch seconds or milliseconds (GeoJSON tools
    write either; a number above 1e11 can only be milliseconds)."""
    if isinstance(value, bool):
        raise TrackError(f"expected a time, found {_show(value)}")
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise TrackError(f"not a time: {_show(value)}")
        return number / 1000 if abs(number) > _EPOCH_MS_ABOVE else number
    return iso_utc(value)


def latlng(text: object) -> tuple[float, float]:
    """ "48.8583°, 2.2944°" or "geo:48.8583,2.2944" -> (48.8583, 2.2944)."""
    match = _LATLNG.match(text) if isinstance(text, str) else None
    if match is None:
        raise TrackError(f"not a latitude, longitude: {_show(text)}")
    return float(match.group(1)), float(match.group(2))


def number(value: object) -> float | None:
    """A JSON number, or a number written as text (Takeout writes both); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
