"""GeoJSON with times and Google Takeout location history, read as a stream.

A Records.json of ten years is gigabytes. Every JSON file goes through `GuardedJson` (nesting,
token and entry sizes checked before the parser sees the bytes), then ijson's C backend:
- Takeout's entries (a location, a timeline segment) are small and many: `ijson.items` builds
  one at a time in C, and it is read into the track's compact columns and dropped;
- a GeoJSON feature can be one line of millions of points: its coordinates and times are read
  event by event (`_GeoJson`) into compact columns, never as a list of lists.
Which format a JSON file holds is decided from its top-level keys (`sniff_json`).
"""

from __future__ import annotations

import array
import io
import itertools
import math
from collections.abc import Iterator
from typing import IO, Any

import ijson  # type: ignore[import-untyped]

from geolocator.locate.tracks.jsonguard import GuardedJson, JsonShape
from geolocator.locate.tracks.model import E7, NO_ELEVATION, NotATrack, PointBudget, Track, TrackBuilder, TrackError, TrackFormat, track_from_columns
from geolocator.locate.tracks.values import any_time_utc, iso_utc, latlng, number

_GEOJSON_TYPES = frozenset({"FeatureCollection", "Feature", "Point", "LineString", "MultiLineString", "MultiPoint", "Polygon", "MultiPolygon", "GeometryCollection"})
_TIMELINE_KEYS = frozenset({"semanticSegments", "rawSignals", "userLocationProfile"})
_DEVICE_KEYS = frozenset({"startTime", "endTime", "visit", "activity", "timelinePath"})
_SNIFF_EVENTS = 10_000
_SNIFF_READ = 256  # sniffing reads in small steps: the top-level keys come before any deep part
_READ = 1 << 18  # what ijson reads at a time, and the guard checks
_INVALID_E7 = -(2**31)
_LAT_E7, _LON_E7 = 90 * E7, 180 * E7  # a coordinate that is no number or out of range: dropped with its point


def sniff_json(head: bytes) -> TrackFormat | None:
    """The track format of a JSON document from its first bytes, or None when it is not one.

    Reads top-level keys only: "locations" (Records.json), "semanticSegments" and its siblings
    (Timeline.json), GeoJSON's "type"/"features"; a top-level array is the iOS export when its
    first item has the segment keys. A head cut mid-document is fine: the answer comes first.
    Raises TrackError when the head's shape is refused (`GuardedJson`): no parser reads it.
    """
    events = ijson.parse(GuardedJson(io.BytesIO(head), JsonShape()), use_float=True, buf_size=_SNIFF_READ)
    try:
        for count, (prefix, event, value) in enumerate(events):
            if count > _SNIFF_EVENTS:
                return None
            if prefix == "" and event == "map_key":
                if value == "locations":
                    return TrackFormat.TAKEOUT_RECORDS
                if value in _TIMELINE_KEYS:
                    return TrackFormat.TAKEOUT_TIMELINE
                if value == "features":
                    return TrackFormat.GEOJSON
            elif prefix == "type" and event == "string":
                return TrackFormat.GEOJSON if value in _GEOJSON_TYPES else None
            elif prefix == "item" and event == "map_key":
                return TrackFormat.TAKEOUT_DEVICE if value in _DEVICE_KEYS else None
            elif prefix == "" and event not in ("start_map", "start_array"):
                return None  # a bare scalar
            elif prefix == "item" and event != "start_map":
                return None  # an array of something other than objects
    except ijson.JSONError:
        return None  # not JSON at all, or cut before anything told us
    return None


def read_json(fh: IO[bytes], fmt: TrackFormat, budget: PointBudget) -> tuple[Track, ...]:
    """The tracks of a JSON file already sniffed as `fmt`. Raises TrackError on bad content."""
    try:
        match fmt:
            case TrackFormat.TAKEOUT_RECORDS:
                tracks = [_records(_entries(fh, "locations.item", depth=3), budget)]
            case TrackFormat.TAKEOUT_TIMELINE:
                out = TrackBuilder(budget, "Timeline")
                _segments(_entries(fh, "semanticSegments.item", depth=3), out)
                _raw_signals(_entries(fh, "rawSignals.item", depth=3), out)
                tracks = [out.build()]
            case TrackFormat.TAKEOUT_DEVICE:
                tracks = [_device(_entries(fh, "item", depth=2), budget)]
            case TrackFormat.GEOJSON:
                tracks = _GeoJson(budget).read(fh)
            case _:
                raise NotATrack(f"{fmt.value} is not a JSON format")
    except ijson.JSONError as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)  # yajl's message is bytes
        raise TrackError(f"malformed JSON: {' '.join(detail.split())[:200]}") from None
    kept = tuple(t for t in tracks if t is not None)
    if not kept:
        raise NotATrack(f"{fmt.value} file without a single timed point")
    return kept


