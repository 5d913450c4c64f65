"""Every track format exiftool's geotagging reads, as the devices write them (files made here from
each format's documentation), read by content and placed where exiftool places a photo on them.

exiftool is the ground truth: `exiftool -geotag FILE -geotime=T` writes the position it
interpolates into a JPEG, and ours must agree. FIT, which exiftool does not geotag from, is
checked against the values written into it."""

from __future__ import annotations

import shutil
import struct
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor
from pathlib import Path

import pytest
from exiftool_process import exiftool
from photos import write_jpeg

from geolocator.locate.tracks.interpolate import locate_on_track, locate_on_tracks
from geolocator.locate.tracks.model import NotATrack, TrackError, TrackFormat
from geolocator.locate.tracks.parse import read_track, track_format

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")


def nmea(body: str) -> str:
    """A sentence with its checksum: the XOR of the characters between $ and *."""
    return f"${body}*{reduce(xor, body.encode(), 0):02X}"


def ddmm(value: float, width: int) -> str:
    """Degrees as NMEA writes them: ddmm.mmmm (dddmm.mmmm for longitude), hemisphere apart."""
    degrees = int(abs(value))
    return f"{degrees:0{width}d}{(abs(value) - degrees) * 60:07.4f}"


def exiftool_geotag(track: Path, when: datetime, tmp_path: Path) -> tuple[float, float, float | None]:
    """Where exiftool puts a photo taken at `when` (UTC) on `track`: lat, lon, altitude."""
    photo = write_jpeg(tmp_path / f"probe-{when:%H%M%S}.jpg", 7)
    exiftool("-q", "-overwrite_original", f"-geotag={track}", f"-geotime={when:%Y:%m:%d %H:%M:%S}Z", str(photo))
    out = exiftool("-n", "-s3", "-Composite:GPSLatitude", "-Composite:GPSLongitude", "-Composite:GPSAltitude", str(photo))
    values = [float(v) for v in out.split()]  # signed, in degrees and metres
    assert len(values) >= 2, f"exiftool placed nothing at {when}"
    return values[0], values[1], values[2] if len(values) > 2 else None


def ours(path: Path, when: datetime) -> tuple[float, float, float | None]:
    fix = locate_on_tracks(read_track(path).tracks, when)
    assert fix is not None
    return fix.lat, fix.lon, fix.elevation


def agree(path: Path, moments: list[datetime], tmp_path: Path) -> None:
    for when in moments:
        theirs, mine = exiftool_geotag(path, when, tmp_path), ours(path, when)
        assert mine[0] == pytest.approx(theirs[0], abs=2e-6) and mine[1] == pytest.approx(theirs[1], abs=2e-6), when
        if theirs[2] is not None:
            assert mine[2] == pytest.approx(theirs[2], abs=1.0), when  # we keep metres


START = datetime(2009, 4, 3, 11, 8, 30, tzinfo=UTC)
PATH = [(START + timedelta(seconds=37 * i + (i % 3) * 0.5), 44.2527 - 0.0011 * i, -76.5188 + 0.0009 * i, 95 + i) for i in range(12)]


def magellan_log() -> str:
    """A Magellan eXplorist track log: $PMGNTRK,ddmm.mmm,N,dddmm.mmm,W,altitude,M,hhmmss.ss,A,,DDMMYY."""
    lines = [
        nmea(f"PMGNTRK,{ddmm(lat, 2)[:-1]},N,{ddmm(lon, 3)[:-1]},W,{alt:05d},M,{t:%H%M%S}.{t.microsecond // 10000:02d},A,,{t:%d%m%y}")
        for t, lat, lon, alt in PATH
    ]
    return "\n".join([*lines, nmea("PMGNCMD,END")]) + "\n"


@needs_exiftool
def test_a_magellan_track_log_is_a_track_placed_as_exiftool_places_it(tmp_path: Path) -> None:
    path = tmp_path / "TRACK.LOG"
    path.write_text(magellan_log())
    assert track_format(path) is TrackFormat.NMEA
    (track,) = read_track(path).tracks
    assert len(track) == 12 and track.elevation(0) == 95
    agree(path, [START + timedelta(seconds=s) for s in (0, 100, 183, 300)], tmp_path)


@needs_exiftool
def test_nmea_with_proprietary_sentences_first_gll_zda_and_garmin_altitude(tmp_path: Path) -> None:
    """A Garmin unit's log: $PGRME/$PGRMZ first, then ZDA (the date) and GLL (position and time)
    each second, and $PGRMZ (altitude in feet) after each fix."""
    lines = [nmea("PGRME,15.0,M,22.5,M,27.0,M"), nmea("PGRMZ,246,f,3")]
    for t, lat, lon, alt in PATH:
        lines.append(nmea(f"GPZDA,{t:%H%M%S}.00,{t:%d,%m,%Y},00,00"))
        lines.append(nmea(f"GPGLL,{ddmm(lat, 2)},N,{ddmm(lon, 3)},W,{t:%H%M%S}.00,A,A"))
        lines.append(nmea(f"PGRMZ,{round(alt / 0.3048)},f,3"))
    path = tmp_path / "garmin.txt"
    path.write_text("\r\n".join(lines) + "\r\n")
    assert track_format(path) is TrackFormat.NMEA
    (track,) = read_track(path).tracks
    assert len(track) == 12 and [track.elevation(i) for i in (0, 11)] == [95, 106]  # from $PGRMZ, in feet
    moments = [START.replace(microsecond=0) + timedelta(seconds=s) for s in (1, 120, 250)]
    for when in moments:  # exiftool reads no $PGRMZ: the position only
        theirs, mine = exiftool_geotag(path, when, tmp_path), ours(path, when)
        assert mine[:2] == pytest.approx(theirs[:2], abs=2e-6)


