"""ISO base media file format (ISO/IEC 14496-12) boxes: HEIF/AVIF, CR3, and the walking
that QuickTime/MP4 reading shares. Only box headers and the few boxes we need are read."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from geolocator.errors import UnreadableImage
from geolocator.locate.metadata.layout import Layout, Role, Span, TiffBlock
from geolocator.locate.metadata.tiffhead import tiff_at

MAX_BOXES = 10_000  # per container: a guard against crafted files, far above real ones
MAX_ITEMS = 10_000

CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
_CMT_ROLES = {b"CMT1": Role.IFD0, b"CMT2": Role.EXIF, b"CMT4": Role.GPS}


@dataclass(frozen=True)
class Box:
    type: bytes
    start: int  # first byte of the payload
    end: int  # one past the last byte of the box (clipped to its container)


def iter_boxes(fh: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """The boxes between `start` and `end`. A box running past `end` is clipped (truncated file);
    a size that cannot be (smaller than its own header) raises UnreadableImage."""
    pos = start
    for _ in range(MAX_BOXES):
        if pos + 8 > end:
            return
        fh.seek(pos)
        header = fh.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            large = fh.read(8)
            if len(large) < 8:
                return
            (size,) = struct.unpack(">Q", large)
            header_size = 16
        elif size == 0:
            size = end - pos
        if size < header_size:
            raise UnreadableImage(f"corrupt ISO-BMFF box '{kind.decode('latin-1')}' at byte {pos}: size {size}")
        yield Box(kind, pos + header_size, min(pos + size, end))
        pos += size


def find_box(fh: BinaryIO, start: int, end: int, kind: bytes) -> Box | None:
    return next((box for box in iter_boxes(fh, start, end) if box.type == kind), None)


def read_payload(fh: BinaryIO, box: Box, skip: int = 0, limit: int = 1 << 20) -> bytes:
    fh.seek(box.start + skip)
    return fh.read(max(0, min(box.end - box.start - skip, limit)))


class _Reader:
    """Big-endian fields from a bytes buffer; short buffers raise UnreadableImage."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def uint(self, size: int) -> int:
        if size == 0:
            return 0
        chunk = self.data[self.pos : self.pos + size]
        if len(chunk) != size:
            raise UnreadableImage(f"corrupt HEIF: {self.what} box is truncated")
        self.pos += size
        return int.from_bytes(chunk, "big")

    def skip(self, size: int) -> None:
        if self.pos + size > len(self.data):
            raise UnreadableImage(f"corrupt HEIF: {self.what} box is truncated")
        self.pos += size

    def cstring(self) -> bytes:
        end = self.data.find(b"\0", self.pos)
        end = len(self.data) if end < 0 else end
        text, self.pos = self.data[self.pos : end], end + 1
        return text


@dataclass(frozen=True)
class _Item:
    type: bytes
    content_type: bytes = b""


def _parse_iinf(data: bytes) -> dict[int, _Item]:
    reader = _Reader(data, "iinf")
    version = reader.uint(1)
    reader.uint(3)
    count = reader.uint(2 if version == 0 else 4)
    items: dict[int, _Item] = {}
    pos = reader.pos
    for _ in range(min(count, MAX_ITEMS)):
        if pos + 8 > len(data):
            break
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size < 8:
            break
        if kind == b"infe":
            infe = _Reader(data[pos + 8 : pos + size], "infe")
            infe_version = infe.uint(1)
            infe.uint(3)
            if infe_version >= 2:
                item_id = infe.uint(2 if infe_version == 2 else 4)
                infe.uint(2)  # protection index
                item_type = infe.data[infe.pos : infe.pos + 4]
                infe.pos += 4
                infe.cstring()  # name
                content_type = infe.cstring() if item_type == b"mime" else b""
                items[item_id] = _Item(item_type, content_type)
        pos += size
    return items


