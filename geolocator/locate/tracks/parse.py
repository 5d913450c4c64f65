"""Reading a track file: what format it holds (from its content, not its name), then its points.

`track_format(path)` answers cheaply from the first bytes, so the pipeline can tell a track
from a photo: a file that starts with a photo's or a video's signature is answered from its
first 64 bytes, anything else from at most 64 KiB, whatever comes first (a BOM, white space,
comments, a DTD, other NMEA sentences). No parser library (ijson, numpy, pynmea2, defusedxml,
fitdecode) is imported until a file looks like a track. `read_track(path)` reads it into a
`TrackFile` or raises a `TrackError` whose message says what is wrong.

A file whose content is none of these but whose name says it is a track (`walk.gpx`) is taken
as that format, so that it is failed as a track that cannot be read, with the reason, rather
than as a photo.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO

from geolocator.fileio import open_regular
from geolocator.locate.metadata.formats import HEAD_SIZE
from geolocator.locate.metadata.formats import sniff as media_kind
from geolocator.locate.tracks.fit import is_fit
from geolocator.locate.tracks.igc import A_RECORD, H_OR_B_RECORD
from geolocator.locate.tracks.model import NotATrack, PointBudget, TrackError, TrackFile, TrackFormat, TrackLimits, TrackTooBig
from geolocator.locate.tracks.nmea import FIX_SENTENCE

HEAD_BYTES = 64 * 1024
DEFAULT_LIMITS = TrackLimits()
TRACK_FORMATS = "GPX, KML, KMZ, TCX, FIT, IGC, NMEA, GeoJSON or Google Takeout"
_XML_ROOTS = {b"gpx": TrackFormat.GPX, b"kml": TrackFormat.KML, b"TrainingCenterDatabase": TrackFormat.TCX}
_BY_SUFFIX = {".gpx": TrackFormat.GPX, ".kml": TrackFormat.KML, ".kmz": TrackFormat.KMZ, ".tcx": TrackFormat.TCX, ".fit": TrackFormat.FIT, ".igc": TrackFormat.IGC, ".nmea": TrackFormat.NMEA}
# Containers of photos, video and sound that metadata.formats does not read: never a track either.
_OTHER_MEDIA = (b"RIFF", b"GIF87a", b"GIF89a", b"\x1aE\xdf\xa3", b"8BPS", b"OggS", b"fLaC", b"ID3")
_XML_SKIPPED = ((b"<?", b"?>"), (b"<!--", b"-->"))
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+(?:[\w.-]+:)?([\w.-]+)")
_XML_NAME = re.compile(rb"<(?:[\w.-]+:)?([\w.-]+)")


def is_media(head: bytes) -> bool:
    """Whether the first bytes are a photo's or a video's signature (JPEG, TIFF and the raws,
    PNG, WebP and other RIFF, JPEG XL, RAF, any ISO-BMFF or QuickTime, GIF, Matroska...)."""
    return media_kind(head[:HEAD_SIZE]) is not None or head[4:8] == b"ftyp" or head.startswith(_OTHER_MEDIA)


def sniff(head: bytes) -> TrackFormat | None:
    """The track format of a file from its first bytes, or None when it is none we know.
    Raises TrackError when it looks like JSON whose shape no parser should read."""
    if is_media(head):
        return None
    if is_fit(head):
        return TrackFormat.FIT
    if head.startswith(b"PK\x03\x04"):
        return TrackFormat.KMZ if b".kml" in head.lower() else None  # see _sniff_open
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return _xml_root(text)
    if text[:1] in (b"{", b"["):
        from geolocator.locate.tracks.jsontracks import sniff_json  # ijson: only for what looks like JSON

        return sniff_json(text)
    if A_RECORD.match(text) and H_OR_B_RECORD.search(text):
        return TrackFormat.IGC
    return TrackFormat.NMEA if any(FIX_SENTENCE.search(line) for line in text.splitlines()) else None


def _xml_root(text: bytes) -> TrackFormat | None:
    """The root element: the first that is not a declaration, comment or processing instruction,
    or the name a DOCTYPE gives it (a DTD is refused when the file is read)."""
    at = 0
    while (at := text.find(b"<", at)) >= 0:
        skipped = next(((opening, closing) for opening, closing in _XML_SKIPPED if text.startswith(opening, at)), None)
        if skipped is not None:
            end = text.find(skipped[1], at + len(skipped[0]))
            if end < 0:
                return None
            at = end + len(skipped[1])
            continue
        found = _DOCTYPE.match(text, at) or _XML_NAME.match(text, at)
        return _XML_ROOTS.get(found.group(1)) if found else None
    return None


def track_format(path: str | Path) -> TrackFormat | None:
    """The track format of the file at `path` by its content (else by a track's name, see the
    module), or None (a photo, a .json of something else...). Reads at most 64 KiB. Raises
    TrackError when the head is a track's that no parser should read (JSON nested thousands deep)."""
    with open_regular(path) as fh:
        return _sniff_open(fh, Path(path).suffix.lower())


