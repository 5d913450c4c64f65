"""Issue 13: photos placed from GPS tracks that other software wrote.

Each track file in tracks/ (see README.md for where each comes from) goes into its own inbox with
camera JPEGs (no GPS) made by exiftool at chosen moments. After `daemon.py scan` each photo must be
placed with source "track" at the point computed here, independently of the product: the track
read with gpxpy / pynmea2 / ElementTree / json, then exiftool's geotag rules (linear interpolation
between points at most 30 min apart; a photo up to 30 min from the nearest point of a longer gap or
beyond an end takes that point; farther, no track location).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import Result, Workspace, exiftool, exiftool_gps, jpeg, metres, remove_tree, sha256, temp_root

HERE = Path(__file__).resolve().parent / "tracks"
MAX_GAP = timedelta(minutes=30)
BEYOND = timedelta(minutes=30)
TOLERANCE_M = 5.0

Point = tuple[datetime, float, float]


def read_gpx(path: Path) -> list[Point]:
    import gpxpy

    with path.open(encoding="utf-8") as fh:
        gpx = gpxpy.parse(fh)
    return sorted(
        (p.time.astimezone(UTC), p.latitude, p.longitude)
        for t in gpx.tracks for s in t.segments for p in s.points if p.time
    )


def read_kml(path: Path) -> list[Point]:
    """gx:Track <when>/<gx:coord> pairs, and Placemarks with a TimeStamp and a Point (GPSBabel's KML)."""
    out: list[Point] = []
    root = ET.parse(path).getroot()
    for track in root.iterfind(".//{*}Track"):
        whens = [iso(w.text) for w in track.iterfind("{*}when") if w.text]
        coords = [c.text.split() for c in track.iterfind("{*}coord") if c.text]
        out += [(t, float(c[1]), float(c[0])) for t, c in zip(whens, coords, strict=True)]
    for mark in root.iterfind(".//{*}Placemark"):
        when, where = mark.findtext("{*}TimeStamp/{*}when"), mark.findtext(".//{*}Point/{*}coordinates")
        if when and where:
            lon, lat = where.strip().split(",")[:2]
            out.append((iso(when), float(lat), float(lon)))
    return sorted(out)


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def read_nmea(path: Path) -> list[Point]:
    """Valid fixes only: RMC sentences with status A (V means the receiver had no fix)."""
    import pynmea2

    out: list[Point] = []
    for line in path.read_text(encoding="ascii").splitlines():
        if not line.startswith("$GPRMC"):
            continue
        msg = pynmea2.parse(line, check=True)
        if msg.status == "A":
            out.append((datetime.combine(msg.datestamp, msg.timestamp).replace(tzinfo=UTC), msg.latitude, msg.longitude))
    return sorted(out)


def read_geojson(path: Path) -> list[Point]:
    out: list[Point] = []
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        times = props.get("coordTimes") or props["coordinateProperties"]["times"]
        for when, (lon, lat, *_) in zip(times, feature["geometry"]["coordinates"], strict=True):
            moment = datetime.fromtimestamp(when / 1000, UTC) if isinstance(when, (int, float)) else datetime.fromisoformat(when.replace("Z", "+00:00"))
            out.append((moment, lat, lon))
    return sorted(out)



def track_verdict(want: tuple[float, float] | None, record: dict, tolerance_m: float, reference: str, digits: int) -> tuple[bool, str]:
    """Whether a photo's record agrees with the reference's point (`want`, None: no position):
    placed by the track within `tolerance_m`, else not by the track; and what was seen."""
    got = (record["lat"], record["lon"]) if record.get("lat") is not None else None
    if want is None:
        return record.get("source") != "track", f"{reference}: no position; got source={record.get('source')!r} at {got}"
    dist = metres(want, got) if got else None
    ok = record.get("source") == "track" and dist is not None and dist <= tolerance_m
    seen = f"{reference}: ({want[0]:.6f}, {want[1]:.6f}); got source={record.get('source')!r} at {got}"
    return ok, seen + (f", {dist:.{digits}f} m off" if dist is not None else "")


def expected(points: list[Point], when: datetime) -> tuple[float, float] | None:
    """exiftool's geotag rules, written here from its documentation (GeoMaxIntSecs/GeoMaxExtSecs = 1800)."""
    times = [p[0] for p in points]
    i = bisect_left(times, when)
    if i < len(points) and times[i] == when:
        return points[i][1], points[i][2]
    before = points[i - 1] if i > 0 else None
    after = points[i] if i < len(points) else None
    if before and after and after[0] - before[0] <= MAX_GAP:
        f = (when - before[0]) / (after[0] - before[0])
        return before[1] + f * (after[1] - before[1]), before[2] + f * (after[2] - before[2])
    near = min((p for p in (before, after) if p), key=lambda p: abs(p[0] - when))
    return (near[1], near[2]) if abs(near[0] - when) <= BEYOND else None


@dataclass(frozen=True)
class Shot:
    """A camera photo: its UTC moment, and whether the file says its offset (else the track's zone must)."""

    utc: datetime
    with_offset: bool = True


@dataclass(frozen=True)
class Case:
    file: str
    reader: str
    zone: str  # where the track is, from its coordinates: the zone a camera there is set to
    shots: tuple[Shot, ...]
    track_later: bool = False  # the photos are scanned first, the track arrives in a later scan


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = (
    Case("strava.gpx", "gpx", "Europe/Paris", (
        Shot(z("2018-05-14T15:04:21")),  # 10 min into a 63-min gap: the first point
        Shot(z("2018-05-14T15:25:50")),  # 31.5 min from both points: no track location
        Shot(z("2018-05-14T16:02:00"), with_offset=False),  # 4.7 min after the 2nd point, zone from the track
        Shot(z("2018-05-14T14:30:00")),  # 24 min before the start: the first point
        Shot(z("2018-05-14T17:40:00")),  # 37 min after the end: none
    )),
    Case("apple_watch_route.gpx", "gpx", "America/New_York", (
        Shot(z("2019-12-15T20:20:10")),
        Shot(z("2019-12-15T20:20:33"), with_offset=False),
    )),
    Case("apple_watch_route.gpx", "gpx", "America/New_York", (
        Shot(z("2019-12-15T20:20:21")),
        Shot(z("2019-12-15T20:20:05"), with_offset=False),
    ), track_later=True),
    Case("gxtrack.kml", "kml", "America/Los_Angeles", (
        Shot(z("2010-05-28T02:02:20")),  # 11 s into a 26-s step: interpolated
        Shot(z("2010-05-28T02:02:40"), with_offset=False),
        Shot(z("2010-05-28T02:02:50")),
    )),
    Case("cerknicko-jezero.kml", "kml", "Europe/Ljubljana", (
        Shot(z("2010-08-05T14:24:30")),
        Shot(z("2010-08-05T14:26:40"), with_offset=False),
        Shot(z("2010-08-05T14:40:00")),  # 13 min after the last point: that point
    )),
    Case("haicom-305N.nmea", "nmea", "Australia/Brisbane", (
        Shot(z("2007-04-08T09:53:10")),
        Shot(z("2007-04-08T09:53:18"), with_offset=False),
        Shot(z("2007-04-08T09:53:00")),  # during the receiver's void (V) fixes: the first valid fix
    )),
    Case("sloth-at-lemans.gpx", "gpx", "Europe/Paris", (
        Shot(z("2013-06-25T18:16:40")),  # 10 min after the first point of a 108-min gap
        Shot(z("2013-06-25T19:00:00")),  # 54 min from both: none
        Shot(z("2013-06-26T13:00:00"), with_offset=False),
    )),
    Case("garmin_gpxtpx.gpx", "gpx", "Europe/Rome", (
        Shot(z("2017-11-19T11:33:07")),  # a one-point track: 10 min after it
    )),
    Case("togeojson-coordTimes.geojson", "geojson", "America/Los_Angeles", (
        Shot(z("2011-05-28T02:02:20")),
        Shot(z("2011-05-28T02:02:50")),
    )),
    Case("togeojson-coordinateProperties.geojson", "geojson", "America/Los_Angeles", (
        Shot(z("2012-05-28T02:02:20")),
        Shot(z("2012-05-28T02:02:50")),
    )),
)

READERS = {"gpx": read_gpx, "kml": read_kml, "nmea": read_nmea, "geojson": read_geojson}


def geojson_variants(folder: Path) -> dict[str, Path]:
    """GeoJSON as @mapbox/togeojson (coordTimes) and @tmcw/togeojson >= 5 (coordinateProperties.times)
    write it: the gxtrack.kml points, moved one and two years on so each is its own trip."""
    points = read_kml(HERE / "gxtrack.kml")
    out = {}
    for name, years, shape in (("togeojson-coordTimes.geojson", 1, "coordTimes"), ("togeojson-coordinateProperties.geojson", 2, "coordinateProperties")):
        times = [t.replace(year=t.year + years) for t, _, _ in points]
        props: dict[str, object] = (
            {"coordTimes": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]} if shape == "coordTimes"
            else {"coordinateProperties": {"times": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]}}
        )
        feature = {"type": "Feature", "properties": {"name": "gx track", **props},
                   "geometry": {"type": "LineString", "coordinates": [[lon, lat] for _, lat, lon in points]}}
        path = folder / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, indent=1), encoding="utf-8")
        out[name] = path
    return out


