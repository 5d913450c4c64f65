"""Issue 8 item 11: movies whose only location is the 3GPP `loci` box (3GPP TS 26.244, 8.9).

The fixtures are built box by box after the spec (full box: version/flags, pad bit and three
5-bit language letters, name string, role byte, longitude, latitude and altitude as signed
16.16 fixed point, body and notes strings), one is written by exiftool itself, and every value
we read is checked against `exiftool -n -j -G -a` reading the same file: its
LocationInformation string ("NAME Role=... Lat=... Lon=... Alt=... Body=... Notes=..."), which it
also gives for a box inside a track (Track1LocationInformation; its GPS composites only take the
movie's own box).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from exiftool_process import exiftool
from processes import run_daemon

from geolocator.locate.metadata import read_metadata
from geolocator.locate.metadata.quicktime import LociRole, parse_loci

pytestmark = pytest.mark.timeout(60)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def language(code: str) -> bytes:
    """ISO 639-2/T as the spec packs it: a zero pad bit, then each letter minus 0x60 in 5 bits."""
    a, b, c = (ord(ch) - 0x60 for ch in code)
    return struct.pack(">H", (a << 10) | (b << 5) | c)


def fixed(value: float) -> int:
    return round(value * 65536)


def loci(lat: float, lon: float, alt: float, *, name: bytes = b"Home\0", role: int = 0, body: bytes = b"earth\0", notes: bytes = b"\0") -> bytes:
    payload = b"\0\0\0\0" + language("eng") + name + struct.pack(">Biii", role, fixed(lon), fixed(lat), fixed(alt)) + body + notes
    return box(b"loci", payload)


def mvhd() -> bytes:
    return box(b"mvhd", b"\0\0\0\0" + struct.pack(">II", 3700000000, 3700000000) + b"\0" * 88)


def movie(moov_children: bytes, brand: bytes = b"3gp5") -> bytes:
    return box(b"ftyp", brand + b"\0\0\2\0" + brand + b"isom") + box(b"moov", mvhd() + moov_children) + box(b"mdat", b"\0" * 256)


def track(udta_children: bytes) -> bytes:
    tkhd = box(b"tkhd", b"\0\0\0\x07" + b"\0" * 80)
    return box(b"trak", tkhd + box(b"udta", udta_children))


UTF16_NAME = b"\xfe\xff" + "Corcovado".encode("utf-16-be") + b"\0\0"

FIXTURES: dict[str, bytes] = {
    "loci.3gp": movie(box(b"udta", loci(59.3293, 18.0686, 28.5))),
    "loci_sw.mp4": movie(box(b"udta", loci(-22.9519, -43.2105, 700.0, name="Cristo Redentor ☀\0".encode(), body=b"\xfe\xff\0e\0a\0r\0t\0h\0\0")), b"mp42"),
    "loci_in_track.mp4": movie(track(loci(35.6586, 139.7454, -15.25, role=1)), b"isom"),
    "loci_empty_name.3gp": movie(box(b"udta", box(b"\xa9mak", struct.pack(">HH", 4, 0x15C7) + b"Acme") + loci(-33.8568, 151.2153, 0.0, name=b"\0")), b"3gp4"),
}
UTF16_MOVIE = movie(box(b"udta", loci(45.4215, -75.6972, 70.0, name=UTF16_NAME)))
FICTIONAL = movie(box(b"udta", loci(51.5, -0.12, 10.0, name=b"Narnia\0", role=2)))


@dataclass(frozen=True)
class ToolReading:
    lat: float | None
    lon: float | None
    altitude: float | None
    composite: tuple[float, float] | None  # exiftool's Composite:GPSLatitude/GPSLongitude


_LOCI_TEXT = re.compile(r" Role=\S+ Lat=([-+.\d]+) Lon=([-+.\d]+) Alt=([-+.\d]+)")


def exiftool_read(folder: Path) -> dict[str, ToolReading]:
    out = exiftool("-n", "-j", "-G", "-a", str(folder), check=False)
    readings = {}
    for item in json.loads(out):
        texts = [str(value) for key, value in item.items() if key.startswith("QuickTime:") and key.endswith("LocationInformation")]
        found = _LOCI_TEXT.search(texts[0]) if texts else None
        lat, lon, alt = (float(group) for group in found.groups()) if found else (None, None, None)
        composite = (item["Composite:GPSLatitude"], item["Composite:GPSLongitude"]) if "Composite:GPSLatitude" in item else None
        readings[Path(item["SourceFile"]).name] = ToolReading(lat, lon, alt, composite)
    return readings


@pytest.fixture(scope="module")
def movies(tmp_path_factory) -> tuple[Path, dict[str, ToolReading]]:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is needed as the reference reader: apt-get install libimage-exiftool-perl")
    folder = tmp_path_factory.mktemp("loci")
    for name, data in {**FIXTURES, "fictional.3gp": FICTIONAL, "utf16_name.3gp": UTF16_MOVIE}.items():
        (folder / name).write_bytes(data)
    # exiftool writing the box itself into a movie that had no location
    written = folder / "exiftool_written.mp4"
    written.write_bytes(movie(b"", b"isom"))
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-UserData:LocationInformation=Pier Role=shooting Lat=-12.04637 Lon=-77.04279 Alt=-3.5 Body=earth Notes=x", str(written)],
        check=True,
        capture_output=True,
    )
    return folder, exiftool_read(folder)


@pytest.mark.parametrize("name", [*sorted(FIXTURES), "exiftool_written.mp4"])
def test_loci_location_matches_exiftool(movies, name):
    folder, readings = movies
    tool = readings[name]
    assert tool.lat is not None and tool.lon is not None, f"exiftool does not see a loci box in {name}: fix the builder"
    if tool.composite is not None:
        assert tool.composite == (pytest.approx(tool.lat), pytest.approx(tool.lon))
    meta = read_metadata(folder / name)
    # exiftool prints Lat/Lon with 5 decimals and Alt with 2; 16.16 fixed point holds ~1.5e-5
    assert meta.lat == pytest.approx(tool.lat, abs=6e-6)
    assert meta.lon == pytest.approx(tool.lon, abs=6e-6)
    assert meta.altitude == pytest.approx(tool.altitude, abs=6e-3)
    assert meta.gps_origin == "quicktime"


def test_utf16_name_is_skipped_as_the_spec_says(movies):
    """A name in UTF-16 (byte-order mark FE FF, ended by two null bytes) before the coordinates.
    exiftool 12.57 strips the mark before its own parse and then misreads the coordinates, so the
    truth here is the values written into the box."""
    folder, _ = movies
    meta = read_metadata(folder / "utf16_name.3gp")
    assert (meta.lat, meta.lon, meta.altitude) == (pytest.approx(45.4215, abs=1e-5), pytest.approx(-75.6972, abs=1e-5), pytest.approx(70.0))


def test_southern_western_and_below_sea_level_signs(movies):
    folder, _ = movies
    sw = read_metadata(folder / "loci_sw.mp4")
    assert sw.lat < 0 and sw.lon < 0
    written = read_metadata(folder / "exiftool_written.mp4")
    assert written.altitude is not None and written.altitude < 0


def test_other_user_data_still_read_beside_loci(movies):
    folder, _ = movies
    assert read_metadata(folder / "loci_empty_name.3gp").make == "Acme"


def test_fictional_location_is_not_where_it_was_taken(movies):
    """By design: exiftool reports the point of a role-2 ("fictional") box; we report none."""
    folder, readings = movies
    assert readings["fictional.3gp"].composite == (pytest.approx(51.5, abs=6e-6), pytest.approx(-0.12, abs=6e-6))
    meta = read_metadata(folder / "fictional.3gp")
    assert (meta.lat, meta.lon, meta.gps_origin) == (None, None, None)


def test_iso6709_wins_over_loci(tmp_path):
    text = b"+48.8584+002.2945/"
    xyz = box(b"\xa9xyz", struct.pack(">HH", len(text), 0x15C7) + text)
    path = tmp_path / "both.mp4"
    path.write_bytes(movie(box(b"udta", xyz + loci(10.0, 10.0, 0.0))))
    meta = read_metadata(path)
    assert (meta.lat, meta.lon) == (pytest.approx(48.8584), pytest.approx(2.2945))


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # nothing at all
        b"\0\0\0\0\x15\xc7Home",  # name never terminated
        b"\0\0\0\0\x15\xc7Home\0\0\0\0",  # cut inside the coordinates
        b"\0\0\0\0\x15\xc7\xfe\xff\0H\0o",  # UTF-16 name never terminated
    ],
)
def test_cut_loci_box_means_no_location_not_an_error(tmp_path, payload):
    assert parse_loci(payload) is None
    path = tmp_path / "cut.3gp"
    path.write_bytes(movie(box(b"udta", box(b"loci", payload))))
    assert read_metadata(path).lat is None


def test_parse_loci_reads_role_and_reserved_roles():
    data = loci(1.5, 2.25, 3.0, role=1)[8:]
    assert parse_loci(data) == parse_loci(data) and parse_loci(data).role is LociRole.REAL
    reserved = parse_loci(loci(1.5, 2.25, 3.0, role=7)[8:])
    assert reserved is not None and reserved.role is None


def test_locate_command_reads_a_loci_video(movies):
    """End to end: `daemon.py locate --no-ai` finds the point, so no AI error for such a video."""
    folder, readings = movies
    path = folder / "loci.3gp"
    result = run_daemon("locate", "--no-ai", str(path), cwd=folder, timeout=60)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["lat"] == pytest.approx(readings["loci.3gp"].lat, abs=6e-6) and line["error"] is None
