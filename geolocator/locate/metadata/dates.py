"""Pure date handling: EXIF "YYYY:MM:DD HH:MM:SS" (+ offset) to ISO 8601, invalid dates to None."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

_DATETIME = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?")
_OFFSET = re.compile(r"^\s*(Z|[+-]\d{2}:?\d{2})\s*$")
# A zone written at the end of the date itself, as XMP and QuickTime keys do.
_TRAILING_ZONE = re.compile(r"(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})\s*$")
_GPS_DATE = re.compile(r"\s*(\d{4}):(\d{1,2}):(\d{1,2})\s*\Z")


def normalise_offset(text: str | None) -> str | None:
    """"+0530", "+05:30" -> "+05:30"; "Z" -> "+00:00"; anything else (e.g. "   :  ") -> None."""
    if not text:
        return None
    match = _OFFSET.match(text)
    if not match:
        return None
    zone = match.group(1)
    if zone == "Z":
        return "+00:00"
    zone = zone.replace(":", "")
    hours, minutes = int(zone[1:3]), int(zone[3:5])
    if hours > 14 or minutes > 59:
        return None
    return f"{zone[0]}{hours:02d}:{minutes:02d}"


def iso_datetime(text: str | None, offset: str | None = None) -> str | None:
    """ISO 8601 from an EXIF/XMP date: "2021-04-11T15:47:53-05:00", or naive without an offset.

    The offset comes from `offset` (OffsetTimeOriginal and friends) or else from the end of
    `text` itself. Dates that are not real dates ("0000:00:00 00:00:00", blanks) give None.
    """
    if not text:
        return None
    match = _DATETIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if year < 1800:
        return None
    zone = normalise_offset(offset)
    if zone is None:
        trailing = _TRAILING_ZONE.search(text[match.end() :])
        zone = normalise_offset(trailing.group(1)) if trailing else None
    return moment.isoformat() + (zone or "")


def gps_timestamp(date_stamp: str | None, time_stamp: Sequence[float] | None) -> datetime | None:
    """EXIF GPSDateStamp ("2024:06:01") and GPSTimeStamp (hours, minutes, seconds) as an aware
    UTC datetime; None when either is missing or not a real time."""
    if not date_stamp or not time_stamp or len(time_stamp) != 3:
        return None
    found = _GPS_DATE.match(date_stamp)  # as strptime("%Y:%m:%d") reads it, without its cost
    if found is None:
        return None
    year, month, date = (int(part) for part in found.groups())
    try:
        day = datetime(year, month, date)
    except ValueError:
        return None
    hours, minutes, seconds = time_stamp
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
        return None
    return (day + timedelta(hours=hours, minutes=minutes, seconds=seconds)).replace(tzinfo=UTC)
