"""Sniffing a file's format from its first bytes (never from its name)."""

from __future__ import annotations

import enum
import struct

HEAD_SIZE = 64  # bytes read once from the start of every file to decide its format


class Kind(enum.Enum):
    JPEG = "JPEG"
    TIFF = "TIFF"  # TIFF and the TIFF-based raws: DNG, CR2, NEF, ARW, PEF, SRW, ORF, RW2
    PNG = "PNG"
    WEBP = "WebP"
    JXL = "JPEG XL"
    HEIF = "HEIF"  # HEIC, HEIF, AVIF and their sequences
    CR3 = "CR3"
    RAF = "RAF"
    QUICKTIME = "QuickTime/MP4"  # MOV, MP4, 3GP and other ISO-BMFF movies


# TIFF magic numbers after the byte-order mark: 42 (TIFF), "RO"/"RS" (Olympus ORF), 0x55 (Panasonic RW2).
_TIFF_MAGICS = {42, 0x4F52, 0x5352, 0x55}

# ISO-BMFF brands of still images (HEIF family, ISO/IEC 23008-12 and AVIF).
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"mif2", b"msf1", b"avif", b"avis", b"avio", b"jpeg", b"jpgs"}
)
# Top-level atoms a QuickTime movie without an ftyp box may start with.
_MOVIE_BRANDS = frozenset({b"qt  ", b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VP", b"mmp4", b"XAVC", b"MSNV", b"f4v ", b"dash", b"kddi"})
_QUICKTIME_FIRST_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid"}


def tiff_byte_order(head: bytes) -> str | None:
    """"<" or ">" when `head` starts with a TIFF header we can walk, else None."""
    if len(head) < 8:
        return None
    if head[:2] == b"II":
        order = "<"
    elif head[:2] == b"MM":
        order = ">"
    else:
        return None
    (magic,) = struct.unpack(order + "H", head[2:4])
    return order if magic in _TIFF_MAGICS else None


def sniff(head: bytes) -> Kind | None:
    """The format of a file from its first HEAD_SIZE bytes; None when we do not read it."""
    if head[:3] == b"\xff\xd8\xff":
        return Kind.JPEG
    if tiff_byte_order(head):
        return Kind.TIFF
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return Kind.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.WEBP
    if head[:12] == b"\0\0\0\x0cJXL \r\n\x87\n" or head[:2] == b"\xff\x0a":
        return Kind.JXL
    if head[:16] == b"FUJIFILMCCD-RAW ":
        return Kind.RAF
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if len(head) >= 8 and head[4:8] in _QUICKTIME_FIRST_ATOMS:
        size = struct.unpack(">I", head[:4])[0]
        if size in (0, 1) or size >= 8:  # 0: to the end of the file, 1: 64-bit size follows
            return Kind.QUICKTIME
    return None


def _is_movie_brand(brand: bytes) -> bool:
    return brand in _MOVIE_BRANDS or brand[:3] in (b"3gp", b"3g2")


def _sniff_ftyp(head: bytes) -> Kind | None:
    size = struct.unpack(">I", head[:4])[0]
    if size < 16:
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major == b"crx ":
        return Kind.CR3
    if major in HEIF_BRANDS:
        return Kind.HEIF
    # A generic major brand ("isom", ...) with a HEIF brand among the compatible ones and no
    # movie brand is a still image; everything else in an ftyp box is a movie.
    if compatible & HEIF_BRANDS and not (_is_movie_brand(major) or any(map(_is_movie_brand, compatible))):
        return Kind.HEIF
    return Kind.QUICKTIME


def describe_start(head: bytes) -> str:
    """How a file we do not recognise starts, for the error message."""
    return repr(head[:4])
