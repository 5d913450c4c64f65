"""The typed value every track parser produces: sorted, compact arrays of time and position.

A track is parallel numpy arrays, never an object per point: a ten-year Google location history
is ten million points or more. A point costs 20 bytes: float64 UTC seconds, latitude and
longitude as int32 in 1e-7 degrees (1 cm, as Google stores them), elevation as int16 metres and
accuracy as uint16 metres (a GPS fix is good to metres, not better). Parsers fill a
`TrackBuilder` (`array.array` columns that grow in place) and count every point against one
`PointBudget`, so a file with too many points is refused as soon as it has them, not once read.
"""

from __future__ import annotations

import array
import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported when a track is built or matched, not by every start-up
    import numpy as np
    import numpy.typing as npt

    from geolocator.config import LocationConfig

    Floats = npt.NDArray[np.float64]
    Int32s = npt.NDArray[np.int32]
    Int16s = npt.NDArray[np.int16]
    UInt16s = npt.NDArray[np.uint16]

# Past these a file is refused, never half read (`[location] track_max_mb`, `track_max_points`).
# 12 million points cost 240 MB as arrays and at most ~390 MB while sorted (`TrackBuilder.build`):
# a 3 GB Records.json holds about 10 million.
DEFAULT_MAX_BYTES = 10 << 30
DEFAULT_MAX_POINTS = 12_000_000

E7 = 10_000_000  # latitude and longitude are kept as integers of 1e-7 degree
NO_ELEVATION = -32768  # int16: the point has no elevation
NO_ACCURACY = 65535  # uint16: the point states no accuracy
_LAT_E7, _LON_E7 = 90 * E7, 180 * E7
_MAX_ELEVATION = 32767
_MAX_ACCURACY = 65534


class TrackFormat(str, enum.Enum):
    GPX = "gpx"
    KML = "kml"
    KMZ = "kmz"
    TCX = "tcx"  # Garmin Training Center
    FIT = "fit"  # Garmin FIT (binary)
    IGC = "igc"  # gliding flight recorders (FAI)
    NMEA = "nmea"
    GEOJSON = "geojson"
    TAKEOUT_RECORDS = "takeout-records"  # Records.json: {"locations": [{latitudeE7, ...}]}
    TAKEOUT_TIMELINE = "takeout-timeline"  # Timeline.json: {"semanticSegments": [...], "rawSignals": [...]}
    TAKEOUT_DEVICE = "takeout-device"  # iOS on-device export: [{"startTime", "timelinePath": [{"point": "geo:..."}]}]


class TrackError(ValueError):
    """The file is not a usable track; `str(error)` is one line fit to show a user."""


class NotATrack(TrackError):
    """The content is of no track format we know (a .json of something else, a photo...)."""


class TrackTooBig(TrackError):
    """The file, its point count or one of its parts exceeds the limits: refused whole, never half read."""


@dataclass(frozen=True)
class TrackLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_points: int = DEFAULT_MAX_POINTS

    @classmethod
    def of(cls, location: LocationConfig) -> TrackLimits:
        """The limits `[location] track_max_mb` and `track_max_points` set."""
        return cls(max_bytes=location.track_max_mb << 20, max_points=location.track_max_points)


