"""GPX, KML, KMZ and TCX, read as a stream (`xmlstream`) into compact columns.

Our own streaming readers rather than gpxpy or fastkml: both parse the whole document into
objects (about 2 kB a GPX point), gpxpy deep-copies nested elements recursively (150,000 nested
<extensions> crashed the process) and neither exposes KML's gx:Track <when>/<gx:coord> pairs as
times. Here memory follows the points kept, 20 bytes each, whatever the size or shape of the
file. The elements read are those exiftool's geotagging reads.
"""

from __future__ import annotations

import array
import math
import zipfile
from typing import IO, Any

from geolocator.locate.tracks.model import E7, NO_ELEVATION, NotATrack, PointBudget, Track, TrackBuilder, TrackError, TrackTooBig, track_from_columns
from geolocator.locate.tracks.values import HDOP_METRES, iso_utc
from geolocator.locate.tracks.xmlstream import MAX_TEXT, SHORT, STREAM, TrackXml, stream_xml

_GPX_POINTS = ("trkpt", "wpt", "rtept")


class _Gpx(TrackXml):
    """Each track segment is one Track (a new segment marks a gap in the recording: never
    interpolated across), each timed route one more, and timed waypoints together one more."""

    def __init__(self, budget: PointBudget) -> None:
        self.budget = budget
        self.tracks: list[Track | None] = []
        self.parts: list[TrackBuilder] = []  # the segments of the <trk> or the points of the <rte> being read
        self.name: str | None = None
        self.waypoints = TrackBuilder(budget, "waypoints")
        self.point: dict[str, str] = {}

    def start(self, path: list[str], attrib: dict[str, str]) -> int | None:
        name, parent = path[-1], path[-2] if len(path) > 1 else ""
        if (parent in _GPX_POINTS and name in ("time", "ele", "hdop")) or (name == "name" and parent in ("trk", "rte")):
            return SHORT
        if name in _GPX_POINTS:
            self.point = {"lat": attrib.get("lat", ""), "lon": attrib.get("lon", "")}
        elif name in ("trk", "rte"):
            self.name, self.parts = None, [] if name == "trk" else [TrackBuilder(self.budget)]
        elif name == "trkseg" and parent == "trk":
            self.parts.append(TrackBuilder(self.budget))
        return None

    def end(self, path: list[str], text: str | None) -> None:
        name, parent = path[-1], path[-2] if len(path) > 1 else ""
        if text is not None:
            if name == "name":
                self.name = text.strip() or None
            else:
                self.point[name] = text
        elif (name, parent) in (("trkpt", "trkseg"), ("rtept", "rte")) and self.parts:
            _add_gpx_point(self.parts[-1], self.point)
        elif name == "wpt" and parent == "gpx":
            _add_gpx_point(self.waypoints, self.point)
        elif name in ("trk", "rte"):
            for part in self.parts:
                part.name = self.name
                self.tracks.append(part.build())
            self.parts = []


def _add_gpx_point(out: TrackBuilder, point: dict[str, str]) -> None:
    """A timed point; one without a time, or whose coordinates are not numbers, is skipped (as
    exiftool skips it). GPX times are UTC."""
    if "time" not in point:
        return
    lat, lon = _float(point["lat"]), _float(point["lon"])
    if lat is None or lon is None:
        return
    hdop = _float(point.get("hdop"))
    out.add(iso_utc(point["time"]), lat, lon, _float(point.get("ele")), hdop * HDOP_METRES if hdop is not None else None)


