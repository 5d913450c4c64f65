"""Location, time and camera of MOV/MP4/3GP movies, from their QuickTime atoms.

  moov/meta/keys + ilst              com.apple.quicktime.location.ISO6709 and friends (iPhone)
  moov/udta/meta/keys + ilst         the same, as some editors move it
  moov/udta/©xyz                     ISO 6709 string (Android phones, many cameras, 3GP)
  moov/udta/loci, moov/trak/udta/loci  3GPP location box (3GPP TS 26.244, Android, cameras)
  moov/mvhd                          creation time (UTC), the last resort for the time
The location sources are tried in that order. Only box headers and the few small boxes above
are read; mdat is skipped by seeking.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from geolocator.locate.metadata import dates, gps
from geolocator.locate.metadata.bmff import Box, find_box, iter_boxes, read_payload
from geolocator.locate.metadata.exif import ExifFields

_KEY_LOCATION = b"com.apple.quicktime.location.ISO6709"
_KEY_DATE = b"com.apple.quicktime.creationdate"
_KEY_MAKE = b"com.apple.quicktime.make"
_KEY_MODEL = b"com.apple.quicktime.model"
_WANTED_KEYS = frozenset({_KEY_LOCATION, _KEY_DATE, _KEY_MAKE, _KEY_MODEL})
_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=UTC)
MAX_KEYED_VALUE = 4096  # bytes kept of one ilst value; ours are a few dozen
MAX_TRACKS = 32  # tracks searched for a loci box; real movies have a handful
MAX_LOCI = 8  # loci boxes read from the movie's user data (one per language)


class LociRole(enum.Enum):
    """What the point of a 3GPP loci box is (TS 26.244, 8.9): only the first two are places
    the video shows; a fictional location is not where it was taken."""

    SHOOTING = 0
    REAL = 1
    FICTIONAL = 2


_LOCI_ROLES = {member.value: member for member in LociRole}


@dataclass(frozen=True)
class Loci:
    lat: float
    lon: float
    altitude: float
    role: LociRole | None  # None: a reserved role value


def _loci_string(data: bytes, pos: int) -> int | None:
    """Where the null-terminated string at `pos` ends (after its terminator): UTF-16 when it
    starts with the byte-order mark FE FF (ended by a 16-bit null), else UTF-8."""
    if data[pos : pos + 2] == b"\xfe\xff":
        for at in range(pos + 2, len(data) - 1, 2):
            if data[at : at + 2] == b"\0\0":
                return at + 2
        return None
    end = data.find(b"\0", pos)
    return end + 1 if end >= 0 else None


def parse_loci(payload: bytes) -> Loci | None:
    """Pure: a loci full box's payload (version/flags, 16-bit language, name string, role byte,
    longitude, latitude, altitude as signed 16.16 fixed point, body and notes strings)."""
    after_name = _loci_string(payload, 6)
    if after_name is None or after_name + 13 > len(payload):
        return None
    role, lon, lat, alt = struct.unpack(">Biii", payload[after_name : after_name + 13])
    return Loci(lat=lat / 65536, lon=lon / 65536, altitude=alt / 65536, role=_LOCI_ROLES.get(role))


def _meta_children_start(fh: BinaryIO, meta: Box) -> int:
    """QuickTime's meta is a plain box, ISO's (in udta) a full box with 4 bytes of version/flags."""
    fh.seek(meta.start)
    peek = fh.read(12)
    return meta.start + 4 if peek[8:12] in (b"hdlr", b"keys", b"ilst") and peek[4:8] not in (b"hdlr", b"keys", b"ilst") else meta.start


def _keyed_values(fh: BinaryIO, meta: Box) -> dict[bytes, bytes]:
    """{key name: raw value} of the keys we use, from a meta box's keys and ilst. Only the
    values of those keys are read, so a file with thousands of items costs no memory."""
    keys: list[bytes] = []
    ilst: Box | None = None
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
            ilst = box
    wanted = {index + 1: key for index, key in enumerate(keys) if key in _WANTED_KEYS}
    values: dict[bytes, bytes] = {}
    if ilst is None or not wanted:
        return values
    for item in iter_boxes(fh, ilst.start, ilst.end):
        key = wanted.get(int.from_bytes(item.type, "big"))
        if key is None or key in values:
            continue
        data_box = find_box(fh, item.start, item.end, b"data")
        if data_box is not None:
            values[key] = read_payload(fh, data_box, skip=8, limit=MAX_KEYED_VALUE)  # after type and locale
    return values


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
    # Only the first box of each kind is read, and a few tracks: repeats in a crafted file cost nothing.
    firsts: dict[bytes, Box] = {}
    tracks: list[Box] = []
    for box in iter_boxes(fh, moov.start, moov.end):
        if box.type == b"trak":
            if len(tracks) < MAX_TRACKS:
                tracks.append(box)
        else:
            firsts.setdefault(box.type, box)
    created = _mvhd_time(fh, firsts[b"mvhd"]) if b"mvhd" in firsts else None
    user = _user_data(fh, firsts[b"udta"]) if b"udta" in firsts else _UserData()
    keyed = {**user.keyed, **(_keyed_values(fh, firsts[b"meta"]) if b"meta" in firsts else {})}
    loci = [*user.loci, *_track_loci(fh, tracks)] if not user.loci else user.loci
    parsed = (
        gps.parse_iso6709(_decode(keyed.get(_KEY_LOCATION)))
        or gps.parse_iso6709(user.text.get(b"\xa9xyz"))
        or next(((p.lat, p.lon, p.altitude) for p in loci if p.role in (LociRole.SHOOTING, LociRole.REAL)), None)
    )
    point = gps.valid_point(parsed[0], parsed[1]) if parsed else None
    return ExifFields(
        lat=point[0] if point else None,
        lon=point[1] if point else None,
        altitude=gps.signed_altitude(parsed[2], 0) if point and parsed else None,
        taken_at=dates.iso_datetime(_decode(keyed.get(_KEY_DATE))) or created,
        make=_decode(keyed.get(_KEY_MAKE)) or (user.text.get(b"\xa9mak") or "").strip() or None,
        model=_decode(keyed.get(_KEY_MODEL)) or (user.text.get(b"\xa9mod") or "").strip() or None,
    )


@dataclass(frozen=True)
class _UserData:
    text: dict[bytes, str] = field(default_factory=dict)  # ©xyz, ©mak, ©mod
    keyed: dict[bytes, bytes] = field(default_factory=dict)  # from udta/meta
    loci: list[Loci] = field(default_factory=list)


def _user_data(fh: BinaryIO, udta: Box) -> _UserData:
    text: dict[bytes, str] = {}
    loci: list[Loci] = []
    meta: Box | None = None
    for child in iter_boxes(fh, udta.start, udta.end):
        if child.type in (b"\xa9xyz", b"\xa9mak", b"\xa9mod") and child.type not in text:
            text[child.type] = _udta_text(read_payload(fh, child, limit=4096))
        elif child.type == b"meta" and meta is None:
            meta = child
        elif child.type == b"loci" and len(loci) < MAX_LOCI:  # one per language
            loci.extend(_parsed_loci(fh, child))
    return _UserData(text, _keyed_values(fh, meta) if meta is not None else {}, loci)


def _track_loci(fh: BinaryIO, tracks: list[Box]) -> list[Loci]:
    for track in tracks:
        udta = find_box(fh, track.start, track.end, b"udta")
        loci = find_box(fh, udta.start, udta.end, b"loci") if udta is not None else None
        if loci is not None:
            return _parsed_loci(fh, loci)
    return []


def _parsed_loci(fh: BinaryIO, box: Box) -> list[Loci]:
    parsed = parse_loci(read_payload(fh, box, limit=4096))
    return [parsed] if parsed is not None else []
