"""Track files written by the tests, read by content: GPX, KML, KMZ, NMEA, GeoJSON, Takeout."""

from __future__ import annotations

import json
import math
import os
import zipfile
from datetime import UTC, datetime
from functools import reduce
from operator import xor
from pathlib import Path

import pytest
from photos import jpeg_bytes

from geolocator.fileio import NotRegularFile
from geolocator.locate.tracks.model import NotATrack, Track, TrackError, TrackFormat, TrackLimits, TrackTooBig
from geolocator.locate.tracks.parse import read_track, track_format

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC).timestamp()


def lats(track: Track) -> list[float]:
    return [track.lat(i) for i in range(len(track))]


def lons(track: Track) -> list[float]:
    return [track.lon(i) for i in range(len(track))]


def elevations(track: Track) -> list[float | None]:
    return [track.elevation(i) for i in range(len(track))]


def accuracies(track: Track) -> list[float | None]:
    return [track.accuracy(i) for i in range(len(track))]


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def gpx_text(points: list[tuple[float, float, float]], *, segments: int = 1, extra: str = "") -> str:
    per = math.ceil(len(points) / segments)
    segs = []
    for s in range(segments):
        pts = "".join(
            f'<trkpt lat="{lat}" lon="{lon}"><ele>{100 + i}</ele><time>{_utc(t)}</time><hdop>2</hdop></trkpt>' for i, (t, lat, lon) in enumerate(points[s * per : (s + 1) * per])
        )
        segs.append(f"<trkseg>{pts}</trkseg>")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Walk</name>{"".join(segs)}</trk>{extra}</gpx>'


def test_gpx_segments_are_tracks_sorted_with_hdop_accuracy(tmp_path: Path) -> None:
    points = [(T0 + 60 * i, 48.85 + i * 0.001, 2.29 + i * 0.001) for i in range(6)]
    waypoint = f'<wpt lat="48.9" lon="2.3"><time>{_utc(T0 + 3600)}</time></wpt><wpt lat="1" lon="1"><name>untimed</name></wpt>'
    path = _write(tmp_path, "walk.gpx", gpx_text(points[::-1], segments=2, extra=waypoint))
    assert track_format(path) is TrackFormat.GPX
    result = read_track(path)
    assert result.format is TrackFormat.GPX
    assert [len(t) for t in result.tracks] == [3, 3, 1]
    first = result.tracks[0]
    assert first.name == "Walk"
    assert list(first.times) == sorted(first.times)  # written backwards, read in time order
    assert first.times[0] == T0 + 180 and first.lat(0) == pytest.approx(48.853)
    assert first.accuracy(0) == pytest.approx(10.0)  # HDOP 2 × 5 m
    assert first.elevation(2) == pytest.approx(100)
    assert result.tracks[2].name == "waypoints" and result.tracks[2].lat(0) == pytest.approx(48.9)
    assert result.start == datetime.fromtimestamp(T0, UTC)
    with pytest.raises(ValueError, match="read-only"):
        first.lat_e7[0] = 0


def test_gpx_in_a_declared_latin_1_encoding(tmp_path: Path) -> None:
    text = gpx_text([(T0, 48.85, 2.29)]).replace("UTF-8", "ISO-8859-1").replace("<name>Walk</name>", "<name>Café</name>")
    (track,) = read_track(_write(tmp_path, "latin.gpx", text.encode("latin-1"))).tracks
    assert track.name == "Café"
    with pytest.raises(TrackError, match="malformed GPX"):
        read_track(_write(tmp_path, "odd.gpx", text.replace("ISO-8859-1", "x-no-such-codec").encode("latin-1")))


def test_gpx_refusals(tmp_path: Path) -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><gpx version="1.1"><wpt lat="1" lon="1"><name>&b;</name></wpt></gpx>'
    with pytest.raises(TrackError, match="DTD"):
        read_track(_write(tmp_path, "bomb.gpx", bomb))
    with pytest.raises(TrackError, match="malformed GPX"):
        read_track(_write(tmp_path, "cut.gpx", gpx_text([(T0, 1.0, 1.0)])[:-20]))
    route = '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><rte><rtept lat="1" lon="1"/></rte></gpx>'
    with pytest.raises(NotATrack, match="route"):
        read_track(_write(tmp_path, "route.gpx", route))
    big = _write(tmp_path, "big.gpx", gpx_text([(T0 + i, 1.0, 1.0) for i in range(200)]))
    with pytest.raises(TrackTooBig, match="more than 50 track points"):
        read_track(big, TrackLimits(max_points=50))


