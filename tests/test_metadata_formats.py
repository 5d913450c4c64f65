"""Every format and GPS edge case, on fixtures the tests make themselves (raw TIFF/IFD bytes,
Pillow, ISO-BMFF boxes, exiftool writing into files), each checked against exiftool's own
reading of the same file (`exiftool -n -j`), so the expected values are not ours."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from corpus import CORPUS
from exiftool_process import exiftool
from PIL import Image

from geolocator.errors import UnreadableImage
from geolocator.locate.metadata import read_metadata

pytestmark = pytest.mark.timeout(60)

# ---------------------------------------------------------------------------------------------
# Builders: TIFF IFDs, JPEG APP1, ISO-BMFF boxes


def rational(order: str, *pairs: tuple[int, int]) -> tuple[int, int, bytes]:
    return 5, len(pairs), b"".join(struct.pack(order + "II", n, d) for n, d in pairs)


def ascii_(text: str) -> tuple[int, int, bytes]:
    data = text.encode() + b"\0"
    return 2, len(data), data


def byte(*values: int) -> tuple[int, int, bytes]:
    return 1, len(values), bytes(values)


def _ifd(order: str, entries: dict, base: int) -> bytes:
    items = sorted(entries.items())
    data_offset = base + 2 + 12 * len(items) + 4
    head, data = struct.pack(order + "H", len(items)), b""
    for tag, (kind, count, payload) in items:
        if len(payload) <= 4:
            value = payload.ljust(4, b"\0")
        else:
            value = struct.pack(order + "I", data_offset + len(data))
            data += payload + b"\0" * (len(payload) % 2)
        head += struct.pack(order + "HHI", tag, kind, count) + value
    return head + struct.pack(order + "I", 0) + data


def tiff(order: str = "<", ifd0: dict | None = None, exif: dict | None = None, gps: dict | None = None, header: bytes | None = None) -> bytes:
    """A TIFF structure: IFD0 (+ pointers) then the EXIF and GPS IFDs."""
    ifd0 = dict(ifd0 or {})
    pointer = lambda value: (4, 1, struct.pack(order + "I", value))  # noqa: E731
    header = header or ((b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8))
    for tag, ifd in ((0x8769, exif), (0x8825, gps)):
        if ifd is not None:
            ifd0[tag] = pointer(0)
    pos = len(header) + len(_ifd(order, ifd0, len(header)))
    tail = b""
    for tag, ifd in ((0x8769, exif), (0x8825, gps)):
        if ifd is not None:
            ifd0[tag] = pointer(pos)
            block = _ifd(order, ifd, pos)
            tail, pos = tail + block, pos + len(block)
    return header + _ifd(order, ifd0, len(header)) + tail


def gps_ifd(order, lat, lon, lat_ref="N", lon_ref="E", alt=None, alt_ref=None) -> dict:
    entries = {}
    if lat_ref is not None:
        entries[1] = ascii_(lat_ref)
    if lat is not None:
        entries[2] = rational(order, *lat)
    if lon_ref is not None:
        entries[3] = ascii_(lon_ref)
    if lon is not None:
        entries[4] = rational(order, *lon)
    if alt_ref is not None:
        entries[5] = byte(alt_ref)
    if alt is not None:
        entries[6] = rational(order, alt)
    return entries


def camera(make="Cam", model="X1") -> dict:
    return {0x010F: ascii_(make), 0x0110: ascii_(model)}


def plain_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 100, 50)).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_with(*app1: bytes) -> bytes:
    segments = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in app1)
    return b"\xff\xd8" + segments + plain_jpeg()[2:]


def exif_jpeg(tiff_bytes: bytes) -> bytes:
    return jpeg_with(b"Exif\0\0" + tiff_bytes)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mvhd() -> bytes:
    return box(b"mvhd", b"\0\0\0\0" + struct.pack(">II", 3700000000, 3700000000) + b"\0" * 88)


def mp4_xyz(iso6709: str, brand: bytes = b"isom") -> bytes:
    text = iso6709.encode()
    xyz = box(b"\xa9xyz", struct.pack(">HH", len(text), 0x15C7) + text)
    return box(b"ftyp", brand + b"\0\0\2\0" + brand + b"mp41") + box(b"mdat", b"\0" * 64) + box(b"moov", mvhd() + box(b"udta", xyz))


def mov_keys(values: dict[str, str]) -> bytes:
    keys = box(b"keys", b"\0\0\0\0" + struct.pack(">I", len(values)) + b"".join(box(b"mdta", k.encode()) for k in values))
    items = b"".join(box(struct.pack(">I", i + 1), box(b"data", b"\0\0\0\1\0\0\0\0" + v.encode())) for i, v in enumerate(values.values()))
    meta = box(b"meta", box(b"hdlr", b"\0" * 8 + b"mdta" + b"\0" * 13) + keys + box(b"ilst", items))
    return box(b"ftyp", b"qt  \0\0\2\0qt  ") + box(b"wide", b"") + box(b"mdat", b"\0" * 64) + box(b"moov", mvhd() + meta)


def cr3(ifd0_tiff: bytes, gps_tiff: bytes) -> bytes:
    canon = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
    uuid = box(b"uuid", canon + box(b"CMT1", ifd0_tiff) + box(b"CMT4", gps_tiff))
    return box(b"ftyp", b"crx \0\0\0\1crx isom") + box(b"moov", uuid) + box(b"mdat", b"\0" * 32)


def raf(jpeg: bytes) -> bytes:
    header = (b"FUJIFILMCCD-RAW 0201FF393601" + b"X-T1".ljust(32, b"\0") + b"0100").ljust(84, b"\0")
    return (header + struct.pack(">II", 160, len(jpeg))).ljust(160, b"\0") + jpeg


def xmp_packet(lat: str, lon: str, date: str = "2020-01-02T03:04:05+01:00") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        f'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" exif:GPSLatitude="{lat}">'
        f"<exif:GPSLongitude>{lon}</exif:GPSLongitude><exif:DateTimeOriginal>{date}</exif:DateTimeOriginal>"
        "<tiff:Make>XmpCam</tiff:Make></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    ).encode()


def pillow_save(fmt: str, exif: bytes | None = None, **options) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buf, fmt, **({"exif": exif} if exif is not None else {}), **options)
    return buf.getvalue()


def exiftool_write(path: Path, *assignments: str) -> None:
    exiftool("-q", "-overwrite_original", *assignments, str(path))


# ---------------------------------------------------------------------------------------------
# The fixtures: name -> bytes (or a function of the folder, for ones exiftool writes into)

L, B = "<", ">"
NE = gps_ifd(L, [(51, 1), (30, 1), (3050, 100)], [(0, 1), (7, 1), (3900, 100)], "N", "E", alt=(1234, 10), alt_ref=0)
GOOD_TIFF = tiff(L, camera(), gps=gps_ifd(L, [(40, 1), (26, 1), (4650, 100)], [(3, 1), (42, 1), (0, 1)], "N", "W"))
HEIC = CORPUS / "exif-samples" / "heic" / "IMG_5195.HEIC"


def _copy_heic_with_brand(brand: bytes, minor: bytes | None = None) -> bytes:
    data = HEIC.read_bytes()
    return data[:8] + brand + (minor if minor is not None else data[12:16]) + data[16:]


FIXTURES: dict[str, bytes] = {
    # all four hemispheres, both byte orders, altitude below sea level
    "ne.jpg": exif_jpeg(tiff(L, camera(), gps=NE)),
    "nw.jpg": exif_jpeg(tiff(L, camera(), gps=gps_ifd(L, [(40, 1), (26, 1), (4650, 100)], [(3, 1), (42, 1), (0, 1)], "N", "W"))),
    "se.jpg": exif_jpeg(tiff(B, camera(), gps=gps_ifd(B, [(33, 1), (5140, 100), (0, 1)], [(151, 1), (1290, 100), (0, 1)], "S", "E", alt=(50, 1), alt_ref=1))),
    "sw.jpg": exif_jpeg(tiff(B, camera(), gps=gps_ifd(B, [(22, 1), (54, 1), (4000, 100)], [(43, 1), (1200, 100), (0, 1)], "S", "W"))),
    "missing_refs.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(51, 1), (30, 1), (0, 1)], [(1, 1), (0, 1), (0, 1)], None, None))),
    "lowercase_refs.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(51, 1), (30, 1), (0, 1)], [(1, 1), (0, 1), (0, 1)], "s", "w"))),
    "dates.jpg": exif_jpeg(tiff(L, camera("  Padded Make  ", "Model\0\0"), exif={0x9003: ascii_("2021:04:11 15:47:53"), 0x9011: ascii_("-05:00")}, gps=NE)),
    # formats
    "good.tif": GOOD_TIFF,
    "good_be.tif": tiff(B, camera(), gps=gps_ifd(B, [(40, 1), (26, 1), (4650, 100)], [(3, 1), (42, 1), (0, 1)], "N", "W")),
    "raw.dng": tiff(L, {**camera(), 0xC612: byte(1, 4, 0, 0)}, gps=NE),
    "raw.cr2": tiff(L, camera("Canon", "Canon EOS 5D"), gps=NE, header=b"II*\0\x10\0\0\0CR\x02\0\0\0\0\0"),
    "raw.orf": tiff(L, camera("OLYMPUS IMAGING CORP.", "E-M5"), gps=NE, header=b"IIRO\x08\0\0\0"),
    "raw.rw2": tiff(L, camera("Panasonic", "DMC-GH4"), gps=NE, header=b"IIU\0\x08\0\0\0"),
    "raw.cr3": cr3(tiff(L, camera("Canon", "Canon EOS R5")), tiff(L, gps_ifd(L, [(35, 1), (40, 1), (0, 1)], [(139, 1), (45, 1), (0, 1)], "N", "E"))),
    "raw.raf": raf(exif_jpeg(tiff(L, camera("FUJIFILM", "X-T1"), gps=gps_ifd(L, [(48, 1), (51, 1), (0, 1)], [(2, 1), (21, 1), (0, 1)])))),
    "exif.png": pillow_save("PNG", b"Exif\0\0" + GOOD_TIFF),
    "extended.webp": pillow_save("WEBP", b"Exif\0\0" + GOOD_TIFF),
    "extended_noprefix.webp": pillow_save("WEBP", GOOD_TIFF),
    "lossless.webp": pillow_save("WEBP", b"Exif\0\0" + GOOD_TIFF, lossless=True),
    "simple.webp": pillow_save("WEBP"),
    "exif.avif": pillow_save("AVIF", b"Exif\0\0" + GOOD_TIFF),
    "heix.heic": _copy_heic_with_brand(b"heix"),
    "msf1.heic": _copy_heic_with_brand(b"msf1", b"\0\0\0\1"),
    "mif1_minor1.heic": _copy_heic_with_brand(b"mif1", b"\0\0\0\1"),
    "xyz.mp4": mp4_xyz("+37.3349-122.0090+050.000/"),
    "xyz.3gp": mp4_xyz("-33.8568+151.2153/", b"3gp5"),
    "keys.mov": mov_keys(
        {
            "com.apple.quicktime.make": "Apple",
            "com.apple.quicktime.model": "iPhone 12",
            "com.apple.quicktime.location.ISO6709": "+51.5084-000.1275+010.000/",
            "com.apple.quicktime.creationdate": "2021-04-11T15:47:53-0500",
        }
    ),
    "xmp_only.jpg": jpeg_with(b"http://ns.adobe.com/xap/1.0/\0" + xmp_packet("51,30.5083N", "0,7.65W")),
    "xmp_decimal.jpg": jpeg_with(b"Exif\0\0" + tiff(L, camera()), b"http://ns.adobe.com/xap/1.0/\0" + xmp_packet("33.8568S", "151.2153E")),
    "xmp_in_ifd0.tif": tiff(L, {**camera(), 0x02BC: (1, len(xmp_packet("1,30N", "2,15E")), xmp_packet("1,30N", "2,15E"))}),
    "no_gps.jpg": exif_jpeg(tiff(L, camera())),
    "no_exif.jpg": plain_jpeg(),
}

# Written by exiftool into files Pillow made: EXIF as exiftool lays it out.
EXIFTOOL_WRITTEN = {
    "et_simple.webp": ("WEBP", ["-GPSLatitude=12.5", "-GPSLatitudeRef=S", "-GPSLongitude=45.25", "-GPSLongitudeRef=E"]),
    "et.png": ("PNG", ["-GPSLatitude=12.5", "-GPSLatitudeRef=N", "-GPSLongitude=45.25", "-GPSLongitudeRef=W"]),
    "et.tif": ("TIFF", ["-GPSLatitude=1.25", "-GPSLatitudeRef=S", "-GPSLongitude=100.5", "-GPSLongitudeRef=W", "-GPSAltitude=12", "-GPSAltitudeRef=1"]),
    "et.jpg": ("JPEG", ["-GPSLatitude=64.1", "-GPSLatitudeRef=N", "-GPSLongitude=21.9", "-GPSLongitudeRef=W", "-DateTimeOriginal=2020:05:06 07:08:09", "-OffsetTimeOriginal=+02:00"]),
    "et_xmp_only.jpg": ("JPEG", ["-XMP-exif:GPSLatitude=48.8584", "-XMP-exif:GPSLongitude=-2.2945"]),
}

# Edge cases where we deliberately differ from exiftool: it reports these values, we report none.
NO_GPS_BY_DESIGN = {
    "zero_denominator.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(51, 1), (30, 1), (5, 0)], [(1, 1), (0, 1), (0, 1)]))),
    "zero_zero.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(0, 1), (0, 1), (0, 1)], [(0, 1), (0, 1), (0, 1)]))),
    "lat_out_of_range.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(91, 1), (0, 1), (0, 1)], [(1, 1), (0, 1), (0, 1)]))),
    "lon_out_of_range.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(10, 1), (0, 1), (0, 1)], [(181, 1), (0, 1), (0, 1)], "N", "W"))),
    "lat_only.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(10, 1), (0, 1), (0, 1)], None))),
    "all_zero_denominators.jpg": exif_jpeg(tiff(L, gps=gps_ifd(L, [(0, 0), (0, 0), (0, 0)], [(0, 0), (0, 0), (0, 0)]))),
}


@dataclass(frozen=True)
class Reference:
    file_type: str | None
    lat: float | None
    lon: float | None
    altitude: float | None
    taken: str | None
    make: str | None
    model: str | None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> tuple[Path, dict[str, Reference]]:
    """All fixtures in one folder, and exiftool's reading of each (one exiftool run)."""
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is needed as the reference reader: apt-get install libimage-exiftool-perl (make test does)")
    folder = tmp_path_factory.mktemp("formats")
    for name, data in {**FIXTURES, **NO_GPS_BY_DESIGN}.items():
        (folder / name).write_bytes(data)
    for name, (fmt, assignments) in EXIFTOOL_WRITTEN.items():
        (folder / name).write_bytes(pillow_save(fmt))
        exiftool_write(folder / name, *assignments)
    sidecar = folder / "sidecar.jpg"
    sidecar.write_bytes(plain_jpeg())
    (folder / "sidecar.xmp").write_bytes(xmp_packet("33.8568S", "151.2153E"))
    double = folder / "double.JPG"
    double.write_bytes(plain_jpeg())
    (folder / "double.JPG.xmp").write_bytes(xmp_packet("40,26.775N", "3,42.2W"))
    out = subprocess.run(
        ["exiftool", "-n", "-j", "-FileType", "-GPSLatitude", "-GPSLongitude", "-GPSAltitude", "-DateTimeOriginal", "-Make", "-Model", str(folder)],
        capture_output=True,
        check=False,
        text=True,
    )
    refs = {}
    for item in json.loads(out.stdout):
        refs[Path(item["SourceFile"]).name] = Reference(
            item.get("FileType"),
            _number(item.get("GPSLatitude")),
            _number(item.get("GPSLongitude")),
            _number(item.get("GPSAltitude")),
            item.get("DateTimeOriginal"),
            str(item["Make"]) if "Make" in item else None,
            str(item["Model"]) if "Model" in item else None,
        )
    return folder, refs