def _entries(fh: IO[bytes], prefix: str, depth: int) -> Iterator[Any]:
    """Each value at `prefix`, built whole in C, one at a time, from the start of the file. The
    guard holds each entry (at nesting `depth`) to a few MiB, so none can be built big."""
    fh.seek(0)
    return ijson.items(GuardedJson(fh, JsonShape(entry_depth=depth)), prefix, use_float=True, buf_size=_READ)  # type: ignore[no-any-return]


def _records(items: Iterator[Any], budget: PointBudget) -> Track | None:
    """Records.json: {"latitudeE7", "longitudeE7", "timestamp" (or "timestampMs"), "accuracy",
    "altitude", ...} per location. The hot loop of a multi-gigabyte file: the usual types first."""
    out = TrackBuilder(budget, "Location History")
    for item in items:
        if type(item) is not dict:
            continue
        lat, lon = item.get("latitudeE7"), item.get("longitudeE7")
        if type(lat) is not int or type(lon) is not int:  # numbers written as text, or floats
            lat, lon = _integer(lat), _integer(lon)
            if lat is None or lon is None:
                continue
        # Some exports wrote negative E7 values as unsigned 32-bit integers.
        if lat > _LAT_E7:
            lat -= 2**32
        if lon > _LON_E7:
            lon -= 2**32
        stamp = item.get("timestamp")
        if stamp is not None:
            when = iso_utc(stamp)
        elif (ms := number(item.get("timestampMs"))) is not None:
            when = ms / 1000
        else:
            continue
        altitude, accuracy = item.get("altitude"), item.get("accuracy")
        out.add_e7(when, lat, lon, altitude if altitude is None or type(altitude) is int else number(altitude), accuracy if accuracy is None or type(accuracy) is int else number(accuracy))
    return out.build()


def _integer(value: object) -> int | None:
    found = number(value)
    return int(found) if found is not None and math.isfinite(found) else None


def _segments(items: Iterator[Any], out: TrackBuilder) -> None:
    for item in items:
        if not isinstance(item, dict):
            continue
        for point in _list(item.get("timelinePath")):
            if isinstance(point, dict) and "point" in point and "time" in point:
                out.add(iso_utc(point["time"]), *latlng(point["point"]))
        _segment_ends(out, item, lambda place: place.get("latLng") if isinstance(place, dict) else None)


def _raw_signals(items: Iterator[Any], out: TrackBuilder) -> None:
    for item in items:
        position = item.get("position") if isinstance(item, dict) else None
        if isinstance(position, dict) and "LatLng" in position and "timestamp" in position:
            lat, lon = latlng(position["LatLng"])
            out.add(iso_utc(position["timestamp"]), lat, lon, number(position.get("altitudeMeters")), number(position.get("accuracyMeters")))


def _device(items: Iterator[Any], budget: PointBudget) -> Track | None:
    out = TrackBuilder(budget, "Timeline")
    for item in items:
        if not isinstance(item, dict):
            raise NotATrack("a JSON array of something other than timeline segments")
        start = item.get("startTime")
        for point in _list(item.get("timelinePath")):
            offset = number(point.get("durationMinutesOffsetFromStartTime")) if isinstance(point, dict) else None
            if offset is not None and start is not None and "point" in point:
                out.add(iso_utc(start) + offset * 60, *latlng(point["point"]))
        _segment_ends(out, item, lambda place: place)
    return out.build()