KML_NS = 'xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"'


def kml_text() -> str:
    whens = "".join(f"<when>{_utc(T0 + 10 * i)}</when>" for i in range(4))
    coords = "".join(f"<gx:coord>{2.29 + i * 0.001} {48.85 + i * 0.001} {30 + i}</gx:coord>" for i in range(4))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><kml {KML_NS}><Document><name>Day</name>'
        f"<Placemark><name>Ride</name><gx:Track>{whens}{coords}</gx:Track></Placemark>"
        f"<Placemark><name>Café</name><TimeSpan><begin>{_utc(T0 + 3600)}</begin><end>{_utc(T0 + 7200)}</end></TimeSpan><Point><coordinates>2.35,48.86,0</coordinates></Point></Placemark>"
        f"<Placemark><TimeStamp><when>{_utc(T0 + 9000)}</when></TimeStamp><Point><coordinates>2.40,48.80</coordinates></Point></Placemark>"
        f"<Placemark><name>Move</name><TimeSpan><begin>{_utc(T0 + 10000)}</begin><end>{_utc(T0 + 10300)}</end></TimeSpan>"
        "<LineString><coordinates>2.40,48.80 2.40,48.81 2.40,48.83</coordinates></LineString></Placemark>"
        "<Placemark><name>Untimed</name><Point><coordinates>9,9</coordinates></Point></Placemark>"
        "</Document></kml>"
    )


def test_kml_gx_track_and_timed_placemarks(tmp_path: Path) -> None:
    path = _write(tmp_path, "day.kml", kml_text())
    assert track_format(path) is TrackFormat.KML
    ride, placemarks = read_track(path).tracks
    assert ride.name == "Ride" and len(ride) == 4
    assert ride.lat(3) == pytest.approx(48.853) and ride.lon(3) == pytest.approx(2.293) and ride.elevation(3) == 33
    assert list(placemarks.times[:3] - T0) == [3600, 7200, 9000]  # a stay: both ends of its span
    # The LineString's vertices are timed by distance along it: 1/3 of the way after 100 s.
    assert list(placemarks.times[3:] - T0) == pytest.approx([10000, 10100, 10300], abs=0.5)
    assert 9 not in lats(placemarks)


def test_kmz_reads_doc_kml_and_refuses_other_zips(tmp_path: Path) -> None:
    kmz = tmp_path / "day.kmz"
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("files/icon.png", b"\x89PNG")
        z.writestr("doc.kml", kml_text())
    assert track_format(kmz) is TrackFormat.KMZ
    result = read_track(kmz)
    assert result.format is TrackFormat.KMZ and result.point_count == 10
    with pytest.raises(TrackTooBig, match="unpacks to"):
        read_track(kmz, TrackLimits(max_bytes=kmz.stat().st_size + 1))  # the zip fits; its KML does not
    # An archive whose KML comes after 64 KiB of other entries is still recognised.
    late = tmp_path / "late.kmz"
    with zipfile.ZipFile(late, "w", zipfile.ZIP_STORED) as z:
        z.writestr("files/photo.jpg", os.urandom(100_000))
        z.writestr("doc.kml", kml_text())
    assert track_format(late) is TrackFormat.KMZ and read_track(late).point_count == 10
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("a.txt", "hello")
    assert track_format(other) is None


def test_kml_that_is_not_kml_and_broken_kml(tmp_path: Path) -> None:
    assert track_format(_write(tmp_path, "a.svg", '<?xml version="1.0"?><!-- x --><svg xmlns="http://www.w3.org/2000/svg"/>')) is None
    with pytest.raises(TrackError, match="malformed KML"):
        read_track(_write(tmp_path, "cut.kml", kml_text()[:400]))
    mismatch = f"<kml {KML_NS}><Placemark><gx:Track><when>{_utc(T0)}</when></gx:Track></Placemark></kml>"
    with pytest.raises(TrackError, match="1 <when> and 0 <gx:coord>"):
        read_track(_write(tmp_path, "mismatch.kml", mismatch))


