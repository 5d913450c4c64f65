"""Finding and checking TIFF headers inside containers."""

from __future__ import annotations

from typing import BinaryIO

from geolocator.locate.metadata.formats import tiff_byte_order

EXIF_PREFIX = b"Exif\0\0"


def tiff_at(fh: BinaryIO, offset: int, search: int = 0) -> int | None:
    """The offset of a TIFF header at `offset` (after an optional "Exif\\0\\0" prefix, which some
    writers put in WebP, PNG and HEIF Exif blocks), or within `search` bytes of it; else None."""
    fh.seek(offset)
    data = fh.read(max(search, 6) + 8)
    if data.startswith(EXIF_PREFIX) and tiff_byte_order(data[6:14]):
        return offset + 6
    for at in range(max(search, 0) + 1):
        if tiff_byte_order(data[at : at + 8]):
            return offset + at
    return None
