"""When a photo was taken, in UTC, and on what basis: what track matching needs (pure core).

Cameras write the wall-clock time without its zone. In order, the first that applies wins:
  0. a sync point a person made for the camera that day (`clocks.ClockCorrection`: its wall
     clock mapped to UTC, zone and clock error at once); else the wall clock corrected by the
     camera's known offset (`[location] camera_offsets`), if any, before the rest:
  1. the UTC offset the file records (OffsetTimeOriginal or its siblings, an XMP/QuickTime zone);
  2. the GPS time stamp (GPSDateStamp + GPSTimeStamp, always UTC): the offset is the wall clock
     minus it, rounded to the quarter hour (a stamp far from any whole offset is a stale fix);
  3. the time zone at the photo's own position, for a photo located by its file (or by hand):
     its GPS gives the place, timezonefinder the zone, zoneinfo the offset that day;
  4. the time zone at the track's position at that moment, looked up the same way (offline,
     daylight saving included);
  5. the configured `camera_utc_offset`.
A file whose metadata holds no time may have one in its name (`locate.metadata.file_names`): a
wall clock is read as above; a name in UTC (Pixel) is its own basis, `file_name`; a date alone
(WhatsApp) gives no time to place by.
`capture_time` takes these as values and lookups as callables, so it does no I/O itself.
"""

from __future__ import annotations

import atexit
import dataclasses
import enum
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

from geolocator.config import MAX_UTC_OFFSET
from geolocator.locate.metadata.dates import gps_timestamp
from geolocator.locate.tracks.interpolate import MatchRules, TrackFix, locate_on_tracks
from geolocator.locate.tracks.model import Track
from geolocator.locations.clocks import ClockCorrection, KnownOffset
from geolocator.locations.nearby import is_date_only

__all__ = ["CaptureTime", "TimeBasis", "capture_time", "gps_timestamp", "zone_at"]

ZoneAt = Callable[[float, float], str | None]  # (lat, lon) -> IANA zone name

QUARTER_HOUR = timedelta(minutes=15)
GPS_STAMP_TOLERANCE = timedelta(minutes=2)  # camera clock drift allowed against the GPS stamp
MAX_OFFSET = MAX_UTC_OFFSET


class TimeBasis(str, enum.Enum):
    FILE_OFFSET = "file_offset"
    GPS_TIME = "gps_time"
    OWN_ZONE = "own_zone"  # the time zone at the photo's own position
    TRACK_ZONE = "track_zone"
    CAMERA_OFFSET = "camera_offset"
    FILE_NAME = "file_name"  # the file name, written in UTC (a Pixel's PXL_ names)
    CLOCK_FIX = "clock_fix"  # a sync point made on the map page for the camera's clock


@dataclass(frozen=True)
class CaptureTime:
    utc: datetime  # aware, in UTC
    basis: TimeBasis
    local: datetime | None  # the wall clock as the camera wrote it (naive), when it did
    decisions: tuple[str, ...]  # which basis was used and why, and any passed over

    @property
    def local_day(self) -> date:
        """The calendar day where the photo was taken: the wall clock's, else UTC's."""
        return (self.local or self.utc).date()


def capture_time(
    taken_at: str | None,
    *,
    gps_utc: datetime | None = None,
    position: tuple[float, float] | None = None,
    tracks: Sequence[Track] = (),
    zone_at: ZoneAt | None = None,
    camera_utc_offset: timedelta | None = None,
    rules: MatchRules = MatchRules(),  # noqa: B008 (frozen)
    clock: ClockCorrection | None = None,
    known: KnownOffset | None = None,
) -> CaptureTime | None:
    """The capture time in UTC. `taken_at` is the metadata's ISO 8601 time (with its offset when
    the file recorded one); `gps_utc` the GPS time stamp (aware); `position` the photo's own
    (lat, lon), when its file or a person placed it; `clock` the sync that covers the photo;
    `known` its camera's known clock offset. None when no basis applies."""
    local, offset = _split(taken_at)
    if clock is not None and local is not None:
        return CaptureTime(clock.utc(local), TimeBasis.CLOCK_FIX, local, (clock.decision,))
    passed: list[str] = []
    if known is not None and local is not None:
        local += known.offset
        passed.append(known.decision)
    if offset is not None and local is not None:
        utc = (local - offset).replace(tzinfo=UTC)
        return CaptureTime(utc, TimeBasis.FILE_OFFSET, local, (*passed, f"UTC offset {_show(offset)} recorded in the file"))
    if gps_utc is not None:
        found = _from_gps(local, gps_utc.astimezone(UTC))
        if isinstance(found, CaptureTime):
            return dataclasses.replace(found, decisions=(*passed, *found.decisions))
        passed.append(found)
    if local is None:
        return None
    if position is not None and zone_at is not None:
        found = _from_own_zone(local, position, zone_at)
        if isinstance(found, CaptureTime):
            return dataclasses.replace(found, decisions=(*passed, *found.decisions))
        passed.append(found)
    if tracks and zone_at is not None:
        found = _from_track_zone(local, tracks, zone_at, rules)
        if isinstance(found, CaptureTime):
            return dataclasses.replace(found, decisions=(*passed, *found.decisions))
        passed.append(found)
    if camera_utc_offset is not None:
        utc = (local - camera_utc_offset).replace(tzinfo=UTC)
        return CaptureTime(utc, TimeBasis.CAMERA_OFFSET, local, (*passed, f"configured camera_utc_offset {_show(camera_utc_offset)}"))
    return None