def _nmea(body: str) -> str:
    return f"${body}*{reduce(xor, body.encode(), 0):02X}"


def test_nmea_rmc_with_gga_altitude_and_midnight(tmp_path: Path) -> None:
    lines = [
        "garbage line from a logger",
        _nmea("GPGGA,235958.00,4851.0000,N,00217.4000,E,1,08,1.0,35.0,M,47.0,M,,"),  # before any date: dated by the first one
        _nmea("GPRMC,235959.00,A,4851.0000,N,00217.4000,E,0.0,0.0,310524,,,A"),
        _nmea("GPGGA,235959.00,4851.0000,N,00217.4000,E,1,08,1.2,36.0,M,47.0,M,,"),
        _nmea("GPGGA,000001.00,4851.0600,N,00217.4600,E,1,08,0.9,37.0,M,47.0,M,,"),  # the next day
        _nmea("GPRMC,000002.00,V,4851.0000,N,00217.4000,E,0.0,0.0,010624,,,N"),  # no fix: dropped
        _nmea("GPRMC,000003.00,A,4851.1200,N,00217.5200,E,0.0,0.0,010624,,,A")[:-2] + "00",  # bad checksum
        "$GPRMC,000004.00,A,48",  # cut short
    ]
    path = _write(tmp_path, "LOG0001.TXT", "\r\n".join(lines) + "\r\n")
    assert track_format(path) is TrackFormat.NMEA
    (track,) = read_track(path).tracks
    midnight = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    assert list(track.times - midnight) == [-2, -1, 1]
    assert track.elevation(0) == 35 and track.accuracy(0) == 5
    assert track.lat(1) == pytest.approx(48.85) and track.lon(1) == pytest.approx(2.29)
    assert track.elevation(1) == 36 and track.accuracy(1) == pytest.approx(6.0)  # RMC and GGA of one second merged
    assert track.lat(2) == pytest.approx(48.851)
    with pytest.raises(NotATrack, match="without a single valid dated fix"):
        read_track(_write(tmp_path, "empty.nmea", _nmea("GPRMC,000002.00,V,4851.0000,N,00217.4000,E,0.0,0.0,010624,,,N") + "\n"))


def test_geojson_lines_multilines_and_points(tmp_path: Path) -> None:
    times = [_utc(T0 + 60 * i) for i in range(3)]
    doc = {
        "features": [
            {"type": "Feature", "properties": {"name": "A", "coordTimes": times}, "geometry": {"type": "LineString", "coordinates": [[2.29, 48.85, 10], [2.30, 48.86, 11], [2.31, 48.87, 12]]}},
            {"type": "Feature", "properties": {"coordTimes": [times[:2], [(T0 + 600) * 1000]]}, "geometry": {"type": "MultiLineString", "coordinates": [[[1, 1], [1.1, 1.1]], [[5, 5]]]}},
            {"type": "Feature", "properties": {"time": T0 + 900}, "geometry": {"type": "Point", "coordinates": [7, 45]}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
        ],
        "type": "FeatureCollection",
    }
    path = _write(tmp_path, "export.geojson", json.dumps(doc))
    assert track_format(path) is TrackFormat.GEOJSON
    a, m1, m2, points = read_track(path).tracks
    assert a.name == "A" and lats(a) == [48.85, 48.86, 48.87] and a.elevation(2) == 12
    assert len(m1) == 2 and m2.times[0] == T0 + 600  # epoch milliseconds
    assert points.lat(0) == 45 and points.times[0] == T0 + 900
    lone = {"type": "Feature", "properties": {"times": times[:2]}, "geometry": {"type": "LineString", "coordinates": [[2.29, 48.85], [2.30, 48.86]]}}
    (track,) = read_track(_write(tmp_path, "lone.json", json.dumps(lone))).tracks
    assert len(track) == 2
    with pytest.raises(TrackError, match="2 points with 3 times"):
        read_track(_write(tmp_path, "bad.json", json.dumps({**lone, "properties": {"times": times}})))
    untimed = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 1]}}]}
    with pytest.raises(NotATrack, match="without a single timed point"):
        read_track(_write(tmp_path, "places.geojson", json.dumps(untimed)))


