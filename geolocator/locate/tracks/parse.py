"""Reading a track file: what format it holds (from its content, not its name), then its points.

`track_format(path)` answers cheaply from the first bytes, so the pipeline can tell a track
from a photo: a file that starts with a photo's or a video's signature is answered from its
first 64 bytes, anything else from at most 64 KiB. No parser library (ijson, gpxpy, pynmea2,
defusedxml) is imported until a file looks like a track. `read_track(path)` reads it whole into
a `TrackFile` or raises a `TrackError` whose message says what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from geolocator.fileio import open_regular
from geolocator.locate.metadata.formats import HEAD_SIZE
from geolocator.locate.metadata.formats import sniff as media_kind
from geolocator.locate.tracks.model import NotATrack, PointBudget, TrackError, TrackFile, TrackFormat, TrackLimits, TrackTooBig
from geolocator.locate.tracks.nmea import SENTENCE

HEAD_BYTES = 64 * 1024
DEFAULT_LIMITS = TrackLimits()
_XML_ROOTS = {b"gpx": TrackFormat.GPX, b"kml": TrackFormat.KML}
# Containers of photos, video and sound that metadata.formats does not read: never a track either.
_OTHER_MEDIA = (b"RIFF", b"GIF87a", b"GIF89a", b"\x1aE\xdf\xa3", b"8BPS", b"OggS", b"fLaC", b"ID3")


def is_media(head: bytes) -> bool:
    """Whether the first bytes are a photo's or a video's signature (JPEG, TIFF and the raws,
    PNG, WebP and other RIFF, JPEG XL, RAF, any ISO-BMFF or QuickTime, GIF, Matroska...)."""
    return media_kind(head[:HEAD_SIZE]) is not None or head[4:8] == b"ftyp" or head.startswith(_OTHER_MEDIA)


def sniff(head: bytes) -> TrackFormat | None:
    """The track format of a file from its first bytes, or None when it is none we know."""
    if is_media(head):
        return None
    if head.startswith(b"PK\x03\x04"):
        return TrackFormat.KMZ if b".kml" in head.lower() else None  # see _sniff_open
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return _xml_root(text)
    if text[:1] in (b"{", b"["):
        from geolocator.locate.tracks.jsontracks import sniff_json  # ijson: only for what looks like JSON

        return sniff_json(text)
    return TrackFormat.NMEA if any(SENTENCE.match(line) for line in text.splitlines()[:20]) else None


def _xml_root(text: bytes) -> TrackFormat | None:
    """The first element that is not a declaration, comment or processing instruction."""
    at = 0
    while (at := text.find(b"<", at)) >= 0:
        if text.startswith((b"<?", b"<!"), at):
            at += 2
            continue
        name = text[at + 1 : at + 64].split(maxsplit=1)[0].rstrip(b">/").rpartition(b":")[2] if text[at + 1 : at + 64].strip() else b""
        return _XML_ROOTS.get(name)
    return None


def track_format(path: str | Path) -> TrackFormat | None:
    """The track format of the file at `path` by its content, or None (a photo, a .json of
    something else...). Reads at most 64 KiB."""
    with open_regular(path) as fh:
        return _sniff_open(fh)


def _sniff_open(fh: BinaryIO) -> TrackFormat | None:
    """`sniff` on the head (a photo or video: on its first bytes only); a zip whose first
    entries are not KML is asked its directory."""
    head = fh.read(HEAD_SIZE)
    if is_media(head):
        return None
    head += fh.read(HEAD_BYTES - len(head))
    found = sniff(head)
    if found is None and head.startswith(b"PK\x03\x04"):
        from geolocator.locate.tracks.xmltracks import kml_in_zip

        return TrackFormat.KMZ if kml_in_zip(fh) else None
    return found


def read_track(path: str | Path, limits: TrackLimits = DEFAULT_LIMITS) -> TrackFile:
    """All the tracks in the file at `path`. Raises NotATrack when its content is no track
    format, TrackTooBig past `limits`, TrackError (with the reason) when it is malformed."""
    budget = PointBudget(limits.max_points)
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        fmt = _sniff_open(fh)
        if fmt is None:
            raise NotATrack(f"{Path(path).name}: not a track (no GPX, KML, KMZ, NMEA, GeoJSON or Takeout content)")
        if size > limits.max_bytes:
            raise TrackTooBig(f"{Path(path).name}: {size:,} bytes, more than the {limits.max_bytes:,} a track may have")
        fh.seek(0)
        from geolocator.locate.tracks.jsontracks import read_json  # the parser libraries, now that they are needed
        from geolocator.locate.tracks.nmea import read_nmea
        from geolocator.locate.tracks.xmltracks import read_gpx, read_kml, read_kmz

        try:
            match fmt:
                case TrackFormat.GPX:
                    tracks = read_gpx(fh, size, budget, limits.max_dom_bytes)
                case TrackFormat.KML:
                    tracks = read_kml(fh, budget)
                case TrackFormat.KMZ:
                    tracks = read_kmz(fh, budget, limits.max_bytes)
                case TrackFormat.NMEA:
                    tracks = read_nmea(fh, budget)
                case _:
                    tracks = read_json(fh, fmt, budget)
        except TrackError as exc:
            raise type(exc)(f"{Path(path).name}: {exc}") from None
    return TrackFile(fmt, tracks)