@functools.cache
def _finder() -> TimezoneFinder:
    # Imported on first use: it loads cffi and its boundary data (~70 ms), which a start-up
    # or a scan of photos that carry their own time zone never needs.
    from timezonefinder import TimezoneFinder

    finder = TimezoneFinder()
    atexit.register(finder.cleanup)  # its memory-mapped files closed before the interpreter's teardown warns of them
    return finder


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA time zone at a point, from timezonefinder's bundled (offline) boundaries."""
    name: str | None = _finder().timezone_at(lat=lat, lng=lon)
    return name


def _split(taken_at: str | None) -> tuple[datetime | None, timedelta | None]:
    """"2024-06-01T12:00:00+02:00" -> (naive wall clock, +2 h); no offset -> (clock, None); a date
    alone -> (None, None)."""
    if not taken_at or is_date_only(taken_at):
        return None, None
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return None, None
    return moment.replace(tzinfo=None), moment.utcoffset()


def _from_gps(local: datetime | None, gps: datetime) -> CaptureTime | str:
    stamp = gps.strftime("%Y-%m-%d %H:%M:%SZ")
    if local is None:
        return CaptureTime(gps, TimeBasis.GPS_TIME, None, (f"GPS time stamp {stamp} (no wall-clock time in the file)",))
    diff = local - gps.replace(tzinfo=None)
    offset = QUARTER_HOUR * round(diff / QUARTER_HOUR)
    if abs(offset) > MAX_OFFSET or abs(diff - offset) > GPS_STAMP_TOLERANCE:
        return f"GPS time stamp {stamp} is {_show(diff)} from the wall clock, no whole UTC offset: a stale fix, not used"
    utc = (local - offset).replace(tzinfo=UTC)
    return CaptureTime(utc, TimeBasis.GPS_TIME, local, (f"GPS time stamp {stamp}: the wall clock is UTC{_show(offset)}",))


def _from_own_zone(local: datetime, position: tuple[float, float], zone_at: ZoneAt) -> CaptureTime | str:
    """`local` read in the time zone at the photo's own position. An hour the clock change
    repeats is read as the first (daylight saving) one; an hour it skips, with the offset before."""
    name = zone_at(*position)
    if name is None:
        return "no time zone is known at the photo's own position"
    try:
        zone = ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return f"time zone {name!r} at the photo's own position is unknown to zoneinfo"
    readings = sorted({local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    real = [utc for utc in readings if utc.astimezone(zone).replace(tzinfo=None) == local]
    utc = real[0] if real else local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    notes = {0: (f"{local:%H:%M} does not exist in {name} that day (clocks went forward): read with the offset before the change",), 1: ()}
    note = notes.get(len(real), (f"{local:%H:%M} happens twice in {name} that day (clocks went back): the first is taken",))
    why = f"time zone {name} (UTC{_show(utc.astimezone(zone).utcoffset())}) at the photo's own position"
    return CaptureTime(utc, TimeBasis.OWN_ZONE, local, (why, *note))


def _from_track_zone(local: datetime, tracks: Sequence[Track], zone_at: ZoneAt, rules: MatchRules) -> CaptureTime | str:
    """Guess where the photo was from the track's fix nearest the wall clock read as UTC (within
    the 14 h any offset spans), take that place's zone, convert, and look again at the position
    at the converted time until the zone stops changing (a trip across a zone border)."""
    wide = MatchRules(max_interpolation_s=rules.max_interpolation_s, max_extrapolation_s=MAX_OFFSET.total_seconds())
    fix = locate_on_tracks(tracks, local.replace(tzinfo=UTC), wide)
    tried: list[str] = []
    for _ in range(3):
        if fix is None:
            break
        name = zone_at(fix.lat, fix.lon)
        if name is None or name in tried:
            break
        tried.append(name)
        try:
            zone = ZoneInfo(name)
        except ZoneInfoNotFoundError:
            return f"time zone {name!r} at the track's position is unknown to zoneinfo"
        utc, fix, note = _in_zone(local, zone, tracks, rules)
        if fix is not None and zone_at(fix.lat, fix.lon) == name:
            why = f"time zone {name} (UTC{_show(utc.astimezone(zone).utcoffset())}) at the track's position at {utc:%H:%M:%S}Z"
            return CaptureTime(utc, TimeBasis.TRACK_ZONE, local, (why, *note))
    return "no track covers the wall-clock time in any zone it passes through"


def _in_zone(local: datetime, zone: ZoneInfo, tracks: Sequence[Track], rules: MatchRules) -> tuple[datetime, TrackFix | None, tuple[str, ...]]:
    """`local` read in `zone`. An hour repeated by the clock change is settled by the track (the
    reading with a fix nearer in time); an hour skipped by it is read with the offset before."""
    readings = sorted({local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    real = [utc for utc in readings if utc.astimezone(zone).replace(tzinfo=None) == local]
    if not real:  # a clock showing this time had not been put forward yet
        utc = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        note = (f"{local:%H:%M} does not exist in {zone.key} that day (clocks went forward): read with the offset before the change",)
        return utc, locate_on_tracks(tracks, utc, rules), note
    if len(real) == 1:
        return real[0], locate_on_tracks(tracks, real[0], rules), ()
    fixes = [(utc, locate_on_tracks(tracks, utc, rules)) for utc in real]
    covered = [(utc, fix) for utc, fix in fixes if fix is not None]
    if not covered:
        return fixes[0][0], None, ()
    utc, fix = min(covered, key=lambda pair: pair[1].seconds_from_fix)
    return utc, fix, (f"{local:%H:%M} happens twice in {zone.key} that day (clocks went back): the track is nearer at {utc:%H:%M}Z",)


def _show(delta: timedelta | None) -> str:
    if delta is None:
        return "?"
    sign = "-" if delta < timedelta(0) else "+"
    minutes = int(abs(delta).total_seconds() // 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
