"""The typed value every track parser produces: sorted arrays of time, latitude and longitude.

A track is four parallel numpy arrays, not a list of point objects: a year of Google location
history is millions of points, and 32 bytes a point (float64 time, lat, lon; float32 elevation
and accuracy) keeps that within a bounded, predictable amount of memory.
"""

from __future__ import annotations

import array
import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when a track is built or matched, not by every start-up
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Floats32 = npt.NDArray[np.float32]

# A file holding more points than this is refused, not half read: see `TrackLimits`.
DEFAULT_MAX_POINTS = 3_000_000
DEFAULT_MAX_BYTES = 1 << 30  # streamed formats (JSON, KML, NMEA)
DEFAULT_MAX_DOM_BYTES = 16 << 20  # GPX: gpxpy holds ~2 kB a point, so 16 MiB (~150k points) peaks near 300 MB


class TrackFormat(str, enum.Enum):
    GPX = "gpx"
    KML = "kml"
    KMZ = "kmz"
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
    """The file or its point count exceeds `TrackLimits`: refused whole, never half read."""


@dataclass(frozen=True)
class TrackLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_dom_bytes: int = DEFAULT_MAX_DOM_BYTES
    max_points: int = DEFAULT_MAX_POINTS


@dataclass(frozen=True, eq=False)
class Track:
    """One continuous recording. `times` are UTC seconds since the epoch, strictly increasing.

    `elevations` and `accuracies` (metres) hold NaN where a point has none. The arrays are
    read-only.
    """

    name: str | None
    times: Floats
    lats: Floats
    lons: Floats
    elevations: Floats32
    accuracies: Floats32

    def __len__(self) -> int:
        return len(self.times)

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

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> None:
        self.used += 1
        if self.used > self.limit:
            raise TrackTooBig(f"more than {self.limit:,} track points: refused (raise the limit to read it)")


class TrackBuilder:
    """Collects points in compact arrays, in any order; `build()` sorts and checks them."""

    def __init__(self, budget: PointBudget, name: str | None = None) -> None:
        self.name = name
        self._budget = budget
        self._t = array.array("d")
        self._lat = array.array("d")
        self._lon = array.array("d")
        self._ele = array.array("f")
        self._acc = array.array("f")

    def __len__(self) -> int:
        return len(self._t)

    def add(self, utc: float, lat: float, lon: float, elevation: float | None = None, accuracy: float | None = None) -> bool:
        """Add a point; False (and nothing added) when it is not a real place or time."""
        if not (math.isfinite(utc) and math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            return False
        if lat == 0 and lon == 0:  # "no fix" written as a point, as in photos
            return False
        self._budget.take()
        self._t.append(utc)
        self._lat.append(lat)
        self._lon.append(lon)
        self._ele.append(math.nan if elevation is None or not math.isfinite(elevation) else elevation)
        self._acc.append(math.nan if accuracy is None or not math.isfinite(accuracy) or accuracy < 0 else accuracy)
        return True

    def build(self) -> Track | None:
        """The points sorted by time; points sharing a time merged (first position, any elevation
        and the best accuracy, as RMC and GGA sentences of one NMEA fix). None when empty."""
        if not self._t:
            return None
        import numpy as np

        times = np.frombuffer(self._t, dtype=np.float64)
        order = np.argsort(times, kind="stable")
        times = times[order]
        unique, first = np.unique(times, return_index=True)
        ele = np.frombuffer(self._ele, dtype=np.float32)[order]
        acc = np.frombuffer(self._acc, dtype=np.float32)[order]
        track = Track(
            name=self.name,
            times=unique,
            lats=np.frombuffer(self._lat, dtype=np.float64)[order][first],
            lons=np.frombuffer(self._lon, dtype=np.float64)[order][first],
            elevations=np.fmax.reduceat(ele, first),
            accuracies=np.fmin.reduceat(acc, first),
        )
        for values in (track.times, track.lats, track.lons, track.elevations, track.accuracies):
            values.setflags(write=False)
        return track
