"""Decoding the TIFF blocks a container holds, with exifread, into plain values.

exifread's ExifHeader decodes each field (types, byte order, rationals). We walk the IFDs
ourselves so that only the ~15 tags we use are decoded: no MakerNotes, thumbnails or
strip tables, which is both the speed and the guard against pathological files (huge counts,
IFD loops), since every IFD is visited at most once and every entry count is bounded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from exifread.core.exif_header import ExifHeader

from geolocator.locate.metadata import dates, gps
from geolocator.locate.metadata.layout import MAX_PACKETS, Role, Span, TiffBlock

MAX_ENTRIES = 1000  # entries per IFD; real files have < 100
MAX_COUNT = 4096  # values per tag we decode; ours have at most a few dozen
WINDOW = 1 << 16  # bytes after a TIFF header read at once: a JPEG's EXIF segment is at most 64 KiB

# (IFD name, tag) -> our name. Pointer tags are followed, not decoded as values.
# The body's serial number: EXIF 2.3's BodySerialNumber, else DNG's CameraSerialNumber (never a
# MakerNote's: those are vendor formats we do not decode).
_IFD0_TAGS = {0x010F: "Make", 0x0110: "Model", 0x0132: "DateTime", 0xC62F: "CameraSerialNumber"}
_EXIF_TAGS = {
    0x9003: "DateTimeOriginal", 0x9004: "CreateDate", 0x9010: "OffsetTime", 0x9011: "OffsetTimeOriginal", 0x9012: "OffsetTimeDigitized",
    0xA431: "BodySerialNumber",
}  # fmt: skip
_GPS_TAGS = {
    0x0001: "GPSLatitudeRef", 0x0002: "GPSLatitude", 0x0003: "GPSLongitudeRef", 0x0004: "GPSLongitude",
    0x0005: "GPSAltitudeRef", 0x0006: "GPSAltitude", 0x0007: "GPSTimeStamp", 0x001D: "GPSDateStamp",
}  # fmt: skip
_WANTED = {Role.IFD0: _IFD0_TAGS, Role.EXIF: _EXIF_TAGS, Role.GPS: _GPS_TAGS}
_EXIF_POINTER, _GPS_POINTER, _XMP_TAG = 0x8769, 0x8825, 0x02BC


@dataclass(frozen=True)
class ExifFields:
    lat: float | None = None
    lon: float | None = None
    altitude: float | None = None
    taken_at: str | None = None
    make: str | None = None
    model: str | None = None
    serial: str | None = None  # the camera body's serial number
    gps_utc: datetime | None = None  # GPSDateStamp + GPSTimeStamp
    gps_error_m: float | None = None  # horizontal positioning error in metres (read from XMP only)


def read_tiff_blocks(fh: BinaryIO, size: int, blocks: list[TiffBlock]) -> tuple[dict[str, Any], list[Span]]:
    """The wanted tags of every block, as {name: values}, and any XMP packet found in IFD0."""
    values: dict[str, Any] = {}
    xmp: list[Span] = []
    for block in blocks:
        _TiffWalk(fh, size, block.offset, values, xmp).run(block.role)
    return values, xmp


class _TiffWalk:
    def __init__(self, fh: BinaryIO, size: int, offset: int, values: dict[str, Any], xmp: list[Span]) -> None:
        fh.seek(offset)
        # The IFD tables are scanned from one read of the bytes after the TIFF header (a JPEG's
        # whole EXIF segment) with struct, not entry by entry through exifread's seek-and-read
        # `s2n`: that was most of the time spent reading a photo. Tables beyond it are read from
        # the file. exifread still decodes the values of the wanted tags.
        self.window = fh.read(min(max(size - offset, 0), WINDOW))
        big_endian = self.window[:1] != b"I"
        self.entry_format = struct.Struct(">HHII" if big_endian else "<HHII")
        self.short, self.long = struct.Struct(">H" if big_endian else "<H"), struct.Struct(">I" if big_endian else "<I")
        self.header = ExifHeader(fh, "M" if big_endian else "I", offset, 0, strict=False, debug=False, detailed=False)
        self.fh, self.size, self.offset = fh, size, offset
        self.values, self.xmp = values, xmp
        self.visited: set[int] = set()

    def run(self, role: Role) -> None:
        self.dump(self._bytes(4, 4, self.long), role)

    def _bytes(self, at: int, length: int, unpacker: struct.Struct) -> int:
        """The unsigned number at `at` (relative to the TIFF header); 0 past the end, as exifread's s2n."""
        data = self._read(at, length)
        return unpacker.unpack(data)[0] if len(data) == length else 0

    def _read(self, at: int, length: int) -> bytes:
        if at + length <= len(self.window):
            return self.window[at : at + length]
        self.fh.seek(self.offset + at)
        return self.fh.read(length)

    def dump(self, ifd: int, role: Role) -> None:
        """Decode the wanted tags of one IFD and follow its EXIF/GPS pointers once each."""
        if not ifd or ifd in self.visited or self.offset + ifd + 2 > self.size:
            return
        self.visited.add(ifd)
        hdr = self.header
        entries = min(self._bytes(ifd, 2, self.short), MAX_ENTRIES, (self.size - self.offset - ifd - 2) // 12)
        table = self._read(ifd + 2, 12 * entries)
        wanted, ifd_name = _WANTED[role], role.value  # an enum's .value is a slow property: once per IFD
        pointers: list[tuple[int, Role]] = []
        for index, (tag, _, count, value) in enumerate(self.entry_format.iter_unpack(table[: len(table) - len(table) % 12])):
            entry = ifd + 2 + 12 * index
            if role is Role.IFD0 and tag in (_EXIF_POINTER, _GPS_POINTER):
                pointers.append((value, Role.EXIF if tag == _EXIF_POINTER else Role.GPS))
            elif role is Role.IFD0 and tag == _XMP_TAG:
                if count > 4 and len(self.xmp) < MAX_PACKETS:
                    self.xmp.append(Span(self.offset + value, count))
            elif tag in wanted and wanted[tag] not in self.values and count <= MAX_COUNT:
                name = wanted[tag]
                hdr._process_tag(ifd, ifd_name, (name, None), entry, tag, name, False, "UNDEF")
                decoded = hdr.tags.pop(f"{ifd_name} {name}", None)
                if decoded is not None:
                    self.values[name] = decoded.values
        for pointer, pointed in pointers:
            self.dump(pointer, pointed)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = value.replace("\0", " ").strip()
    return value or None


def _components(value: Any) -> list[gps.Component]:
    """exifread values (Ratio, int, (float,) tuples) as plain gps.Component values."""
    if not isinstance(value, list):
        return []
    out: list[gps.Component] = []
    for raw in value:
        item = raw[0] if isinstance(raw, tuple) and len(raw) == 1 else raw  # FLOAT/DOUBLE fields
        if hasattr(item, "numerator") and hasattr(item, "denominator") and not isinstance(item, int):
            out.append((item.numerator, item.denominator))
        elif isinstance(item, (int, float)):
            out.append(item)
    return out


def fields_from_values(values: dict[str, Any]) -> ExifFields:
    """Pure: the decoded tag values to lat/lon/altitude/time/camera."""
    lat = gps.dms_to_degrees(_components(values.get("GPSLatitude")))
    lon = gps.dms_to_degrees(_components(values.get("GPSLongitude")))
    point = None
    if lat is not None and lon is not None:
        point = gps.valid_point(
            gps.apply_ref(lat, _text(values.get("GPSLatitudeRef")), "S"),
            gps.apply_ref(lon, _text(values.get("GPSLongitudeRef")), "W"),
        )
    alt = _components(values.get("GPSAltitude"))
    ref = values.get("GPSAltitudeRef")
    ref_value = ref[0] if isinstance(ref, list) and ref and isinstance(ref[0], int) else None
    altitude = gps.signed_altitude(gps.component_value(alt[0]) if len(alt) == 1 else None, ref_value)
    taken = (
        dates.iso_datetime(_text(values.get("DateTimeOriginal")), _text(values.get("OffsetTimeOriginal")))
        or dates.iso_datetime(_text(values.get("CreateDate")), _text(values.get("OffsetTimeDigitized")))
        or dates.iso_datetime(_text(values.get("DateTime")), _text(values.get("OffsetTime")))
    )
    return ExifFields(
        lat=point[0] if point else None,
        lon=point[1] if point else None,
        altitude=altitude,
        taken_at=taken,
        make=_text(values.get("Make")),
        model=_text(values.get("Model")),
        serial=_text(values.get("BodySerialNumber")) or _text(values.get("CameraSerialNumber")),
        gps_utc=_gps_utc(values),
    )


def _gps_utc(values: dict[str, Any]) -> datetime | None:
    clock = [value for c in _components(values.get("GPSTimeStamp")) if (value := gps.component_value(c)) is not None]
    date = _text(values.get("GPSDateStamp"))
    if not date or len(clock) != 3:
        return None
    return dates.gps_timestamp(date, clock)