def _segment_ends(out: TrackBuilder, item: dict[str, Any], text_of: Any) -> None:
    """A visit is a stay: its place at its start and at its end. An activity is a move: its
    start place at its start time, its end place at its end time."""
    start, end = item.get("startTime"), item.get("endTime")
    if start is None or end is None:
        return
    visit, activity = item.get("visit"), item.get("activity")
    if isinstance(visit, dict) and isinstance(visit.get("topCandidate"), dict):
        place = text_of(visit["topCandidate"].get("placeLocation"))
        if place is not None:
            out.add(iso_utc(start), *latlng(place))
            out.add(iso_utc(end), *latlng(place))
    if isinstance(activity, dict):
        for key, when in (("start", start), ("end", end)):
            place = text_of(activity.get(key))
            if place is not None:
                out.add(iso_utc(when), *latlng(place))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


_TIMED_GEOMETRIES = ("Point", "LineString", "MultiLineString")  # the others' positions are not kept
_TIME_KEYS = ("properties.coordTimes", "properties.times", "properties.coordinateProperties.times")  # in this order of preference
_COORDINATES = "geometry.coordinates"
# What a prefix is inside a feature: (kind, how many arrays deep below "coordinates" or the time
# list, which time key). Prefixes repeat for every point, so each is classified once (`_kinds`).
_OTHER, _COORDINATE, _TYPE, _GEOMETRY_TYPE, _NAME, _POINT_TIME, _TIMES = range(7)
Kind = tuple[int, int, str]


def _classify(prefix: str) -> Kind:
    key = prefix.removeprefix("features.item.")
    for parent, kind in ((_COORDINATES, _COORDINATE), *((time_key, _TIMES) for time_key in _TIME_KEYS)):
        if key == parent or key.startswith(parent + "."):
            rest = key[len(parent) :].split(".")[1:]
            return (kind, len(rest), parent) if all(part == "item" for part in rest) else (_OTHER, 0, "")
    simple = {"type": _TYPE, "geometry.type": _GEOMETRY_TYPE, "properties.name": _NAME, "properties.time": _POINT_TIME, "properties.timestamp": _POINT_TIME}
    return (simple.get(key, _OTHER), 0, key)


