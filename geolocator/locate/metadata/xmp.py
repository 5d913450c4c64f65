"""XMP: packets embedded in a file, and NAME.xmp / NAME.EXT.xmp sidecars next to it.

Parsed with defusedxml (no DTDs, no entity expansion, no external entities: no XXE).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from geolocator.fileio import open_regular
from geolocator.locate.metadata import dates, gps
from geolocator.locate.metadata.exif import ExifFields
from geolocator.locate.metadata.layout import Span
from geolocator.record import SidecarPacket

log = logging.getLogger(__name__)

MAX_PACKET = 8 << 20
MAX_ERROR_M = 40_075_000.0  # a positioning error beyond Earth's circumference says nothing
_EXIF = "{http://ns.adobe.com/exif/1.0/}"
_TIFF = "{http://ns.adobe.com/tiff/1.0/}"
_XMP = "{http://ns.adobe.com/xap/1.0/}"
_PHOTOSHOP = "{http://ns.adobe.com/photoshop/1.0/}"
_EXIF_EX = "{http://cipa.jp/exif/1.0/}"  # EXIF 2.3 in XMP: exifEX:BodySerialNumber
_AUX = "{http://ns.adobe.com/exif/1.0/aux/}"  # Adobe's: aux:SerialNumber
_WANTED = {
    _EXIF + "GPSLatitude", _EXIF + "GPSLongitude", _EXIF + "GPSAltitude", _EXIF + "GPSAltitudeRef",
    _EXIF + "GPSTimeStamp", _EXIF + "GPSHPositioningError", _EXIF + "DateTimeOriginal", _PHOTOSHOP + "DateCreated", _XMP + "CreateDate", _TIFF + "Make", _TIFF + "Model",
    _EXIF_EX + "BodySerialNumber", _AUX + "SerialNumber",
}  # fmt: skip


def packet(data: bytes) -> bytes | None:
    """The <x:xmpmeta>...</x:xmpmeta> (or bare <rdf:RDF>) element within `data`, if any."""
    for opening, closing in ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<x:xapmeta", b"</x:xapmeta>"), (b"<rdf:RDF", b"</rdf:RDF>")):
        start = data.find(opening)
        if start >= 0:
            end = data.find(closing, start)
            return data[start : end + len(closing)] if end >= 0 else None
    return None


def properties(data: bytes, wanted: Callable[[str], bool] = _WANTED.__contains__) -> dict[str, str]:
    """The `wanted` properties (by default the ones we read) of an XMP packet, whether written as
    attributes or elements; the first value of each."""
    element = packet(data)
    if element is None:
        return {}
    # Imported here: most photos are placed by their EXIF and never need an XML parser.
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        root = SafeET.fromstring(element, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        log.debug("unparsable XMP packet: %s", exc)
        return {}
    found: dict[str, str] = {}
    for node in root.iter():
        for name, value in node.attrib.items():
            if wanted(name):
                found.setdefault(name, value)
        if isinstance(node.tag, str) and wanted(node.tag):  # comments and PIs have no str tag
            # the first text within: <exif:GPSLatitude><rdf:Alt><rdf:li>...</rdf:li></rdf:Alt></...> forms too
            text = next((t.strip() for t in node.itertext() if t.strip()), "")
            if text:
                found.setdefault(node.tag, text)
    return found


def _rational(text: str | None) -> float | None:
    if not text:
        return None
    num, _, den = text.partition("/")
    try:
        return gps.component_value((int(num), int(den)) if den else float(num))
    except ValueError:
        return None


def fields_from_properties(props: dict[str, str]) -> ExifFields:
    """Pure: XMP properties to lat/lon/altitude/time/camera."""
    point = gps.valid_point(
        gps.parse_xmp_coordinate(props.get(_EXIF + "GPSLatitude"), "S"),
        gps.parse_xmp_coordinate(props.get(_EXIF + "GPSLongitude"), "W"),
    )
    ref = props.get(_EXIF + "GPSAltitudeRef", "").strip()
    altitude = gps.signed_altitude(_rational(props.get(_EXIF + "GPSAltitude")), 1 if ref == "1" else 0)
    taken = next(
        (iso for key in (_EXIF + "DateTimeOriginal", _PHOTOSHOP + "DateCreated", _XMP + "CreateDate") if (iso := dates.iso_datetime(props.get(key)))),
        None,
    )
    make, model = (props.get(_TIFF + "Make") or "").strip(), (props.get(_TIFF + "Model") or "").strip()
    return ExifFields(
        lat=point[0] if point else None,
        lon=point[1] if point else None,
        altitude=altitude,
        taken_at=taken,
        make=make or None,
        model=model or None,
        serial=(props.get(_EXIF_EX + "BodySerialNumber") or props.get(_AUX + "SerialNumber") or "").strip() or None,
        gps_utc=_gps_time(props.get(_EXIF + "GPSTimeStamp")),
        gps_error_m=_positioning_error(props.get(_EXIF + "GPSHPositioningError")) if point else None,
    )


def _positioning_error(text: str | None) -> float | None:
    """exif:GPSHPositioningError, metres as a rational ("25000/1"); None unless within Earth's circumference."""
    metres = _rational(text)
    return metres if metres is not None and 0 <= metres <= MAX_ERROR_M else None


def _gps_time(text: str | None) -> datetime | None:
    """exif:GPSTimeStamp, an ISO 8601 date and time in UTC (a zone, when written, is honoured)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_embedded(fh: BinaryIO, packets: list[Span | bytes]) -> ExifFields | None:
    """The first embedded packet that gives a location, else the first that parses, else None."""
    first: ExifFields | None = None
    for where in packets:
        if isinstance(where, Span):
            fh.seek(where.offset)
            data = fh.read(max(0, min(where.length, MAX_PACKET)))
        else:
            data = where
        props = properties(data)
        if not props:
            continue
        fields = fields_from_properties(props)
        if fields.lat is not None:
            return fields
        first = first or fields
    return first


def sidecar_paths(path: Path) -> list[Path]:
    """NAME.xmp and NAME.EXT.xmp (either case) next to `path`, as darktable, Lightroom,
    digiKam and exiftool write them."""
    name = path.name
    stem = name[: len(name) - len(path.suffix)]  # as with_suffix() replaces, in string work (it is asked for every photo)
    parent = path.parent
    return [parent / other for other in dict.fromkeys((stem + ".xmp", stem + ".XMP", name + ".xmp", name + ".XMP")) if other != name]


def read_sidecar(path: Path) -> tuple[ExifFields, SidecarPacket] | None:
    """The fields of the first sidecar that exists and parses, and its packet (read once: who wrote
    it is judged from the same bytes); unreadable sidecars are skipped, not errors."""
    for candidate in sidecar_paths(path):
        try:
            with open_regular(candidate) as fh:  # a FIFO named NAME.xmp must not block
                if not os.fstat(fh.fileno()).st_size:
                    continue
                data = fh.read(MAX_PACKET)
        except OSError:
            continue
        props = properties(data)
        if props:
            return fields_from_properties(props), SidecarPacket(candidate.name, data)
    return None
