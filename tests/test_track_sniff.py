"""Telling a track from a photo cheaply: a photo's or video's signature is never a track, whatever
follows it; other files are judged on a bounded prefix (64 KiB)."""

from __future__ import annotations

from functools import reduce
from operator import xor
from pathlib import Path

import pytest
from photos import GPS_JPEGS, copy_corpus

from geolocator.locate.tracks.model import TrackFormat
from geolocator.locate.tracks.parse import HEAD_BYTES, is_media, sniff, track_format


def nmea(body: str) -> str:
    return f"${body}*{reduce(xor, body.encode(), 0):02X}"


NMEA = ("\r\n".join(nmea(f"GPRMC,1000{s:02d}.00,A,4851.0000,N,00217.4000,E,0.0,0.0,010624,,,A") for s in range(5)) + "\r\n").encode()
SIGNATURES = {
    "JPEG": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "PNG": b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    "TIFF": b"II*\x00\x08\x00\x00\x00",
    "HEIC": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    "ISO-BMFF of an unknown brand": b"\x00\x00\x00\x14ftypzzzz\x00\x00\x00\x00zzzz",
    "WebP": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    "AVI": b"RIFF\x00\x10\x00\x00AVI LIST",
    "JPEG XL": b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl ",
    "GIF": b"GIF89a\x01\x00\x01\x00",
    "Matroska": b"\x1aE\xdf\xa3\x9fB\x86\x81\x01",
}


def test_nmea_lines_after_a_media_signature_are_not_a_track(tmp_path: Path) -> None:
    assert sniff(NMEA) is TrackFormat.NMEA  # the same lines alone are one
    for kind, signature in SIGNATURES.items():
        head = signature + b"\n" + NMEA
        assert is_media(head), kind
        assert sniff(head) is None, kind
        path = tmp_path / "x.bin"
        path.write_bytes(head)
        assert track_format(path) is None, kind


@pytest.mark.parametrize("kind", ["gpx", "json", "kml"])
def test_text_formats_are_not_taken_for_media(tmp_path: Path, kind: str) -> None:
    text = {
        "gpx": b'<?xml version="1.0"?><gpx version="1.1"><trk/></gpx>',
        "json": b'{"locations": []}',
        "kml": b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
    }[kind]
    assert not is_media(text)
    assert sniff(text) is not None


def test_a_real_photo_is_no_track(tmp_path: Path, corpus) -> None:
    photo = copy_corpus(GPS_JPEGS[0], tmp_path / "a.gpx")  # named like a track: the content decides
    assert track_format(photo) is None


def test_only_a_bounded_prefix_is_read(tmp_path: Path) -> None:
    within = tmp_path / "within.log"
    within.write_bytes(b"x" * (HEAD_BYTES - len(NMEA) - 2) + b"\n" + NMEA)
    assert track_format(within) is TrackFormat.NMEA
    beyond = tmp_path / "beyond.log"
    beyond.write_bytes(b"x" * HEAD_BYTES + b"\n" + NMEA)  # the sentences start past the prefix
    assert track_format(beyond) is None
