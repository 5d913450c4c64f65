"""Issue 8 item 12: stray bytes between JPEG segments are skipped to the next marker, as exiftool
does (it reads the GPS and warns "Skipped unknown N bytes"), and Pillow still decodes the image.
Each fixture is a real JPEG from Pillow with GPS written by exiftool, the stray bytes spliced in
after a segment; the expected point is exiftool's reading of that very file."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from exiftool_process import exiftool
from PIL import Image

from geolocator.errors import UnreadableImage
from geolocator.locate.metadata import read_metadata
from geolocator.locate.metadata.containers import MAX_STRAY

pytestmark = pytest.mark.timeout(60)

STRAYS = {
    "two_bytes": b"\x12\x34",  # the case in the issue
    "zeros": b"\0" * 7,
    "stuffed_ff": b"\x12\xff\x00\x34",  # an escaped 0xFF (FF 00) is no marker
    "fill_ff": b"\x55\xff\xff",  # fill bytes before the next marker
    "text": b"junk" * 300,
}


def segments(data: bytes) -> list[tuple[int, int]]:
    """(offset, marker) of the header segments of a well-formed JPEG, up to SOS."""
    pos, found = 2, []
    while data[pos + 1] != 0xDA:
        found.append((pos, data[pos + 1]))
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return found


def with_stray(data: bytes, after: int, stray: bytes) -> bytes:
    """`data` with `stray` inserted after its segment with marker `after`."""
    for pos, code in segments(data):
        if code == after:
            end = pos + 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            return data[:end] + stray + data[end:]
    raise LookupError(f"no segment 0xFF{after:02X}")


@pytest.fixture(scope="module")
def gps_jpeg(tmp_path_factory) -> bytes:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is needed as the reference reader: apt-get install libimage-exiftool-perl")
    path = tmp_path_factory.mktemp("resync") / "base.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-GPSLatitude=47.3769", "-GPSLatitudeRef=N", "-GPSLongitude=8.5417", "-GPSLongitudeRef=E", "-XMP-dc:Title=x", str(path)],
        check=True,
        capture_output=True,
    )
    data = path.read_bytes()
    assert [code for _, code in segments(data)][:3] == [0xE0, 0xE1, 0xE1], "expected APP0, then APP1 Exif and APP1 XMP"
    return data


def exiftool_json(path: Path) -> dict:
    out = exiftool("-n", "-j", "-G", "-a", "-Warning", "-GPSLatitude", "-GPSLongitude", str(path))
    return json.loads(out)[0]


@pytest.mark.parametrize("after", [0xE0, 0xE1], ids=["after_APP0", "after_APP1"])
@pytest.mark.parametrize("stray", sorted(STRAYS))
def test_stray_bytes_are_skipped_like_exiftool(tmp_path, gps_jpeg, stray, after):
    path = tmp_path / "stray.jpg"
    path.write_bytes(with_stray(gps_jpeg, after, STRAYS[stray]))
    tool = exiftool_json(path)
    assert "Skipped unknown" in tool.get("ExifTool:Warning", ""), tool  # exiftool saw the stray bytes too
    with Image.open(path) as image:
        image.load()  # Pillow decodes it: a real photo, not a corrupt file
    meta = read_metadata(path)
    assert meta.lat == pytest.approx(tool["Composite:GPSLatitude"], abs=1e-9)
    assert meta.lon == pytest.approx(tool["Composite:GPSLongitude"], abs=1e-9)
    assert meta.gps_origin == "exif"


@pytest.mark.timeout(20)
def test_junk_without_a_marker_is_a_clear_error_and_quick(tmp_path):
    """APP0, then 200 MB without a single 0xFF (a sparse file): the search for the next marker
    stops after MAX_STRAY bytes with a one-line reason."""
    path = tmp_path / "junk.jpg"
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\0\1\1\0\0\1\0\1\0\0"
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(200 << 20)
    started = time.process_time()
    with pytest.raises(UnreadableImage, match="corrupt JPEG: no segment marker at byte 20") as caught:
        read_metadata(path)
    assert time.process_time() - started < 2.0  # CPU time: not the machine's load
    assert f"nor in the {MAX_STRAY} bytes after it" in str(caught.value)


def test_stray_budget_is_shared_by_the_whole_header(tmp_path, gps_jpeg):
    """Many small runs of junk count together: past MAX_STRAY bytes in all, the read gives up."""
    chunk = b"\x11" * (MAX_STRAY // 4 + 1)
    data = gps_jpeg[:2] + b"".join(b"\xff\xfe\x00\x04ab" + chunk for _ in range(5)) + gps_jpeg[2:]
    path = tmp_path / "many_runs.jpg"
    path.write_bytes(data)
    with pytest.raises(UnreadableImage, match="no segment marker"):
        read_metadata(path)