def read_gpx(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    gpx = _Gpx(budget)
    stream_xml(fh, "gpx", gpx, "GPX")
    return _kept([*gpx.tracks, gpx.waypoints.build()], "GPX without a single timed point (a route or untimed waypoints)")


def _kept(tracks: list[Track | None], empty: str) -> tuple[Track, ...]:
    """The tracks that have points; NotATrack saying `empty` when none has."""
    kept = tuple(t for t in tracks if t is not None)
    if not kept:
        raise NotATrack(empty)
    return kept


_TCX_TEXTS = {("Trackpoint", "Time"), ("Trackpoint", "AltitudeMeters"), ("Position", "LatitudeDegrees"), ("Position", "LongitudeDegrees"), ("Course", "Name")}


class _Tcx(TrackXml):
    """Garmin Training Center: each activity (its laps' <Track>s: laps and pauses are no gaps in
    the recording) or course is one Track of its <Trackpoint>s (Time, Position, AltitudeMeters),
    named by the course or the sport."""

    def __init__(self, budget: PointBudget) -> None:
        self.budget = budget
        self.tracks: list[Track | None] = []
        self.part = TrackBuilder(budget)
        self.point: dict[str, str] = {}

    def start(self, path: list[str], attrib: dict[str, str]) -> int | None:
        name, parent = path[-1], path[-2] if len(path) > 1 else ""
        if name in ("Activity", "Course"):
            self.part = TrackBuilder(self.budget, attrib.get("Sport") or None)
        elif name == "Trackpoint":
            self.point = {}
        elif (parent, name) in _TCX_TEXTS:
            return SHORT
        return None

    def end(self, path: list[str], text: str | None) -> None:
        name = path[-1]
        if text is not None:
            if name == "Name":
                self.part.name = text.strip() or None
            else:
                self.point[name] = text
        elif name == "Trackpoint":
            lat, lon = _float(self.point.get("LatitudeDegrees")), _float(self.point.get("LongitudeDegrees"))
            if "Time" in self.point and lat is not None and lon is not None:
                self.part.add(iso_utc(self.point["Time"]), lat, lon, _float(self.point.get("AltitudeMeters")))
        elif name in ("Activity", "Course"):
            self.tracks.append(self.part.build())


def read_tcx(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    tcx = _Tcx(budget)
    stream_xml(fh, "TrainingCenterDatabase", tcx, "TCX")
    return _kept(tcx.tracks, "TCX without a single timed track point")


_KML_TEXTS = {("Track", "when"), ("Track", "coord"), ("Placemark", "name"), ("TimeStamp", "when"), ("TimeSpan", "begin"), ("TimeSpan", "end")}


class _Kml(TrackXml):
    """gx:Track (<when> and <gx:coord> in pairs) is one Track each. Placemarks with a time
    make one more: a Point at its TimeStamp, or at both ends of its TimeSpan (a stay); a
    LineString from its TimeSpan's begin to its end, vertices timed by distance along the line
    (constant speed: Google's old location-history KML wrote moves this way)."""

    def __init__(self, budget: PointBudget) -> None:
        self.budget = budget
        self.times_budget = PointBudget(budget.limit, "<when> in one KML file")
        self.coords_budget = PointBudget(budget.limit, "coordinates in one KML file")
        self.tracks: list[Track | None] = []
        self.timed = TrackBuilder(budget, "placemarks")
        self.name: str | None = None
        self.times: dict[str, str] = {}
        self.point: str | None = None
        self.line = _Columns()
        self.carry = ""
        self.whens = array.array("d")
        self.coords = _Columns()

    def start(self, path: list[str], attrib: dict[str, str]) -> int | None:
        name, parent = path[-1], path[-2] if len(path) > 1 else ""
        if name == "Placemark":
            self.name, self.times, self.point, self.line = None, {}, None, _Columns()
        elif name == "Track":
            self.whens, self.coords = array.array("d"), _Columns()
        elif (parent, name) in _KML_TEXTS or (parent, name, self.point) == ("Point", "coordinates", None):
            return SHORT
        elif name == "coordinates" and parent == "LineString":
            self.carry = ""
            return STREAM
        return None

    def text(self, piece: str) -> None:
        """LineString coordinates, in pieces: "lon,lat[,alt]" tuples apart by white space."""
        tuples = (self.carry + piece).split()
        self.carry = tuples.pop() if tuples and not piece[-1:].isspace() else ""
        if len(self.carry) > MAX_TEXT:
            raise TrackTooBig(f"KML with a coordinate of more than {MAX_TEXT:,} characters")
        for text in tuples:
            self.line.add(self.coords_budget, *_kml_tuple(text))

    def end(self, path: list[str], text: str | None) -> None:
        name, parent = path[-1], path[-2] if len(path) > 1 else ""
        if parent == "Track" and text is not None:
            if name == "when":
                self.times_budget.take()
                self.whens.append(iso_utc(text))
            else:
                values = text.split()
                if len(values) < 2:
                    raise TrackError(f"not a gx:coord: {text!r:.60}")
                self.coords.add(self.coords_budget, _number(values[1]), _number(values[0]), _float(values[2]) if len(values) > 2 else None)
        elif name == "name" and text is not None:
            self.name = text.strip() or None
        elif name in ("when", "begin", "end") and text is not None:
            self.times[name] = text
        elif name == "coordinates" and parent == "Point" and text is not None:
            self.point = text
        elif name == "coordinates" and parent == "LineString":
            self.text(" ")
        elif name == "Track":
            self._gx_track()
        elif name == "Placemark":
            self._placemark()

    def _gx_track(self) -> None:
        import numpy as np

        if len(self.whens) != len(self.coords):
            raise TrackError(f"gx:Track with {len(self.whens)} <when> and {len(self.coords)} <gx:coord>")
        track = track_from_columns(self.name, [np.frombuffer(self.whens, dtype=np.float64), *self.coords.arrays()])
        self.budget.take_many(len(track) if track is not None else 0)
        self.tracks.append(track)
        self.whens, self.coords = array.array("d"), _Columns()

    def _placemark(self) -> None:
        stamp, begin, end = self.times.get("when"), self.times.get("begin"), self.times.get("end")
        if self.point is not None:
            first = self.point.split()
            moments = [stamp] if stamp is not None else [begin, end] if begin is not None and end is not None else []
            for when in moments if first else []:
                self.timed.add(iso_utc(when), *_kml_tuple(first[0]))
        elif len(self.line) and begin is not None and end is not None:
            t0, t1 = iso_utc(begin), iso_utc(end)
            lat, lon, ele = self.line.arrays()
            for share, lat_e7, lon_e7, metres in zip(self.line.share_along(), lat, lon, ele, strict=True):
                self.timed.add_e7(t0 + (t1 - t0) * float(share), int(lat_e7), int(lon_e7), None if metres == NO_ELEVATION else float(metres))


class _Columns:
    """Positions in compact columns (1e-7 degrees, metres), counted against the budget."""

    def __init__(self) -> None:
        self.lat = array.array("i")
        self.lon = array.array("i")
        self.ele = array.array("h")

    def __len__(self) -> int:
        return len(self.lat)

    def add(self, budget: PointBudget, lat: float, lon: float, ele: float | None) -> None:
        budget.take()
        valid = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
        self.lat.append(round(lat * E7) if valid else -(2**31))  # an invalid position is dropped with its point later
        self.lon.append(round(lon * E7) if valid else -(2**31))
        self.ele.append(NO_ELEVATION if ele is None or not abs(ele) <= 32767 else round(ele))

    def arrays(self) -> list[Any]:
        import numpy as np

        return [np.frombuffer(self.lat, dtype=np.int32), np.frombuffer(self.lon, dtype=np.int32), np.frombuffer(self.ele, dtype=np.int16)]

    def share_along(self) -> Any:
        """How far along the line each vertex is, from 0 to 1 (by distance; by count when the
        line has no length)."""
        import numpy as np

        lat = np.radians(np.frombuffer(self.lat, dtype=np.int32) / E7)
        lon = np.radians(np.frombuffer(self.lon, dtype=np.int32) / E7)
        h = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
        along = np.concatenate(([0.0], np.cumsum(2 * np.arcsin(np.sqrt(np.minimum(h, 1.0))))))
        total = along[-1]
        return along / total if total > 0 else np.linspace(0.0, 1.0, len(along)) if len(along) > 1 else np.zeros(1)


def _kml_tuple(text: str) -> tuple[float, float, float | None]:
    """KML "lon,lat[,alt]" -> (lat, lon, alt)."""
    parts = text.split(",")
    try:
        lon, lat = float(parts[0]), float(parts[1])
        alt = float(parts[2]) if len(parts) > 2 and parts[2] else None
    except (ValueError, IndexError):
        raise TrackError(f"not a KML coordinate: {text!r:.60}") from None
    return lat, lon, alt


def read_kml(fh: IO[bytes], budget: PointBudget) -> tuple[Track, ...]:
    kml = _Kml(budget)
    stream_xml(fh, "kml", kml, "KML")
    return _kept([*kml.tracks, kml.timed.build()], "KML without a single timed point")


def kml_in_zip(fh: IO[bytes]) -> bool:
    """Whether the zip archive `fh` holds a .kml at its top level (read from its directory)."""
    try:
        with zipfile.ZipFile(fh) as archive:
            return bool(_kml_entries(archive))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        return False


def _kml_entries(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in archive.infolist() if i.filename.lower().endswith(".kml") and "/" not in i.filename]


def read_kmz(fh: IO[bytes], budget: PointBudget, max_bytes: int) -> tuple[Track, ...]:
    """The KML inside: doc.kml, else the first .kml at the top level, as Google Earth does. It is
    streamed as it unpacks, at most `max_bytes` of it whatever the archive says."""
    try:
        with zipfile.ZipFile(fh) as archive:
            names = _kml_entries(archive)
            if not names:
                raise NotATrack("a zip archive without a .kml file")
            inner = next((i for i in names if i.filename.lower() == "doc.kml"), names[0])
            if inner.file_size > max_bytes:
                raise TrackTooBig(f"KMZ whose {inner.filename} unpacks to {inner.file_size:,} bytes: more than {max_bytes:,}")
            with archive.open(inner) as kml:
                return read_kml(_Capped(kml, max_bytes, inner.filename), budget)  # type: ignore[arg-type]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise TrackError(f"malformed KMZ: {' '.join(str(exc).split())[:200]}") from None


class _Capped:
    """A reader that refuses to go past `limit` bytes: a zip's stated sizes can lie."""

    def __init__(self, inner: IO[bytes], limit: int, name: str) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit
        self._name = name

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(self._left + 1 if n < 0 else min(n, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise TrackTooBig(f"KMZ whose {self._name} unpacks to more than {self._limit:,} bytes")
        return data


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _number(text: str) -> float:
    value = _float(text)
    if value is None:
        raise TrackError(f"not a number: {text!r:.40}")
    return value
