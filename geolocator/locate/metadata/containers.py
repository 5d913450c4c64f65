"""Locating EXIF (TIFF blocks) and XMP packets in JPEG, PNG, WebP and RAF files.

Our own segment/chunk walks, one pass each, reading headers only. exifread's locators see only
the first ~4 KB of JPEG segments and assume an "Exif\\0\\0" prefix in WebP; walking ourselves also
finds the XMP packet in the same pass. Decoding the TIFF blocks is exifread's (see exif.py).
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from geolocator.errors import UnreadableImage
from geolocator.locate.metadata.layout import Layout, Span, TiffBlock
from geolocator.locate.metadata.tiffhead import tiff_at

log = logging.getLogger(__name__)

XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\0"
MAX_SEGMENTS = 10_000
MAX_XMP = 8 << 20
MAX_STRAY = 1 << 20  # stray bytes skipped between JPEG segments, in all, before we give up
_STRAY_CHUNK = 64 << 10


class HeaderCut(UnreadableImage):
    """A JPEG's header segments stop short: the file ends, or no marker stands where one must."""


def jpeg_segments(fh: BinaryIO, size: int, start: int = 0) -> Iterator[tuple[int, int, int]]:
    """(offset, marker, length) of each segment of the JPEG at `start`, after SOI, up to and
    including the start of scan (SOS) or the end of image (EOI, length 0), whichever comes first.

    Stray bytes between segments are skipped up to the next 0xFF, as exiftool and libjpeg do
    (at most MAX_STRAY bytes in all, so junk cannot make this slow). Raises HeaderCut where the
    segments stop short, UnreadableImage for an impossible length."""
    pos = start + 2  # after SOI
    stray_budget = MAX_STRAY
    for _ in range(MAX_SEGMENTS):
        fh.seek(pos)
        marker = fh.read(4)
        if len(marker) < 4:
            raise HeaderCut(f"truncated JPEG: ends at byte {pos} inside the header segments ({size} bytes)")
        if marker[0] != 0xFF:
            found = _next_ff(fh, pos, stray_budget)
            if found is None:
                raise HeaderCut(f"corrupt JPEG: no segment marker at byte {pos} nor in the {min(stray_budget, size - pos)} bytes after it")
            log.debug("JPEG: skipped %d stray bytes at byte %d", found - pos, pos)
            stray_budget -= found - pos
            pos = found
            continue
        code = marker[1]
        if code == 0xFF:  # fill byte
            pos += 1
            continue
        if code in (0x00, 0x01, 0xD8) or 0xD0 <= code <= 0xD7:  # markers without a length (0x00: a stuffed 0xFF)
            pos += 2
            continue
        if code == 0xD9:  # end of image
            yield pos, code, 0
            return
        (length,) = struct.unpack(">H", marker[2:4])
        if code == 0xDA:  # start of scan: the image data follows, no metadata after this
            yield pos, code, length
            return
        if length < 2:
            raise UnreadableImage(f"corrupt JPEG: segment 0xFF{code:02X} at byte {pos} has length {length}")
        yield pos, code, length
        pos += 2 + length
    raise HeaderCut(f"corrupt JPEG: more than {MAX_SEGMENTS} segments before the image data")


def _next_ff(fh: BinaryIO, pos: int, budget: int) -> int | None:
    """The offset of the first 0xFF byte at or after `pos`, looking at most `budget` bytes ahead."""
    searched = 0
    while searched < budget:
        fh.seek(pos + searched)
        chunk = fh.read(min(_STRAY_CHUNK, budget - searched))
        if not chunk:
            return None
        at = chunk.find(b"\xff")
        if at >= 0:
            return pos + searched + at
        searched += len(chunk)
    return None


def locate_jpeg(fh: BinaryIO, size: int, start: int = 0) -> Layout:
    """APP1 Exif and APP1 XMP segments, up to the start of the image data (SOS)."""
    layout = Layout()
    try:
        for pos, code, length in jpeg_segments(fh, size, start):
            if code != 0xE1:
                continue
            fh.seek(pos + 4)
            ident = fh.read(len(XMP_JPEG_ID))
            if ident.startswith(b"Exif\0") and not layout.tiff:
                found = tiff_at(fh, pos + 10)
                if found is not None:
                    layout.tiff.append(TiffBlock(found))
            elif ident == XMP_JPEG_ID:
                layout.add_xmp(Span(pos + 4 + len(XMP_JPEG_ID), length - 2 - len(XMP_JPEG_ID)))
    except HeaderCut:
        if layout.tiff or layout.xmp:
            return layout  # what the intact part holds
        raise
    return layout