def camera_photo(path: Path, shot: Shot, zone: str, n: int) -> None:
    local = shot.utc.astimezone(ZoneInfo(zone))
    jpeg(path, colour=(n * 17 % 256, 60, 90))
    args = ["-q", "-overwrite_original", f"-DateTimeOriginal={local:%Y:%m:%d %H:%M:%S}", "-Model=IndependentCam"]
    if shot.with_offset:
        offset = f"{local:%z}"
        args.append(f"-OffsetTimeOriginal={offset[:3]}:{offset[3:]}")
    exiftool(*args, path)


def sidecar_check(ws: Workspace, track: str, name: str, record: dict[str, object], sha: str) -> Result:
    """The photo's bytes are untouched and its track location sits beside it in NAME.EXT.xmp, as exiftool reads it."""
    photo = ws.root / "library" / str(record["path"])
    sidecar = photo.with_name(photo.name + ".xmp")
    read = exiftool_gps(sidecar) if sidecar.is_file() else None
    point = (float(record["lat"]), float(record["lon"]))  # type: ignore[arg-type]
    off = metres(read, point) if read else None
    ok = photo.is_file() and sha256(photo) == sha and off is not None and off < 0.5
    return Result("tracks", f"{track}: {name} bytes unchanged, sidecar read by exiftool", ok,
                  f"photo unchanged={photo.is_file() and sha256(photo) == sha}; sidecar {sidecar.name} exists={sidecar.is_file()}; exiftool reads {read}"
                  + (f", {off:.2f} m from the record" if off is not None else ""))


