"""Decoding users' images safely, and small upright JPEG copies of them (for the vision model
and for the map's thumbnails).

JPEGs are decoded at a reduced scale (`Image.draft`), which makes a 12 MP photo several times
faster to shrink than a full decode. Other formats decode at full size, so a pixel budget
guards against decompression bombs (a 140 kB PNG can declare 12000x12000 pixels). Raw camera
files Pillow cannot decode are read through the JPEG preview they embed, searched for in the
first RAW_SEARCH_BYTES only and read in chunks, so a 2 GB file costs a few MB of memory. A JPEG's
header segments are walked first with the metadata reader's bounded walker: Pillow would skip junk
between them a byte at a time (minutes for a 2 GB file). HEIC/HEIF through pillow_heif, which
reads the whole file into memory: ISO-BMFF files over MAX_BMFF_BYTES are refused. Files are
opened with `open_regular` (never a FIFO or a device). Every failure is an UnreadableImage with
the reason.

`decode_still` also takes videos (MP4, MOV, 3GP, known by their content): their first picture,
through `video_frames` (PyAV), imported only then.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from geolocator.errors import UnreadableImage
from geolocator.fileio import open_regular
from geolocator.locate.metadata.containers import jpeg_segments
from geolocator.locate.metadata.formats import HEAD_SIZE, Kind, sniff

pillow_heif.register_heif_opener()

MAX_DECODE_PIXELS = 60_000_000  # after draft scaling: ~180 MB as RGB; a 50 MP TIFF/PNG/HEIC still fits
RAW_EXTENSIONS = {".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2", ".raf", ".pef", ".srw", ".raw", ".rwl", ".3fr", ".iiq", ".x3f", ".erf", ".kdc", ".mrw", ".mos"}
MIN_PREVIEW_PX = 320  # a raw's embedded preview smaller than this is a thumbnail, not worth sending
RAW_SEARCH_BYTES = 64 * 1024 * 1024  # raws keep their previews near the start; never search further
MAX_PREVIEW_BYTES = 32 * 1024 * 1024  # the largest embedded JPEG we read (a full-size preview is ~2-12 MB)
MAX_PREVIEW_CANDIDATES = 32  # JPEG start markers tried (nested thumbnails, false hits in sensor data)
MAX_BMFF_BYTES = 128 * 1024 * 1024  # HEIC/AVIF decoders read the file whole; a phone's HEIC is 1-10 MB
_PROBE_BYTES = 256 * 1024  # enough for a JPEG's headers (APP segments are at most 64 kB each)
_CHUNK = 1024 * 1024
_SOI = b"\xff\xd8\xff"
_ORIENTATION = 0x0112


def jpeg_copy(path: Path, max_px: int, quality: int, resample: Image.Resampling = Image.Resampling.LANCZOS) -> bytes:
    """JPEG bytes of `path` (a photo, or a video's first picture): upright, RGB, longest side <=
    max_px, without any metadata.

    Raises UnreadableImage (with the reason) when the file cannot be decoded.
    """
    return encode_jpeg(decode_still(path, max_px, resample), quality)


def decode_still(path: Path, max_px: int, resample: Image.Resampling = Image.Resampling.LANCZOS) -> Image.Image:
    """`path` decoded as `decode` does, or, for a video, its first picture (upright, RGB, longest side <= max_px)."""
    try:
        with open_regular(path) as fh:
            head = fh.read(HEAD_SIZE)
    except OSError as exc:
        raise UnreadableImage(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    if sniff(head) is Kind.QUICKTIME:
        from geolocator.media.video_frames import first_frame  # PyAV loads FFmpeg: only when a video's picture is asked for

        return first_frame(path, max_px)
    return decode(path, max_px, resample)


def decode(path: Path, max_px: int, resample: Image.Resampling = Image.Resampling.LANCZOS, *, grey: bool = False) -> Image.Image:
    """`path` decoded: upright, RGB (grey levels, mode L, with `grey`: a JPEG's decoder then reads
    its luma alone), longest side <= max_px. Raises UnreadableImage with the reason."""
    try:
        with open_regular(path) as fh:
            image = ImageOps.exif_transpose(_open(fh, path, max_px, "L" if grey else "RGB"))
            image = (image if image.mode == "L" else _to_rgb(image).convert("L")) if grey else _to_rgb(image)
            image.thumbnail((max_px, max_px), resample)
            return image
    except UnreadableImage as exc:
        if str(exc).startswith(path.name):
            raise
        raise UnreadableImage(f"{path.name}: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"{path.name}: image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise UnreadableImage(f"{path.name}: not an image format we can read") from None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow reports truncated/corrupt data this way
        raise UnreadableImage(f"{path.name}: cannot decode image: {exc}") from None


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment=: Pillow writes none of them unless asked.
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _open(fh: BinaryIO, path: Path, max_px: int, mode: str = "RGB") -> Image.Image:
    """The decoded image (or a raw's preview), loaded while `fh` is open."""
    if path.suffix.lower() in RAW_EXTENSIONS:
        preview = _raw_preview(fh, max_px)
        if preview is not None:
            return preview
    _check_header(fh, path)
    try:
        image = Image.open(fh)
    except UnidentifiedImageError:
        preview = _raw_preview(fh, max_px)
        if preview is None:
            raise
        return preview
    _draft(image, max_px, mode)
    width, height = image.size  # after draft: what will really be decoded
    if width * height > MAX_DECODE_PIXELS:
        image.close()
        raise UnreadableImage(f"{path.name}: {width}x{height} pixels is too large to decode safely (limit {MAX_DECODE_PIXELS // 1_000_000} MP)")
    try:
        image.load()
    except RuntimeError as exc:  # pillow_heif reports libheif's refusals so ("Security limit exceeded: ...")
        raise UnreadableImage(f"{path.name}: cannot decode image: {exc}") from None
    return image


def _check_header(fh: BinaryIO, path: Path) -> None:
    """Refuse, cheaply, what would make Pillow or its plugins read far into a huge file."""
    size = os.fstat(fh.fileno()).st_size
    fh.seek(0)
    head = fh.read(12)
    fh.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        for _ in jpeg_segments(fh, size):  # raises UnreadableImage when the segments are junk
            pass
        fh.seek(0)
    elif head[4:8] == b"ftyp" and size > MAX_BMFF_BYTES:
        raise UnreadableImage(f"{path.name}: an ISO-BMFF file (HEIC/AVIF/video) of {size >> 20} MB, over the {MAX_BMFF_BYTES >> 20} MB we decode")


def _draft(image: Image.Image, max_px: int, mode: str) -> None:
    """Ask a JPEG decoder for the smallest DCT scale still >= the target size, in `mode` (a no-op for others)."""
    width, height = image.size
    scale = max_px / max(width, height)
    if scale < 1 or mode != "RGB":
        image.draft(mode, (math.ceil(width * min(scale, 1)), math.ceil(height * min(scale, 1))))


def _raw_preview(fh: BinaryIO, max_px: int) -> Image.Image | None:
    """The largest JPEG embedded in a raw file, oriented like the raw; None when there is none."""
    sizes: list[tuple[int, int]] = []  # (area, offset)
    for offset in _jpeg_starts(fh):
        fh.seek(offset)
        try:
            with Image.open(io.BytesIO(fh.read(_PROBE_BYTES))) as candidate:
                if candidate.format == "JPEG":
                    sizes.append((candidate.size[0] * candidate.size[1], offset))
        except (OSError, ValueError, SyntaxError):
            continue
    for _, offset in sorted(sizes, reverse=True):
        fh.seek(offset)
        try:
            best = Image.open(io.BytesIO(fh.read(MAX_PREVIEW_BYTES)))
            if max(best.size) < MIN_PREVIEW_PX:
                return None
            _draft(best, max_px, "RGB")
            best.load()
        except (OSError, ValueError, SyntaxError):
            continue
        if not best.getexif().get(_ORIENTATION):
            orientation = _tiff_orientation(fh)
            if orientation:
                exif = best.getexif()
                exif[_ORIENTATION] = orientation
                best.info["exif"] = exif.tobytes()
        return best
    return None


def _jpeg_starts(fh: BinaryIO) -> list[int]:
    """Offsets of JPEG start markers in the first RAW_SEARCH_BYTES, read a chunk at a time."""
    found: list[int] = []
    fh.seek(0)
    position, tail = 0, b""
    while position < RAW_SEARCH_BYTES and len(found) < MAX_PREVIEW_CANDIDATES:
        chunk = fh.read(min(_CHUNK, RAW_SEARCH_BYTES - position))
        if not chunk:
            break
        data, base = tail + chunk, position - len(tail)
        start = data.find(_SOI)
        while start >= 0 and len(found) < MAX_PREVIEW_CANDIDATES:
            found.append(base + start)
            start = data.find(_SOI, start + 1)
        tail = data[-(len(_SOI) - 1):]  # a marker cut by the chunk boundary is found next time
        position += len(chunk)
    return found


def _tiff_orientation(fh: BinaryIO) -> int | None:
    """The Orientation of a TIFF-based raw's first IFD, read without decoding any pixels."""
    fh.seek(0)
    try:
        with Image.open(fh) as container:
            value = container.getexif().get(_ORIENTATION)
            return int(value) if value else None
    except (OSError, ValueError, SyntaxError):
        return None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")  # 16-bit grey -> 8-bit
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")