def locate_tiff(fh: BinaryIO, size: int) -> Layout:
    return Layout(tiff=[TiffBlock(0)])


def locate_raf(fh: BinaryIO, size: int) -> Layout:
    """Fujifilm RAF: the header points (big-endian, at byte 84) to an embedded JPEG with the EXIF."""
    fh.seek(84)
    pointer = fh.read(4)
    if len(pointer) < 4:
        raise UnreadableImage("truncated RAF: header ends before the JPEG pointer")
    (offset,) = struct.unpack(">I", pointer)
    fh.seek(offset)
    if offset + 4 > size or fh.read(3) != b"\xff\xd8\xff":
        raise UnreadableImage(f"corrupt RAF: no JPEG at byte {offset}")
    return locate_jpeg(fh, size, start=offset)


def locate_png(fh: BinaryIO, size: int) -> Layout:
    """eXIf chunk and the iTXt "XML:com.adobe.xmp" chunk, anywhere before IEND."""
    layout = Layout()
    pos = 8
    kept = 0  # XMP text held, inflated: MAX_XMP in all, however many compressed chunks there are
    for index in range(MAX_SEGMENTS * 10):
        fh.seek(pos)
        header = fh.read(8)
        if len(header) < 8:
            if index == 0:
                raise UnreadableImage("truncated PNG: no IHDR chunk")
            return layout  # truncated after the header: keep what was found
        length, kind = struct.unpack(">I4s", header)
        if index == 0 and kind != b"IHDR":
            raise UnreadableImage(f"corrupt PNG: first chunk is {kind!r}, not IHDR")
        if kind == b"IEND":
            break
        if kind == b"eXIf" and not layout.tiff:
            found = tiff_at(fh, pos + 8)
            if found is not None:
                layout.tiff.append(TiffBlock(found))
        elif kind == b"iTXt" and length < MAX_XMP and layout.wants_xmp and kept < MAX_XMP and fh.read(18) == b"XML:com.adobe.xmp\0":
            fh.seek(pos + 8)
            text = png_itxt_text(fh.read(length), MAX_XMP - kept)
            kept += len(text)
            layout.add_xmp(text)
        pos += 12 + length
    return layout


def png_itxt_text(chunk: bytes, limit: int) -> bytes:
    """The text of an iTXt chunk's data (keyword\\0 flag method language\\0 translated\\0 text),
    at most `limit` bytes of it."""
    keyword_end = chunk.find(b"\0")
    if keyword_end < 0 or keyword_end + 3 > len(chunk):
        return b""
    compressed = chunk[keyword_end + 1]
    rest = chunk[keyword_end + 3 :]
    language_end = rest.find(b"\0")
    translated_end = rest.find(b"\0", language_end + 1) if language_end >= 0 else -1
    if translated_end < 0:
        return b""
    text = rest[translated_end + 1 :]
    if compressed:
        try:
            inflater = zlib.decompressobj()
            text = inflater.decompress(text, limit)
        except zlib.error:
            return b""
    return text[:limit]


def locate_webp(fh: BinaryIO, size: int) -> Layout:
    """EXIF and "XMP " chunks of an extended (VP8X) WebP; a simple WebP carries none."""
    layout = Layout()
    fh.seek(4)
    (riff_size,) = struct.unpack("<I", fh.read(4))
    end = min(size, 8 + riff_size)
    pos = 12
    for index in range(MAX_SEGMENTS):
        if pos + 8 > end:
            if index == 0:
                raise UnreadableImage("truncated WebP: no image chunk")
            break
        fh.seek(pos)
        kind, length = struct.unpack("<4sI", fh.read(8))
        if index == 0 and kind not in (b"VP8 ", b"VP8L", b"VP8X"):
            raise UnreadableImage(f"corrupt WebP: first chunk is {kind!r}")
        if kind == b"EXIF" and not layout.tiff:
            found = tiff_at(fh, pos + 8)
            if found is not None:
                layout.tiff.append(TiffBlock(found))
        elif kind == b"XMP ":
            layout.add_xmp(Span(pos + 8, length))
        pos += 8 + length + (length & 1)
    return layout
