"""NMEA 0183 logs (GPS loggers, dash cams, drones, Magellan and Garmin units), read line by line.

The sentences exiftool's geotagging reads: RMC (position, date and time), GGA (position, time,
altitude, HDOP), GLL (position, time), ZDA (date and time), Magellan's $PMGNTRK (position,
altitude, time, and the date when the unit wrote it), plus Garmin's $PGRMZ (the altitude of the
fix before it). Sentences of one fix share its time and are merged into one point. A sentence
without a date takes the date of the last one that had it (the next day once its time of day
falls back past midnight); fixes before the first date wait for it (at most a day of them).
Sentences that do not parse or fail their checksum are skipped, as loggers cut lines when power
drops; a file without a single dated fix is an error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from geolocator.locate.tracks.model import NotATrack, PointBudget, Track, TrackBuilder
from geolocator.locate.tracks.values import HDOP_METRES

MAX_LINE = 1024  # an NMEA sentence is at most 82 characters; this allows for noise and prefixes
# A sentence that carries a fix's time, as exiftool recognises a log: anywhere in a line (some
# loggers write their own time stamp first).
FIX_SENTENCE = re.compile(rb"\$(?:[A-Z]{2}(?:RMC|GGA|GLL|ZDA)|PMGNTRK),")
_HALF_DAY = timedelta(hours=12)
_MAX_UNDATED = 86_400  # fixes held while no date is known: a day at one a second
_FEET = 0.3048


class _Log:
    def __init__(self, budget: PointBudget) -> None:
        self.out = TrackBuilder(budget, None)
        self.dated: datetime | None = None  # the last date and time a sentence gave
        self.undated: list[list[Any]] = []  # [time of day, lat, lon, elevation, accuracy] before any date
        self.last: list[Any] | None = None  # the last fix: [moment, lat, lon], for $PGRMZ

    def date(self, moment: datetime) -> None:
        if self.dated is None:
            for clock, *fix in self.undated:
                when = _combine(moment.date(), clock)
                self._add(when - timedelta(days=1) if when > moment + _HALF_DAY else when, *fix)
            self.undated.clear()
        self.dated = moment

    def fix(self, moment: datetime | None, clock: time, lat: float, lon: float, elevation: float | None = None, accuracy: float | None = None) -> None:
        """A fix at `moment`, or at the time of day `clock` when its sentence has no date."""
        if moment is None and self.dated is not None:
            moment = _combine(self.dated.date(), clock)
            if moment < self.dated - _HALF_DAY:
                moment += timedelta(days=1)
        if moment is not None:
            self._add(moment, lat, lon, elevation, accuracy)
        elif len(self.undated) < _MAX_UNDATED:
            self.undated.append([clock, lat, lon, elevation, accuracy])
            self.last = None

    def _add(self, moment: datetime, lat: float, lon: float, elevation: float | None, accuracy: float | None) -> None:
        if self.out.add(moment.timestamp(), lat, lon, elevation, accuracy):
            self.last = [moment, lat, lon]

    def altitude(self, metres: float) -> None:
        """$PGRMZ: the altitude of the fix just before (merged into it: same time, same place)."""
        if self.last is not None:
            self._add(self.last[0], self.last[1], self.last[2], metres, None)
        elif self.undated and self.undated[-1][3] is None:
            self.undated[-1][3] = metres


def read_nmea(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    import pynmea2  # here: `FIX_SENTENCE` is what sniffing needs, without the parser

    log = _Log(budget)
    while line := fh.readline(MAX_LINE):
        start = line.find(b"$")
        if start < 0:
            continue
        try:
            msg = pynmea2.parse(line[start:].decode("ascii", "replace").strip())
            _sentence(log, msg)
        except (pynmea2.ParseError, ValueError, TypeError, IndexError, ArithmeticError):
            continue
    track = log.out.build()
    if track is None:
        raise NotATrack("NMEA without a single valid dated fix (RMC, ZDA or a dated $PMGNTRK)")
    return (track,)


def _sentence(log: _Log, msg: Any) -> None:
    import pynmea2

    talker, proprietary = pynmea2.types.talker, pynmea2.types.proprietary
    if isinstance(msg, talker.RMC):
        if msg.is_valid and msg.datestamp and msg.timestamp:
            moment = _combine(msg.datestamp, msg.timestamp)
            log.date(moment)
            log.fix(moment, msg.timestamp, msg.latitude, msg.longitude)
    elif isinstance(msg, talker.ZDA):
        if msg.timestamp and msg.year and msg.month and msg.day:
            log.date(_combine(msg.datestamp, msg.timestamp))
    elif isinstance(msg, talker.GGA):
        if msg.is_valid and msg.timestamp:
            hdop = _float(msg.horizontal_dil)
            log.fix(None, msg.timestamp, msg.latitude, msg.longitude, _float(msg.altitude), hdop * HDOP_METRES if hdop is not None else None)
    elif isinstance(msg, talker.GLL):
        if msg.is_valid and msg.timestamp:
            log.fix(None, msg.timestamp, msg.latitude, msg.longitude)
    elif isinstance(msg, proprietary.grm.GRMZ):
        altitude = _float(msg.altitude)
        if altitude is not None:
            log.altitude(altitude * _FEET if (msg.altitude_unit or "f").lower() == "f" else altitude)
    elif isinstance(msg, proprietary.mgn.MGN) and msg.data[:1] == ["TRK"]:
        _magellan(log, msg.data[1:])


def _magellan(log: _Log, fields: list[str]) -> None:
    """$PMGNTRK,ddmm.mmm,N/S,dddmm.mmm,E/W,altitude,F/M,hhmmss.ss,A/V,track name,DDMMYY (the
    date only from some units)."""
    lat_text, ns, lon_text, ew, alt_text, unit, clock_text, status = fields[:8]
    if status != "A":
        return
    lat = _degrees(lat_text) * (-1 if ns == "S" else 1)
    lon = _degrees(lon_text) * (-1 if ew == "W" else 1)
    alt = _float(alt_text)
    if alt is not None and unit.upper() == "F":
        alt *= _FEET
    seconds = float(clock_text[4:])
    clock = time(int(clock_text[:2]), int(clock_text[2:4]), int(seconds), min(999_999, round(seconds % 1 * 1e6)))
    day_text = fields[9] if len(fields) > 9 else ""
    moment = None
    if len(day_text) == 6 and day_text.isdigit():
        year = int(day_text[4:])
        moment = _combine(date(year + (1900 if year >= 70 else 2000), int(day_text[2:4]), int(day_text[:2])), clock)
        log.date(moment)
    log.fix(moment, clock, lat, lon, alt)


def _degrees(text: str) -> float:
    """NMEA's "ddmm.mmm" or "dddmm.mmm": degrees, then two digits of minutes before the point."""
    point = text.find(".")
    whole = len(text) if point < 0 else point
    return int(text[: whole - 2] or 0) + float(text[whole - 2 :]) / 60


def _combine(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock.replace(tzinfo=None), UTC)


def _float(value: object) -> float | None:
    """A field as pynmea2 gives it (text, a number, a Decimal, or None or "" when empty), or None."""
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
