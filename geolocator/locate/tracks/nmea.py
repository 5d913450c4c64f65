"""NMEA 0183 logs (GPS loggers, dash cams, drones): RMC and GGA sentences, read line by line.

RMC carries the date and time; GGA only the time of day, with the altitude and HDOP, so a GGA
fix takes the date of the latest RMC (rolled to the next day when its time of day falls back
past midnight). Sentences that do not parse or fail their checksum are skipped, as loggers
cut lines when power drops; a file with no fix at all is an error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import IO

from geolocator.locate.tracks.model import NotATrack, PointBudget, Track, TrackBuilder
from geolocator.locate.tracks.values import HDOP_METRES

MAX_LINE = 1024  # an NMEA sentence is at most 82 characters; this allows for noise
SENTENCE = re.compile(rb"^\s*\$[A-Z]{2}[A-Z]{3},")


def read_nmea(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    import pynmea2  # here: `SENTENCE` is what sniffing needs, without the parser

    out = TrackBuilder(budget, None)
    day: date | None = None
    last_rmc: datetime | None = None
    while line := fh.readline(MAX_LINE):
        if not SENTENCE.match(line):
            continue
        try:
            msg = pynmea2.parse(line.decode("ascii", "replace").strip())
        except (pynmea2.ParseError, ValueError):
            continue
        if isinstance(msg, pynmea2.types.talker.RMC) and msg.is_valid and msg.datestamp and msg.timestamp:
            last_rmc = _utc(msg.datestamp, msg.timestamp)
            day = last_rmc.date()
            out.add(last_rmc.timestamp(), msg.latitude, msg.longitude)
        elif isinstance(msg, pynmea2.types.talker.GGA) and msg.is_valid and msg.timestamp and day is not None and last_rmc is not None:
            moment = _utc(day, msg.timestamp)
            if moment < last_rmc - timedelta(hours=12):
                moment += timedelta(days=1)
            hdop = _float(msg.horizontal_dil)
            out.add(moment.timestamp(), msg.latitude, msg.longitude, _float(msg.altitude), hdop * HDOP_METRES if hdop is not None else None)
    track = out.build()
    if track is None:
        raise NotATrack("NMEA without a single valid dated fix (RMC)")
    return (track,)


def _utc(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock.replace(tzinfo=None), UTC)


def _float(value: object) -> float | None:
    """A field as pynmea2 gives it (text, a number, or None for an empty one) as a float, or None."""
    if not isinstance(value, (str, int, float)) or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None
