"""IGC flight logs (gliders, paragliders: the FAI's format for GNSS flight recorders), read line by line.

An A record (the recorder's maker) comes first, then H header records, among them the date
(`HFDTEddmmyy`, or `HFDTEDATE:ddmmyy,nn` since 2016); each B record is a fix:
`B hhmmss ddmmmmm N/S dddmmmmm E/W A/V ppppp ggggg`, its time UTC, its latitude and longitude
as degrees and thousandths of minutes, A for a 3D fix whose GNSS altitude (ggggg, metres) is
good. A fix whose time of day falls back from the one before is on the next day.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import IO

from geolocator.locate.tracks.model import NotATrack, PointBudget, Track, TrackBuilder, TrackError

MAX_LINE = 1024
# What sniffing looks for: an A record first, then the date or a fix.
A_RECORD = re.compile(rb"^A[A-Z0-9]{3}")
H_OR_B_RECORD = re.compile(rb"^(?:HFDTE|B\d{7}\d{5}[NS]\d{8}[EW][AV])", re.MULTILINE)
_DATE = re.compile(rb"^HFDTE(?:DATE:)?(\d{2})(\d{2})(\d{2})")
_FIX = re.compile(rb"^B(\d{2})(\d{2})(\d{2})(\d{2})(\d{5})([NS])(\d{3})(\d{5})([EW])([AV])([-\d]\d{4})([-\d]\d{4})")
_JITTER = 2  # seconds a recorder's clock may step back without a new day (exiftool's allowance)


def read_igc(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    out = TrackBuilder(budget, None)
    day: datetime | None = None
    last = -1
    while line := fh.readline(MAX_LINE):
        if day is None and (found := _DATE.match(line)):
            year = int(found.group(3))
            try:
                day = datetime(year + (1900 if year >= 70 else 2000), int(found.group(2)), int(found.group(1)), tzinfo=UTC)
            except ValueError:
                raise TrackError(f"IGC with an impossible date: {line[:20]!r}") from None
        elif (fix := _FIX.match(line)) and day is not None:
            hh, mm, ss = int(fix.group(1)), int(fix.group(2)), int(fix.group(3))
            seconds = hh * 3600 + mm * 60 + ss
            if seconds < last - _JITTER:
                day += timedelta(days=1)
            last = seconds
            lat = (int(fix.group(4)) + int(fix.group(5)) / 60_000) * (1 if fix.group(6) == b"N" else -1)
            lon = (int(fix.group(7)) + int(fix.group(8)) / 60_000) * (1 if fix.group(9) == b"E" else -1)
            altitude = float(fix.group(12)) if fix.group(10) == b"A" else None
            out.add((day + timedelta(seconds=seconds)).timestamp(), lat, lon, altitude)
    track = out.build()
    if track is None:
        raise NotATrack("IGC without a dated fix (no HFDTE date, or no B record)" if day is None else "IGC without a single fix (B record)")
    return (track,)
