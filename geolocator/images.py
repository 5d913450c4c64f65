"""Decoding users' images safely, and small upright JPEG copies of them (for the vision model
and for the map's thumbnails).

JPEGs are decoded at a reduced scale (`Image.draft`), which makes a 12 MP photo several times
faster to shrink than a full decode. Other formats decode at full size, so a pixel budget
guards against decompression bombs (a 140 kB PNG can declare 12000x12000 pixels). Raw camera
files Pillow cannot decode are read through the JPEG preview they embed. HEIC/HEIF through
pillow_heif. Every failure is an UnreadableImage with the reason.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from geolocator.errors import UnreadableImage

pillow_heif.register_heif_opener()

MAX_DECODE_PIXELS = 60_000_000  # after draft scaling: ~180 MB as RGB; a 50 MP TIFF/PNG/HEIC still fits
RAW_EXTENSIONS = {".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2", ".raf", ".pef", ".srw", ".raw", ".rwl", ".3fr", ".iiq", ".x3f", ".erf", ".kdc", ".mrw", ".mos"}
MIN_PREVIEW_PX = 320  # a raw's embedded preview smaller than this is a thumbnail, not worth sending
_ORIENTATION = 0x0112


def jpeg_copy(path: Path, max_px: int, quality: int, resample: Image.Resampling = Image.Resampling.LANCZOS) -> bytes:
    """JPEG bytes of `path`: upright, RGB, longest side <= max_px, without any metadata.

    Raises UnreadableImage (with the reason) when the file cannot be decoded.
    """
    try:
        image = _open(path, max_px)
        return _encode(image, max_px, quality, resample)
    except UnreadableImage:
        raise
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"{path.name}: image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise UnreadableImage(f"{path.name}: not an image format we can read") from None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow reports truncated/corrupt data this way
        raise UnreadableImage(f"{path.name}: cannot decode image: {exc}") from None


def _open(path: Path, max_px: int) -> Image.Image:
    if path.suffix.lower() in RAW_EXTENSIONS:
        preview = _raw_preview(path)
        if preview is not None:
            return preview
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        preview = _raw_preview(path)
        if preview is None:
            raise
        return preview
    _draft(image, max_px)
    width, height = image.size  # after draft: what will really be decoded
    if width * height > MAX_DECODE_PIXELS:
        image.close()
        raise UnreadableImage(f"{path.name}: {width}x{height} pixels is too large to decode safely (limit {MAX_DECODE_PIXELS // 1_000_000} MP)")
    image.load()
    return image


def _draft(image: Image.Image, max_px: int) -> None:
    """Ask a JPEG decoder for the smallest DCT scale still >= the target size (a no-op for others)."""
    width, height = image.size
    scale = max_px / max(width, height)
    if scale < 1:
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))


def _raw_preview(path: Path) -> Image.Image | None:
    """The largest JPEG embedded in a raw file, oriented like the raw; None when there is none."""
    data = path.read_bytes()
    best: Image.Image | None = None
    start, tries = 0, 0
    while tries < 32:
        start = data.find(b"\xff\xd8\xff", start)
        if start < 0:
            break
        tries += 1
        try:
            candidate = Image.open(io.BytesIO(data[start:]))
            if candidate.format == "JPEG" and (best is None or _area(candidate) > _area(best)):
                candidate.load()
                best = candidate
        except (OSError, ValueError, SyntaxError):
            pass
        start += 3
    if best is None or max(best.size) < MIN_PREVIEW_PX:
        return None
    if not best.getexif().get(_ORIENTATION):
        orientation = _tiff_orientation(path)
        if orientation:
            exif = best.getexif()
            exif[_ORIENTATION] = orientation
            best.info["exif"] = exif.tobytes()
    return best


def _area(image: Image.Image) -> int:
    return image.size[0] * image.size[1]


def _tiff_orientation(path: Path) -> int | None:
    """The Orientation of a TIFF-based raw's first IFD, read without decoding any pixels."""
    try:
        with Image.open(path) as container:
            return container.getexif().get(_ORIENTATION)
    except (OSError, ValueError, SyntaxError):
        return None


def _encode(image: Image.Image, max_px: int, quality: int, resample: Image.Resampling) -> bytes:
    image = ImageOps.exif_transpose(image)
    image = _to_rgb(image)
    image.thumbnail((max_px, max_px), resample)
    out = io.BytesIO()
    # No exif=, icc_profile= or comment=: Pillow writes none of them unless asked.
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


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
