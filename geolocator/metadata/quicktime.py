"""Location, time and camera of MOV/MP4/3GP movies, from their QuickTime atoms.

  moov/udta/©xyz                     ISO 6709 string (Android phones, many cameras, 3GP)
  moov/meta/keys + ilst              com.apple.quicktime.location.ISO6709 and friends (iPhone)
  moov/udta/meta/keys + ilst         the same, as some editors move it
  moov/mvhd                          creation time (UTC), the last resort for the time
Only box headers and the few small boxes above are read; mdat is skipped by seeking.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from geolocator.metadata import dates, gps
from geolocator.metadata.bmff import Box, find_box, iter_boxes, read_payload
from geolocator.metadata.exif import ExifFields

_KEY_LOCATION = b"com.apple.quicktime.location.ISO6709"
_KEY_DATE = b"com.apple.quicktime.creationdate"
_KEY_MAKE = b"com.apple.quicktime.make"
_KEY_MODEL = b"com.apple.quicktime.model"
_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=UTC)


def _meta_children_start(fh: BinaryIO, meta: Box) -> int:
    """QuickTime's meta is a plain box, ISO's (in udta) a full box with 4 bytes of version/flags."""
    fh.seek(meta.start)
    peek = fh.read(12)
    return meta.start + 4 if peek[8:12] in (b"hdlr", b"keys", b"ilst") and peek[4:8] not in (b"hdlr", b"keys", b"ilst") else meta.start


def _keyed_values(fh: BinaryIO, meta: Box) -> dict[bytes, bytes]:
    """{key name: raw value} from a meta box's keys and ilst."""
    keys: list[bytes] = []
    items: dict[int, bytes] = {}
    for box in iter_boxes(fh, _meta_children_start(fh, meta), meta.end):
        if box.type == b"keys":
            data = read_payload(fh, box)
            pos = 8  # version/flags, entry count
            while pos + 8 <= len(data):
                (size,) = struct.unpack(">I", data[pos : pos + 4])
                if size < 8:
                    break
                keys.append(data[pos + 8 : pos + size])
                pos += size
        elif box.type == b"ilst":
            for item in iter_boxes(fh, box.start, box.end):
                index = int.from_bytes(item.type, "big")
                data_box = find_box(fh, item.start, item.end, b"data")
                if data_box is not None:
                    items[index] = read_payload(fh, data_box, skip=8, limit=4096)  # after type and locale
    return {keys[index - 1]: value for index, value in items.items() if 0 < index <= len(keys)}


def _udta_text(payload: bytes) -> str:
    """A QuickTime user-data string: 16-bit length, 16-bit language, text (or bare text)."""
    if len(payload) >= 4:
        (length,) = struct.unpack(">H", payload[:2])
        if 4 + length <= len(payload) and length:
            return payload[4 : 4 + length].decode("utf-8", "replace")
    return payload.decode("utf-8", "replace")


def _decode(value: bytes | None) -> str | None:
    if not value:
        return None
    text = value.decode("utf-8", "replace").replace("\0", " ").strip()
    return text or None


def _mvhd_time(fh: BinaryIO, mvhd: Box) -> str | None:
    data = read_payload(fh, mvhd, limit=16)
    if len(data) < 8:
        return None
    seconds = struct.unpack(">Q", data[4:12])[0] if data[0] == 1 and len(data) >= 12 else struct.unpack(">I", data[4:8])[0]
    if not seconds:
        return None
    try:
        return (_EPOCH_1904 + timedelta(seconds=seconds)).isoformat()
    except OverflowError:
        return None


def read_quicktime(fh: BinaryIO, size: int) -> ExifFields:
    moov = find_box(fh, 0, size, b"moov")
    if moov is None:
        return ExifFields()
    xyz: str | None = None
    keyed: dict[bytes, bytes] = {}
    udta_text: dict[bytes, str] = {}
    created: str | None = None
    for box in iter_boxes(fh, moov.start, moov.end):
        if box.type == b"mvhd":
            created = _mvhd_time(fh, box)
        elif box.type == b"meta":
            keyed = {**_keyed_values(fh, box), **keyed}
        elif box.type == b"udta":
            for child in iter_boxes(fh, box.start, box.end):
                if child.type in (b"\xa9xyz", b"\xa9mak", b"\xa9mod"):
                    udta_text[child.type] = _udta_text(read_payload(fh, child, limit=4096))
                elif child.type == b"meta":
                    keyed = {**keyed, **_keyed_values(fh, child)}
    parsed = gps.parse_iso6709(_decode(keyed.get(_KEY_LOCATION))) or gps.parse_iso6709(udta_text.get(b"\xa9xyz"))
    point = gps.valid_point(parsed[0], parsed[1]) if parsed else None
    return ExifFields(
        lat=point[0] if point else None,
        lon=point[1] if point else None,
        altitude=gps.signed_altitude(parsed[2], 0) if point and parsed else None,
        taken_at=dates.iso_datetime(_decode(keyed.get(_KEY_DATE))) or created,
        make=_decode(keyed.get(_KEY_MAKE)) or (udta_text.get(b"\xa9mak") or "").strip() or None,
        model=_decode(keyed.get(_KEY_MODEL)) or (udta_text.get(b"\xa9mod") or "").strip() or None,
    )