def igc_flight() -> str:
    """An IGC file as a flight recorder writes it: A record, H records with the date, then a B
    record a fix (hhmmss, ddmmmmmN, dddmmmmmE, A, pressure and GNSS altitude), past midnight."""
    start = datetime(2024, 6, 1, 23, 58, 0, tzinfo=UTC)
    lines = ["AXGD001 Test flight recorder", "HFDTE010624", "HFPLTPILOTINCHARGE: A Pilot", "HFGTYGLIDERTYPE: ASK 21", "HFDTM100GPSDATUM: WGS-1984"]
    for i in range(8):
        t, lat, lon = start + timedelta(seconds=40 * i), 46.5 + 0.003 * i, 7.9 + 0.004 * i
        lat_part = f"{int(lat):02d}{round((lat - int(lat)) * 60000):05d}N"
        lon_part = f"{int(lon):03d}{round((lon - int(lon)) * 60000):05d}E"
        lines.append(f"B{t:%H%M%S}{lat_part}{lon_part}A{1500 + 10 * i:05d}{1520 + 10 * i:05d}")
    lines += ["LXGD end of flight", "GXGD0123456789ABCDEF"]
    return "\r\n".join(lines) + "\r\n"


@needs_exiftool
def test_an_igc_flight_across_midnight(tmp_path: Path) -> None:
    path = tmp_path / "flight.igc"
    path.write_text(igc_flight())
    path.with_suffix(".txt").write_text(igc_flight())
    assert track_format(path) is TrackFormat.IGC and track_format(path.with_suffix(".txt")) is TrackFormat.IGC  # by content
    (track,) = read_track(path).tracks
    assert len(track) == 8 and track.start == datetime(2024, 6, 1, 23, 58, tzinfo=UTC)
    assert track.end == datetime(2024, 6, 2, 0, 2, 40, tzinfo=UTC) and track.elevation(0) == 1520  # the GNSS altitude
    agree(path, [datetime(2024, 6, 1, 23, 59, 10, tzinfo=UTC), datetime(2024, 6, 2, 0, 1, 5, tzinfo=UTC)], tmp_path)
    path.write_text(igc_flight().replace("HFDTE010624", "HFDTE310224"))
    with pytest.raises(TrackError, match=r"^flight\.igc: IGC with an impossible date"):
        read_track(path)
    path.write_text("\r\n".join(line for line in igc_flight().splitlines() if not line.startswith("HFDTE")))
    with pytest.raises(NotATrack, match="no HFDTE date"):
        read_track(path)


def tcx_activity() -> str:
    """A Garmin Training Center activity (TrainingCenterDatabase v2 schema): laps of tracks of
    track points, one without a position (indoors), as Garmin Connect exports them."""
    points = []
    for i, (t, lat, lon, alt) in enumerate(PATH):
        position = "" if i == 5 else f"<Position><LatitudeDegrees>{lat:.7f}</LatitudeDegrees><LongitudeDegrees>{lon:.7f}</LongitudeDegrees></Position>"
        points.append(
            f"<Trackpoint><Time>{t:%Y-%m-%dT%H:%M:%S.%f}"[:-4] + f"Z</Time>{position}<AltitudeMeters>{alt}.4</AltitudeMeters>"
            f"<DistanceMeters>{100.0 * i}</DistanceMeters><HeartRateBpm><Value>{120 + i}</Value></HeartRateBpm></Trackpoint>"
        )
    lap = (
        '<Lap StartTime="{}"><TotalTimeSeconds>400</TotalTimeSeconds><DistanceMeters>1100</DistanceMeters><Calories>50</Calories>'
        "<Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod><Track>{}</Track></Lap>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<Activities><Activity Sport="Biking"><Id>{PATH[0][0]:%Y-%m-%dT%H:%M:%S}Z</Id>'
        + lap.format(f"{PATH[0][0]:%Y-%m-%dT%H:%M:%S}Z", "".join(points[:6]))
        + lap.format(f"{PATH[6][0]:%Y-%m-%dT%H:%M:%S}Z", "".join(points[6:]))
        + "<Creator><Name>Edge 530</Name></Creator></Activity></Activities></TrainingCenterDatabase>\n"
    )


