"""Does a file look whole? A structural check on every photo before it is filed.

A writer that closes a file between chunks (network shares, resuming uploaders) can hand us its
first part: a JPEG cut after its EXIF still reads as a photo with GPS. So a photo must also look
finished: a JPEG has an end-of-image marker after its scan data, an ISO-BMFF file (HEIC, AVIF,
CR3, MP4, MOV) is a run of top-level boxes ending exactly at the end of the file, a PNG has its
IEND chunk, a RIFF (WebP) file is as long as its header says, and a TIFF's (or TIFF-based raw's)
IFDs, strips and tiles lie within the file. Formats without such a cheap sign (JPEG XL, RAF)
count as complete. Every read is bounded: a few KB of headers, or one mmap'd search.
"""

from __future__ import annotations

import mmap
import struct
import sys
from pathlib import Path
from typing import BinaryIO

from geolocator.errors import UnreadableImage
from geolocator.fileio import open_regular
from geolocator.locate.metadata.bmff import iter_boxes
from geolocator.locate.metadata.containers import HeaderCut, jpeg_segments
from geolocator.locate.metadata.formats import HEAD_SIZE, Kind, sniff, tiff_byte_order

MAX_IFDS = 64  # IFDs followed in one TIFF (chain and SubIFDs): raws have a handful
MAX_ENTRIES = 4096  # entries in one IFD; more is a corrupt count, not a cut file
MAX_STRIPS = 1 << 16  # strip or tile offsets read per IFD
TAIL = 4096  # bytes at a JPEG's end read first in search of its end marker
_TAG_SUBIFDS = 330
_DATA_TAGS = ((273, 279), (324, 325))  # (StripOffsets, StripByteCounts), (TileOffsets, TileByteCounts)
_UNSIGNED = {3: "H", 4: "I", 13: "I"}  # SHORT, LONG, IFD: the types offsets and counts come in


def missing_end(path: str | bytes | Path) -> str | None:
    """Why `path` looks cut short, or None when it looks whole or we cannot tell."""
    with open_regular(path) as fh:
        head = fh.read(HEAD_SIZE)
        kind = sniff(head)
        size = fh.seek(0, 2)
        if kind is None or size == 0:
            return None  # not an image we read: the reader will say so
        match kind:
            case Kind.JPEG:
                return None if _jpeg_complete(fh, size) else "JPEG without its end marker"
            case Kind.HEIF | Kind.CR3 | Kind.QUICKTIME:
                return None if _boxes_complete(fh, size) else "ISO-BMFF boxes run past the end of the file"
            case Kind.WEBP:
                return None if int(struct.unpack("<I", head[4:8])[0]) + 8 <= size else "RIFF size past the end of the file"
            case Kind.PNG:
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    return None if data.rfind(b"IEND") > 8 else "PNG without its IEND chunk"
            case Kind.TIFF:
                return None if _tiff_complete(fh, size, tiff_byte_order(head) or "<") else "TIFF data past the end of the file"
    return None


def _jpeg_complete(fh: BinaryIO, size: int) -> bool:
    """An EOI marker (FFD9) somewhere after the first start-of-scan (FFDA)."""
    try:
        for pos, code, length in jpeg_segments(fh, size):
            if code == 0xD9:
                return True  # an end before any image data: odd, but not cut short
            if code == 0xDA:  # entropy-coded data follows, ended by EOI
                return _has_eoi_after(fh, pos + 2 + length, size)
    except HeaderCut:  # the header segments stop short
        return False
    except UnreadableImage:  # an impossible segment length: corrupt, which the reader reports
        return True
    return False


def _has_eoi_after(fh: BinaryIO, start: int, size: int) -> bool:
    """An EOI marker somewhere in [start, size). A whole file's is at its very end: its last few
    KB are read first (one read), and only when it is not there is the rest searched (mmap)."""
    tail = max(start, size - TAIL)
    fh.seek(tail)
    if b"\xff\xd9" in fh.read(size - tail):
        return True
    if tail == start:
        return False
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.rfind(b"\xff\xd9", start, tail + 1) != -1  # + 1: a marker across the tail's start


def _boxes_complete(fh: BinaryIO, size: int) -> bool:
    """Top-level boxes that end exactly at the end of the file."""
    end = 0
    try:
        for box in iter_boxes(fh, 0, sys.maxsize):  # unbounded: a box's true end, not clipped to the file
            if box.end == sys.maxsize:
                return True  # size 0: the box runs to the end of the file
            end = box.end
    except UnreadableImage:  # a box smaller than its own header
        return False
    return end == size


def _tiff_complete(fh: BinaryIO, size: int, order: str) -> bool:
    """Every IFD (the chain from the header, and SubIFDs) and every strip or tile it points to
    lies within the file."""
    fh.seek(4)
    first = fh.read(4)
    if len(first) < 4:
        return False
    todo = [struct.unpack(order + "I", first)[0]]
    seen: set[int] = set()
    while todo and len(seen) < MAX_IFDS:
        offset = todo.pop()
        if offset == 0 or offset in seen:
            continue
        seen.add(offset)
        entries = _ifd_entries(fh, size, order, offset)
        if entries is None:
            return False
        if not entries:
            continue
        for tag, (kind, count, field) in entries.items():
            if tag == _TAG_SUBIFDS:
                values = _unsigned_values(fh, size, order, kind, count, field)
                if values is None:
                    return False
                todo.extend(values)
        for offsets_tag, counts_tag in _DATA_TAGS:
            if offsets_tag in entries and counts_tag in entries:
                offsets = _unsigned_values(fh, size, order, *entries[offsets_tag])
                counts = _unsigned_values(fh, size, order, *entries[counts_tag])
                if offsets is None or counts is None or any(o + c > size for o, c in zip(offsets, counts, strict=False)):
                    return False
        fh.seek(offset + 2 + 12 * len(entries))
        todo.append(struct.unpack(order + "I", fh.read(4))[0])
    return True


def _ifd_entries(fh: BinaryIO, size: int, order: str, offset: int) -> dict[int, tuple[int, int, bytes]] | None:
    """tag -> (type, count, 4-byte value field) of the IFD at `offset`; None when it runs past
    the end; {} when its entry count is implausible (corrupt: not ours to judge)."""
    if offset + 2 > size:
        return None
    fh.seek(offset)
    (count,) = struct.unpack(order + "H", fh.read(2))
    if count > MAX_ENTRIES:
        return {}
    if offset + 2 + 12 * count + 4 > size:
        return None
    data = fh.read(12 * count)
    entries: dict[int, tuple[int, int, bytes]] = {}
    for at in range(0, len(data), 12):
        tag, kind, n = struct.unpack(order + "HHI", data[at : at + 8])
        entries.setdefault(tag, (kind, n, data[at + 8 : at + 12]))
    return entries


def _unsigned_values(fh: BinaryIO, size: int, order: str, kind: int, count: int, field: bytes) -> list[int] | None:
    """The SHORT/LONG values of an entry (at most MAX_STRIPS); None when they lie past the end;
    [] for other types (nothing we can check)."""
    code = _UNSIGNED.get(kind)
    if code is None or count == 0:
        return []
    width = struct.calcsize(code)
    if width * count <= 4:
        data = field[: width * count]
    else:
        (where,) = struct.unpack(order + "I", field)
        if where + width * count > size:
            return None
        count = min(count, MAX_STRIPS)
        fh.seek(where)
        data = fh.read(width * count)
    return list(struct.unpack(f"{order}{count}{code}", data))