class _Feature:
    """What one GeoJSON feature holds, gathered from its events in any key order: its geometry's
    positions as compact columns (with where each line starts), the times of its vertices (one
    list, or one list per line), its name, and the time of a Point."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # "features.item", or "" for a lone Feature at the top
        self.type: str | None = None
        self.geometry: str | None = None
        self.name: str | None = None
        self.point_time: object = None
        self.lat = array.array("i")
        self.lon = array.array("i")
        self.ele = array.array("h")
        self.line_starts: list[int] = []
        self.position: list[float] = []
        self.level = 0  # how many arrays deep below "coordinates" the numbers are (0: none met yet)
        self.times = array.array("d")
        self.time_key: str | None = None
        self.time_lists: list[int] = []  # where each list of times starts, when given per line


class _GeoJson:
    """LineString/MultiLineString features with per-vertex times (`_TIME_KEYS`) are one track per
    line; Point features with a `time` (or `timestamp`) together make one more. Positions and
    times are counted while they stream: a file with too many is refused on the way.

    `read` is the hot loop (several events a point): positions are handled inline."""

    def __init__(self, budget: PointBudget) -> None:
        self.budget = budget
        self.times_budget = PointBudget(budget.limit, "times in one GeoJSON file")
        self.positions_budget = PointBudget(budget.limit, "positions in one GeoJSON file")
        self.tracks: list[Track | None] = []
        self.points = TrackBuilder(budget, "points")

    def read(self, fh: IO[bytes]) -> list[Track | None]:
        kinds: dict[str, Kind] = {}
        stack: list[_Feature] = []
        feature: _Feature | None = None
        for prefix, event, value in ijson.parse(GuardedJson(fh, JsonShape()), use_float=True, buf_size=_READ):
            if event == "start_map" and (prefix == "features.item" or prefix == ""):
                feature = _Feature(prefix)
                stack.append(feature)
                continue
            if feature is None:
                continue
            if event == "end_map" and prefix == feature.prefix:
                self._finish(stack.pop())
                feature = stack[-1] if stack else None
                continue
            kind = kinds.get(prefix)
            if kind is None:
                kind = kinds[prefix] = _classify(prefix)
            if kind[0] == _COORDINATE:
                level = kind[1]
                if event == "number":
                    if not feature.level:
                        feature.level = level
                        feature.line_starts.append(0)
                    if level == feature.level and len(feature.position) < 3:
                        feature.position.append(value)
                elif event == "end_array" and level == feature.level - 1:
                    if feature.geometry in (None, *_TIMED_GEOMETRIES):
                        self._position(feature)
                    feature.position.clear()
                elif event == "start_array" and level == feature.level - 2:
                    feature.line_starts.append(len(feature.lat))
            elif kind[0] == _TIMES:
                self._time(feature, kind[2], kind[1], event, value)
            elif event == "string" and kind[0] in (_TYPE, _GEOMETRY_TYPE, _NAME):
                setattr(feature, ("type", "geometry", "name")[kind[0] - _TYPE], value)
            elif kind[0] == _POINT_TIME and event in ("string", "number") and (feature.point_time is None or kind[2] == "properties.time"):
                feature.point_time = value
        self.tracks.append(self.points.build())
        return self.tracks

    def _position(self, feature: _Feature) -> None:
        """A GeoJSON position: [lon, lat] or [lon, lat, elevation]."""
        self.positions_budget.take()
        values = feature.position
        if len(values) < 2:
            raise TrackError(f"not a GeoJSON position: {values!r:.60}")
        lon, lat = values[0], values[1]
        feature.lon.append(round(lon * E7) if -180 <= lon <= 180 else _INVALID_E7)
        feature.lat.append(round(lat * E7) if -90 <= lat <= 90 else _INVALID_E7)
        feature.ele.append(round(values[2]) if len(values) > 2 and -32767 <= values[2] <= 32767 else NO_ELEVATION)

    def _time(self, feature: _Feature, time_key: str, level: int, event: str, value: Any) -> None:
        """`level` is 1 for a time in one list, 2 for a time in a list per line."""
        if feature.time_key not in (None, time_key):
            return
        if event == "start_array" and level == 1:
            feature.time_lists.append(len(feature.times))
        elif event in ("string", "number") and level in (1, 2):
            self.times_budget.take()
            feature.time_key = time_key
            feature.times.append(any_time_utc(value))

    def _finish(self, feature: _Feature) -> None:
        if feature.prefix == "" and feature.type != "Feature":
            return  # the FeatureCollection itself
        if feature.geometry == "Point" and feature.point_time is not None and len(feature.lat):
            self.points.add_e7(any_time_utc(feature.point_time), feature.lat[0], feature.lon[0], _elevation(feature.ele[0]))
        elif feature.geometry in ("LineString", "MultiLineString") and feature.time_key is not None:
            for track in _lines(feature):
                self.budget.take_many(len(track) if track is not None else 0)
                self.tracks.append(track)


def _lines(feature: _Feature) -> list[Track | None]:
    """One track per line of a feature, its vertices timed by the feature's times: one list per
    line, or one time per vertex of all the lines in order."""
    import numpy as np

    starts = feature.line_starts if feature.geometry == "MultiLineString" else [0]
    bounds = [*starts, len(feature.lat)]
    sizes = [b - a for a, b in itertools.pairwise(bounds)]
    if feature.time_lists:  # one list of times per line
        if len(feature.time_lists) != len(sizes):
            raise TrackError(f"{len(sizes)} lines with {len(feature.time_lists)} lists of times")
        list_sizes = [b - a for a, b in zip(feature.time_lists, [*feature.time_lists[1:], len(feature.times)], strict=True)]
        for size, given in zip(sizes, list_sizes, strict=True):
            if size != given:
                raise TrackError(f"a line of {size} points with {given} times")
    elif len(feature.times) != len(feature.lat):
        raise TrackError(f"a line of {len(feature.lat)} points with {len(feature.times)} times")
    columns = [np.frombuffer(c, dtype=d) for c, d in ((feature.times, np.float64), (feature.lat, np.int32), (feature.lon, np.int32), (feature.ele, np.int16))]
    return [track_from_columns(feature.name, [c[a:b] for c in columns]) for a, b in itertools.pairwise(bounds) if b > a]


def _elevation(value: int) -> float | None:
    return None if value == NO_ELEVATION else float(value)