def _parse_iloc(data: bytes) -> dict[int, tuple[int, int, int]]:
    """item id -> (construction method, absolute-or-idat-relative offset, length) of its first extent."""
    reader = _Reader(data, "iloc")
    version = reader.uint(1)
    reader.uint(3)
    sizes = reader.uint(1)
    offset_size, length_size = sizes >> 4, sizes & 15
    sizes = reader.uint(1)
    base_offset_size, index_size = sizes >> 4, (sizes & 15 if version in (1, 2) else 0)
    count = reader.uint(2 if version < 2 else 4)
    locations: dict[int, tuple[int, int, int]] = {}
    for _ in range(min(count, MAX_ITEMS)):
        item_id = reader.uint(2 if version < 2 else 4)
        method = reader.uint(2) & 15 if version in (1, 2) else 0
        reader.uint(2)  # data reference index
        base = reader.uint(base_offset_size)
        extents = reader.uint(2)
        if not extents:
            continue
        reader.uint(index_size)
        first = (reader.uint(offset_size), reader.uint(length_size))
        reader.skip((extents - 1) * (index_size + offset_size + length_size))  # one step, even for 65535 empty extents
        locations[item_id] = (method, base + first[0], first[1])
    return locations


def locate_heif(fh: BinaryIO, size: int) -> Layout:
    """The Exif and XMP items of a HEIF/AVIF file, from meta/iinf and meta/iloc.

    Our own walk rather than exifread's HEICExifFinder, which sniffs only three major brands
    and keeps its parsed boxes in a class-level dict shared by every call (not thread-safe).
    """
    layout = Layout()
    meta = find_box(fh, 0, size, b"meta")
    if meta is None:
        return layout  # e.g. an image sequence with only a moov box
    items: dict[int, _Item] = {}
    locations: dict[int, tuple[int, int, int]] = {}
    idat_start = None
    for box in iter_boxes(fh, meta.start + 4, meta.end):  # meta is a full box: skip version/flags
        if box.type == b"iinf" and not items:
            items = _parse_iinf(read_payload(fh, box, limit=4 << 20))
        elif box.type == b"iloc" and not locations:
            locations = _parse_iloc(read_payload(fh, box, limit=4 << 20))
        elif box.type == b"idat" and idat_start is None:
            idat_start = box.start
    for item_id, item in items.items():
        if item_id not in locations:
            continue
        method, offset, length = locations[item_id]
        if method == 1:
            if idat_start is None:
                continue
            offset += idat_start
        elif method != 0:
            continue
        if item.type == b"Exif" and not layout.tiff:
            fh.seek(offset)
            prefix = fh.read(4)
            if len(prefix) == 4:
                skip = int.from_bytes(prefix, "big")
                found = tiff_at(fh, offset + 4 + skip) if skip < length else None
                found = found if found is not None else tiff_at(fh, offset + 4, search=64)
                if found is not None:
                    layout.tiff.append(TiffBlock(found))
        elif item.type == b"mime" and b"rdf+xml" in item.content_type:
            layout.add_xmp(Span(offset, length))
    return layout


def locate_cr3(fh: BinaryIO, size: int) -> Layout:
    """Canon CR3: moov/uuid(Canon) holds CMT1 (IFD0), CMT2 (EXIF IFD) and CMT4 (GPS IFD),
    each a complete TIFF structure; a top-level XMP uuid box holds the XMP packet."""
    layout = Layout()
    for top in iter_boxes(fh, 0, size):
        if top.type == b"moov" and not layout.tiff:
            canon = next((box for box in iter_boxes(fh, top.start, top.end) if box.type == b"uuid" and read_payload(fh, box, limit=16) == CANON_UUID), None)
            for cmt in iter_boxes(fh, canon.start + 16, canon.end) if canon is not None else ():
                role = _CMT_ROLES.get(cmt.type)
                if role is not None and tiff_at(fh, cmt.start) is not None:
                    layout.tiff.append(TiffBlock(cmt.start, role))
        elif top.type == b"uuid" and read_payload(fh, top, limit=16) == XMP_UUID:
            layout.add_xmp(Span(top.start + 16, top.end - top.start - 16))
        elif top.type == b"mdat":
            break  # metadata comes before the image data in CR3
    return layout


def locate_jxl(fh: BinaryIO, size: int) -> Layout:
    """JPEG XL container: an 'Exif' box (4-byte TIFF header offset, then TIFF) and an 'xml ' box."""
    layout = Layout()
    fh.seek(0)
    if fh.read(2) == b"\xff\x0a":
        return layout  # a bare codestream carries no metadata
    for box in iter_boxes(fh, 0, size):
        if box.type == b"Exif" and not layout.tiff:
            skip = int.from_bytes(read_payload(fh, box, limit=4).rjust(4, b"\0"), "big")
            found = tiff_at(fh, box.start + 4 + skip)
            if found is not None:
                layout.tiff.append(TiffBlock(found))
        elif box.type == b"xml ":
            layout.add_xmp(Span(box.start, box.end - box.start))
    return layout
