"""EXIF IFD tables are scanned from one read of the bytes after the TIFF header (the window);
tables beyond it, or straddling its end, are read from the file: the same answer as exiftool's."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
from exiftool_process import exiftool

from geolocator.locate.metadata import read_metadata
from geolocator.locate.metadata.exif import WINDOW


def far_tiff(pad: int) -> bytes:
    """A little-endian TIFF whose IFD0 lies `pad` bytes after its header, pointing to a GPS IFD
    with the Eiffel Tower's position."""
    ifd0 = 8 + pad
    gps = ifd0 + 2 + 12 + 4
    values = gps + 2 + 12 * 4 + 4
    out = bytearray(b"II*\0" + struct.pack("<I", ifd0) + bytes(pad))
    out += struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps) + struct.pack("<I", 0)
    out += struct.pack("<H", 4)
    out += struct.pack("<HHI4s", 1, 2, 2, b"N\0\0\0") + struct.pack("<HHII", 2, 5, 3, values)
    out += struct.pack("<HHI4s", 3, 2, 2, b"E\0\0\0") + struct.pack("<HHII", 4, 5, 3, values + 24) + struct.pack("<I", 0)
    out += struct.pack("<6I", 48, 1, 51, 1, 2900, 100) + struct.pack("<6I", 2, 1, 17, 1, 4000, 100)
    return bytes(out)


@pytest.mark.parametrize("pad", [0, WINDOW - 30, WINDOW + 5000], ids=["inside", "straddling", "beyond"])
def test_ifd_tables_anywhere_in_the_file_read_as_exiftool_reads_them(tmp_path: Path, pad: int) -> None:
    path = tmp_path / "far.tif"
    path.write_bytes(far_tiff(pad))
    found = read_metadata(path)
    assert (round(found.lat, 6), round(found.lon, 6)) == (48.858056, 2.294444)
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed")
    (theirs,) = json.loads(exiftool("-n", "-j", "-GPSLatitude", "-GPSLongitude", str(path)))
    assert (found.lat, found.lon) == pytest.approx((theirs["GPSLatitude"], theirs["GPSLongitude"]), abs=1e-9)