def _sniff_open(fh: BinaryIO, suffix: str) -> TrackFormat | None:
    """`sniff` on the head (a photo or video: on its first bytes only); a zip whose first
    entries are not KML is asked its directory."""
    head = fh.read(HEAD_SIZE)
    if is_media(head):
        return None
    head += fh.read(HEAD_BYTES - len(head))
    found = sniff(head)
    if found is None and head.startswith(b"PK\x03\x04"):
        from geolocator.locate.tracks.xmltracks import kml_in_zip

        found = TrackFormat.KMZ if kml_in_zip(fh) else None
    return found if found is not None else _BY_SUFFIX.get(suffix)


def read_track(path: str | Path, limits: TrackLimits = DEFAULT_LIMITS) -> TrackFile:
    """All the tracks in the file at `path`. Raises NotATrack when its content is no track
    format, TrackTooBig past `limits`, TrackError (with the reason) when it is malformed. The
    messages start with the file's name."""
    name = Path(path).name
    try:
        with open_regular(path) as fh:
            return _read(fh, name, limits)
    except TrackError as exc:
        raise type(exc)(f"{name}: {exc}") from None


def _read(fh: BinaryIO, name: str, limits: TrackLimits) -> TrackFile:
    size = os.fstat(fh.fileno()).st_size
    fmt = _sniff_open(fh, Path(name).suffix.lower())
    if fmt is None:
        raise NotATrack(f"not a track (no {TRACK_FORMATS} content)")
    if size > limits.max_bytes:
        raise TrackTooBig(f"{size:,} bytes, more than the {limits.max_bytes:,} a track may have (raise [location] track_max_mb to read it)")
    fh.seek(0)
    budget = PointBudget(limits.max_points)
    # The parser libraries, now that they are needed.
    from geolocator.locate.tracks.fit import read_fit
    from geolocator.locate.tracks.igc import read_igc
    from geolocator.locate.tracks.jsontracks import read_json
    from geolocator.locate.tracks.nmea import read_nmea
    from geolocator.locate.tracks.xmltracks import read_gpx, read_kml, read_kmz, read_tcx

    match fmt:
        case TrackFormat.GPX:
            tracks = read_gpx(fh, budget)
        case TrackFormat.KML:
            tracks = read_kml(fh, budget)
        case TrackFormat.KMZ:
            tracks = read_kmz(fh, budget, limits.max_bytes)
        case TrackFormat.TCX:
            tracks = read_tcx(fh, budget)
        case TrackFormat.FIT:
            tracks = read_fit(fh, budget)
        case TrackFormat.IGC:
            tracks = read_igc(fh, budget)
        case TrackFormat.NMEA:
            tracks = read_nmea(fh, budget)
        case _:
            tracks = read_json(fh, fmt, budget)
    return TrackFile(fmt, tracks)
