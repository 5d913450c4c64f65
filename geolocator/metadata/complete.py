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
import sys
from pathlib import Path
from typing import BinaryIO

from geolocator.errors import UnreadableImage
from geolocator.metadata.bmff import iter_boxes
from geolocator.metadata.containers import jpeg_segments
from geolocator.metadata.formats import HEAD_SIZE, Kind, sniff

_BMFF = (Kind.HEIF, Kind.CR3, Kind.QUICKTIME)


def looks_complete(path: Path) -> bool:
    """False when `path` is visibly cut short; True when it looks whole or we cannot tell."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_SIZE)
        kind = sniff(head)
        size = fh.seek(0, 2)
        if kind is None or size == 0:
            return True  # not an image we read: the reader will say so
        if kind is Kind.JPEG:
            return _jpeg_complete(fh, size)
        if kind in _BMFF:
            return _boxes_complete(fh, size)
        if kind is Kind.WEBP:
            return int(struct.unpack("<I", head[4:8])[0]) + 8 <= size
        if kind is Kind.PNG:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return data.rfind(b"IEND") > 8
    return True


def _jpeg_complete(fh: BinaryIO, size: int) -> bool:
    """An EOI marker (FFD9) somewhere after the first start-of-scan (FFDA)."""
    try:
        for pos, code, length in jpeg_segments(fh, size):
            if code == 0xD9:
                return True  # an end before any image data: odd, but not cut short
            if code == 0xDA:  # entropy-coded data follows, ended by EOI
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    return data.find(b"\xff\xd9", pos + 2 + length) != -1
    except UnreadableImage:  # the header itself is cut or damaged
        return False
    return False


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