@pytest.mark.parametrize("name", sorted([*FIXTURES, *EXIFTOOL_WRITTEN]))
def test_location_matches_exiftool(fixtures, name):
    folder, refs = fixtures
    ref = refs[name]
    assert ref.file_type, f"exiftool does not recognise the fixture {name}: fix the builder"
    meta = read_metadata(folder / name)
    if ref.lat is None:
        assert (meta.lat, meta.lon) == (None, None)
    else:
        assert meta.lat == pytest.approx(ref.lat, abs=1e-6)
        assert meta.lon == pytest.approx(ref.lon, abs=1e-6)
        assert meta.gps_origin is not None
    if ref.altitude is not None:
        assert meta.altitude == pytest.approx(ref.altitude, abs=1e-6)
    if ref.make is not None:
        assert meta.make == ref.make.strip()
    if ref.model is not None:
        assert meta.model == ref.model.strip()
    if ref.taken is not None and ref.taken[:4] != "0000":
        assert meta.taken_at is not None
        assert meta.taken_at[:19].replace("-", ":").replace("T", " ") == ref.taken[:19]


def test_fixtures_cover_every_hemisphere(fixtures):
    folder, _ = fixtures
    signs = {name: (read_metadata(folder / name).lat > 0, read_metadata(folder / name).lon > 0) for name in ("ne.jpg", "nw.jpg", "se.jpg", "sw.jpg")}
    assert signs == {"ne.jpg": (True, True), "nw.jpg": (True, False), "se.jpg": (False, True), "sw.jpg": (False, False)}