def check_case(case: Case, source: Path) -> list[Result]:
    root = temp_root("tracks")
    try:
        ws = Workspace(root)
        points = READERS[case.reader](source)
        photos = {}
        for n, shot in enumerate(case.shots):
            name = f"{Path(case.file).stem}-{n}.jpg"
            camera_photo(ws.inbox / name, shot, case.zone, n)
            photos[name] = shot
        shas = {name: sha256(ws.inbox / name) for name in photos}
        if case.track_later:
            ws.scan()
        track_copy = ws.inbox / source.name
        shutil.copyfile(source, track_copy)
        track_sha = sha256(track_copy)
        scan = ws.scan()
        records = {r["name"]: r for r in ws.records()}
        results = []
        track = records.get(source.name, {})
        track_file = root / "library" / str(track.get("path", ""))
        results.append(Result(
            "tracks", f"{case.file}: filed as a track{' (after the photos)' if case.track_later else ''}", track.get("status") == "track" and track_file.is_file() and sha256(track_file) == track_sha,
            f"status={track.get('status')!r} path={track.get('path')!r} error={track.get('error')!r} ({len(points)} points read here)",
        ))
        for name, shot in photos.items():
            want = expected(points, shot.utc)
            r = records.get(name, {})
            how = (f"{shot.utc:%Y-%m-%d %H:%M:%S}Z{'' if shot.with_offset else ' (no offset in file)'}"
                   + (" (track dropped after the photo was filed)" if case.track_later else ""))
            ok, seen = track_verdict(want, r, TOLERANCE_M, "expected", 1)
            seen += f", basis={r.get('time_basis')!r}" if want is not None else ""
            results.append(Result("tracks", f"{case.file}: photo at {how}", ok, seen))
            if r.get("source") == "track":
                results.append(sidecar_check(ws, case.file, name, r, shas[name]))
        if scan.returncode != 0 and not any(not r.ok for r in results):
            results.append(Result("tracks", f"{case.file}: scan exit status", False, scan.stdout + scan.stderr[-400:]))
        return results
    finally:
        remove_tree(root)


def check() -> list[Result]:
    generated = temp_root("geojson")
    try:
        sources = {**{p.name: p for p in HERE.iterdir()}, **geojson_variants(generated)}
        return [r for case in CASES for r in check_case(case, sources[case.file])]
    finally:
        remove_tree(generated)
