"""GPX (gpxpy), KML and KMZ.

GPX is read with gpxpy, which parses the whole document into objects (hundreds of bytes a
point), so GPX is capped at `TrackLimits.max_dom_bytes`, and a DTD is refused before gpxpy sees
the text (the stdlib parser it uses would expand entities).

KML is read with defusedxml's iterparse rather than fastkml: fastkml builds the whole document
in memory and does not expose the <when>/<gx:coord> pairs of gx:Track as times, while iterparse
streams the file one Placemark at a time and defusedxml refuses entity tricks.
"""

from __future__ import annotations

import itertools
import math
import re
import zipfile
from datetime import UTC
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import gpxpy
import gpxpy.gpx
from defusedxml import DefusedXmlException

from geolocator.locate.places.index import haversine_km
from geolocator.locate.tracks.model import NotATrack, PointBudget, Track, TrackBuilder, TrackError, TrackTooBig
from geolocator.locate.tracks.values import HDOP_METRES, iso_utc

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def read_gpx(fh: IO[bytes], size: int, budget: PointBudget, max_dom_bytes: int) -> tuple[Track, ...]:
    """Each track segment is one Track (a new segment marks a gap in the recording: never
    interpolated across), and timed waypoints together make one more."""
    if size > max_dom_bytes:
        raise TrackTooBig(f"GPX of {size:,} bytes: more than the {max_dom_bytes:,} bytes read whole in memory")
    data = fh.read(max_dom_bytes + 1)
    root_at = data.find(b"<gpx")
    if _DTD.search(data, 0, root_at if root_at >= 0 else len(data)):
        raise TrackError("GPX with a DTD: refused (a GPX file never needs one)")
    declared = _ENCODING.match(data.removeprefix(b"\xef\xbb\xbf"))
    try:  # gpxpy takes text: decoded as the XML declaration says (UTF-8 when it says nothing)
        gpx = gpxpy.parse(data.decode(declared.group(1).decode() if declared else "utf-8"))
    except (gpxpy.gpx.GPXException, UnicodeDecodeError, LookupError, ValueError) as exc:
        raise TrackError(f"malformed GPX: {_one_line(exc)}") from None
    tracks: list[Track | None] = []
    for track in gpx.tracks:
        for segment in track.segments:
            out = TrackBuilder(budget, track.name)
            for point in segment.points:
                _add_gpx_point(out, point)
            tracks.append(out.build())
    waypoints = TrackBuilder(budget, "waypoints")
    for waypoint in gpx.waypoints:
        _add_gpx_point(waypoints, waypoint)
    tracks.append(waypoints.build())
    kept = tuple(t for t in tracks if t is not None)
    if not kept:
        raise NotATrack("GPX without a single timed point (a route or untimed waypoints)")
    return kept


def _add_gpx_point(out: TrackBuilder, point: gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXWaypoint) -> None:
    if point.time is None:
        return
    when = point.time if point.time.tzinfo is not None else point.time.replace(tzinfo=UTC)  # GPX times are UTC
    accuracy = point.horizontal_dilution * HDOP_METRES if point.horizontal_dilution is not None else None
    out.add(when.timestamp(), point.latitude, point.longitude, point.elevation, accuracy)


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
    """The KML inside: doc.kml, else the first .kml at the top level, as Google Earth does."""
    try:
        with zipfile.ZipFile(fh) as archive:
            names = _kml_entries(archive)
            if not names:
                raise NotATrack("a zip archive without a .kml file")
            inner = next((i for i in names if i.filename.lower() == "doc.kml"), names[0])
            if inner.file_size > max_bytes:
                raise TrackTooBig(f"KMZ whose {inner.filename} unpacks to {inner.file_size:,} bytes: more than {max_bytes:,}")
            with archive.open(inner) as kml:
                return read_kml(_Capped(kml, max_bytes), budget)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise TrackError(f"malformed KMZ: {_one_line(exc)}") from None