def test_missing_refs_give_the_unsigned_value_like_exiftool(fixtures):
    folder, refs = fixtures
    assert refs["missing_refs.jpg"].lat == pytest.approx(51.5)  # exiftool -n: positive without a ref
    assert read_metadata(folder / "missing_refs.jpg").lat == pytest.approx(51.5)


@pytest.mark.parametrize("name", sorted(NO_GPS_BY_DESIGN))
def test_impossible_gps_means_no_gps(fixtures, name):
    folder, _ = fixtures
    meta = read_metadata(folder / name)
    assert (meta.lat, meta.lon, meta.gps_origin) == (None, None, None)


def test_where_the_point_came_from(fixtures):
    folder, _ = fixtures
    origins = {name: read_metadata(folder / name).gps_origin for name in ("ne.jpg", "xmp_only.jpg", "sidecar.jpg", "keys.mov", "no_gps.jpg")}
    assert origins == {"ne.jpg": "exif", "xmp_only.jpg": "xmp", "sidecar.jpg": "sidecar", "keys.mov": "quicktime", "no_gps.jpg": None}


@pytest.mark.parametrize(("photo", "sidecar"), [("sidecar.jpg", "sidecar.xmp"), ("double.JPG", "double.JPG.xmp")])
def test_sidecar_matches_exiftool_reading_of_the_sidecar(fixtures, photo, sidecar):
    folder, refs = fixtures
    meta = read_metadata(folder / photo)
    assert refs[photo].lat is None  # the photo itself carries no GPS
    assert (meta.lat, meta.lon) == (pytest.approx(refs[sidecar].lat, abs=1e-6), pytest.approx(refs[sidecar].lon, abs=1e-6))
    assert meta.gps_origin == "sidecar"


