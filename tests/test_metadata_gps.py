"""The pure core of metadata reading: GPS maths, hemispheres, validation, dates, sniffing."""

from __future__ import annotations

import math

import pytest

from geolocator.locate.metadata import dates, gps
from geolocator.locate.metadata.formats import Kind, sniff


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ([(51, 1), (30, 1), (3050, 100)], 51 + 30 / 60 + 30.5 / 3600),
        ([(51, 1), (3050, 100)], 51 + 30.5 / 60),  # degrees and decimal minutes
        ([(515, 10)], 51.5),
        ([51, 30, 0], 51.5),  # SHORT/LONG components
        ([51.5, 0.0, 0.0], 51.5),  # FLOAT components
    ],
)
def test_dms_to_degrees(components, expected):
    assert gps.dms_to_degrees(components) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "components",
    [[], [(1, 1)] * 4, [(51, 1), (30, 0), (0, 1)], [(51, 0)], [math.nan, 0, 0], [math.inf, 0, 0], ["51", 0, 0], [(1, 2, 3)], [(10**400, 1)], [("1", 1)], [True, 0, 0]],
)
def test_unusable_components_give_none(components):
    assert gps.dms_to_degrees(components) is None


@pytest.mark.parametrize(
    ("ref", "negative", "expected"),
    [("N", "S", 10.0), ("S", "S", -10.0), ("s", "S", -10.0), ("S ", "S", -10.0), ("E", "W", 10.0), ("W", "W", -10.0), (None, "S", 10.0), ("", "W", 10.0), ("X", "S", 10.0)],
)
def test_apply_ref_follows_exiftool(ref, negative, expected):
    # A missing or unknown reference leaves the stored (unsigned) value: what exiftool -n reports.
    assert gps.apply_ref(10.0, ref, negative) == expected


@pytest.mark.parametrize(
    ("lat", "lon", "ok"),
    [
        (51.5, -0.12, True),
        (-33.9, 151.2, True),
        (90.0, 180.0, True),
        (0.0, 0.0, False),  # no fix
        (0.0, 10.0, True),
        (90.01, 0.5, False),
        (10.0, -180.5, False),
        (math.nan, 1.0, False),
        (1.0, math.inf, False),
        (None, 1.0, False),
    ],
)
def test_valid_point(lat, lon, ok):
    assert (gps.valid_point(lat, lon) is not None) is ok


def test_signed_altitude():
    assert gps.signed_altitude(12.5, 0) == 12.5
    assert gps.signed_altitude(12.5, 1) == -12.5
    assert gps.signed_altitude(12.5, None) == 12.5
    assert gps.signed_altitude(None, 1) is None
    assert gps.signed_altitude(math.nan, 0) is None


