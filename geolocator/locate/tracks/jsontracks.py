"""GeoJSON with times and Google Takeout location history, read as a stream.

A Records.json of ten years is a gigabyte; ijson (its C backend) walks it event by event and
only one location object at a time is ever built, so memory follows the points kept, not the
file. Which format a JSON file holds is decided from its top-level keys (`sniff_json`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import ijson  # type: ignore[import-untyped]

from geolocator.locate.tracks.model import NotATrack, PointBudget, Track, TrackBuilder, TrackError, TrackFormat
from geolocator.locate.tracks.values import any_time_utc, iso_utc, latlng, number

_GEOJSON_TYPES = frozenset({"FeatureCollection", "Feature", "Point", "LineString", "MultiLineString", "MultiPoint", "Polygon", "MultiPolygon", "GeometryCollection"})
_TIMELINE_KEYS = frozenset({"semanticSegments", "rawSignals", "userLocationProfile"})
_DEVICE_KEYS = frozenset({"startTime", "endTime", "visit", "activity", "timelinePath"})
_E7 = 1e7
_SNIFF_EVENTS = 10_000


def sniff_json(head: bytes) -> TrackFormat | None:
    """The track format of a JSON document from its first bytes, or None when it is not one.

    Reads top-level keys only: "locations" (Records.json), "semanticSegments" and its siblings
    (Timeline.json), GeoJSON's "type"/"features"; a top-level array is the iOS export when its
    first item has the segment keys. A head cut mid-document is fine: the answer comes first.
    """
    events = ijson.parse(head, use_float=True)
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
                tracks = [_records(_items(fh, {"locations.item"}), budget)]
            case TrackFormat.TAKEOUT_TIMELINE:
                tracks = [_timeline(_items(fh, {"semanticSegments.item", "rawSignals.item"}), budget)]
            case TrackFormat.TAKEOUT_DEVICE:
                tracks = [_device(_items(fh, {"item"}), budget)]
            case TrackFormat.GEOJSON:
                tracks = _geojson(_items(fh, {"features.item", "type", "geometry", "properties"}), budget)
            case _:
                raise NotATrack(f"{fmt.value} is not a JSON format")
    except ijson.JSONError as exc:
        raise TrackError(f"malformed JSON: {exc}") from None
    kept = tuple(t for t in tracks if t is not None)
    if not kept:
        raise NotATrack(f"{fmt.value} file without a single timed point")
    return kept


def _items(fh: IO[bytes], prefixes: set[str]) -> Iterator[tuple[str, Any]]:
    """Each value found at one of `prefixes`, built one at a time (ijson.items takes only one
    prefix; Timeline.json needs two from the same pass)."""
    builder: ijson.ObjectBuilder | None = None
    current = ""
    for prefix, event, value in ijson.parse(fh, use_float=True):
        if builder is not None:
            builder.event(event, value)
            if prefix == current and event in ("end_map", "end_array"):
                yield current, builder.value
                builder = None
        elif prefix in prefixes:
            if event in ("start_map", "start_array"):
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                current = prefix
            elif event not in ("end_map", "end_array", "map_key"):
                yield prefix, value


def _records(items: Iterator[tuple[str, Any]], budget: PointBudget) -> Track | None:
    out = TrackBuilder(budget, "Location History")
    for _, item in items:
        if not isinstance(item, dict):
            continue
        lat, lon = number(item.get("latitudeE7")), number(item.get("longitudeE7"))
        if lat is None or lon is None:
            continue
        # Some exports wrote negative E7 values as unsigned 32-bit integers.
        lat = lat - 2**32 if lat > 90 * _E7 else lat
        lon = lon - 2**32 if lon > 180 * _E7 else lon
        if "timestamp" in item:
            when = iso_utc(item["timestamp"])
        elif (ms := number(item.get("timestampMs"))) is not None:
            when = ms / 1000
        else:
            continue
        out.add(when, lat / _E7, lon / _E7, number(item.get("altitude")), number(item.get("accuracy")))
    return out.build()


def _timeline(items: Iterator[tuple[str, Any]], budget: PointBudget) -> Track | None:
    out = TrackBuilder(budget, "Timeline")
    for prefix, item in items:
        if not isinstance(item, dict):
            continue
        if prefix == "rawSignals.item":
            position = item.get("position")
            if isinstance(position, dict) and "LatLng" in position and "timestamp" in position:
                lat, lon = latlng(position["LatLng"])
                out.add(iso_utc(position["timestamp"]), lat, lon, number(position.get("altitudeMeters")), number(position.get("accuracyMeters")))
            continue
        for point in _list(item.get("timelinePath")):
            if isinstance(point, dict) and "point" in point and "time" in point:
                out.add(iso_utc(point["time"]), *latlng(point["point"]))
        _segment_ends(out, item, lambda place: place.get("latLng") if isinstance(place, dict) else None)
    return out.build()


def _device(items: Iterator[tuple[str, Any]], budget: PointBudget) -> Track | None:
    out = TrackBuilder(budget, "Timeline")
    for _, item in items:
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


def _geojson(items: Iterator[tuple[str, Any]], budget: PointBudget) -> list[Track | None]:
    """LineString/MultiLineString features with per-vertex times (`_coordinate_times`), and
    Point features with a `time`: all the points together make one track."""
    tracks: list[Track | None] = []
    points = TrackBuilder(budget, "points")
    root: dict[str, Any] = {}  # a lone Feature: its members, met at the top level
    for prefix, item in items:
        if prefix == "features.item":
            _feature(item, budget, tracks, points)
        else:
            root[prefix] = item
    if root.get("type") == "Feature":
        _feature(root, budget, tracks, points)
    tracks.append(points.build())
    return tracks


def _feature(item: object, budget: PointBudget, tracks: list[Track | None], points: TrackBuilder) -> None:
    if not isinstance(item, dict):
        return
    geometry, props = item.get("geometry"), item.get("properties")
    if not isinstance(geometry, dict) or not isinstance(props, dict):
        return
    name = props.get("name") if isinstance(props.get("name"), str) else None
    coords, kind = geometry.get("coordinates"), geometry.get("type")
    times = _coordinate_times(props)
    if kind == "Point":
        when = props.get("time", props.get("timestamp"))
        if when is not None:
            _add_position(points, any_time_utc(when), coords)
    elif kind in ("LineString", "MultiLineString") and times is not None:
        lines = [coords] if kind == "LineString" else _list(coords)
        tracks.extend(_line(budget, name, line, line_times) for line, line_times in zip(lines, _times_per_line(lines, times), strict=True))


def _coordinate_times(props: dict[str, Any]) -> object | None:
    """The per-vertex times of a line feature: `coordTimes` (@mapbox/togeojson), `times`, or
    `coordinateProperties.times` (@tmcw/togeojson 5+, EarthRanger)."""
    for key in ("coordTimes", "times"):
        value: object = props.get(key)
        if value is not None:
            return value
    nested = props.get("coordinateProperties")
    return nested.get("times") if isinstance(nested, dict) else None


def _times_per_line(lines: list[Any], times: object) -> list[list[Any]]:
    """The times of each line: given as one list per line, or as one time per point of all the
    lines in order (split by the lines' lengths)."""
    given = _list(times)
    if given and all(isinstance(t, list) for t in given):
        if len(given) != len(lines):
            raise TrackError(f"{len(lines)} lines with {len(given)} lists of times")
        return given
    per_line, start = [], 0
    for line in lines:
        per_line.append(given[start : start + len(_list(line))])
        start += len(_list(line))
    if start != len(given):
        raise TrackError(f"a line of {start} points with {len(given)} times")
    return per_line


def _line(budget: PointBudget, name: str | None, coords: object, times: object) -> Track | None:
    coords, times = _list(coords), _list(times)
    if len(coords) != len(times):
        raise TrackError(f"a line of {len(coords)} points with {len(times)} times")
    out = TrackBuilder(budget, name)
    for position, when in zip(coords, times, strict=True):
        _add_position(out, any_time_utc(when), position)
    return out.build()


def _add_position(out: TrackBuilder, when: float, position: object) -> None:
    """A GeoJSON position: [lon, lat] or [lon, lat, elevation]."""
    values = _list(position)
    if len(values) < 2:
        raise TrackError(f"not a GeoJSON position: {position!r:.60}")
    lon, lat = number(values[0]), number(values[1])
    if lon is None or lat is None:
        raise TrackError(f"not a GeoJSON position: {position!r:.60}")
    out.add(when, lat, lon, number(values[2]) if len(values) > 2 else None)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