def test_offset_time_and_stripped_camera(fixtures):
    folder, _ = fixtures
    meta = read_metadata(folder / "dates.jpg")
    assert meta.taken_at == "2021-04-11T15:47:53-05:00"
    assert (meta.make, meta.model) == ("Padded Make", "Model")
    assert read_metadata(folder / "keys.mov").taken_at == "2021-04-11T15:47:53-05:00"
    assert read_metadata(folder / "xmp_only.jpg").taken_at == "2020-01-02T03:04:05+01:00"


def test_exif_gps_wins_over_sidecar(tmp_path):
    (tmp_path / "a.jpg").write_bytes(FIXTURES["ne.jpg"])
    (tmp_path / "a.xmp").write_bytes(xmp_packet("10,0N", "10,0E"))
    assert read_metadata(tmp_path / "a.jpg").lat == pytest.approx(51 + 30 / 60 + 30.5 / 3600)


def test_invalid_date_is_none(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(exif_jpeg(tiff(L, {0x0132: ascii_("0000:00:00 00:00:00")}, exif={0x9003: ascii_("0000:00:00 00:00:00")})))
    assert read_metadata(path).taken_at is None


# ---------------------------------------------------------------------------------------------
# Errors: one-line UnreadableImage, never another exception, never a hang

CORRUPT = {
    "empty.jpg": (b"", "file is empty"),
    "zip.jpg": (b"PK\x03\x04" + b"\0" * 100, "not a supported image or video (starts with b'PK\\x03\\x04')"),
    "text.heic": (b"hello world, not a photo\n", "not a supported image or video"),
    "soi_only.jpg": (b"\xff\xd8\xff", "truncated JPEG"),
    "cut_header.jpg": (exif_jpeg(tiff(L, camera(), gps=NE))[:3] + b"\x01", "truncated JPEG"),
    "garbage_after_soi.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\0\1\1\0\0\1\0\1\0\0" + b"\x12\x34" * 50, "corrupt JPEG"),
    "bad_box.heic": (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0\0\0\x04meta", "corrupt ISO-BMFF box 'meta'"),
    "png_no_ihdr.png": (b"\x89PNG\r\n\x1a\n\0\0\0\0IDAT\0\0\0\0", "corrupt PNG"),
    "png_cut.png": (b"\x89PNG\r\n\x1a\n\0\0", "truncated PNG"),
    "webp_cut.webp": (b"RIFF\x04\0\0\0WEBP", "truncated WebP"),
    "raf_cut.raf": (b"FUJIFILMCCD-RAW 0201FF39", "truncated RAF"),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_files_raise_unreadable_image(tmp_path, name):
    data, reason = CORRUPT[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnreadableImage) as caught:
        read_metadata(path)
    message = str(caught.value)
    assert reason in message and "\n" not in message


@pytest.mark.timeout(20)
def test_not_a_file(tmp_path):
    with pytest.raises(UnreadableImage, match=r"not a regular file \(a folder\)"):
        read_metadata(tmp_path)
    with pytest.raises(UnreadableImage, match="no such file"):
        read_metadata(tmp_path / "missing.jpg")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableImage, match=r"not a regular file \(a FIFO\)"):
        read_metadata(fifo)  # must not block waiting for a writer (test_metadata_bounds.py runs it in a process)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path):
    path = tmp_path / "secret.jpg"
    path.write_bytes(FIXTURES["ne.jpg"])
    path.chmod(0)
    with pytest.raises(UnreadableImage, match="permission denied"):
        read_metadata(path)


@pytest.mark.timeout(20)
def test_pathological_ifds_end_quickly(tmp_path):
    """IFD loops, huge entry and value counts, pointers past the end: no hang, no crash."""
    order = "<"
    loop = bytearray(tiff(order, camera(), gps=NE))
    loop[8 + 2 + 12 * 3 : 8 + 2 + 12 * 3 + 4] = struct.pack("<I", 8)  # next-IFD pointer back to IFD0
    huge_count = b"II*\0\x08\0\0\0" + struct.pack("<H", 2) + struct.pack("<HHII", 0x010F, 2, 0x7FFFFFFF, 40) + struct.pack("<HHII", 0x8825, 4, 1, 8) + b"\0" * 40
    many_entries = b"II*\0\x08\0\0\0" + struct.pack("<H", 0xFFFF) + struct.pack("<HHII", 0x8825, 4, 1, 8) * 3000
    past_end = b"II*\0\xff\xff\xff\x7f"
    cases = {"loop.tif": bytes(loop), "huge.tif": huge_count, "many.tif": many_entries, "past.tif": past_end}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(exif_jpeg(data) if name != "past.tif" else data)
        with contextlib.suppress(UnreadableImage):
            read_metadata(path)


@pytest.mark.timeout(20)
def test_xmp_entities_are_not_expanded(tmp_path):
    """No XXE and no entity expansion: a sidecar with a DTD is ignored, not followed."""
    secret = tmp_path / "secret.txt"
    secret.write_text("51,30N")
    evil = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY lat SYSTEM "file://{secret}"><!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/"><exif:GPSLatitude>&lat;</exif:GPSLatitude>'
        "<exif:GPSLongitude>0,7W</exif:GPSLongitude></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    (tmp_path / "p.jpg").write_bytes(plain_jpeg())
    (tmp_path / "p.xmp").write_text(evil)
    meta = read_metadata(tmp_path / "p.jpg")
    assert (meta.lat, meta.lon) == (None, None)


def test_broken_xmp_is_no_gps_not_an_error(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_with(b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:RDF unclosed</x:xmpmeta>"))
    assert read_metadata(path).lat is None


@pytest.mark.timeout(60)
def test_truncated_and_mangled_files_never_crash(tmp_path):
    """Every fixture cut at many lengths and with bytes overwritten (seeded): each read ends in a
    PhotoMetadata or an UnreadableImage, nothing else, and quickly."""
    import random

    rng = random.Random(20261124)
    path = tmp_path / "mangled"
    for name, data in sorted({**FIXTURES, **NO_GPS_BY_DESIGN}.items()):
        variants = [data[:cut] for cut in sorted({1, 2, 3, 4, 8, 12, 16, 24, 32, 64, 100, 200, len(data) // 2, len(data) - 1})]
        for _ in range(12):
            mangled = bytearray(data)
            for _ in range(8):
                at = rng.randrange(2, len(mangled))  # keep the magic so the format's reader runs
                mangled[at] = rng.randrange(256)
            variants.append(bytes(mangled))
        for variant in variants:
            path.write_bytes(variant)
            try:
                read_metadata(path)
            except UnreadableImage as exc:
                assert "\n" not in str(exc), (name, str(exc))