@pytest.mark.parametrize(
    ("text", "negative", "expected"),
    [
        ("51,30.5N", "S", 51 + 30.5 / 60),
        ("51,30,30S", "S", -(51 + 30 / 60 + 30 / 3600)),
        ("0,7.65W", "W", -(7.65 / 60)),
        ("51.5083N", "S", 51.5083),
        ("33.8568S", "S", -33.8568),
        ("-0.1275", "W", -0.1275),
        ("garbage", "S", None),
        ("", "S", None),
        (None, "S", None),
    ],
)
def test_parse_xmp_coordinate(text, negative, expected):
    result = gps.parse_xmp_coordinate(text, negative)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+37.3349-122.0090+050.000/", (37.3349, -122.009, 50.0)),
        ("-33.8568+151.2153/", (-33.8568, 151.2153, None)),
        ("+40.4470-003.7248+639.588/", (40.447, -3.7248, 639.588)),
        ("+4026.82-00343.49/", (40 + 26.82 / 60, -(3 + 43.49 / 60), None)),  # DDMM.mm form
        ("+402649-0034329/", (40 + 26 / 60 + 49 / 3600, -(3 + 43 / 60 + 29 / 3600), None)),  # DDMMSS form
        ("37.3349,-122.0090", None),
        ("", None),
    ],
)
def test_parse_iso6709(text, expected):
    result = gps.parse_iso6709(text)
    if expected is None:
        assert result is None
        return
    assert result is not None
    assert result[:2] == pytest.approx(expected[:2])
    assert result[2] == (pytest.approx(expected[2]) if expected[2] is not None else None)


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("2021:04:11 15:47:53", "-05:00", "2021-04-11T15:47:53-05:00"),
        ("2021:04:11 15:47:53", None, "2021-04-11T15:47:53"),
        ("2021:04:11 15:47:53", "+0530", "2021-04-11T15:47:53+05:30"),
        ("2021:04:11 15:47:53", "   :  ", "2021-04-11T15:47:53"),
        ("2013:07:05 03:18:27Z", None, "2013-07-05T03:18:27+00:00"),
        ("2020-01-02T03:04:05+01:00", None, "2020-01-02T03:04:05+01:00"),
        ("2020-01-02T03:04:05.123-0800", None, "2020-01-02T03:04:05-08:00"),
        ("0000:00:00 00:00:00", None, None),
        ("    :  :     :  :  ", None, None),
        ("2021:02:30 10:00:00", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_iso_datetime(text, offset, expected):
    assert dates.iso_datetime(text, offset) == expected


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe1", Kind.JPEG),
        (b"II*\0\x08\0\0\0", Kind.TIFF),
        (b"MM\0*\0\0\0\x08", Kind.TIFF),
        (b"IIRO\x08\0\0\0", Kind.TIFF),  # Olympus ORF
        (b"IIU\0\x18\0\0\0", Kind.TIFF),  # Panasonic RW2
        (b"II*\0\x10\0\0\0CR\x02\0", Kind.TIFF),  # Canon CR2
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Kind.PNG),
        (b"RIFF\0\0\0\0WEBPVP8 ", Kind.WEBP),
        (b"FUJIFILMCCD-RAW 0201", Kind.RAF),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", Kind.HEIF),
        (b"\0\0\0\x18ftypheix\0\0\0\0mif1heix", Kind.HEIF),
        (b"\0\0\0\x18ftypavif\0\0\0\0avifmif1", Kind.HEIF),
        (b"\0\0\0\x18ftypavis\0\0\0\0avismsf1", Kind.HEIF),
        (b"\0\0\0\x18ftypcrx \0\0\0\1crx isom", Kind.CR3),
        (b"\0\0\0\x18ftypisom\0\0\2\0isommp41", Kind.QUICKTIME),
        (b"\0\0\0\x14ftypqt  \0\0\2\0qt  ", Kind.QUICKTIME),
        (b"\0\0\0\x18ftyp3gp5\0\0\0\0isom3gp5", Kind.QUICKTIME),
        (b"\0\0\0\x08wide\0\0\0\x10mdat", Kind.QUICKTIME),
        (b"\0\0\0\x0cJXL \r\n\x87\n", Kind.JXL),
        (b"PK\x03\x04", None),
        (b"%PDF-1.4", None),
        (b"II\x1a\0\0\0HEAPCCDR", None),  # Canon CRW: not read
        (b"GIF89a", None),
        (b"\xff\xd8", None),  # too short to be a JPEG
    ],
)
def test_sniff_by_magic(head, kind):
    assert sniff(head) is kind


def test_overflowing_sidecar_altitude_is_no_altitude_not_a_crash(tmp_path):
    """A 400-digit XMP rational is too big for a float: no altitude, the position still read."""
    from PIL import Image

    from geolocator.locate.metadata import read_metadata

    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg", "JPEG")
    (tmp_path / "a.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="10,30N" exif:GPSLongitude="20,15E"'
        f' exif:GPSAltitude="{10**400}/1"/></rdf:RDF></x:xmpmeta>'
    )
    meta = read_metadata(tmp_path / "a.jpg")
    assert (meta.lat, meta.lon, meta.altitude) == (10.5, 20.25, None)