def test_geojson_times_in_coordinate_properties(tmp_path: Path) -> None:
    """@tmcw/togeojson 5+ (and EarthRanger) write per-vertex times in
    `properties.coordinateProperties.times`: one list for a LineString, one list per line for a
    MultiLineString."""
    times = [_utc(T0 + 60 * i) for i in range(4)]
    line = {"type": "LineString", "coordinates": [[-122.207881, 37.371915], [-122.205712, 37.373288]]}
    multi = {"type": "MultiLineString", "coordinates": [[[1, 1], [1.1, 1.1]], [[5, 5, 40], [5.1, 5.1, 41]]]}
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "walk", "coordinateProperties": {"times": times[:2], "heart": [90, 95]}}, "geometry": line},
            {"type": "Feature", "properties": {"coordinateProperties": {"times": [times[:2], times[2:]]}}, "geometry": multi},
        ],
    }
    walk, m1, m2 = read_track(_write(tmp_path, "tmcw.geojson", json.dumps(doc))).tracks
    assert walk.name == "walk" and list(walk.times) == [T0, T0 + 60]
    assert lats(walk) == [37.371915, 37.373288] and lons(walk) == [-122.207881, -122.205712]
    assert list(m1.times) == [T0, T0 + 60] and lats(m1) == [1, 1.1]
    assert list(m2.times) == [T0 + 120, T0 + 180] and elevations(m2) == [40, 41]
    # A MultiLineString's times may also be one per point of all its lines, in order.
    flat = {"type": "Feature", "properties": {"coordinateProperties": {"times": times}}, "geometry": multi}
    f1, f2 = read_track(_write(tmp_path, "flat.geojson", json.dumps(flat))).tracks
    assert list(f1.times) == [T0, T0 + 60] and list(f2.times) == [T0 + 120, T0 + 180]
    # Times that do not fit the lines are refused, naming the counts.
    short = {"type": "Feature", "properties": {"coordinateProperties": {"times": times[:3]}}, "geometry": multi}
    with pytest.raises(TrackError, match="4 points with 3 times"):
        read_track(_write(tmp_path, "short.geojson", json.dumps(short)))
    one_list = {"type": "Feature", "properties": {"coordinateProperties": {"times": [times]}}, "geometry": multi}
    with pytest.raises(TrackError, match="2 lines with 1 lists of times"):
        read_track(_write(tmp_path, "one.geojson", json.dumps(one_list)))
    # coordinateProperties without times is no timed line.
    untimed = {"type": "Feature", "properties": {"coordinateProperties": {"heart": [90, 95]}}, "geometry": line}
    with pytest.raises(NotATrack, match="without a single timed point"):
        read_track(_write(tmp_path, "untimed.geojson", json.dumps(untimed)))


def test_takeout_records_json(tmp_path: Path) -> None:
    doc = {
        "locations": [
            {"latitudeE7": 488583000, "longitudeE7": 22944000, "accuracy": 20, "altitude": 50, "timestamp": "2024-06-01T10:00:00.000Z"},
            {"latitudeE7": 488600000, "longitudeE7": 22950000, "accuracy": 5, "timestampMs": str(int((T0 + 60) * 1000))},
            # A western longitude written as an unsigned 32-bit integer by old exports.
            {"latitudeE7": 407000000, "longitudeE7": 2**32 - 740000000, "timestamp": "2024-06-01T12:30:00+02:00"},
            {"latitudeE7": 1, "longitudeE7": 1},  # no time: skipped
        ]
    }
    path = _write(tmp_path, "Records.json", json.dumps(doc))
    assert track_format(path) is TrackFormat.TAKEOUT_RECORDS
    (track,) = read_track(path).tracks
    assert list(track.times - T0) == [0, 60, 1800]
    assert lons(track) == pytest.approx([2.2944, 2.295, -74.0])
    assert track.lat(2) == pytest.approx(40.7) and track.elevation(0) == 50
    assert accuracies(track) == [20, 5, None]