class _Capped:
    """A reader that refuses to go past `limit` bytes: a zip's stated sizes can lie."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self._inner = inner
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(self._left + 1 if n < 0 else min(n, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise TrackTooBig("KMZ unpacks to more than its stated size")
        return data


def read_kml(fh: IO[bytes] | _Capped, budget: PointBudget) -> tuple[Track, ...]:
    """gx:Track (<when> and <gx:coord> in pairs) is one Track each. Placemarks with a time
    make one more: a Point at its TimeStamp, or at both ends of its TimeSpan (a stay); a
    LineString from its TimeSpan's begin to its end, vertices timed by distance along the line
    (constant speed: Google's old location-history KML wrote moves this way)."""
    tracks: list[Track | None] = []
    timed = TrackBuilder(budget, "placemarks")
    stack: list[Element] = []
    seen_root = False
    try:
        for event, elem in SafeET.iterparse(fh, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if not seen_root and _local(elem.tag) != "kml":
                    raise NotATrack(f"XML whose root is <{_local(elem.tag)}>, not <kml>")
                seen_root = True
                stack.append(elem)
                continue
            stack.pop()
            name = _local(elem.tag)
            if name == "Track":
                tracks.append(_gx_track(elem, budget, stack))
            elif name == "Placemark":
                _placemark(elem, timed)
            else:
                continue
            if stack:  # done with it: drop it, so memory follows one Placemark, not the file
                stack[-1].remove(elem)
    except (ParseError, DefusedXmlException) as exc:
        raise TrackError(f"malformed KML: {_one_line(exc)}") from None
    tracks.append(timed.build())
    kept = tuple(t for t in tracks if t is not None)
    if not kept:
        raise NotATrack("KML without a single timed point")
    return kept


def _gx_track(elem: Element, budget: PointBudget, stack: list[Element]) -> Track | None:
    whens = [c.text or "" for c in elem if _local(c.tag) == "when"]
    coords = [c.text or "" for c in elem if _local(c.tag) == "coord"]
    if len(whens) != len(coords):
        raise TrackError(f"gx:Track with {len(whens)} <when> and {len(coords)} <gx:coord>")
    placemark = next((e for e in reversed(stack) if _local(e.tag) == "Placemark"), None)
    label = placemark.findtext("{*}name") if placemark is not None else None
    out = TrackBuilder(budget, label)
    for when, coord in zip(whens, coords, strict=True):
        values = coord.split()
        if len(values) < 2:
            raise TrackError(f"not a gx:coord: {coord!r:.60}")
        out.add(iso_utc(when), float(values[1]), float(values[0]), float(values[2]) if len(values) > 2 else None)
    return out.build()


def _placemark(elem: Element, out: TrackBuilder) -> None:
    stamp = elem.findtext("{*}TimeStamp/{*}when")
    begin, end = elem.findtext("{*}TimeSpan/{*}begin"), elem.findtext("{*}TimeSpan/{*}end")
    point = elem.findtext(".//{*}Point/{*}coordinates")
    line = elem.findtext(".//{*}LineString/{*}coordinates")
    if point is not None:
        positions = _kml_coords(point)
        times = [stamp] if stamp is not None else [begin, end] if begin is not None and end is not None else []
        for when in times if positions else []:
            out.add(iso_utc(when), *positions[0])
    elif line is not None and begin is not None and end is not None:
        vertices = _kml_coords(line)
        t0, t1 = iso_utc(begin), iso_utc(end)
        steps = [0.0] + [_metres(a, b) for a, b in itertools.pairwise(vertices)]
        total = math.fsum(steps)
        along = 0.0
        for i, (vertex, step) in enumerate(zip(vertices, steps, strict=True)):
            along += step
            share = along / total if total > 0 else i / max(len(vertices) - 1, 1)
            out.add(t0 + (t1 - t0) * share, *vertex)


def _kml_coords(text: str) -> list[tuple[float, float, float | None]]:
    """KML "lon,lat[,alt] lon,lat[,alt] ..." -> [(lat, lon, alt)]."""
    out: list[tuple[float, float, float | None]] = []
    for tuple_text in text.split():
        parts = tuple_text.split(",")
        try:
            lon, lat = float(parts[0]), float(parts[1])
            alt = float(parts[2]) if len(parts) > 2 and parts[2] else None
        except (ValueError, IndexError):
            raise TrackError(f"not a KML coordinate: {tuple_text!r:.60}") from None
        out.append((lat, lon, alt))
    return out


def _metres(a: tuple[float, float, float | None], b: tuple[float, float, float | None]) -> float:
    return haversine_km(a[0], a[1], b[0], b[1]) * 1000


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