@dataclass(frozen=True, eq=False)
class Track:
    """One continuous recording. `times` are UTC seconds since the epoch, strictly increasing.

    Positions are integers of 1e-7 degree; `elevation_m` holds NO_ELEVATION and `accuracy_m`
    NO_ACCURACY where a point has none. The arrays are read-only (and may map the track cache).
    """

    name: str | None
    times: Floats
    lat_e7: Int32s
    lon_e7: Int32s
    elevation_m: Int16s
    accuracy_m: UInt16s

    def __len__(self) -> int:
        return len(self.times)

    def lat(self, i: int) -> float:
        return int(self.lat_e7[i]) / E7

    def lon(self, i: int) -> float:
        return int(self.lon_e7[i]) / E7

    def elevation(self, i: int) -> float | None:
        value = int(self.elevation_m[i])
        return None if value == NO_ELEVATION else float(value)

    def accuracy(self, i: int) -> float | None:
        value = int(self.accuracy_m[i])
        return None if value == NO_ACCURACY else float(value)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(float(self.times[0]), UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(float(self.times[-1]), UTC)


@dataclass(frozen=True)
class TrackFile:
    """What one file held: its format and its tracks (each with at least one point)."""

    format: TrackFormat
    tracks: tuple[Track, ...]

    @property
    def point_count(self) -> int:
        return sum(len(t) for t in self.tracks)

    @property
    def start(self) -> datetime:
        return min(t.start for t in self.tracks)

    @property
    def end(self) -> datetime:
        return max(t.end for t in self.tracks)


class PointBudget:
    """Counts points across all the tracks of one file and refuses the file past the limit."""

    def __init__(self, limit: int, what: str = "track points") -> None:
        self.limit = limit
        self.used = 0
        self.what = what

    def take(self) -> None:
        self.used += 1
        if self.used > self.limit:
            raise self._too_many()

    def take_many(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise self._too_many()

    def _too_many(self) -> TrackTooBig:
        return TrackTooBig(f"more than {self.limit:,} {self.what}: refused (raise [location] track_max_points to read it)")


class TrackBuilder:
    """Collects points in compact columns, in any order; `build()` sorts and checks them once."""

    def __init__(self, budget: PointBudget, name: str | None = None) -> None:
        self.name = name
        self._budget = budget
        self._t = array.array("d")
        self._lat = array.array("i")
        self._lon = array.array("i")
        self._ele = array.array("h")
        self._acc = array.array("H")
        self._sorted = True

    def __len__(self) -> int:
        return len(self._t)

    def add(self, utc: float, lat: float, lon: float, elevation: float | None = None, accuracy: float | None = None) -> bool:
        """Add a point; False (and nothing added) when it is not a real place or time."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return False
        return self.add_e7(utc, round(lat * E7), round(lon * E7), elevation, accuracy)

    def add_e7(self, utc: float, lat_e7: int, lon_e7: int, elevation: float | None = None, accuracy: float | None = None) -> bool:
        """`add` for a position already in 1e-7 degrees (Google's latitudeE7). Called for every
        point of every file: kept lean."""
        if not (-_LAT_E7 <= lat_e7 <= _LAT_E7 and -_LON_E7 <= lon_e7 <= _LON_E7 and math.isfinite(utc)) or (lat_e7 == 0 and lon_e7 == 0):
            return False  # (0, 0) is "no fix" written as a point, as in photos
        self._budget.take()
        times = self._t
        if times and utc < times[-1]:
            self._sorted = False
        times.append(utc)
        self._lat.append(lat_e7)
        self._lon.append(lon_e7)
        self._ele.append(NO_ELEVATION if elevation is None else _elevation_m(elevation))
        self._acc.append(NO_ACCURACY if accuracy is None else _accuracy_m(accuracy))
        return True

    def build(self) -> Track | None:
        """The points sorted by time (see `sorted_track`), or None when there are none. The builder
        is spent: its columns become the track's arrays, without a copy when they came in order."""
        if not self._t:
            return None
        import numpy as np

        buffers: list[array.array[Any]] = [self._t, self._lat, self._lon, self._ele, self._acc]
        self._t, self._lat, self._lon, self._ele, self._acc = array.array("d"), array.array("i"), array.array("i"), array.array("h"), array.array("H")
        columns = [np.frombuffer(buffers.pop(0), dtype=dtype) for dtype in (np.float64, np.int32, np.int32, np.int16, np.uint16)]
        return sorted_track(self.name, columns, in_order=self._sorted)


def track_from_columns(name: str | None, columns: list[Any]) -> Track | None:
    """A track from whole columns a parser filled side by side (a GeoJSON line's coordinates and
    its times, a gx:Track's <gx:coord> and <when>): [times, lat_e7, lon_e7, elevation_m], numpy
    arrays. Points that are no real place or time are dropped, as `TrackBuilder.add` drops them;
    then `sorted_track`. None when no point is left. The list is emptied."""
    import numpy as np

    times, lat, lon = columns[0], columns[1], columns[2]
    valid = np.isfinite(times) & (np.abs(lat) <= 90 * E7) & (np.abs(lon) <= 180 * E7) & ((lat != 0) | (lon != 0))
    del times, lat, lon
    if not valid.all():
        for i in range(len(columns)):
            columns[i] = columns[i][valid]
    del valid
    if not len(columns[0]):
        return None
    columns.append(np.full(len(columns[0]), NO_ACCURACY, dtype=np.uint16))
    return sorted_track(name, columns, in_order=None)


def sorted_track(name: str | None, columns: list[Any], *, in_order: bool | None) -> Track:
    """The columns [times, lat_e7, lon_e7, elevation_m, accuracy_m] (numpy arrays) ordered by
    time, points sharing a time merged (first position, any elevation and the best accuracy, as
    the RMC and GGA sentences of one NMEA fix), read-only, as a Track.

    Memory: columns already in order (Takeout, GPX; `in_order`, or checked when None) are kept as
    they are. Out of order, each column in turn is replaced by its reordered copy (the list is
    consumed so the old one is freed), and the times are sorted in place: the peak is the
    columns, the order (8 bytes a point) and one reordered column.
    """
    import numpy as np

    times = columns[0]
    if in_order is None:
        in_order = bool(np.all(times[1:] >= times[:-1]))
    if not in_order:
        order = np.argsort(times, kind="stable")
        for i in range(1, len(columns)):
            columns[i] = columns[i][order]
        del order
        if times.flags.writeable:
            times.sort(kind="stable")  # the same order as the stable argsort
        else:
            times = columns[0] = np.sort(times, kind="stable")
    same = times[1:] == times[:-1]
    if same.any():
        first = np.flatnonzero(np.concatenate(([True], ~same)))
        del same
        columns[0], times = None, times[first]
        columns[1], columns[2] = columns[1][first], columns[2][first]
        columns[3], columns[4] = np.maximum.reduceat(columns[3], first), np.minimum.reduceat(columns[4], first)
    track = Track(name, times, columns[1], columns[2], columns[3], columns[4])
    columns.clear()
    for values in (track.times, track.lat_e7, track.lon_e7, track.elevation_m, track.accuracy_m):
        values.setflags(write=False)
    return track


def _elevation_m(value: float | None) -> int:
    if value is None or not math.isfinite(value):
        return NO_ELEVATION
    return max(-_MAX_ELEVATION, min(_MAX_ELEVATION, round(value)))


def _accuracy_m(value: float | None) -> int:
    if value is None or not math.isfinite(value) or value < 0:
        return NO_ACCURACY
    return min(_MAX_ACCURACY, round(value))