def test_takeout_timeline_json(tmp_path: Path) -> None:
    doc = {
        "semanticSegments": [
            {
                "startTime": "2024-06-01T12:00:00.000+02:00",
                "endTime": "2024-06-01T14:00:00.000+02:00",
                "timelinePath": [{"point": "48.8583°, 2.2944°", "time": "2024-06-01T12:00:00.000+02:00"}, {"point": "48.8600°, 2.3000°", "time": "2024-06-01T12:10:00.000+02:00"}],
            },
            {"startTime": "2024-06-01T14:00:00.000+02:00", "endTime": "2024-06-01T15:00:00.000+02:00", "visit": {"topCandidate": {"placeLocation": {"latLng": "48.8606°, 2.3376°"}}}},
        ],
        "rawSignals": [{"position": {"LatLng": "48.8700°, 2.3100°", "accuracyMeters": 13, "altitudeMeters": 40.5, "timestamp": "2024-06-01T10:30:00.000Z"}}],
        "userLocationProfile": {"frequentPlaces": []},
    }
    path = _write(tmp_path, "Timeline.json", json.dumps(doc))
    assert track_format(path) is TrackFormat.TAKEOUT_TIMELINE
    (track,) = read_track(path).tracks
    assert list(track.times - T0) == [0, 600, 1800, 7200, 10800]
    assert track.lat(2) == pytest.approx(48.87) and track.accuracy(2) == 13
    assert track.lon(3) == track.lon(4) == pytest.approx(2.3376)  # a visit: its place at both ends


def test_takeout_on_device_array(tmp_path: Path) -> None:
    doc = [
        {"startTime": "2024-06-01T12:00:00.000+02:00", "endTime": "2024-06-01T13:00:00.000+02:00", "timelinePath": [{"point": "geo:48.858300,2.294400", "durationMinutesOffsetFromStartTime": "5"}]},
        {"startTime": "2024-06-01T13:00:00.000+02:00", "endTime": "2024-06-01T13:20:00.000+02:00", "activity": {"start": "geo:48.86,2.30", "end": "geo:48.87,2.31", "distanceMeters": "1500"}},
    ]
    path = _write(tmp_path, "location-history.json", json.dumps(doc))
    assert track_format(path) is TrackFormat.TAKEOUT_DEVICE
    (track,) = read_track(path).tracks
    assert list(track.times - T0) == [300, 3600, 4800]
    assert lats(track) == [48.8583, 48.86, 48.87]


def test_json_that_is_not_a_track_says_so(tmp_path: Path) -> None:
    for name, text in [
        ("package.json", json.dumps({"name": "x", "version": "1.0", "dependencies": {"locations": []}})),
        ("list.json", json.dumps([1, 2, 3])),
        ("objs.json", json.dumps([{"id": 1}])),
        ("scalar.json", "42"),
        ("notes.txt", "Shopping list\nmilk\n"),
    ]:
        path = _write(tmp_path, name, text)
        assert track_format(path) is None, name
        with pytest.raises(NotATrack, match="not a track"):
            read_track(path)
    with pytest.raises(TrackError, match="malformed JSON"):
        read_track(_write(tmp_path, "cut.json", '{"locations": [{"latitudeE7": 1, "longitudeE7": 1, "timestamp": "2024-06-01T10:00:00Z"}, {"lat'))
    with pytest.raises(TrackError, match="malformed JSON: lexical error: invalid bytes in UTF8 string"):
        read_track(_write(tmp_path, "latin.json", b'{"locations": [{"latitudeE7": 1, "longitudeE7": 1, "source": "caf\xe9"}]}'))
    with pytest.raises(TrackError, match="not a time"):
        read_track(_write(tmp_path, "badtime.json", json.dumps({"locations": [{"latitudeE7": 1, "longitudeE7": 1, "timestamp": "yesterday"}]})))


def test_a_photo_and_a_fifo_are_not_tracks(tmp_path: Path) -> None:
    assert track_format(_write(tmp_path, "a.json", jpeg_bytes(1))) is None
    fifo = tmp_path / "pipe.gpx"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):
        track_format(fifo)