@needs_exiftool
def test_a_tcx_activity(tmp_path: Path) -> None:
    path = tmp_path / "ride.tcx"
    path.write_text(tcx_activity())
    assert track_format(path) is TrackFormat.TCX
    (track,) = read_track(path).tracks  # one activity: its laps are no gaps
    assert len(track) == 11 and track.name == "Biking"
    assert track.elevation(0) == 95  # 95.4 m, kept to the metre
    agree(path, [START + timedelta(seconds=s) for s in (20, 150, 260)], tmp_path)


FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z, where FIT's timestamps count from
_FIT_CRC_TABLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401, 0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)


def fit_crc(data: bytes) -> int:
    """The FIT protocol's CRC-16, four bits at a time, as its documentation gives it."""
    crc = 0
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _FIT_CRC_TABLE[crc & 0xF]
            crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _FIT_CRC_TABLE[nibble]
    return crc


def fit_activity(points: list[tuple[datetime, float, float, float]], *, indoors: int = 0, start: datetime = START) -> bytes:
    """A FIT file by the protocol: a 14-byte header, a definition then a data message for
    file_id (type 4: activity), a definition for `record` (global 20: timestamp, position_lat,
    position_long in semicircles, enhanced_altitude scaled 5 offset 500), a data message a point
    (`indoors` more without a position, as a treadmill writes), and the CRC of it all."""
    body = bytes([0x40, 0, 0]) + struct.pack("<HB", 0, 3) + bytes([0, 1, 0x00, 1, 2, 0x84, 4, 4, 0x86])
    body += bytes([0x00]) + struct.pack("<BHI", 4, 1, int(start.timestamp()) - FIT_EPOCH)
    body += bytes([0x41, 0, 0]) + struct.pack("<HB", 20, 4) + bytes([253, 4, 0x86, 0, 4, 0x85, 1, 4, 0x85, 78, 4, 0x86])
    for t, lat, lon, alt in points:
        body += bytes([0x01]) + struct.pack("<IiiI", int(t.timestamp()) - FIT_EPOCH, round(lat / 180 * 2**31), round(lon / 180 * 2**31), round((alt + 500) * 5))
    for i in range(indoors):
        body += bytes([0x01]) + struct.pack("<IiiI", int(start.timestamp()) - FIT_EPOCH + 3600 + i, 0x7FFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF)
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", fit_crc(header))
    return header + body + struct.pack("<H", fit_crc(header + body))


def test_a_fit_activity(tmp_path: Path) -> None:
    points = [(START.replace(microsecond=0) + timedelta(seconds=10 * i), 47.3769 + 0.0002 * i, 8.5417 - 0.0003 * i, 408.2 + i) for i in range(30)]
    path = tmp_path / "Morning_Ride.fit"
    path.write_bytes(fit_activity(points, indoors=3))
    assert track_format(path) is TrackFormat.FIT
    (track,) = read_track(path).tracks
    assert len(track) == 30 and track.start == points[0][0] and track.end == points[-1][0]
    for i in (0, 17, 29):  # semicircles hold a position to 1e-7 degree
        assert track.lat(i) == pytest.approx(points[i][1], abs=1.1e-7) and track.lon(i) == pytest.approx(points[i][2], abs=1.1e-7)
        assert track.elevation(i) == round(points[i][3])
    fix = locate_on_track(track, points[4][0] + timedelta(seconds=5))
    assert fix is not None and fix.lat == pytest.approx(47.3769 + 0.0009, abs=2e-7)
    # A FIT file cut short, or with a byte changed, fails its CRC: refused with the reason.
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    (tmp_path / "damaged.fit").write_bytes(bytes(data))
    with pytest.raises(TrackError, match=r"^damaged\.fit: malformed FIT: .*CRC"):
        read_track(tmp_path / "damaged.fit")
    (tmp_path / "cut.fit").write_bytes(bytes(data[:200]))
    with pytest.raises(TrackError, match=r"^cut\.fit: malformed FIT"):
        read_track(tmp_path / "cut.fit")
    treadmill = tmp_path / "treadmill.fit"
    treadmill.write_bytes(fit_activity([], indoors=5))
    with pytest.raises(NotATrack, match="without a single record with a position"):
        read_track(treadmill)


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("bom-comment.gpx", '\ufeff<?xml version="1.0"?>\n<!-- exported <gpx> by hand -->\n<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'),
        ("doctype.kml", '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "b">]><kml xmlns="http://www.opengis.net/kml/2.2">'),
        ("log.txt", "\r\n".join([nmea("PGRMZ,246,f,3"), nmea("PGRMM,WGS 84"), nmea("GPGSA,A,3,04,05,,,,,,,,,,,2.5,1.3,2.1"), nmea("GPGLL,4916.4500,N,12311.1200,W,225444.00,A,A")])),
        ("timestamped.log", "12:00:01.250 " + nmea("GPRMC,120001.00,A,4851.0000,N,00217.4000,E,0.0,0.0,010624,,,A")),
    ],
)
def test_the_format_is_found_whatever_comes_first(tmp_path: Path, name: str, head: str) -> None:
    path = tmp_path / name
    path.write_text(head)
    expected = {"gpx": TrackFormat.GPX, "kml": TrackFormat.KML}.get(name.rsplit(".", 1)[1], TrackFormat.NMEA)
    assert track_format(path) is expected
