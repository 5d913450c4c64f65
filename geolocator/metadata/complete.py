"""Does a file look whole? A structural check used on files written moments ago.

A writer that closes a file between chunks can hand us its first part: a JPEG cut after its
EXIF still reads as a photo with GPS. So a young file must also look finished before it is
taken: a JPEG has an end-of-image marker after its scan data, an ISO-BMFF file (HEIC, AVIF,
CR3, MP4, MOV) is a run of top-level boxes ending exactly at the end of the file, a PNG has
its IEND chunk, a RIFF (WebP) file is as long as its header says. Formats without such a
cheap sign (TIFF and raws, JPEG XL, RAF) count as complete.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from geolocator.metadata.formats import HEAD_SIZE, Kind, sniff

_BMFF = (Kind.HEIF, Kind.CR3, Kind.QUICKTIME)
# JPEG markers without a length field (RSTn, SOI, EOI, TEM).
_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}


def looks_complete(path: Path) -> bool:
    """False when `path` is visibly cut short; True when it looks whole or we cannot tell."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_SIZE)
        kind = sniff(head)
        size = fh.seek(0, 2)
        if kind is None or size == 0:
            return True  # not an image we read: the reader will say so
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if kind is Kind.JPEG:
                return _jpeg_complete(data)
            if kind in _BMFF:
                return _boxes_complete(data, size)
            if kind is Kind.PNG:
                return data.rfind(b"IEND") > 8
            if kind is Kind.WEBP:
                return struct.unpack_from("<I", data, 4)[0] + 8 <= size
    return True


def _jpeg_complete(data: mmap.mmap) -> bool:
    """An EOI marker (FFD9) somewhere after the first start-of-scan (FFDA)."""
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return False  # not at a marker: the header itself is damaged or cut
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in _STANDALONE:
            offset += 2
            continue
        length = struct.unpack_from(">H", data, offset + 2)[0]
        if marker == 0xDA:  # the scan: entropy-coded data follows, ended by EOI
            return data.find(b"\xff\xd9", offset + 2 + length) != -1
        offset += 2 + length
    return False  # cut before the image data


def _boxes_complete(data: mmap.mmap, size: int) -> bool:
    offset = 0
    while offset < size:
        if offset + 8 > size:
            return False
        box = struct.unpack_from(">I", data, offset)[0]
        if box == 1:  # a 64-bit size follows the type
            if offset + 16 > size:
                return False
            box = struct.unpack_from(">Q", data, offset + 8)[0]
        elif box == 0:  # the box runs to the end of the file
            return True
        if box < 8:
            return False
        offset += box
    return offset == size
